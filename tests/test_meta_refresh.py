"""Which pages go through Scrapy's meta-refresh redirect (crawler.crawl.meta_refresh).

A page the check lets pass is never decoded for a refresh, so the check must say "maybe"
for every way a page can write the tag in its first 4,096 characters; the crawl test in
tests/test_hostile.py follows one for real.
"""

from __future__ import annotations

import pytest

from crawler.crawl.meta_refresh import may_refresh

_HEAD = b'<!DOCTYPE html><html><head><meta charset="utf-8"><title>T</title>'


@pytest.mark.parametrize(
    "tag",
    [
        b'<meta http-equiv="refresh" content="0; url=/new">',
        b"<META HTTP-EQUIV='Refresh' CONTENT='5;URL=/new'>",
        b"<meta http-equiv=refresh content=0;url=/new>",
        b'<meta content="0; url=/new" http-equiv = "REFRESH">',
    ],
)
def test_every_spelling_of_the_tag_goes_to_scrapy(tag: bytes) -> None:
    assert may_refresh(_HEAD + tag + b"</head><body>" + "é".encode() * 2000 + b"</body></html>")


def test_an_encoding_that_is_not_ascii_compatible_goes_to_scrapy() -> None:
    page = '<html><head><meta http-equiv="refresh" content="0; url=/new">'.encode("utf-16")
    assert may_refresh(page)


@pytest.mark.parametrize(
    "page",
    [
        _HEAD + b"</head><body><p>No redirect here.</p></body></html>",
        # the word alone, in a script or the text, is no tag
        _HEAD + b"<script>window.adRefresh = 30;</script></head><body>refresh</body></html>",
        # a tag after what Scrapy reads (4,096 characters of at most 4 bytes) is not read
        _HEAD + b"<body>" + b"x" * (4 * 4096) + b'<meta http-equiv="refresh" content="0">',
    ],
)
def test_pages_without_a_tag_in_their_head_are_not_decoded(page: bytes) -> None:
    assert not may_refresh(page)
