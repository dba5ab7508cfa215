"""The HTML pages: overview, feeds, one feed, the article search, one article, trends, and
the login page (only when a token is set)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from crawler.web import views
from crawler.web.auth import COOKIE, login_attempt, safe_next, session_value
from crawler.web.context import context
from crawler.web.params import LISTING, Params, article_id
from crawler.web.views import utc_now

TRENDS = ("by", "top", "since", "until", "q")


def overview_page(request: Request) -> Response:
    Params(request.query_params, ())
    web = context(request)
    with web.store.reading() as session:
        data = views.overview(session, web.settings, utc_now())
    return web.page(request, "overview.html", data)


def feeds_page(request: Request) -> Response:
    Params(request.query_params, ())
    web = context(request)
    with web.store.reading() as session:
        data = views.feeds(session, web.settings, utc_now())
    return web.page(request, "feeds.html", data)


def feed_page(request: Request) -> Response:
    Params(request.query_params, ())
    web = context(request)
    with web.store.reading() as session:
        data = views.feed(session, web.settings, request.path_params["name"], utc_now())
    return web.page(request, "feed.html", data)


def articles_page(request: Request) -> Response:
    params = Params(request.query_params, LISTING)
    web = context(request)
    with web.store.reading() as session:
        data = views.articles(session, params)
    data["link"] = params.linked
    data["atom"] = "/feeds.atom" + params.linked(page=None)
    return web.page(request, "articles.html", data)


def article_page(request: Request) -> Response:
    params = Params(request.query_params, ("from", "to"))
    wanted = article_id(request.path_params["id"])
    web = context(request)
    with web.store.reading() as session:
        data = views.article(session, wanted, params)
    return web.page(request, "article.html", data)


def trends_page(request: Request) -> Response:
    params = Params(request.query_params, TRENDS)
    web = context(request)
    with web.store.reading() as session:
        data = views.trends(session, params, utc_now())
    data["link"] = params.linked
    return web.page(request, "trends.html", data)


async def login_page(request: Request) -> Response:
    web = context(request)
    if web.token is None:
        return RedirectResponse("/", 303)
    if request.method == "GET":
        params = Params(request.query_params, ("next",))
        data = {"next": safe_next(params.text("next")), "failed": False}
        return web.page(request, "login.html", data)
    right, target = await login_attempt(request, web.token)
    if not right:
        return web.page(request, "login.html", {"next": target, "failed": True}, 401)
    response = RedirectResponse(target, 303)
    response.set_cookie(COOKIE, session_value(web.token), httponly=True, samesite="strict")
    return response


PAGE_ROUTES = [
    Route("/", overview_page),
    Route("/feeds", feeds_page),
    Route("/feeds/{name}", feed_page),
    Route("/articles", articles_page),
    Route("/articles/{id}", article_page),
    Route("/trends", trends_page),
    Route("/login", login_page, methods=["GET", "POST"]),
]
