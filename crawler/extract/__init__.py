"""Pure parsing of fetched pages: articles (:func:`parse_article`), listings, feeds, sitemaps."""

from crawler.extract.parser import parse_article

__all__ = ["parse_article"]
