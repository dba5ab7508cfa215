"""JSON for scripts under ``/api/…`` (the same answers the pages show), and the Atom feed of
any search at ``/feeds.atom``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from crawler.store.queries import query_articles
from crawler.web import views
from crawler.web.atom import ATOM_ENTRIES, atom_feed
from crawler.web.context import context
from crawler.web.pages import TRENDS
from crawler.web.params import LISTING, Params, article_id
from crawler.web.views import utc_now

ATOM_PARAMS = tuple(p for p in LISTING if p != "page")


def api_overview(request: Request) -> Response:
    Params(request.query_params, ())
    web = context(request)
    with web.store.reading() as session:
        return JSONResponse(views.overview(session, web.settings, utc_now()))


def api_feeds(request: Request) -> Response:
    Params(request.query_params, ())
    web = context(request)
    with web.store.reading() as session:
        return JSONResponse(views.feeds(session, web.settings, utc_now()))


def api_feed(request: Request) -> Response:
    Params(request.query_params, ())
    web = context(request)
    with web.store.reading() as session:
        name = request.path_params["name"]
        return JSONResponse(views.feed(session, web.settings, name, utc_now()))


def api_articles(request: Request) -> Response:
    params = Params(request.query_params, LISTING)
    web = context(request)
    with web.store.reading() as session:
        return JSONResponse(views.articles(session, params))


def api_article(request: Request) -> Response:
    params = Params(request.query_params, ("from", "to"))
    wanted = article_id(request.path_params["id"])
    web = context(request)
    with web.store.reading() as session:
        return JSONResponse(views.article(session, wanted, params))


def api_trends(request: Request) -> Response:
    params = Params(request.query_params, TRENDS)
    web = context(request)
    with web.store.reading() as session:
        return JSONResponse(views.trends(session, params, utc_now()))


def atom(request: Request) -> Response:
    params = Params(request.query_params, ATOM_PARAMS)
    f = params.article_filter(limit=ATOM_ENTRIES)
    web = context(request)
    with web.store.reading() as session:
        records = query_articles(session, f)
    asked = [f"{k} {v}" for k, v in params.values.items() if v.strip()]
    title = "newsmon: " + ("; ".join(asked) if asked else "latest articles")
    query = f"?{request.url.query}" if request.url.query else ""
    page_url = str(request.url_for("articles_page")) + query
    body = atom_feed(records, str(request.url), page_url, title, utc_now())
    return Response(body, media_type="application/atom+xml; charset=utf-8")


API_ROUTES = [
    Route("/api/overview", api_overview),
    Route("/api/feeds", api_feeds),
    Route("/api/feeds/{name}", api_feed),
    Route("/api/articles", api_articles),
    Route("/api/articles/{id}", api_article),
    Route("/api/trends", api_trends),
    Route("/feeds.atom", atom),
]
