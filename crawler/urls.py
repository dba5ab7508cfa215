"""URL normalisation: one spelling per page, so that dedup by URL works.

``courlan.normalize_url`` drops tracking parameters (utm_*, fbclid, gclid, …), lowercases
the host and removes default ports but keeps the fragment; ``w3lib.canonicalize_url``
drops the fragment and sorts the query but keeps utm_*. Composed, they give what we want.
"""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

from courlan import normalize_url as _courlan_normalize
from w3lib.url import canonicalize_url

# Parameters courlan keeps but that never select content.
_EXTRA_TRACKING = frozenset(
    {
        "ref",
        "ref_src",
        "cmpid",
        "ocid",
        "smid",
        "src",
        "xtor",
        "at_medium",
        "at_campaign",
        "share",
        "s_cid",
        "ito",
        "rss",
    }
)


def normalize_url(url: str, base: str | None = None) -> str | None:
    """Return the normalised absolute http(s) URL, or None when ``url`` is not one.

    Never raises: feeds and pages carry every kind of junk in their links.
    """
    try:
        absolute = urljoin(base, url.strip()) if base else url.strip()
        parts = urlsplit(absolute)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return None
        cleaned = _courlan_normalize(absolute)
        canonical: str = canonicalize_url(cleaned, keep_fragments=False)
    except (ValueError, UnicodeError, TypeError):
        return None
    parts = urlsplit(canonical)
    if parts.query:
        kept = [
            p for p in parts.query.split("&") if p.split("=", 1)[0].lower() not in _EXTRA_TRACKING
        ]
        canonical = parts._replace(query="&".join(kept)).geturl()
    return canonical


def url_key(url: str) -> str:
    """The dedup key of a normalised URL: scheme and a leading ``www.`` do not matter."""
    parts = urlsplit(url)
    host = (parts.netloc or "").lower().removeprefix("www.")
    path = parts.path or "/"
    return f"{host}{path}" + (f"?{parts.query}" if parts.query else "")


def site_of(url: str) -> str:
    """The site a URL belongs to: its host (without ``www.``), plus a non-default port."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().removeprefix("www.")
    if parts.port and parts.port not in (80, 443):
        return f"{host}:{parts.port}"
    return host


def is_same_site(a: str, b: str) -> bool:
    return site_of(a) == site_of(b)
