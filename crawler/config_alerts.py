"""The ``[[alerts]]`` and ``[service]`` parts of settings.toml, as validated, frozen models.

::

    [[alerts]]         AlertConfig      what to watch for, and where to send it (apprise URLs)
    [service]          ServiceConfig    what the running service offers besides crawling

An alert's ``search`` is the text ``newsmon query --search`` takes (every term must
match); a list of such texts matches an article that matches any of them, which is how
to say "Kherson or Cherson". ``OR``, ``AND`` and ``NOT`` are plain words there, so a
search that writes them as operators is a problem of the file rather than an alert that
never fires. A notify URL's syntax is checked here; whether apprise knows the service is
checked by :mod:`crawler.alerts.targets` (loading apprise's plugins takes a second, which
only the commands that send pay).
"""

from __future__ import annotations

import re
from datetime import timedelta
from ipaddress import ip_address
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, field_validator

from crawler.config_values import DurationBetween, HostName, Slug, Tags, check_host

__all__ = [
    "AlertConfig", "ServiceConfig", "check_alert_feeds", "check_listen_address", "listen_address",
]  # fmt: skip

_OPERATORS = re.compile(r"(?:^|\s)(OR|AND|NOT)(?=\s|$)")
_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*://\S+", re.IGNORECASE)
AlertEvent = Literal["new", "edited"]


def check_search(text: str) -> str:
    if not re.search(r"[^\W_]", text):
        raise ValueError(f"a search needs at least one word (got {text!r})")
    unquoted = re.sub(r'"[^"]*"', " ", text)
    operator = _OPERATORS.search(unquoted)
    if operator:
        raise ValueError(
            f"{operator.group(1)} is searched as a word, as `query --search` does (every term"
            f' must match); for alternatives give a list: search = ["Kherson", "Cherson"]'
        )
    return text


def _searches(value: object) -> object:
    return (value,) if isinstance(value, str) else value


def check_notify_url(url: str) -> str:
    if not _SCHEME.fullmatch(url):
        # Not echoed: a URL that does not parse may still hold a password.
        raise ValueError("must be an apprise URL such as 'json://host/path' or 'mailto://...'")
    return url


def _unique(urls: tuple[str, ...]) -> tuple[str, ...]:
    if len(set(urls)) != len(urls):
        raise ValueError("the same URL is given twice")
    if not urls:
        raise ValueError("give at least one URL to send to")
    return urls


def _events(events: tuple[str, ...]) -> tuple[str, ...]:
    if not events:
        raise ValueError("give at least one of 'new' and 'edited'")
    return tuple(dict.fromkeys(events))


def listen_address(value: str) -> tuple[str, int]:
    """``"127.0.0.1:9464"`` → ``("127.0.0.1", 9464)``; ``"[::1]:9464"`` → ``("::1", 9464)``."""
    host, _, port = value.rpartition(":")
    return host.removeprefix("[").removesuffix("]"), int(port)


def check_listen_address(value: str) -> str:
    """``host:port`` with an IP address or a host name, and a port from 1 to 65535."""
    host, sep, port = value.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(f"must be host:port such as '127.0.0.1:9464' (got {value!r})")
    try:
        ip_address(host)
    except ValueError:
        try:
            check_host(host)
        except ValueError:
            raise ValueError(f"{host!r} is neither an IP address nor a host name") from None
    return value


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AlertConfig(_Model):
    """``[[alerts]]``: new articles and edits that match, sent to apprise URLs."""

    name: Slug
    search: Annotated[
        tuple[Annotated[str, AfterValidator(check_search)], ...], BeforeValidator(_searches)
    ] = ()
    tags: Tags = ()
    feeds: tuple[Slug, ...] = ()
    sites: tuple[HostName, ...] = ()
    events: Annotated[tuple[AlertEvent, ...], AfterValidator(_events)] = ("new",)
    notify: Annotated[
        tuple[Annotated[str, AfterValidator(check_notify_url)], ...], AfterValidator(_unique)
    ]
    # 0: a message per match; otherwise one message per period with every match in it.
    digest: Annotated[timedelta, BeforeValidator(DurationBetween("0s", "7d"))] = timedelta(0)

    @field_validator("notify", mode="before")
    @classmethod
    def _listed(cls, value: Any) -> Any:
        return (value,) if isinstance(value, str) else value

    def __repr__(self) -> str:  # the URLs may hold passwords
        return f"AlertConfig(name={self.name!r})"


class ServiceConfig(_Model):
    """``[service]``: ``metrics = "127.0.0.1:9464"`` serves Prometheus metrics there."""

    metrics: Annotated[str, AfterValidator(check_listen_address)] | None = None


def check_alert_feeds(data: dict[str, Any], path: str) -> list[str]:
    """Alerts that name a feed settings.toml does not define, and alert names given twice
    (checked on the raw tables, like duplicate feed names)."""
    alerts = data.get("alerts")
    if not isinstance(alerts, list):
        return []
    feeds = data.get("feeds")
    listed = feeds if isinstance(feeds, list) else []
    names = {f.get("name") for f in listed if isinstance(f, dict)}
    problems: list[str] = []
    seen: dict[str, int] = {}
    for index, alert in enumerate(alerts):
        if not isinstance(alert, dict):
            continue
        name = alert.get("name")
        where = f"alerts[{index}]" + (f" (name={name!r})" if isinstance(name, str) else "")
        if isinstance(name, str):
            if name in seen:
                problems.append(
                    f"{path}: {where}.name: duplicate alert name {name!r}, also at"
                    f" alerts[{seen[name]}]"
                )
            else:
                seen[name] = index
        wanted = alert.get("feeds")
        for position, feed in enumerate(wanted if isinstance(wanted, list) else []):
            if isinstance(feed, str) and feed not in names:
                problems.append(
                    f"{path}: {where}.feeds[{position}]: no [[feeds]] entry is named {feed!r}"
                )
    return problems
