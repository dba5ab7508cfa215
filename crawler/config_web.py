"""``[web]`` of settings.toml: the web app's token (``newsmon web``).

A model of its own, hooked into :class:`crawler.config.Settings`, validated like the rest:
a token too short to resist guessing is a problem of the file, named by section and key.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, field_validator

MIN_TOKEN = 16  # characters


def check_token(token: str, where: str = "token") -> str:
    """A usable token: at least MIN_TOKEN characters, no white space or control characters
    (it travels in an HTTP header and a form); ValueError says what is wrong, never the
    token itself."""
    if len(token) < MIN_TOKEN:
        raise ValueError(f"{where} must be at least {MIN_TOKEN} characters (got {len(token)})")
    if any(c.isspace() or not c.isprintable() for c in token) or not token.isascii():
        raise ValueError(f"{where} must be printable ASCII without spaces")
    return token


class WebConfig(BaseModel):
    """``[web]``: what ``newsmon web`` needs besides the database."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Required by `newsmon web --host` off loopback (NEWSMON_WEB_TOKEN takes precedence);
    # when set, required on 127.0.0.1 too.
    token: str | None = None

    @field_validator("token")
    @classmethod
    def _usable(cls, token: str | None) -> str | None:
        return None if token is None else check_token(token)
