"""newsmon: a scheduled news-monitoring crawler.

Scrapy spiders discover articles on tag pages, RSS/Atom feeds and news sitemaps on an
APScheduler timetable; a pure parser turns each page into an :class:`~crawler.article.Article`;
the store keeps every article once, with its versions, URLs, feeds and tags.
"""

__version__ = "0.1.0"
