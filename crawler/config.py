"""settings.toml → validated, frozen models.

The file has these parts, each a model below::

    [database]         DatabaseConfig   where articles are stored
    [crawl]            CrawlConfig      politeness and limits shared by every crawl
    [defaults]         Defaults         schedule and time zone for feeds that set none
    [[feeds]]          FeedConfig       ListingFeed | RssFeed | SitemapFeed, chosen by ``kind``
    [[sites]]          SiteConfig       per-site CSS selectors for the article parser
    [[alerts]], [service]                what to tell whom (crawler.config_alerts)
    [web]              WebConfig        the web app's token (crawler.config_web)
    [cluster]          ClusterConfig    single or distributed (crawler.config_cluster)

Every model forbids unknown keys and is frozen, so a typo fails at load time instead of
silently becoming a default. Every duration, count and size has a range (README's settings
reference lists them), so a value no operator means, such as ``every = "99999999999d"``,
is a problem of the file rather than a failure of the running service.
``load_settings`` collects *every* problem before raising one ``SettingsError`` whose
``problems`` are single lines naming the file, the feed and the key (see
:mod:`crawler.config_problems`)::

    settings.toml: feeds[2] (name='herald-ukraine').shedule: unknown key (did you mean 'schedule'?)

Durations are strings such as ``"90s"``, ``"15m"``, ``"48h"``, ``"2d"`` or ``"1h30m"``; the
values themselves are checked in :mod:`crawler.config_values`.
"""

from __future__ import annotations

import difflib
import os
import re
import sys
import tomllib
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

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
from crawler.config_alerts import AlertConfig, ServiceConfig, check_alert_feeds
from crawler.config_cluster import ClusterConfig, check_cluster_database
from crawler.config_problems import describe_error, describe_toml_error, find_duplicates
from crawler.config_schedule import Schedule
from crawler.config_values import (
    CssSelector,
    DurationBetween,
    HostName,
    HttpUrl,
    NumberBetween,
    Regex,
    Slug,
    Tags,
    TimeZone,
    bare_host,
    parse_duration,
)
from crawler.config_web import WebConfig
from crawler.errors import SettingsError, UnknownFeedError

__all__ = [
    "CrawlConfig", "DatabaseConfig", "Defaults", "FeedBase", "FeedConfig", "ListingFeed",
    "RssFeed", "Schedule", "Settings", "SiteConfig", "SitemapFeed", "WebConfig", "load_settings",
    "parse_duration", "parse_settings", "resolve_settings_path",
]  # fmt: skip

DEFAULT_SETTINGS_PATH = "settings.toml"
# The user agent settings.toml ships with: a deployment should name itself and a contact.
PLACEHOLDER_USER_AGENT = "newsmon/0.1 (+https://github.com/newsmon/newsmon)"
PLACEHOLDER_USER_AGENT_WARNING = (
    "crawl.user_agent is still the shipped placeholder: set it to name your deployment and"
    " a contact, so site operators can reach you instead of blocking you"
)
SETTINGS_ENV_VAR = "NEWSMON_SETTINGS"


def _duration_in(low: str, high: str) -> Any:
    return BeforeValidator(DurationBetween(low, high))


def _number_in(low: float, high: float) -> Any:
    return AfterValidator(NumberBetween(low, high))


# The ranges: wide enough for any deployment we can think of, narrow enough that a slip of
# the keyboard (a year-long timeout, a jitter of millennia) is caught by check-config.
Interval = Annotated[timedelta, _duration_in("1s", "366d")]
Jitter = Annotated[timedelta, _duration_in("0s", "1d")]
CacheAge = Annotated[timedelta, _duration_in("0s", "30d")]
RevisitWindow = Annotated[timedelta, _duration_in("0s", "366d")]
EntryAge = Annotated[timedelta, _duration_in("1h", "3660d")]
RunTime = Annotated[timedelta, _duration_in("1s", "1d")]
ProgressEvery = Annotated[timedelta, _duration_in("1s", "1h")]
RevisitGap = Annotated[timedelta, _duration_in("0s", "30d")]
PauseCap = Annotated[timedelta, _duration_in("1s", "7d")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


_DEFAULT_SCHEDULE = Schedule(every=timedelta(minutes=15), jitter=timedelta(seconds=30))


class DatabaseConfig(_Model):
    """``[database]``: a SQLAlchemy URL, SQLite or PostgreSQL (psycopg 3)."""

    # validate_default: an omitted url is resolved against the settings file like a written one.
    url: str = Field(default="sqlite:///data/news.db", validate_default=True)
    # Upgrade a database made by an older newsmon when opening it; None: by backend (on
    # for SQLite, off for PostgreSQL). See crawler.store.schema.
    auto_upgrade: bool | None = None

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

    user_agent: str = PLACEHOLDER_USER_AGENT
    obey_robots_txt: StrictBool = True
    robots_txt_max_age: CacheAge = timedelta(hours=1)
    download_delay: Annotated[StrictFloat, _number_in(0, 3600)] = 1.0  # seconds
    concurrent_requests_per_host: Annotated[StrictInt, _number_in(1, 100)] = 2
    timeout: Annotated[StrictFloat, _number_in(0.1, 600)] = 30.0  # seconds
    max_page_bytes: Annotated[StrictInt, _number_in(1_000, 1_000_000_000)] = 10_000_000
    max_articles_per_run: Annotated[StrictInt, _number_in(1, 1_000_000)] = 500
    revisit_window: RevisitWindow = timedelta(hours=48)
    # A young article is re-checked (conditionally) no sooner than this after its last
    # fetch, and re-checks take at most this share of a host's recent requests.
    revisit_min_interval: RevisitGap = timedelta(minutes=10)
    revisit_share: Annotated[StrictFloat, _number_in(0, 1)] = 0.5
    # A 429/503 Retry-After pauses the host for at most this long (crawler.crawl.pauses).
    retry_after_cap: PauseCap = timedelta(hours=6)
    retries: Annotated[StrictInt, _number_in(0, 10)] = 2
    # A feed run still going after this is stopped (crawler.crawl.runner): recorded partial.
    max_run_time: RunTime = timedelta(minutes=30)
    progress_every: ProgressEvery = timedelta(seconds=30)
    # Off: no request to loopback, private, link-local... addresses, except the host:port
    # pairs that configured feed URLs name (crawler.crawl.destinations).
    allow_private_networks: StrictBool = False


class Defaults(_Model):
    """``[defaults]``: what a feed gets when it sets no ``schedule`` or ``timezone``."""

    schedule: Schedule = _DEFAULT_SCHEDULE
    timezone: TimeZone = "UTC"


class FeedBase(_Model):
    """What every ``[[feeds]]`` entry has, whatever its ``kind``."""

    name: Slug
    kind: str  # narrowed to a Literal by each kind, which makes it the union's discriminator
    url: HttpUrl
    tags: Tags = ()
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
    max_pages: Annotated[StrictInt, _number_in(1, 50)] = 1


class RssFeed(FeedBase):
    """An RSS or Atom feed."""

    kind: Literal["rss"] = "rss"


class SitemapFeed(FeedBase):
    """A news sitemap (or sitemap index); ``max_age`` skips entries published longer ago."""

    kind: Literal["sitemap"] = "sitemap"
    max_age: EntryAge | None = None


FeedConfig = Annotated[ListingFeed | RssFeed | SitemapFeed, Field(discriminator="kind")]
_KINDS: dict[str, type[FeedBase]] = {"listing": ListingFeed, "rss": RssFeed, "sitemap": SitemapFeed}


class SiteConfig(_Model):
    """``[[sites]]``: CSS selectors that override the parser's guesses on one site."""

    domain: HostName
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
    alerts: tuple[AlertConfig, ...] = ()  # crawler.config_alerts
    service: ServiceConfig = ServiceConfig()
    web: WebConfig = WebConfig()
    cluster: ClusterConfig = ClusterConfig()  # crawler.config_cluster
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
        all_names = [feed.name for feed in self.feeds]
        close = difflib.get_close_matches(name, all_names, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]!r}? " if close else ""
        defined = f"defines: {', '.join(all_names)}" if all_names else "defines no feeds"
        raise UnknownFeedError(f"unknown feed {name!r} ({hint}{file} {defined})")

    @property
    def has_placeholder_user_agent(self) -> bool:
        """The shipped user agent, which names no deployment and no contact of its own."""
        return self.crawl.user_agent == PLACEHOLDER_USER_AGENT

    def enabled_feeds(self) -> tuple[FeedConfig, ...]:
        return tuple(feed for feed in self.feeds if feed.enabled)

    def site_rules(self, domain_or_host: str) -> SiteRules | None:
        """Rules for a host or one of its subdomains (``www.`` ignored); the most specific wins."""
        host = bare_host(domain_or_host)
        best: SiteConfig | None = None
        for site in self.sites:
            domain = bare_host(site.domain)
            if (host == domain or host.endswith("." + domain)) and (
                best is None or len(domain) > len(bare_host(best.domain))
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
    except ValueError as exc:  # a path with a NUL byte in it
        raise SettingsError(name, [f"{name!r}: cannot read: {exc}"]) from None
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
        raise SettingsError(path, [f"{path}: {describe_toml_error(exc)}"]) from None
    except RecursionError:  # tomllib reads nested arrays and tables recursively
        raise SettingsError(path, [f"{path}: arrays or tables nested too deeply to read"]) from None
    except ValueError:  # not a TOMLDecodeError: tomllib's int() refused a huge integer
        digits = sys.get_int_max_str_digits()
        raise SettingsError(path, [f"{path}: an integer longer than {digits} digits"]) from None
    problems: list[str] = []
    if "source_path" in data:  # a field of the model, but not a key of the file
        del data["source_path"]
        problems.append(f"{path}: source_path: unknown key")
    problems += find_duplicates(data, path) + check_alert_feeds(data, path)
    problems += check_cluster_database(data, path)
    data.setdefault("database", {})  # so the default url is resolved against base_dir too
    try:
        settings = Settings.model_validate(data, context={"base_dir": base_dir})
    except ValidationError as exc:
        problems[:0] = [
            describe_error(error, data, path, Settings, _SECTIONS) for error in exc.errors()
        ]
    if problems:
        raise SettingsError(path, problems)
    return settings


# Which model a table's keys belong to, for "did you mean" in unknown-key problems.
_SECTIONS: dict[str, type[BaseModel]] = {
    "database": DatabaseConfig, "crawl": CrawlConfig, "defaults": Defaults,
    "schedule": Schedule, "sites": SiteConfig, "alerts": AlertConfig,
    "service": ServiceConfig, "cluster": ClusterConfig, **_KINDS,
}  # fmt: skip
