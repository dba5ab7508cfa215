"""Page bytes to text: UTF-8 pages stay UTF-8 with a few bad bytes, windows-1252 pages still
come out right, declared or not, and a byte order mark beats every label."""

from __future__ import annotations

import pytest
from scrapy.http import HtmlResponse

from crawler.article import ParseHints
from crawler.extract.decoding import decode_html
from crawler.extract.parser import parse_article

URL = "https://example.org/zurich"

UTF8_TITLE = "Z\u00fcrich caf\u00e9 wins \u201cbest bakery\u201d \u2014 \u20ac5,000 prize"
UTF8_PARAGRAPHS = [
    "Die Z\u00fcrcher B\u00e4ckerei am Seeufer \u2014 \u201esch\u00f6n\u201c, sagte M\u00fcller "
    "\u2014 verkauft Croissants seit zw\u00f6lf Jahren.",
    "F\u00fcnf Franken g\u00fcnstiger als in der Altstadt: Caf\u00e9 cr\u00e8me, Br\u00f6tchen "
    "und Gipfeli f\u00fcr die Pendler.",
    "Am Sonntag \u00f6ffnet sie erst um neun Uhr; im Sommer stehen Tische drau\u00dfen am Ufer "
    "des Z\u00fcrichsees.",
]
UTF8_PAGE = (
    "<html><head>{meta}<title>Z\u00fcrich caf\u00e9</title></head><body><article>"
    f"<h1>{UTF8_TITLE}</h1>"
    + "".join(f"<p>{p}</p>" for p in UTF8_PARAGRAPHS)
    + "</article></body></html>"
)
# Bytes that are not UTF-8, as they turn up inside UTF-8 pages (all in the first paragraph):
# a latin-1 "ä" pasted in, a stray windows-1252 euro sign, a sequence cut short, a byte
# UTF-8 never uses.
ONE_BAD_BYTE = [("B\u00e4ckerei".encode(), b"B\xe4ckerei")]
SEVERAL_BAD_BYTES = [
    ("B\u00e4ckerei".encode(), b"B\xe4ckerei"),
    (b"Seeufer", b"See\x80ufer"),
    ("zw\u00f6lf".encode(), b"zw\xc3lf"),
    (b"Croissants", b"Crois\xffsants"),
]


def broken_utf8(meta: str, damage: list[tuple[bytes, bytes]]) -> bytes:
    data = UTF8_PAGE.format(meta=meta).encode("utf-8")
    for good, bad in damage:
        assert good in data
        data = data.replace(good, bad, 1)
    return data


@pytest.mark.parametrize("damage", [ONE_BAD_BYTE, SEVERAL_BAD_BYTES], ids=["one", "several"])
@pytest.mark.parametrize(
    ("meta", "charset"),
    [
        ("", "utf-8"),  # HTTP header
        ('<meta charset="utf-8">', None),  # <meta charset>
        ('<meta http-equiv="Content-Type" content="text/html; charset=UTF-8">', None),
        ("", None),  # nothing declared
        ('<meta charset="windows-1252">', None),  # a stale label on UTF-8 bytes
        ("", "iso-8859-1"),  # a server default that does not match the page
    ],
)
def test_utf8_with_bad_bytes_stays_utf8(
    meta: str, charset: str | None, damage: list[tuple[bytes, bytes]]
) -> None:
    data = broken_utf8(meta, damage)
    text = decode_html(data, charset)
    # Each bad byte becomes one U+FFFD; every other character is what the page says.
    assert text == data.decode("utf-8", errors="replace")
    assert text.count("\ufffd") == len(damage)
    assert "\u00c3" not in text  # no "ZÃ¼rich cafÃ©"
    article = parse_article(data, URL, ParseHints(charset=charset))
    assert article is not None
    assert article.title == UTF8_TITLE
    first = UTF8_PARAGRAPHS[0].encode("utf-8")
    for good, bad in damage:
        first = first.replace(good, bad, 1)
    damaged = first.decode("utf-8", errors="replace")
    assert article.body.split("\n\n") == [damaged, *UTF8_PARAGRAPHS[1:]]


def test_utf8_page_keeps_utf8_with_the_charset_scrapy_reports() -> None:
    # The spider passes the response's encoding: for a page that declares nothing, Scrapy
    # infers one from the bytes, and invalid UTF-8 makes it infer something else.
    data = broken_utf8("", ONE_BAD_BYTE)
    response = HtmlResponse(URL, body=data, headers={"Content-Type": "text/html"})
    assert response.encoding.replace("-", "").lower() != "utf8"
    article = parse_article(data, URL, ParseHints(charset=response.encoding))
    assert article is not None
    assert article.title == UTF8_TITLE


CP1252_TITLE = "\u201cCaf\u00e9\u201d owners in S\u00e3o Jo\u00e3o win \u20ac5,000 prize"
CP1252_PAGE = (
    "<html><head>{meta}<title>Caf\u00e9 na\u00efve</title></head><body><article>"
    f"<h1>{CP1252_TITLE}</h1>"
    + "<p>\u201cWe did not expect it,\u201d said Ren\u00e9e Ib\u00e1\u00f1ez \u2014 the owner "
    "of the small caf\u00e9 near the station \u2014 who opened it twelve years ago with her "
    "brother.</p>"
    * 3
    # "É»" is C9 BB in windows-1252, which is also a valid UTF-8 character: a coincidence
    # like this must not turn a windows-1252 page into UTF-8.
    + "<p>The sign over the door still reads \u00abCAF\u00c9\u00bb in blue letters.</p>"
    "</article></body></html>"
)


@pytest.mark.parametrize(
    ("meta", "charset"),
    [
        ('<meta charset="windows-1252">', None),  # <meta charset>
        (
            '<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1">',
            None,
        ),  # WHATWG: latin-1 is read as windows-1252
        ("", "windows-1252"),  # HTTP header only
        ("", "latin-1"),
        ('<meta charset="utf-8">', "cp1252"),  # the header wins over the page
        ("", "utf-8"),  # a lying header: the bytes are not UTF-8, detection takes over
        ('<meta charset="utf-8">', None),  # a lying <meta charset>
        ("", None),  # nothing declared: charset-normalizer
    ],
)
def test_windows_1252_comes_out_right(meta: str, charset: str | None) -> None:
    page = CP1252_PAGE.format(meta=meta)
    data = page.encode("cp1252")
    assert decode_html(data, charset) == page
    article = parse_article(data, "https://example.org/cafe", ParseHints(charset=charset))
    assert article is not None
    assert article.title == CP1252_TITLE
    assert "Ren\u00e9e Ib\u00e1\u00f1ez \u2014 the owner" in article.body


def test_byte_order_mark_beats_labels() -> None:
    page = CP1252_PAGE.format(meta='<meta charset="windows-1252">')
    data = b"\xef\xbb\xbf" + page.encode("utf-8")
    assert decode_html(data, "windows-1252") == page  # BOM stripped, labels ignored
    broken = b"\xef\xbb\xbf" + broken_utf8('<meta charset="windows-1252">', ONE_BAD_BYTE)
    assert decode_html(broken) == broken[3:].decode("utf-8", errors="replace")
    utf16 = b"\xff\xfe" + page.encode("utf-16-le")
    assert decode_html(utf16) == page


def test_xml_declaration_is_no_obstacle() -> None:
    page = CP1252_PAGE.format(meta="")
    with_declaration = '<?xml version="1.0" encoding="utf-8"?>' + page
    article = parse_article(with_declaration, "https://example.org/cafe")
    assert article is not None
    assert article.title == CP1252_TITLE


LEGACY_PAGE = (
    "<html><head>{meta}<title>{title}</title></head><body><article><h1>{title}</h1>"
    "<p>{text}</p></article></body></html>"
)
LEGACY = {
    "shift_jis": ("東京の天気", "東京では明日、雨が降るでしょう。気温は十五度です。"),
    "iso-2022-jp": ("東京の天気", "東京では明日、雨が降るでしょう。気温は十五度です。"),
    "gbk": ("北京天气", "北京明天有雨，气温十五度，请带好雨伞出门。"),
    "euc-kr": ("서울 날씨", "서울은 내일 비가 오겠습니다. 기온은 십오 도입니다."),
    "windows-1251": ("Погода в Москве", "Завтра в Москве ожидается дождь, до пятнадцати градусов."),
    "koi8-r": ("Погода в Москве", "Завтра в Москве ожидается дождь, до пятнадцати градусов."),
}


@pytest.mark.parametrize("label", sorted(LEGACY))
@pytest.mark.parametrize("declared_by", ["header", "meta", "xml"])
def test_declared_legacy_encodings(label: str, declared_by: str) -> None:
    title, text = LEGACY[label]
    meta = f'<meta charset="{label}">' if declared_by == "meta" else ""
    page = LEGACY_PAGE.format(meta=meta, title=title, text=text)
    if declared_by == "xml":
        page = f'<?xml version="1.0" encoding="{label}"?>\n{page}'
    data = page.encode(label)
    assert decode_html(data, label if declared_by == "header" else None) == page
