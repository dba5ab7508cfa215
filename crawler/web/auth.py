"""The token gate: with a token set, every request shows it, as ``Authorization: Bearer``
(scripts, feed readers) or as the cookie the login page sets once it was typed in.

The cookie holds an HMAC of the token, never the token itself; both are compared in
constant time. Without a token (the default, on 127.0.0.1) the gate lets everything by.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import parse_qs, quote

from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

COOKIE = "newsmon_session"
OPEN_PATHS = ("/login", "/static/")  # reachable without the token
MAX_FORM = 4096  # bytes of a login form


def session_value(token: str) -> str:
    return hmac.new(token.encode(), b"newsmon web session", hashlib.sha256).hexdigest()


def token_shown(request: Request, token: str) -> bool:
    """Whether the request carries the token, in its header or its session cookie."""
    header = request.headers.get("authorization", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode()):
        return True
    cookie = request.cookies.get(COOKIE, "")
    return hmac.compare_digest(cookie.encode(), session_value(token).encode())


class TokenGate:
    """ASGI middleware: requests without the token get 401 (API, Atom) or the login page."""

    def __init__(self, app: ASGIApp, token: str | None) -> None:
        self.app = app
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.token is None:
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        path = request.url.path
        if path.startswith(OPEN_PATHS) or token_shown(request, self.token):
            await self.app(scope, receive, send)
            return
        response: Response
        if path.startswith("/api/") or path.endswith(".atom") or request.method != "GET":
            response = PlainTextResponse(
                "this newsmon needs its token: send Authorization: Bearer TOKEN\n",
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer realm="newsmon"'},
            )
        else:
            wanted = path + (f"?{request.url.query}" if request.url.query else "")
            response = RedirectResponse(f"/login?next={quote(wanted, safe='')}", 303)
        await response(scope, receive, send)


def safe_next(value: str | None) -> str:
    """Where to go after the login: a path of this app only, never another site."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


async def login_attempt(request: Request, token: str) -> tuple[bool, str]:
    """(whether the posted token is right, where to go next), from the login form."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM:  # no token is that long: stop reading
            return False, "/"
    try:
        form = parse_qs(body.decode("utf-8", "replace"), max_num_fields=4)
    except ValueError:  # more fields than a login form has
        return False, "/"
    given = (form.get("token") or [""])[0].strip()
    return hmac.compare_digest(given.encode(), token.encode()), safe_next(
        (form.get("next") or ["/"])[0]
    )
