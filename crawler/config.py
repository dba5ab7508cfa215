"""settings.toml → validated, frozen models.

The file has five parts, each a model below::

    [database]         DatabaseConfig   where articles are stored
    [crawl]            CrawlConfig      politeness and limits shared by every crawl
    [defaults]         Defaults         schedule and time zone for feeds that set none
    [[feeds]]          FeedConfig       ListingFeed | RssFeed | SitemapFeed, chosen by ``kind``
    [[sites]]          SiteConfig       per-site CSS selectors for the article parser

Every model forbids unknown keys and is frozen, so a typo fails at load time instead of
silently becoming a default. ``load_settings`` collects *every* problem before raising one
``SettingsError`` whose ``problems`` are single lines naming the file, the feed and the key::

    settings.toml: feeds[2] (name='herald-ukraine').shedule: unknown key (did you mean 'schedule'?)

Durations are strings such as ``"90s"``, ``"15m"``, ``"48h"``, ``"2d"`` or ``"1h30m"``.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from cssselect import SelectorError
from parsel.csstranslator import css2xpath
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from crawler.article import SiteRules
from crawler.errors import SettingsError, UnknownFeedError

DEFAULT_SETTINGS_PATH = "settings.toml"
SETTINGS_ENV_VAR = "NEWSMON_SETTINGS"

_DURATION = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")
_SLUG = re.compile(r"[a-z0-9_-]{1,64}")
_HOST_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")


def parse_duration(text: str) -> timedelta:
    """``"90s"``, ``"15m"``, ``"48h"``, ``"2d"``, ``"1h30m"`` → timedelta; ValueError otherwise."""
    compact = text.strip().lower().replace(" ", "")
    match = _DURATION.fullmatch(compact)
    if not compact or match is None:
        raise ValueError(
            f"invalid duration {text!r} (write e.g. '90s', '15m', '48h', '2d', '1h30m')"
        )
    days, hours, minutes, seconds = (int(g) if g else 0 for g in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


def _to_duration(value: object) -> object:
    if isinstance(value, str):
        return parse_duration(value)
    if isinstance(value, timedelta):
        return value
    # A bare number is ambiguous (seconds? minutes?), so it is refused rather than guessed.
    raise ValueError(f"expected a duration string such as '15m' (got {_show(value)})")


def _check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(
            f"unknown time zone {name!r} (use an IANA name such as 'Europe/Kyiv')"
        ) from None
    return name


def _check_css(selector: str) -> str:
    try:
        css2xpath(selector)  # parsel's translator, so ::text and ::attr(name) are accepted
    except SelectorError as exc:
        raise ValueError(f"invalid CSS selector {selector!r}: {exc}") from None
    return selector


def _check_regex(pattern: str) -> str:
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"invalid regular expression {pattern!r}: {exc}") from None
    return pattern


def _check_slug(name: str) -> str:
    if not _SLUG.fullmatch(name):
        raise ValueError(f"must be 1-64 lowercase letters, digits, '-' or '_' (got {name!r})")
    return name


def _check_http_url(url: str) -> str:
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:  # e.g. an unclosed IPv6 bracket
        host = None
    if not host or parts.scheme not in ("http", "https"):
        raise ValueError(f"must be an absolute http:// or https:// URL (got {url!r})")
    return url


def _check_host(domain: str) -> str:
    host = domain.strip().lower().rstrip(".")
    if len(host) > 253 or not all(_HOST_LABEL.fullmatch(label) for label in host.split(".")):
        raise ValueError(f"must be a host name such as 'example.com' (got {domain!r})")
    return host


def _clean_tags(tags: tuple[str, ...]) -> tuple[str, ...]:
    cleaned = (tag.strip().casefold() for tag in tags)
    return tuple(dict.fromkeys(tag for tag in cleaned if tag))


def _bare_host(domain_or_host: str) -> str:
    host = domain_or_host.strip().lower()
    if host.count(":") == 1:  # crawler.urls.site_of keeps a non-default port
        host = host.split(":")[0]
    return host.rstrip(".").removeprefix("www.")


Duration = Annotated[timedelta, BeforeValidator(_to_duration)]
TimeZone = Annotated[str, AfterValidator(_check_timezone)]
CssSelector = Annotated[str, AfterValidator(_check_css)]
Regex = Annotated[str, AfterValidator(_check_regex)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Schedule(_Model):
    """When a feed runs: ``every = "15m"`` or ``cron = "*/20 6-23 * * *"``, plus jitter."""

    every: Duration | None = None
    cron: str | None = None
    jitter: Duration = timedelta(0)

    @field_validator("every")
    @classmethod
    def _at_least_a_second(cls, every: timedelta | None) -> timedelta | None:
        if every is not None and every < timedelta(seconds=1):
            raise ValueError("must be at least 1s")
        return every

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, cron: str | None) -> str | None:
        if cron is None:
            return None
        try:
            CronTrigger.from_crontab(cron, timezone="UTC")
        except ValueError as exc:
            raise ValueError(f"invalid cron {cron!r}: {exc}") from None
        # APScheduler 3 counts weekday 0 as Monday, crontab as Sunday: numbers would
        # silently run on the wrong day, so only names are accepted in that field.
        if re.search(r"(?<![/\d])\d", cron.split()[4]):
            raise ValueError(
                f"invalid cron {cron!r}: write the day of week as names (mon-fri, sun), "
                "because APScheduler counts 0 as Monday while crontab counts it as Sunday"
            )
        return cron

    @model_validator(mode="after")
    def _exactly_one(self) -> Schedule:
        if (self.every is None) == (self.cron is None):
            raise ValueError("set exactly one of 'every' or 'cron'")
        return self

    def trigger(self, timezone: str) -> IntervalTrigger | CronTrigger:
        """The APScheduler trigger for this schedule, in ``timezone`` (an IANA name)."""
        jitter = int(self.jitter.total_seconds()) or None
        tz = ZoneInfo(timezone)
        if self.every is not None:
            return IntervalTrigger(seconds=self.every.total_seconds(), timezone=tz, jitter=jitter)
        minute, hour, day, month, day_of_week = str(self.cron).split()
        return CronTrigger(
            minute=minute, hour=hour, day=day, month=month, day_of_week=day_of_week,
            timezone=tz, jitter=jitter,
        )  # fmt: skip


_DEFAULT_SCHEDULE = Schedule(every=timedelta(minutes=15), jitter=timedelta(seconds=30))


class DatabaseConfig(_Model):
    """``[database]``: a SQLAlchemy URL, SQLite or PostgreSQL (psycopg 3)."""

    # validate_default: an omitted url is resolved against the settings file like a written one.
    url: str = Field(default="sqlite:///data/news.db", validate_default=True)

    @field_validator("url")
    @classmethod
    def _normalise(cls, url: str, info: ValidationInfo) -> str:
        scheme, sep, rest = url.partition("://")
        if sep and scheme in ("postgresql", "postgresql+psycopg"):
            return f"postgresql+psycopg://{rest}"  # bare postgresql:// would pick psycopg2
        if scheme != "sqlite" or not sep:
            # Only the scheme is echoed: the rest of a URL may hold a password.
            shown = repr(scheme) if sep else "no scheme"
            raise ValueError(
                f"unsupported database URL ({shown}); use sqlite:///path/to/file.db, "
                "postgresql:// or postgresql+psycopg://"
            )
        if rest == "":
            return url  # sqlite:// is SQLAlchemy's spelling of an in-memory database
        if not rest.startswith("/"):
            raise ValueError("a SQLite URL needs three slashes: sqlite:///relative/path.db")
        path, q, query = rest[1:].partition("?")
        base_dir = (info.context or {}).get("base_dir")
        if base_dir is None or path in ("", ":memory:") or path.startswith("file:"):
            return url
        if Path(path).is_absolute():
            return url
        # Relative to the settings file, so `newsmon` works from any working directory.
        return f"sqlite:///{(Path(base_dir) / path).resolve()}{q}{query}"


class CrawlConfig(_Model):
    """``[crawl]``: politeness and limits shared by every crawl."""

    user_agent: str = "newsmon/0.1 (+https://github.com/newsmon/newsmon)"
    obey_robots_txt: StrictBool = True
    robots_txt_max_age: Duration = timedelta(hours=1)
    download_delay: StrictFloat = Field(default=1.0, ge=0)
    concurrent_requests_per_host: StrictInt = Field(default=2, ge=1)
    timeout: StrictFloat = Field(default=30.0, gt=0)
    max_page_bytes: StrictInt = Field(default=10_000_000, gt=0)
    max_articles_per_run: StrictInt = Field(default=500, ge=1)
    revisit_window: Duration = timedelta(hours=48)
    retries: StrictInt = Field(default=2, ge=0)
    # Off: no request to loopback, private, link-local... addresses, except the host:port
    # pairs that configured feed URLs name (crawler.crawl.destinations).
    allow_private_networks: StrictBool = False


class Defaults(_Model):
    """``[defaults]``: what a feed gets when it sets no ``schedule`` or ``timezone``."""

    schedule: Schedule = _DEFAULT_SCHEDULE
    timezone: TimeZone = "UTC"


class FeedBase(_Model):
    """What every ``[[feeds]]`` entry has, whatever its ``kind``."""

    name: Annotated[str, AfterValidator(_check_slug)]
    kind: str  # narrowed to a Literal by each kind, which makes it the union's discriminator
    url: Annotated[str, AfterValidator(_check_http_url)]
    tags: Annotated[tuple[str, ...], AfterValidator(_clean_tags)] = ()
    allow: tuple[Regex, ...] = ()
    deny: tuple[Regex, ...] = ()
    schedule: Schedule = _DEFAULT_SCHEDULE
    timezone: TimeZone = "UTC"
    enabled: StrictBool = True

    def url_allowed(self, url: str) -> bool:
        """True when ``url`` matches one ``allow`` pattern (if any are set) and no ``deny``."""
        if self.allow and not any(re.search(pattern, url) for pattern in self.allow):
            return False
        return not any(re.search(pattern, url) for pattern in self.deny)


class ListingFeed(FeedBase):
    """A tag or topic page whose links lead to articles."""

    kind: Literal["listing"] = "listing"
    article_links: CssSelector | None = None
    next_page: CssSelector | None = None
    max_pages: StrictInt = Field(default=1, ge=1, le=50)


class RssFeed(FeedBase):
    """An RSS or Atom feed."""

    kind: Literal["rss"] = "rss"


class SitemapFeed(FeedBase):
    """A news sitemap (or sitemap index); ``max_age`` skips entries published longer ago."""

    kind: Literal["sitemap"] = "sitemap"
    max_age: Duration | None = None


FeedConfig = Annotated[ListingFeed | RssFeed | SitemapFeed, Field(discriminator="kind")]
_KINDS: dict[str, type[FeedBase]] = {"listing": ListingFeed, "rss": RssFeed, "sitemap": SitemapFeed}


class SiteConfig(_Model):
    """``[[sites]]``: CSS selectors that override the parser's guesses on one site."""

    domain: Annotated[str, AfterValidator(_check_host)]
    title: CssSelector | None = None
    body: CssSelector | None = None
    published: CssSelector | None = None
    authors: CssSelector | None = None
    tags: CssSelector | None = None
    remove: tuple[CssSelector, ...] = ()

    def to_rules(self) -> SiteRules:
        return SiteRules(**self.model_dump())


class Settings(_Model):
    """The whole of settings.toml. ``source_path`` is set by :func:`load_settings`."""

    database: DatabaseConfig = DatabaseConfig()
    crawl: CrawlConfig = CrawlConfig()
    defaults: Defaults = Defaults()
    feeds: tuple[FeedConfig, ...] = ()
    sites: tuple[SiteConfig, ...] = ()
    source_path: Path | None = Field(default=None, exclude=True)

    @model_validator(mode="before")
    @classmethod
    def _inherit_defaults(cls, data: Any) -> Any:
        if not isinstance(data, dict) or not isinstance(data.get("feeds"), list | tuple):
            return data
        try:
            defaults = Defaults.model_validate(data.get("defaults", {}))
        except ValidationError:
            return data  # reported once under [defaults], not again in every feed
        inherited = {"schedule": defaults.schedule, "timezone": defaults.timezone}
        feeds: list[Any] = []
        for feed in data["feeds"]:
            if isinstance(feed, dict):
                own = feed.get("schedule")
                if isinstance(own, dict) and "jitter" not in own:
                    # A feed that only changes its interval keeps the default spread.
                    feed = {**feed, "schedule": {**own, "jitter": defaults.schedule.jitter}}
                feed = {**inherited, **feed}
            feeds.append(feed)
        return {**data, "feeds": feeds}

    def feed(self, name: str) -> FeedConfig:
        """The feed called ``name``; UnknownFeedError lists the names that exist."""
        for feed in self.feeds:
            if feed.name == name:
                return feed
        file = self.source_path.name if self.source_path else DEFAULT_SETTINGS_PATH
        names = ", ".join(feed.name for feed in self.feeds)
        defined = f"defines: {names}" if names else "defines no feeds"
        raise UnknownFeedError(f"unknown feed {name!r} ({file} {defined})")

    def enabled_feeds(self) -> tuple[FeedConfig, ...]:
        return tuple(feed for feed in self.feeds if feed.enabled)

    def site_rules(self, domain_or_host: str) -> SiteRules | None:
        """Rules for a host or one of its subdomains (``www.`` ignored); the most specific wins."""
        host = _bare_host(domain_or_host)
        best: SiteConfig | None = None
        for site in self.sites:
            domain = _bare_host(site.domain)
            if (host == domain or host.endswith("." + domain)) and (
                best is None or len(domain) > len(_bare_host(best.domain))
            ):
                best = site
        return best.to_rules() if best else None


def resolve_settings_path(cli_value: str | None) -> Path:
    """The ``--settings`` value, else ``$NEWSMON_SETTINGS``, else ``./settings.toml``."""
    return Path(cli_value or os.environ.get(SETTINGS_ENV_VAR) or DEFAULT_SETTINGS_PATH)


def load_settings(path: str | os.PathLike[str]) -> Settings:
    """Read and validate a settings file; SettingsError lists every problem found."""
    name = os.fspath(path)
    try:
        # utf-8-sig: some Windows editors start the file with a byte-order mark.
        text = Path(path).read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise SettingsError(name, [f"{name}: cannot read: {exc.strerror or exc}"]) from None
    except UnicodeDecodeError as exc:
        raise SettingsError(name, [f"{name}: not UTF-8 text (byte {exc.start})"]) from None
    resolved = Path(path).resolve()
    settings = parse_settings(text, path=name, base_dir=resolved.parent)
    return settings.model_copy(update={"source_path": resolved})


def parse_settings(
    text: str, path: str = DEFAULT_SETTINGS_PATH, base_dir: Path | None = None
) -> Settings:
    """Validate settings given as TOML text; ``path`` only names the file in messages.

    A relative SQLite path is resolved against ``base_dir``; without one it stays relative.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(path, [f"{path}: {_toml_position(exc)}"]) from None
    problems: list[str] = []
    if "source_path" in data:  # a field of the model, but not a key of the file
        del data["source_path"]
        problems.append(f"{path}: source_path: unknown key")
    problems += _duplicates(data, path)
    data.setdefault("database", {})  # so the default url is resolved against base_dir too
    try:
        settings = Settings.model_validate(data, context={"base_dir": base_dir})
    except ValidationError as exc:
        problems[:0] = [_describe(error, data, path) for error in exc.errors()]
    if problems:
        raise SettingsError(path, problems)
    return settings


# --- turning findings into one-line, plain-English problems -------------------------------

_EXPECTED = {
    "int_type": "an integer", "int_parsing": "an integer", "int_from_float": "an integer",
    "float_type": "a number", "float_parsing": "a number", "bool_type": "true or false",
    "bool_parsing": "true or false", "string_type": "a string", "tuple_type": "an array",
    "list_type": "an array", "model_type": "a table", "model_attributes_type": "a table",
    "dict_type": "a table",
}  # fmt: skip
_BOUNDS = {"greater_than_equal": (">=", "ge"), "greater_than": (">", "gt"),
           "less_than_equal": ("<=", "le"), "less_than": ("<", "lt")}  # fmt: skip
_SECTIONS: dict[str, type[BaseModel]] = {
    "database": DatabaseConfig, "crawl": CrawlConfig, "defaults": Defaults,
    "schedule": Schedule, "sites": SiteConfig, **_KINDS,
}  # fmt: skip


def _toml_position(exc: tomllib.TOMLDecodeError) -> str:
    match = re.fullmatch(r"(.*) \((?:at line (\d+), column (\d+)|at end of document)\)", str(exc))
    if match is None:
        return str(exc)
    message, line, column = match.groups()
    return f"line {line}, column {column}: {message}" if line else f"at end of file: {message}"


def _duplicates(data: dict[str, Any], path: str) -> list[str]:
    # Checked on the raw tables, so duplicates are reported even when other keys are wrong.
    problems: list[str] = []
    for section, key, what in (("feeds", "name", "feed name"), ("sites", "domain", "domain")):
        items = data.get(section)
        seen: dict[str, int] = {}
        for index, item in enumerate(items if isinstance(items, list) else []):
            value = item.get(key) if isinstance(item, dict) else None
            if not isinstance(value, str):
                continue
            normal = _bare_host(value) if section == "sites" else value
            if normal in seen:
                where = f"{section}[{index}]{_label(section, index, data)}.{key}"
                also = f"{section}[{seen[normal]}]"
                problems.append(f"{path}: {where}: duplicate {what} {value!r}, also at {also}")
            else:
                seen[normal] = index
    return problems


def _show(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"  # as written in TOML
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list | tuple):
        return "an array"
    shown = repr(value)
    return shown if len(shown) <= 60 else shown[:57] + "..."


def _label(section: object, index: int, data: dict[str, Any]) -> str:
    key = {"feeds": "name", "sites": "domain"}.get(str(section))
    items = data.get(str(section))
    if key and isinstance(items, list) and index < len(items) and isinstance(items[index], dict):
        value = items[index].get(key)
        if isinstance(value, str):
            return f" ({key}={value!r})"
    return ""


def _where(loc: tuple[int | str, ...], data: dict[str, Any]) -> str:
    parts: list[str] = []
    for position, part in enumerate(loc):
        if isinstance(part, int) and parts:
            parts[-1] += f"[{part}]"
            if position == 1:
                parts[-1] += _label(loc[0], part, data)
        else:
            parts.append(str(part))
    return ".".join(parts)


def _describe(error: Any, data: dict[str, Any], path: str) -> str:
    loc: tuple[int | str, ...] = tuple(error["loc"])
    kind, ctx = error["type"], error.get("ctx", {})
    model: type[BaseModel] = Settings
    for part in loc[:-1]:
        model = _SECTIONS.get(str(part), model)
    if len(loc) >= 3 and loc[0] == "feeds" and loc[2] in _KINDS:
        loc = loc[:2] + loc[3:]  # pydantic inserts the discriminator value; users never wrote it
    if kind == "extra_forbidden":
        keys = [k for k in model.model_fields if k != "source_path"]
        close = difflib.get_close_matches(str(loc[-1]), keys, n=1, cutoff=0.7)
        message = "unknown key" + (f" (did you mean {close[0]!r}?)" if close else "")
    elif kind == "missing":
        message = "required key missing"
    elif kind == "union_tag_invalid":
        loc += ("kind",)
        message = f"unknown kind {ctx['tag']!r} (expected listing, rss or sitemap)"
    elif kind == "union_tag_not_found":
        loc += ("kind",)
        message = "required key missing (expected listing, rss or sitemap)"
    elif kind in _BOUNDS:
        op, bound = _BOUNDS[kind]
        limit = ctx[bound]  # pydantic turns `ge=0` on a float field into 0.0
        limit = int(limit) if isinstance(limit, float) and limit.is_integer() else limit
        message = f"must be {op} {limit} (got {_show(error['input'])})"
    elif kind in _EXPECTED:
        message = f"expected {_EXPECTED[kind]} (got {_show(error['input'])})"
    else:
        message = str(error["msg"]).removeprefix("Value error, ")
    where = _where(loc, data)
    return f"{path}: {where}: {message}" if where else f"{path}: {message}"
