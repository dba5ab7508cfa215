"""A small news network on 127.0.0.1 for the end-to-end tests: nothing reaches the internet.

Three invented sites, each on its own port (so each is its own origin with its own
robots.txt), written in the shapes real sites use:

* ``herald``  – tag pages with ``h2 a`` links and pagination, an RSS 2.0 feed; article pages
  whose only date is visible byline text in a US format with a zone abbreviation, no author,
  and a lot of chrome (app banners, metadata block, comment count that changes per request);
  one short wire copy on a bare template (no declared type) beside a rail of headline links.
* ``courier`` – JSON-LD ``NewsArticle`` + OpenGraph, ``rel=canonical``; a Google News sitemap
  and a topic page whose links point at variant URLs with tracking parameters.
* ``gazette`` – OpenGraph/``article:*`` meta only; an Atom feed with relative links and a
  WordPress-like tag page (no selector configured: links must be recognised as articles).

Herald and courier both run one wire story word for word, each with its own headline,
time, byline and picture; the courier's copy points ``rel=canonical`` at the herald's page,
as syndication partners do. Each copy is its own site's article (``ExpectedArticle.syndication``
names the story they share).

``FixtureNetwork.advance()`` switches every site from state 1 to state 2: new articles appear
on the listings and feeds and exactly one herald article is edited. Everything else is served
byte-identical (apart from herald's volatile comment count).

Standard library only for the servers; ``pytest`` only for the ``news_network`` fixture.
"""

from __future__ import annotations

import email.utils
import hashlib
import html
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler
from types import TracebackType
from urllib.parse import parse_qs, quote, urlsplit
from xml.sax.saxutils import escape as xml_escape

import pytest

from tests.loopback import LoopbackServer

__all__ = [
    "ExpectedArticle",
    "FeedSpec",
    "FixtureNetwork",
    "FixtureSite",
    "RequestRecord",
    "news_network",
]

HTML = "text/html; charset=utf-8"
RSS = "application/rss+xml; charset=utf-8"
ATOM = "application/atom+xml; charset=utf-8"
XML = "application/xml; charset=utf-8"
TEXT = "text/plain; charset=utf-8"

# Listing pages, feeds and sitemaps carry a fixed Last-Modified per state.
LAST_MODIFIED = {
    1: datetime(2022, 11, 14, 15, 0, tzinfo=UTC),
    2: datetime(2022, 11, 15, 15, 0, tzinfo=UTC),
}


# --------------------------------------------------------------------------------------------
# Public records
# --------------------------------------------------------------------------------------------


@dataclass
class RequestRecord:
    """One request a fixture site served."""

    path: str  # path + query as requested
    method: str
    headers: dict[str, str]
    status: int
    started_at: float  # time.monotonic()
    finished_at: float
    bytes_sent: int  # body bytes


@dataclass(frozen=True)
class ExpectedArticle:
    """An article that exists in the current state and that at least one feed finds."""

    site: str
    path: str  # canonical path on its site
    title: str
    published_at: str  # ISO 8601 UTC, e.g. "2022-11-12T00:29:00+00:00"
    authors: tuple[str, ...]
    page_tags: tuple[str, ...]  # tags the page itself carries (casefolded)
    feeds: tuple[str, ...]  # names of the feeds that find it in this state
    body_paragraphs: tuple[str, ...]  # the article paragraphs, in order, exactly
    chrome: tuple[str, ...]  # strings on the page that must NOT appear in the stored body
    edited_in_state2: bool = False
    is_short_wire_copy: bool = False  # a few paragraphs only, beside a big related rail
    # Extras (not needed by every test):
    modified_at: str | None = None  # ISO 8601 UTC when the page declares one
    language: str | None = None  # <html lang>
    lead_image_path: str | None = None
    image_caption: str | None = None  # caption text without the credit
    image_credit: str | None = None  # e.g. "Oleh Marchuk/AFP via Getty Images"
    alternate_paths: tuple[str, ...] = ()  # other paths serving the same page (courier /story/…)
    syndication: str | None = None  # the wire story this is one site's copy of
    # (feed name, tags that feed contributes: its configured tags + categories/keywords of the
    # entry, split on commas, casefolded); one pair per feed in ``feeds``.
    feed_tags: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def expected_tags(self, feeds: tuple[str, ...] | None = None) -> tuple[str, ...]:
        """Sorted union of the page tags and the tags of ``feeds`` (default: all its feeds)."""
        chosen = set(self.feeds if feeds is None else feeds)
        tags = set(self.page_tags)
        for name, extra in self.feed_tags:
            if name in chosen:
                tags.update(extra)
        return tuple(sorted(tags))


@dataclass(frozen=True)
class FeedSpec:
    """One ``[[feeds]]`` entry of newsmon's settings.toml, as a fixture site offers it."""

    name: str
    kind: str  # "listing" | "rss" | "sitemap"
    path: str
    tags: tuple[str, ...] = ()
    article_links: str | None = None
    next_page: str | None = None
    max_pages: int | None = None
    deny: tuple[str, ...] = ()


# --------------------------------------------------------------------------------------------
# Content model
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Story:
    key: str
    path: str
    title: str
    paragraphs: tuple[str, ...]
    published: datetime  # aware, in the site's local offset
    tags: tuple[str, ...] = ()  # as the page displays them
    authors: tuple[str, ...] = ()
    summary: str = ""
    caption: str = ""
    credit: str = ""
    modified: datetime | None = None
    since: int = 1  # first state in which it exists
    edited_title: str | None = None  # state 2 headline, when edited
    edited_paragraphs: tuple[str, ...] | None = None
    categories: tuple[str, ...] = ()  # RSS categories / news:keywords / Atom terms, as written
    zone: str = ""  # herald: "EST" / "EDT"
    variant_path: str | None = None  # courier: a second URL that serves the same page
    junk_jsonld_date: bool = False
    keywords_as_list: bool = False  # courier JSON-LD keywords: list instead of one string
    wire: bool = False  # herald: a short syndicated copy on the bare wire template
    syndication: str = ""  # a wire story several sites run word for word (same paragraphs)

    @property
    def edited(self) -> bool:
        return self.edited_title is not None

    def title_in(self, state: int) -> str:
        return self.edited_title if state >= 2 and self.edited_title else self.title

    def paragraphs_in(self, state: int) -> tuple[str, ...]:
        if state >= 2 and self.edited_paragraphs is not None:
            return self.edited_paragraphs
        return self.paragraphs

    @property
    def lead(self) -> str:
        return self.paragraphs[0]

    @property
    def teaser(self) -> str:
        return self.summary or self.lead


def _split_tags(values: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    out: list[str] = []
    for value in values:
        for part in value.split(","):
            tag = part.strip().casefold()
            if tag and tag not in out:
                out.append(tag)
    return tuple(out)


def _iso_utc(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat()


def _iso_z(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def _us_eastern(year: int, month: int, day: int, hour: int, minute: int) -> tuple[datetime, str]:
    """A New York wall-clock time as an aware datetime plus its zone abbreviation."""

    def nth_sunday(month_: int, n: int) -> date:
        first = date(year, month_, 1)
        return first + timedelta(days=(6 - first.weekday()) % 7 + 7 * (n - 1))

    local = datetime(year, month, day, hour, minute)
    dst_start = datetime.combine(nth_sunday(3, 2), datetime.min.time()).replace(hour=2)
    dst_end = datetime.combine(nth_sunday(11, 1), datetime.min.time()).replace(hour=2)
    summer = dst_start <= local < dst_end
    offset = timezone(timedelta(hours=-4 if summer else -5))
    return local.replace(tzinfo=offset), "EDT" if summer else "EST"


def _herald_date(dt: datetime, with_zone: str = "") -> str:
    """'Friday, 11 November 2022 07:29 PM EST' (locale independent)."""
    hour12 = dt.hour % 12 or 12
    text = (
        f"{_WEEKDAYS[dt.weekday()]}, {dt.day} {_MONTHS[dt.month - 1]} {dt.year} "
        f"{hour12:02d}:{dt.minute:02d} {'PM' if dt.hour >= 12 else 'AM'}"
    )
    return f"{text} {with_zone}" if with_zone else text


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _x(text: str) -> str:
    return xml_escape(text)


def _slug(name: str) -> str:
    return "-".join(name.lower().replace("á", "a").replace("ã", "a").split())


def _jsonld(data: object) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2).replace("</", "<\\/")


# --------------------------------------------------------------------------------------------
# Herald: tag pages + RSS, visible-text dates, heavy chrome
# --------------------------------------------------------------------------------------------

_H_KHERSON_DT, _H_KHERSON_Z = _us_eastern(2022, 11, 11, 19, 29)
_H_GRAIN_DT, _H_GRAIN_Z = _us_eastern(2022, 8, 1, 10, 14)
_H_RATE_DT, _H_RATE_Z = _us_eastern(2022, 9, 16, 13, 47)
_H_POWER_DT, _H_POWER_Z = _us_eastern(2022, 11, 14, 8, 5)
_H_WHEAT_DT, _H_WHEAT_Z = _us_eastern(2022, 11, 12, 11, 40)
_H_PRIVATE_DT, _H_PRIVATE_Z = _us_eastern(2022, 11, 13, 17, 0)
_H_ARCHIVE_DT, _H_ARCHIVE_Z = _us_eastern(2022, 4, 9, 14, 20)
_H_SWAP_DT, _H_SWAP_Z = _us_eastern(2022, 11, 15, 6, 12)
_H_MEDS_DT, _H_MEDS_Z = _us_eastern(2022, 11, 14, 21, 30)
_H_FERRY_DT, _H_FERRY_Z = _us_eastern(2022, 11, 10, 14, 5)
_H_DANUBE_DT, _H_DANUBE_Z = _us_eastern(2022, 11, 13, 9, 40)

_HERALD_RATE_PARAGRAPHS = (
    "Russia's central bank lowered its benchmark interest rate by half a percentage point on "
    "Friday, saying inflation was slowing faster than it had expected even as sanctions "
    "continued to weigh on output.",
    "The bank said in a statement that consumer demand remained subdued and that businesses "
    "were still struggling to replace imported parts and equipment cut off by Western "
    "restrictions.",
    "It signalled that further cuts were possible before the end of the year but warned that "
    "a tight labour market could push prices higher again.",
    "Economists polled before the decision had been divided, with several arguing that the "
    "bank would pause after a series of reductions since the spring.",
    "The rouble weakened slightly against the dollar after the announcement, while government "
    "bond yields edged lower.",
    "Official figures released last month showed the economy shrank in the second quarter "
    "compared with a year earlier, the first full quarter to reflect the impact of sanctions.",
    "Retailers in Moscow and St Petersburg said shoppers were still cautious about big "
    "purchases such as cars and household appliances, many of which now arrive through "
    "longer supply chains and at higher prices than before.",
)

# A wire story that herald and courier run word for word, under their own headlines.
DANUBE_WIRE: tuple[str, ...] = (
    "Barges loaded with Ukrainian maize and sunflower oil queued for up to a week at the "
    "mouth of the Danube this month, as river ports in Romania handled more grain than at "
    "any time since records began, port officials said on Sunday.",
    "The port of Galati moved almost two million tonnes of Ukrainian cargo in October, "
    "more than three times its usual monthly volume, after traders shifted exports away "
    "from the Black Sea routes that have been disrupted by the war.",
    "Operators said the narrow Sulina channel, which large ships use to reach the open sea, "
    "had become the main bottleneck. Pilots are guiding vessels through it day and night, "
    "and dredgers are working to keep its depth at seven metres.",
    "\u201cEvery berth is taken and every crane is working, but the river was never built "
    "for this,\u201d said the harbour master at Izmail, a Ukrainian port upstream. He said "
    "waiting times had fallen since a second convoy lane opened last week.",
    "The European Commission has promised funds for new rail links and storage silos along "
    "the river, but exporters said the money would take years to turn into capacity and "
    "that the winter, when fog and ice slow barge traffic, would test the route.",
    "Freight rates for a Danube barge have roughly doubled since the spring, according to "
    "a Bucharest shipping broker, adding to the cost of each tonne of grain that reaches "
    "buyers in Egypt, Turkey and southern Europe.",
)

HERALD_STORIES: tuple[_Story, ...] = (
    _Story(
        key="kherson",
        path="/news/world/crowds-greet-ukrainian-soldiers-in-kherson",
        title="Crowds Greet Ukrainian Soldiers in Kherson After Russian Pullback",
        published=_H_KHERSON_DT,
        zone=_H_KHERSON_Z,
        tags=("ukraine", "russia", "kherson"),
        caption="Residents wave national flags as an armoured vehicle drives through the "
        "centre of Kherson.",
        credit="Oleh Marchuk/AFP via Getty Images",
        categories=("Ukraine, Russia", "Kherson", "World"),
        paragraphs=(
            "Residents of Kherson poured into the central square on Friday evening as the first "
            "Ukrainian units drove into the southern city, hours after Moscow said its forces "
            "had completed a withdrawal to the eastern bank of the Dnipro.",
            "Video shared by local officials showed people climbing onto armoured vehicles, "
            "wrapping soldiers in flags and singing the national anthem outside the regional "
            "administration building, which had flown a Russian flag since March.",
            "“We waited eight months for this evening, and it still feels like a dream,” said "
            "Iryna Bondar, a retired schoolteacher who stayed in the city throughout the "
            "occupation to look after her mother.",
            "Ukraine's military said reconnaissance groups were clearing mines from the roads "
            "leading into the city and urged civilians not to approach abandoned equipment. "
            "Engineers were also inspecting the main road bridge across the river, which was "
            "badly damaged during the retreat.",
            "Russia's defence ministry said the redeployment had been carried out in an orderly "
            "manner and without losses. Its account could not be independently verified.",
            "Analysts cautioned that the river now forms a natural defensive line for Russian "
            "forces and that the city remains within range of artillery positioned on the "
            "opposite bank.",
            "Wire service reporting contributed to this article.",
        ),
    ),
    _Story(
        key="grain",
        path="/news/world/grain-convoy-leaves-odesa-as-corridor-reopens",
        title="Grain Convoy Leaves Odesa as Shipping Corridor Reopens",
        published=_H_GRAIN_DT,
        zone=_H_GRAIN_Z,
        tags=("ukraine", "grain", "shipping"),
        authors=("Daniel Okafor",),
        caption="A bulk carrier loaded with maize leaves the port of Odesa under escort.",
        credit="Petro Levchenko/Reuters via Getty Images",
        categories=("Ukraine", "Grain, Shipping"),
        paragraphs=(
            "The first cargo ship to leave Odesa in months sailed out of the port on Monday "
            "morning, carrying thousands of tonnes of maize bound for a buyer in the eastern "
            "Mediterranean.",
            "Port workers and harbour pilots gathered on the quay to watch the vessel ease away "
            "from its berth, escorted by a tug through waters that had been mined earlier in "
            "the war.",
            "“Every ship that leaves means a farmer somewhere gets paid and a bakery somewhere "
            "else gets flour,” said Mykola Hrytsenko, a logistics manager at one of the port's "
            "grain terminals.",
            "The departure follows weeks of negotiations over a corridor that would allow "
            "merchant vessels to pass safely through the Black Sea. Inspectors are expected to "
            "examine each ship before it continues to its destination.",
            "Insurers have been cautious about covering voyages in the region, and shipowners "
            "said premiums would decide how quickly traffic returns to normal levels.",
            "Ukrainian officials said about a dozen more vessels loaded with grain and "
            "sunflower oil were waiting in the ports of the Odesa region for permission to "
            "sail.",
        ),
    ),
    _Story(
        key="rate",
        path="/news/world/russian-central-bank-trims-key-rate",
        title="Russian Central Bank Trims Key Rate as Economy Contracts",
        edited_title="Russian Central Bank Trims Key Rate, Signals Pause in Easing",
        published=_H_RATE_DT,
        zone=_H_RATE_Z,
        tags=("russia", "economy", "sanctions"),
        caption="The headquarters of the central bank in central Moscow.",
        credit="Kirill Sokolov/AFP via Getty Images",
        categories=("Russia", "Economy, Sanctions"),
        paragraphs=_HERALD_RATE_PARAGRAPHS,
        edited_paragraphs=(
            *_HERALD_RATE_PARAGRAPHS[:2],
            "At a briefing later in the day, the bank's governor said policymakers now saw "
            "little room for further cuts this year and warned that a tight labour market "
            "could push prices higher again.",
            *_HERALD_RATE_PARAGRAPHS[3:],
        ),
    ),
    _Story(
        key="power",
        path="/news/world/repair-crews-race-to-restore-power-in-ukraine",
        title="Repair Crews Race to Restore Power in Ukraine as Temperatures Drop",
        published=_H_POWER_DT,
        zone=_H_POWER_Z,
        tags=("ukraine", "energy"),
        caption="Engineers repair a damaged substation on the outskirts of Kyiv.",
        credit="Serhii Hudak/Anadolu Agency via Getty Images",
        paragraphs=(
            "Engineers across Ukraine worked through the weekend to reconnect homes to the "
            "electricity grid after a new wave of strikes on power stations left several "
            "regions relying on rolling blackouts.",
            "The national grid operator said it had restored supply to most critical "
            "infrastructure, including hospitals and water pumping stations, but warned "
            "households to expect scheduled outages of up to four hours at a time.",
            "“Our crews are patching lines that were repaired only two weeks ago,” said Andriy "
            "Koval, a shift supervisor at a regional distribution company. “We fix, they "
            "strike, and we fix again.”",
            "City authorities opened heated shelters in schools and administrative buildings, "
            "where residents can charge phones, drink hot tea and use the internet during "
            "outages.",
            "European governments have pledged transformers, generators and cable to help keep "
            "the system running through the winter, although officials said deliveries were "
            "arriving more slowly than needed.",
            "Officials asked residents to limit their use of electric heaters, kettles and "
            "washing machines during the evening peak, when demand is highest, and to follow the "
            "outage schedules published each morning by their local utility.",
        ),
    ),
    _Story(
        key="slow",
        path="/news/slow",
        title="Russian Wheat Exports Climb Despite Payment Hurdles",
        published=_H_WHEAT_DT,
        zone=_H_WHEAT_Z,
        tags=("russia", "grain", "trade"),
        caption="A combine harvester at work in a wheat field in southern Russia.",
        credit="Vitaly Timkiv/Sputnik via Getty Images",
        paragraphs=(
            "Russian wheat exports rose in October to their highest monthly level this season, "
            "traders said on Saturday, as a large harvest offset difficulties in arranging "
            "payments and shipping insurance.",
            "Buyers in North Africa and the Middle East accounted for most of the volume, "
            "according to shipping data compiled by agricultural consultancies.",
            "Exporters said banks remained reluctant to process some transactions, forcing "
            "companies to route payments through intermediaries and adding days to each deal.",
            "“The grain is there and the ships are there. The bottleneck is paperwork,” said "
            "one Moscow-based trader who asked not to be named because he was not authorised to "
            "speak to the media.",
            "Analysts expect shipments to slow in the coming months as winter storms disrupt "
            "loading and as farmers hold back supplies in the hope of higher prices.",
            "Government officials have said they expect the harvest to be one of the largest on "
            "record, and have discussed setting export quotas for the second half of the season "
            "to keep domestic flour prices under control.",
        ),
    ),
    _Story(
        key="private",
        path="/private/grid-operator-prepares-emergency-winter-plan",
        title="Grid Operator Prepares Emergency Plan for Winter",
        published=_H_PRIVATE_DT,
        zone=_H_PRIVATE_Z,
        tags=("ukraine", "energy"),
        caption="Power lines near a thermal power plant.",
        credit="Yurii Rudenko/AFP via Getty Images",
        paragraphs=(
            "Ukraine's grid operator has drawn up an emergency plan that would prioritise "
            "hospitals, water utilities and heating plants if further strikes cut generating "
            "capacity during the coldest weeks of the winter.",
            "The plan, which has not yet been approved, divides each region into zones that "
            "would take turns receiving power on a fixed timetable published a day in advance.",
            "Officials said the schedule would be adjusted daily depending on the weather and "
            "on how quickly damaged equipment could be repaired or replaced.",
            "Business groups asked for advance notice of outages so that factories could plan "
            "shifts around them rather than shutting down without warning.",
            "The operator said it was also negotiating emergency imports of electricity from "
            "neighbouring countries, although the capacity of cross-border lines would limit how "
            "much power could be brought in at short notice during a cold spell.",
        ),
    ),
    _Story(
        key="archive",
        path="/news/world/kyiv-suburbs-begin-cleanup-as-residents-return",
        title="Kyiv Suburbs Begin Cleanup as Residents Return",
        published=_H_ARCHIVE_DT,
        zone=_H_ARCHIVE_Z,
        tags=("ukraine",),
        caption="Volunteers clear debris from a damaged street north of Kyiv.",
        credit="Anatolii Stepanov/AFP via Getty Images",
        paragraphs=(
            "Residents began returning to towns north of Kyiv on Saturday, weeks after the "
            "fighting moved away from the capital, to find streets lined with burned-out cars "
            "and homes without windows or roofs.",
            "Volunteers with shovels and wheelbarrows joined municipal crews clearing debris, "
            "while utility workers went from street to street checking gas pipes before "
            "reconnecting supplies.",
            "Local officials said schools and clinics would reopen in stages once engineers had "
            "confirmed that the buildings were safe.",
            "Many families said they planned to stay despite the damage, patching their houses "
            "with plastic sheeting until proper repairs could begin.",
            "Aid groups distributed food parcels, bottled water and building materials from a "
            "temporary depot set up in a school gymnasium, and said demand was rising each day as "
            "more families came back from the west of the country.",
        ),
    ),
    _Story(
        key="swap",
        path="/news/world/prisoner-exchange-returns-soldiers-to-families",
        title="Prisoner Exchange Returns Dozens of Soldiers to Their Families",
        since=2,
        published=_H_SWAP_DT,
        zone=_H_SWAP_Z,
        tags=("ukraine", "russia", "prisoners"),
        caption="Freed servicemen step off a bus after crossing back into Ukraine.",
        credit="Dmytro Smolenko/Ukrinform via Getty Images",
        categories=("Ukraine, Russia", "Prisoners of War"),
        paragraphs=(
            "Dozens of soldiers returned home on Tuesday in the latest prisoner exchange "
            "between Ukraine and Russia, officials on both sides said, after talks brokered by "
            "intermediaries over several weeks.",
            "Buses carrying the freed men crossed a checkpoint in the north-east of the country "
            "shortly after dawn. Many were wrapped in blankets and several needed help to walk.",
            "“Some of them have not spoken to their families since the spring,” said Olena "
            "Tkachuk, a volunteer who helps relatives trace missing service members. “Today, "
            "phones are ringing all over the country.”",
            "Ukrainian officials said the returning soldiers would receive medical and "
            "psychological care before being allowed to travel home. The names of those "
            "released were not immediately made public.",
            "Russia's defence ministry said in a short statement that its own servicemen had "
            "been handed over in the same exchange and were being flown to Moscow for "
            "treatment.",
            "Human rights monitors have repeatedly called on both countries to give independent "
            "observers access to detention sites holding prisoners of war.",
            "Families of soldiers still held in captivity gathered outside a government building "
            "in the capital later in the day, holding photographs of their relatives and calling "
            "for the next exchange to be arranged quickly.",
        ),
    ),
    _Story(
        key="medicines",
        path="/news/world/russian-regions-report-medicine-shortages",
        title="Russian Regions Report Shortages of Imported Medicines",
        since=2,
        published=_H_MEDS_DT,
        zone=_H_MEDS_Z,
        tags=("russia", "health", "sanctions"),
        caption="A pharmacy in the city of Samara.",
        credit="Nikolai Orlov/TASS via Getty Images",
        paragraphs=(
            "Pharmacies in several Russian regions have reported shortages of imported "
            "medicines, including some antibiotics and treatments for chronic conditions, "
            "according to patient groups and local media.",
            "Health officials said the gaps were temporary and blamed logistics problems rather "
            "than sanctions, which largely exempt pharmaceuticals but have complicated payments "
            "and transport.",
            "Patient associations said people with diabetes and epilepsy had been among the "
            "worst affected, with some forced to travel to other cities or switch to "
            "domestically produced alternatives.",
            "“A doctor can change a prescription, but not every patient tolerates the new "
            "drug,” said a coordinator at one patient group in the Volga region.",
            "The health ministry said it was working with distributors to move stock between "
            "regions and would publish weekly figures on the availability of essential "
            "medicines.",
            "Pharmacists said the situation varied widely from town to town, with shelves in "
            "large cities generally better stocked than those in smaller communities, where "
            "deliveries arrive less often and wholesalers hold smaller reserves.",
        ),
    ),
    # A 640-character wire copy without any declared type, beside a rail of headline links
    # bigger than itself: counted over the whole page, it looks like a listing.
    _Story(
        key="ferry",
        path="/news/wire/black-sea-ferry-service-resumes-after-strike",
        title="Black Sea Ferry Service Resumes After Three-Day Strike",
        published=_H_FERRY_DT,
        zone=_H_FERRY_Z,
        wire=True,
        paragraphs=(
            "Passenger ferries between Constanta and Istanbul sailed again on Thursday after "
            "crews ended a three-day strike over winter rosters, the operator said.",
            "The first departure left forty minutes late with about 300 passengers on board, "
            "many of them lorry drivers who had waited in the port since Monday. Two more "
            "sailings were added for the weekend to clear the backlog.",
            "The union said the agreement caps night shifts at four a week and restores a "
            "bonus for the December crossings, when storms often close the route. Freight "
            "operators said they expected the queue of trucks at the terminal to clear by "
            "Saturday evening.",
        ),
    ),
    _Story(
        key="danube",
        path="/news/world/danube-ports-race-to-handle-record-grain-flows",
        title="Danube Ports Race to Handle Record Ukrainian Grain Flows",
        published=_H_DANUBE_DT,
        zone=_H_DANUBE_Z,
        authors=("Marta Kowalczyk",),
        tags=("ukraine", "grain"),
        caption="Barges wait to be loaded at the Romanian river port of Galati.",
        credit="Andrei Popescu/AFP via Getty Images",
        categories=("Ukraine", "Grain, Shipping"),
        paragraphs=DANUBE_WIRE,
        syndication="danube-wire",
    ),
)


@dataclass(frozen=True)
class _Link:
    """One entry of a listing page: a story (by key) or a non-article item."""

    href: str
    title: str
    key: str | None = None  # story key; None for video/live items
    teaser: str = ""
    meta: str = ""


# --------------------------------------------------------------------------------------------
# Courier: JSON-LD + OpenGraph + canonical, news sitemap, topic page
# --------------------------------------------------------------------------------------------

_CEST = timezone(timedelta(hours=2))
_CET = timezone(timedelta(hours=1))

COURIER_STORIES: tuple[_Story, ...] = (
    _Story(
        key="factory",
        path="/economy/eurozone-factory-orders-fall-third-month-48211",
        variant_path="/story/48211",
        title="Eurozone Factory Orders Fall for Third Month Running",
        summary="Energy bills and weaker export demand force manufacturers to scale back.",
        published=datetime(2022, 10, 4, 9, 30, tzinfo=_CEST),
        modified=datetime(2022, 10, 4, 11, 5, tzinfo=_CEST),
        authors=("Claire Whitmore", "Matthias Berger"),
        tags=("Economy", "Manufacturing", "Eurozone"),
        categories=("Eurozone, Manufacturing, PMI",),
        caption="Steel coils stacked in a warehouse at a rolling mill in Duisburg.",
        credit="Photograph: Lukas Brandt/Courier",
        paragraphs=(
            "New orders at eurozone factories fell for a third consecutive month in September, "
            "a closely watched survey showed on Tuesday, as higher energy bills and weaker "
            "demand from abroad forced manufacturers to scale back production.",
            "The survey of purchasing managers found that the decline was broadest in Germany "
            "and Italy, where energy-intensive industries such as chemicals, paper and metals "
            "reported the sharpest drop in bookings.",
            "“Customers are postponing anything that is not urgent,” said the finance director "
            "of a mid-sized Bavarian components supplier. “Our order book looks like it did "
            "during the pandemic, only this time the cause is the gas price.”",
            "Input costs rose at a slower pace than in the summer, offering some relief, but "
            "firms said they were still passing much of the increase on to customers.",
            "Economists said the figures strengthened the case for a mild recession in the bloc "
            "over the winter, although employment in manufacturing held up better than output.",
            "The European Central Bank is due to meet later this month, and markets expect "
            "another large increase in interest rates despite the weakening outlook.",
        ),
    ),
    _Story(
        key="mortgages",
        path="/economy/mortgage-approvals-slide-as-borrowing-costs-climb-48377",
        title="Mortgage Approvals Slide as Borrowing Costs Climb",
        summary="First-time buyers are squeezed out as repayments jump.",
        published=datetime(2022, 10, 27, 6, 30, tzinfo=_CEST),
        modified=datetime(2022, 10, 27, 8, 45, tzinfo=_CEST),
        junk_jsonld_date=True,
        keywords_as_list=True,
        authors=("Sophie Laurent",),
        tags=("Housing", "Mortgages", "Interest rates"),
        categories=("Housing, Mortgages",),
        caption="A row of newly built terraced houses on the edge of Ghent.",
        credit="Photograph: Anouk Peeters/Courier",
        paragraphs=(
            "Banks approved fewer home loans in September than at any time in the past two "
            "years, central bank data showed on Thursday, as rising interest rates pushed "
            "monthly repayments beyond the reach of many first-time buyers.",
            "Approvals fell by almost a fifth compared with August, while the average rate "
            "offered on a new five-year fixed mortgage climbed to its highest level in a "
            "decade.",
            "Estate agents in several capitals reported that viewings had dropped sharply and "
            "that sellers were beginning to accept offers below their asking price.",
            "“The market has not fallen off a cliff, but it has certainly lost its footing,” "
            "said a housing economist at a Brussels think-tank. “Buyers who could borrow "
            "comfortably in spring are now being turned away.”",
            "Construction companies have also become more cautious. Several large developers "
            "said this month they would delay new projects until financing conditions became "
            "clearer.",
            "Policymakers have signalled that further rate rises are likely, suggesting the "
            "squeeze on borrowers will continue into next year.",
            "Some lenders have begun offering longer loan terms of up to 35 years to keep monthly "
            "payments affordable, a move that consumer groups warned would leave borrowers paying "
            "considerably more interest over the life of the mortgage.",
        ),
    ),
    _Story(
        key="airlines",
        path="/business/regional-airlines-cut-winter-schedules-48502",
        title="Regional Airlines Cut Winter Schedules as Fuel Bills Bite",
        summary="Smaller carriers suspend routes between January and March.",
        published=datetime(2022, 11, 8, 15, 20, tzinfo=_CET),
        modified=datetime(2022, 11, 8, 15, 20, tzinfo=_CET),
        authors=("Niall Brennan",),
        tags=("Airlines", "Aviation", "Business"),
        categories=("Airlines, Travel",),
        caption="Turboprop aircraft parked at a regional airport.",
        credit="Photograph: Bram de Vries/Courier",
        paragraphs=(
            "Several regional airlines are cutting flights from their winter timetables, "
            "blaming jet fuel prices that remain well above last year's levels and a slower "
            "recovery in business travel than they had hoped for.",
            "Carriers serving secondary airports across the Benelux countries and northern "
            "France said they would suspend a number of routes between January and March and "
            "reduce frequencies on others.",
            "“A half-empty morning flight used to be an irritation. At today's fuel prices it "
            "is a loss we cannot carry,” the chief executive of one carrier told analysts on a "
            "call on Tuesday.",
            "Airport operators warned that the reductions would hit towns that rely on a single "
            "daily connection to a major hub, and some local authorities said they were "
            "considering temporary support.",
            "Larger network airlines have so far kept winter capacity broadly stable, helped by "
            "strong demand for holiday travel and fuel-hedging contracts signed before prices "
            "spiked.",
            "Travel agents said customers booked on cancelled flights would be offered refunds or "
            "seats on alternative connections, but warned that some journeys could take several "
            "hours longer because of the need to change planes.",
        ),
    ),
    _Story(
        key="inflation",
        path="/economy/inflation-eases-slightly-as-food-prices-keep-rising-48655",
        title="Inflation Eases Slightly but Food Prices Keep Rising",
        summary="Energy costs rise less sharply while shoppers trade down.",
        since=2,
        published=datetime(2022, 11, 15, 11, 0, tzinfo=_CET),
        modified=datetime(2022, 11, 15, 12, 10, tzinfo=_CET),
        keywords_as_list=True,
        authors=("Claire Whitmore",),
        tags=("Economy", "Inflation", "Food"),
        categories=("Inflation, Consumer prices",),
        caption="Shoppers at a covered market in Antwerp.",
        credit="Photograph: Lotte Janssens/Courier",
        paragraphs=(
            "Consumer price inflation in the euro area eased slightly in October, according to "
            "figures published on Tuesday, but food prices continued to climb at their fastest "
            "pace in decades.",
            "Energy costs rose less sharply than in previous months as wholesale gas prices fell "
            "back from their summer peak, offering households a modest reprieve ahead of the "
            "heating season.",
            "The price of bread, dairy products and vegetables, however, kept rising, "
            "reflecting higher costs for fertiliser, transport and packaging that producers are "
            "still passing on to shops.",
            "“Shoppers are trading down to own-brand products and buying smaller quantities,” "
            "said a spokesperson for a supermarket association. “The basket looks different "
            "from a year ago.”",
            "Core inflation, which strips out energy and food, was unchanged, a sign that price "
            "pressures have spread across the wider economy.",
            "Economists said the figures were unlikely to change the central bank's plans for "
            "another rate increase at its December meeting.",
            "Trade unions in several member states have used the figures to press for higher wage "
            "settlements, arguing that workers have lost a significant share of their purchasing "
            "power over the past eighteen months.",
        ),
    ),
    # The herald's wire story, run word for word under the courier's own headline.
    _Story(
        key="danube",
        path="/business/danube-barge-traffic-hits-record-48590",
        title="Danube Barge Traffic Hits Record as Ukraine Reroutes Grain",
        summary="River ports in Romania handle more cargo than ever before.",
        published=datetime(2022, 11, 13, 17, 55, tzinfo=_CET),
        authors=("Pieter Janssens",),
        tags=("Shipping", "Ukraine", "Trade"),
        categories=("Shipping, Grain",),
        caption="A tug pushes grain barges past the river front in Galati.",
        credit="Photograph: Ioana Marin/Courier",
        paragraphs=DANUBE_WIRE,
        syndication="danube-wire",
    ),
)


# --------------------------------------------------------------------------------------------
# Gazette: OpenGraph / article:* meta only, Atom feed, WordPress-like tag page
# --------------------------------------------------------------------------------------------

GAZETTE_STORIES: tuple[_Story, ...] = (
    _Story(
        key="seawalls",
        path="/2022/11/10/coastal-towns-weigh-cost-of-higher-sea-walls.html",
        title="Coastal Towns Weigh the Cost of Higher Sea Walls",
        summary="Councils must choose between higher defences and retreat from exposed streets.",
        published=datetime(2022, 11, 10, 8, 15, tzinfo=UTC),
        modified=datetime(2022, 11, 10, 12, 40, tzinfo=UTC),
        authors=("Jane Doe", "John Roe"),
        tags=("Climate", "Flooding", "Coasts"),
        categories=("climate", "flooding"),
        caption="Waves break over the harbour wall during an autumn storm.",
        credit="Photo: Marieke Visser",
        paragraphs=(
            "Councils along the North Sea coast are being asked to decide within a year whether "
            "to raise their sea walls, retreat from the most exposed streets or accept that some "
            "neighbourhoods will flood more often.",
            "A report commissioned by a group of coastal municipalities estimates that keeping "
            "pace with projected sea-level rise would require raising defences by up to a metre "
            "over the next three decades in the most vulnerable places.",
            "The cost would fall heavily on small towns with shrinking tax bases. In one harbour "
            "town the engineers' preferred option would cost more than the council's entire "
            "budget for the next ten years.",
            "“People here have always lived with the sea, but they have never been asked to "
            "choose which parts of the town to save,” said the town's mayor, who took part in a "
            "public meeting on the proposals this week.",
            "Some residents argued for managed retreat, moving homes and services inland over a "
            "generation. Others said abandoning streets would destroy communities that have "
            "existed for centuries.",
            "National officials said funding rules would be revised next year and that towns "
            "which drew up long-term adaptation plans would be first in line for support.",
        ),
    ),
    _Story(
        key="heatpumps",
        path="/2022/11/09/heat-pump-installations-double-in-a-year.html",
        title="Heat Pump Installations Double in a Year as Households Seek Savings",
        summary="Installers report waiting lists of several months.",
        published=datetime(2022, 11, 9, 17, 45, tzinfo=UTC),
        authors=("Priya Raman",),
        tags=("Climate", "Energy", "Housing"),
        categories=("climate", "energy efficiency"),
        caption="An engineer fits an outdoor heat pump unit to a terraced house.",
        credit="Photo: Gareth Lloyd",
        paragraphs=(
            "The number of heat pumps installed in homes doubled in the first nine months of "
            "the year compared with the same period last year, an industry association said on "
            "Wednesday, as soaring gas bills pushed households to look for alternatives.",
            "Installers reported waiting lists of several months, and some said they had "
            "stopped taking new customers until the spring because they could not recruit "
            "engineers fast enough.",
            "“We used to spend half our time persuading people. Now we spend it apologising for "
            "the delay,” said Ana Kowalski, who runs a small installation firm with six "
            "employees.",
            "Government grants cover part of the upfront cost, but consumer groups said the "
            "remaining bill was still out of reach for many low-income households, who are most "
            "exposed to high energy prices.",
            "The association called for a national training programme to double the number of "
            "qualified installers by 2025 and for clearer rules on noise and planning "
            "permission.",
            "Manufacturers said supply shortages of some components had eased since the summer, "
            "and that several companies were expanding their factories in Europe to shorten "
            "delivery times and reduce their reliance on imported parts.",
        ),
    ),
    _Story(
        key="offshore",
        path="/2022/11/07/offshore-wind-auction-draws-record-bids.html",
        title="Offshore Wind Auction Draws Record Number of Bids",
        summary="Developers bid for six sites far from the coast despite rising costs.",
        published=datetime(2022, 11, 7, 6, 0, tzinfo=UTC),
        modified=datetime(2022, 11, 7, 9, 30, tzinfo=UTC),
        authors=("Tomás Ferreira",),
        tags=("Energy", "Renewables"),
        categories=("energy", "renewables"),
        caption="Turbines at an offshore wind farm seen from a service vessel.",
        credit="Photo: Sigrid Holm",
        paragraphs=(
            "A government auction for offshore wind leases attracted a record number of bids, "
            "officials said on Monday, despite rising costs for turbines, steel and financing "
            "that have squeezed developers' margins.",
            "Twenty-three consortia submitted offers for six sites far from the coast, where "
            "stronger and steadier winds could allow larger turbines to run for more hours of "
            "the year.",
            "Developers said the long-term contracts on offer provided the certainty needed to "
            "raise money at a time when interest rates were climbing quickly.",
            "“The economics are tighter than two years ago, but the direction of travel is "
            "clear,” said João Almeida, head of offshore projects at a Lisbon-based utility that "
            "joined one of the consortia.",
            "Fishing organisations have asked to be consulted on cable routes and exclusion "
            "zones before leases are awarded, which is expected early next year.",
            "Port authorities along the coast are already competing to host assembly and "
            "maintenance bases for the new wind farms, which could bring hundreds of skilled jobs "
            "to towns that lost employment when shipyards closed.",
        ),
    ),
    _Story(
        key="glaciers",
        path="/2022/11/15/alpine-glacier-survey-finds-faster-summer-melt.html",
        title="Alpine Glacier Survey Finds Faster Summer Melt",
        summary="Some smaller glaciers have stopped moving altogether.",
        since=2,
        published=datetime(2022, 11, 15, 7, 30, tzinfo=UTC),
        authors=("Jane Doe",),
        tags=("Climate", "Glaciers"),
        categories=("climate", "glaciers"),
        caption="Researchers measure ice thickness on a glacier above a mountain village.",
        credit="Photo: Reto Zimmermann",
        paragraphs=(
            "Glaciers in the Alps lost more ice this summer than in any year since systematic "
            "measurements began, according to a survey published on Tuesday by a network of "
            "university research groups.",
            "Researchers said a dry winter with little snow, followed by repeated heatwaves from "
            "May to August, left glacier surfaces exposed to the sun for weeks longer than "
            "usual.",
            "At several measuring stations the ice thinned by more than four metres, and some "
            "smaller glaciers have effectively stopped moving and are expected to disappear "
            "within a decade.",
            "“We used to talk about losses in centimetres. This year our field teams came back "
            "talking about metres,” said Lena Hofer, a glaciologist who coordinated the survey.",
            "The loss of ice affects water supplies for hydropower and farming downstream, as "
            "well as the stability of mountain slopes where thawing ground has caused rockfalls "
            "near popular hiking routes.",
            "The researchers said that even if global emissions fell sharply, many of the smaller "
            "glaciers were already too far out of balance with the current climate to survive, "
            "and urged authorities to plan for their loss.",
        ),
    ),
)


# --------------------------------------------------------------------------------------------
# HTTP plumbing
# --------------------------------------------------------------------------------------------


@dataclass
class _Response:
    status: int
    content_type: str
    body: bytes
    kind: str = "other"  # "listing" (ETag + Last-Modified) | "article" (ETag) | "other"
    delay: float = 0.0


def _page(status: int, body: str, kind: str = "other", delay: float = 0.0) -> _Response:
    return _Response(status, HTML, body.encode("utf-8"), kind, delay)


def _error_page(status: int, title: str, message: str) -> _Response:
    return _page(
        status,
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{title}'
        f"</title></head>\n<body><h1>{title}</h1><p>{message}</p>"
        '<p><a href="/">Back to the home page</a></p></body></html>\n',
    )


def _etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:24] + '"'


def _etag_matches(header: str, etag: str) -> bool:
    if header.strip() == "*":
        return True
    wanted = etag.removeprefix("W/")
    return any(t.strip().removeprefix("W/") == wanted for t in header.split(","))


# --------------------------------------------------------------------------------------------
# Sites
# --------------------------------------------------------------------------------------------


class FixtureSite:
    """One news site on its own 127.0.0.1 port. Subclasses provide the content."""

    name: str = ""
    language: str = "en"
    stories: tuple[_Story, ...] = ()

    def __init__(self, slow_delay: float = 3.0) -> None:
        self.state = 1
        self.slow_delay = slow_delay
        self.article_delay = 0.0  # every article page takes this long (concurrency tests)
        self.crawl_delay: float | None = None  # adds a Crawl-delay line to robots.txt
        self.extra_robots = ""  # more robots.txt lines for the group of every user agent
        self.requests: list[RequestRecord] = []
        self._lock = threading.Lock()
        self._in_flight = 0
        self._max_in_flight = 0
        self._counter = 0
        self._closing = threading.Event()
        self._closed = False
        self._by_key = {s.key: s for s in self.stories}
        self._server = LoopbackServer(self, self.name, "NewsFixture/1.0")
        self.base_url = self._server.base_url

    # -- public API ----------------------------------------------------------------------------

    def url(self, path: str) -> str:
        return self.base_url + (path if path.startswith("/") else "/" + path)

    def paths_requested(self) -> list[str]:
        with self._lock:
            return [r.path for r in self.requests]

    def max_in_flight(self) -> int:
        with self._lock:
            return self._max_in_flight

    def in_flight(self) -> int:
        """Requests being served right now."""
        with self._lock:
            return self._in_flight

    def reset_requests(self) -> None:
        """Forget recorded requests and the in-flight maximum (e.g. between two crawls)."""
        with self._lock:
            self.requests.clear()
            self._max_in_flight = self._in_flight

    def feeds(self) -> tuple[FeedSpec, ...]:
        raise NotImplementedError

    def expected_articles(self) -> list[ExpectedArticle]:
        """Articles that exist in the current state and that at least one feed finds."""
        state = self.state
        found = self._found_by(state)
        specs = {f.name: f for f in self.feeds()}
        out: list[ExpectedArticle] = []
        for story in self.stories:
            if story.since > state:
                continue
            feeds = tuple(name for name in specs if story.key in found[name])
            if not feeds:
                continue
            out.append(
                ExpectedArticle(
                    site=self.name,
                    path=story.path,
                    title=story.title_in(state),
                    published_at=_iso_utc(story.published),
                    authors=story.authors,
                    page_tags=self._page_tags(story),
                    feeds=feeds,
                    body_paragraphs=story.paragraphs_in(state),
                    chrome=self._chrome(story),
                    edited_in_state2=story.edited,
                    is_short_wire_copy=story.wire,
                    modified_at=_iso_utc(story.modified) if story.modified else None,
                    language=self.language,
                    lead_image_path=self._image_path(story),
                    image_caption=story.caption or None,  # a story without a figure has none
                    image_credit=story.credit,
                    alternate_paths=(story.variant_path,) if story.variant_path else (),
                    syndication=story.syndication or None,
                    feed_tags=tuple((n, self._feed_tags(story, specs[n])) for n in feeds),
                )
            )
        return out

    def never_requested(self) -> tuple[str, ...]:
        """Paths (with query) a correct crawl of this site's feeds never requests."""
        return ()

    def non_article_paths(self) -> tuple[str, ...]:
        """Paths that may be requested but must never be stored as articles."""
        return ()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._closing.set()  # wakes the slow page
        self._server.close()

    # -- content hooks -------------------------------------------------------------------------

    def _route(self, path: str, query: dict[str, list[str]]) -> _Response | None:
        raise NotImplementedError

    def _robots(self) -> str:
        return "User-agent: *\nDisallow:\n"

    def _found_by(self, state: int) -> dict[str, set[str]]:
        raise NotImplementedError

    def _page_tags(self, story: _Story) -> tuple[str, ...]:
        return _split_tags(story.tags)

    def _feed_tags(self, story: _Story, spec: FeedSpec) -> tuple[str, ...]:
        tags = list(_split_tags(spec.tags))
        if spec.kind != "listing":
            tags += [t for t in _split_tags(story.categories) if t not in tags]
        return tuple(tags)

    def _chrome(self, story: _Story) -> tuple[str, ...]:
        return ()

    def _image_path(self, story: _Story) -> str:
        return f"/images/{story.key}.jpg"

    def _nav_paths(self) -> tuple[str, ...]:
        return ("/",)

    def _story(self, key: str) -> _Story:
        return self._by_key[key]

    def _live(self, state: int) -> list[_Story]:
        return [s for s in self.stories if s.since <= state]

    def _next_comment_count(self) -> int:
        with self._lock:
            self._counter += 1
            return 376 + self._counter

    # -- request handling ----------------------------------------------------------------------

    def _dispatch(self, raw_path: str) -> _Response:
        parts = urlsplit(raw_path)
        path = parts.path or "/"
        query = parse_qs(parts.query)
        if path == "/robots.txt":
            robots = self._robots()
            robots += self.extra_robots
            if self.crawl_delay is not None:
                robots += f"Crawl-delay: {self.crawl_delay}\n"
            return _Response(200, TEXT, robots.encode("utf-8"))
        response = self._route(path, query)
        if response is None and path in self._nav_paths():
            response = self._index_page(path)
        if response is None:
            response = _error_page(
                404, "Page not found", "Sorry, the page you were looking for does not exist."
            )
        return response

    def _home_page(self) -> str | None:
        """The site's own home page (its head, navigation and footer); None: a plain index."""
        return None

    def _home_links(self) -> str:
        return "\n".join(
            f'<li><h2><a href="{_e(s.path)}">{_e(s.title_in(self.state))}</a></h2></li>'
            for s in self._live(self.state)[:3]
        )

    def _index_page(self, path: str) -> _Response:
        """A navigation page (home, section, author): a list of links, no article."""
        home = self._home_page() if path == "/" else None
        if home is not None:
            return _page(200, home, "listing")
        items = "\n".join(
            f'<li><a href="{_e(s.path)}">{_e(s.title_in(self.state))}</a></li>'
            for s in self._live(self.state)[:3]
        )
        title = path.strip("/").replace("-", " ").replace("/", " · ").title() or "Home"
        return _page(
            200,
            f'<!DOCTYPE html>\n<html lang="{self.language}"><head><meta charset="utf-8">'
            f"<title>{_e(title)}</title></head>\n<body><h1>{_e(title)}</h1>\n"
            f'<ul class="links">\n{items}\n</ul></body></html>\n',
            "listing",
        )

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        started = time.monotonic()
        with self._lock:
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)
        status = 500
        body = b""
        recorded = False

        def record() -> None:
            nonlocal recorded
            if recorded:
                return
            recorded = True
            finished = time.monotonic()
            with self._lock:
                self._in_flight -= 1
                self.requests.append(
                    RequestRecord(
                        path=handler.path,
                        method=handler.command,
                        headers=dict(handler.headers.items()),
                        status=status,
                        started_at=started,
                        finished_at=finished,
                        bytes_sent=len(body),
                    )
                )

        try:
            try:
                response = self._dispatch(handler.path)
            except Exception as error:  # a bug in the fixture: show it, do not hang up
                response = _error_page(500, "Fixture error", _e(repr(error)))
            delay = max(response.delay, self.article_delay if response.kind == "article" else 0.0)
            if delay:
                self._closing.wait(delay)
            status, body = response.status, response.body
            extra: list[tuple[str, str]] = []
            if status == 200 and response.kind in ("listing", "article"):
                etag = _etag(body)
                extra.append(("ETag", etag))
                last_modified = LAST_MODIFIED[self.state] if response.kind == "listing" else None
                if last_modified is not None:
                    extra.append(
                        ("Last-Modified", email.utils.format_datetime(last_modified, True))
                    )
                if self._not_modified(handler, etag, last_modified):
                    status, body = 304, b""
            handler.send_response(status)
            if status != 304:
                handler.send_header("Content-Type", response.content_type)
                handler.send_header("Content-Length", str(len(body)))
            for name, value in extra:
                handler.send_header(name, value)
            # Record (and leave the in-flight count) before the client can have the whole
            # response: a sequential client must never see two requests in flight.
            record()
            handler.end_headers()
            if body:
                handler.wfile.write(body)
        except OSError:  # the client went away
            pass
        finally:
            record()

    @staticmethod
    def _not_modified(
        handler: BaseHTTPRequestHandler, etag: str, last_modified: datetime | None
    ) -> bool:
        if_none_match = handler.headers.get("If-None-Match")
        if if_none_match is not None:
            return _etag_matches(if_none_match, etag)
        since = handler.headers.get("If-Modified-Since")
        if since and last_modified is not None:
            try:
                when = email.utils.parsedate_to_datetime(since)
            except (TypeError, ValueError):
                return False
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            return last_modified <= when
        return False


# --------------------------------------------------------------------------------------------


class HeraldSite(FixtureSite):
    name = "herald"
    language = "en"
    stories = HERALD_STORIES

    VIDEO = "/video/celebrations-in-kherson-square"
    LIVE = "/live/ukraine-war-updates"
    AUTHOR = "/author/daniel-okafor"
    UKRAINE_PAGES = 3  # page 3 exists, beyond max_pages = 2

    def feeds(self) -> tuple[FeedSpec, ...]:
        return (
            FeedSpec(
                name="herald-ukraine",
                kind="listing",
                path="/tags/ukraine",
                tags=("ukraine",),
                article_links="h2 a",
                next_page="a.next",
                max_pages=2,
                deny=("/video/", "/live/"),
            ),
            FeedSpec(
                name="herald-russia",
                kind="listing",
                path="/tags/russia",
                tags=("russia",),
                article_links="h2 a",
            ),
            FeedSpec(name="herald-rss", kind="rss", path="/rss/world.xml", tags=("world",)),
        )

    def _robots(self) -> str:
        return "User-agent: *\nDisallow: /private/\nDisallow: /search\n"

    def _nav_paths(self) -> tuple[str, ...]:
        tag_pages = {f"/tags/{t}" for s in self.stories for t in s.tags}
        tag_pages -= {"/tags/ukraine", "/tags/russia"}
        return ("/", "/newsfront", "/politics", "/world", self.AUTHOR, *sorted(tag_pages))

    def never_requested(self) -> tuple[str, ...]:
        return (
            self._story("private").path,
            "/tags/ukraine?page=3",
            self._story("archive").path,
            self.VIDEO,
            self.LIVE,
            self.AUTHOR,
            "/tags/kherson",
        )

    def non_article_paths(self) -> tuple[str, ...]:
        return ("/news/missing", "/news/broken", self.VIDEO, self.LIVE, self.AUTHOR)

    def _chrome(self, story: _Story) -> tuple[str, ...]:
        if story.wire:
            return (*self._rail_titles(story), "Herald Wire Services", "More From the Wire")
        return (
            "Herald TV & Web",
            "FREE - In Google Play",
            "FREE - On the App Store",
            "WATCH TV LIVE",
            "Skip to main content",
            "Tags: " + " | ".join(story.tags),
            story.caption,
            f"({story.credit})",
            _herald_date(story.published),
            "© 2022 Herald Media. All rights reserved.",
            "Click Here to comment on this article",
            "Worldfront",
            ", ".join(story.tags),
            f"{story.published.year}-29-{story.published.month:02d}",
            "Herald Media, Inc.",
            "Sign up for Herald's Daily Newsletter",
            "Get the morning's top stories and our analysis in your inbox before breakfast.",
            "(Optional for Local Stories)",
            "We will never sell or share your email address.",
            "Join the Herald Community",
            "Read and Post Comments",
            "Please read our Community Rules before you comment.",
            "Herald, Herald Money and Herald Health are registered trademarks of "
            "Herald Media, Inc.",
            "Download the Herald TV App",
        )

    # -- listings --------------------------------------------------------------------------------

    def _link(self, key: str, href: str | None = None) -> _Link:
        story = self._story(key)
        meta = _herald_date(story.published)
        if story.authors:
            meta = f'<a class="author" href="{self.AUTHOR}">{_e(story.authors[0])}</a> | {_e(meta)}'
        else:
            meta = _e(meta)
        return _Link(
            href=href or story.path,
            title=story.title_in(self.state),
            key=key,
            teaser=story.lead,
            meta=meta,
        )

    def _ukraine_pages(self, state: int) -> list[list[_Link]]:
        power = self._link("power", self._story("power").path + "?utm_campaign=x#comments")
        video = _Link(self.VIDEO, "Video: Crowds Celebrate in Kherson's Main Square")
        live = _Link(self.LIVE, "Live: Latest Updates From Ukraine")
        private = self._link("private")
        page3 = [self._link("archive")]
        if state == 1:
            return [
                [power, video, private, self._link("kherson")],
                [live, self._link("grain")],
                page3,
            ]
        return [
            [self._link("swap"), power, video, private],
            [self._link("kherson"), live, self._link("grain")],
            page3,
        ]

    def _russia_items(self, state: int) -> list[_Link]:
        items = [
            self._link("rate"),
            self._link("slow"),
            self._link("kherson"),
            _Link("/news/missing", "Kremlin Reshuffles Regional Governors"),
            _Link("/news/broken", "Moscow Exchange Extends Trading Halt"),
            self._link("ferry"),
        ]
        if state == 2:
            items = [self._link("medicines"), self._link("swap"), *items]
        return items

    def _rss_stories(self, state: int) -> list[_Story]:
        keys = ["danube", "kherson", "rate", "grain"]
        keys = keys if state == 1 else ["swap", *keys]
        return [self._story(k) for k in keys]

    def _found_by(self, state: int) -> dict[str, set[str]]:
        ukraine = {
            link.key
            for page in self._ukraine_pages(state)[:2]
            for link in page
            if link.key and not link.href.startswith("/private/")
        }
        russia = {link.key for link in self._russia_items(state) if link.key}
        rss = {s.key for s in self._rss_stories(state)}
        return {"herald-ukraine": ukraine, "herald-russia": russia, "herald-rss": rss}

    # -- rendering -----------------------------------------------------------------------------

    def _head(self, title: str, extra: str = "") -> str:
        return (
            '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{_e(title)} | Herald</title>\n"
            '<meta property="og:site_name" content="Herald">\n'
            f"{extra}"
            '<link rel="stylesheet" href="/static/css/site.css">\n'
            '<link rel="alternate" type="application/rss+xml" title="Herald World" '
            'href="/rss/world.xml">\n</head>\n'
        )

    def _masthead(self) -> str:
        return (
            '<div class="app-banner app-banner-android"><span class="close">×</span>'
            '<span class="app-name">Herald TV &amp; Web</span>'
            '<span class="app-domain">herald.example</span>'
            '<span class="app-price">FREE - In Google Play</span>'
            '<a class="app-view" href="https://play.google.com/store/apps/details?id=example.herald">'
            "VIEW</a></div>\n"
            '<div class="app-banner app-banner-ios"><span class="close">×</span>'
            '<span class="app-name">Herald TV &amp; Web</span>'
            '<span class="app-domain">herald.example</span>'
            '<span class="app-price">FREE - On the App Store</span>'
            '<a class="app-view" href="https://apps.apple.com/app/id000000000">VIEW</a></div>\n'
            '<header class="masthead">\n<a class="logo" href="/">Herald</a>\n'
            f'<a class="watch-live" href="{self.LIVE}">WATCH TV LIVE</a>\n'
            '<nav class="main-nav"><a href="/newsfront">Newsfront</a> '
            '<a href="/politics">Politics</a> <a href="/world">World</a> '
            '<a href="/tags/ukraine">Ukraine</a> <a href="/tags/russia">Russia</a></nav>\n'
            "</header>\n"
            '<a class="skip-link" href="#main">Skip to main content</a>\n'
        )

    def _home_page(self) -> str:
        return (
            self._head("The World's Front Page")
            + "<body>\n"
            + self._masthead()
            + f'<main id="main">\n<ul class="top-stories">\n{self._home_links()}\n</ul>\n</main>\n'
            + self._footer()
        )

    def _footer(self) -> str:
        return (
            '<footer class="site-footer">\n'
            "<p>Herald, Herald Money and Herald Health are registered trademarks of Herald "
            "Media, Inc.</p>\n"
            "<p>HERALD.EXAMPLE</p><p>The World's Front Page</p>\n"
            "<p>© Herald Media, Inc.</p><p>All Rights Reserved</p>\n"
            '<p><a href="https://apps.apple.com/app/id000000000">'
            "Download the Herald TV App</a></p>\n"
            "</footer>\n</body>\n</html>\n"
        )

    def _listing_page(self, heading: str, items: list[_Link], next_href: str | None) -> str:
        rows = []
        for item in items:
            teaser = f'<p class="teaser">{_e(item.teaser)}</p>' if item.teaser else ""
            meta = f'<p class="meta">{item.meta}</p>' if item.meta else ""
            media = ""
            if item.key is None:
                media = '<span class="badge">Watch</span>'
            rows.append(
                f'<li class="story-item">{media}<h2><a href="{_e(item.href)}">{_e(item.title)}'
                f"</a></h2>{teaser}{meta}</li>"
            )
        pager = ""
        if next_href:
            pager = (
                f'<nav class="pagination"><a class="next" href="{_e(next_href)}">Next »</a></nav>\n'
            )
        return (
            self._head(f"{heading} News")
            + "<body>\n"
            + self._masthead()
            + f'<main id="main">\n<h1 class="tag-title">{_e(heading)}</h1>\n'
            + '<ul class="story-list">\n'
            + "\n".join(rows)
            + "\n</ul>\n"
            + pager
            + '<aside class="sidebar"><h3>Watch</h3><ul>'
            + f'<li><a href="{self.VIDEO}">Celebrations in Kherson</a></li>'
            + f'<li><a href="{self.LIVE}">Live updates</a></li></ul>'
            + f'<h3>Columnists</h3><ul><li><a href="{self.AUTHOR}">Daniel Okafor</a></li></ul>'
            + "</aside>\n</main>\n"
            + self._footer()
        )

    def _rail_titles(self, story: _Story) -> list[str]:
        return [s.title for s in self.stories if s.key != story.key and s.since == 1]

    def _wire_page(self, story: _Story) -> str:
        """The bare template of syndicated copy: no og:type, no JSON-LD, a visible date, and
        a rail of headline links to the site's other stories with more words than the story."""
        rail = "\n".join(
            f'<li><h3><a href="{_e(s.path)}">{_e(s.title)}</a></h3></li>'
            for s in self.stories
            if s.key != story.key and s.since == 1
        )
        body = "\n".join(f"<p>{_e(p)}</p>" for p in story.paragraphs)
        date_text = f"{_herald_date(story.published)} {story.zone}"
        return (
            self._head(story.title)
            + "<body>\n"
            + self._masthead()
            + '<main id="main">\n<div class="wire-copy">\n'
            + f"<h1>{_e(story.title)}</h1>\n"
            + f'<div class="wire-meta">Herald Wire Services | {_e(date_text)}</div>\n'
            + f'<div class="wire-text">\n{body}\n</div>\n</div>\n'
            + f'<div class="rail"><h2>More From the Wire</h2><ul>\n{rail}\n</ul></div>\n'
            + "</main>\n"
            + self._footer()
        )

    def _article_page(self, story: _Story) -> str:
        if story.wire:
            return self._wire_page(story)
        state = self.state
        title = story.title_in(state)
        paragraphs = story.paragraphs_in(state)
        image = self.url(self._image_path(story))
        comments = self._next_comment_count()
        tags_links = " | ".join(f'<a href="/tags/{_e(t)}">{_e(t)}</a>' for t in story.tags)
        author = story.authors[0] if story.authors else ""
        author_html = (
            f'<a class="author" href="{self.AUTHOR}">{_e(author)}</a>'
            if author
            else '<a class="author" href=""></a>'
        )
        share_target = quote(self.url(story.path), safe="")
        body = "\n".join(f"<p>{_e(p)}</p>" for p in paragraphs)
        date_text = _herald_date(story.published)
        head_extra = (
            '<meta property="og:type" content="article">\n'
            f'<meta property="og:title" content="{_e(title)}">\n'
            f'<meta property="og:description" content="{_e(story.lead)}">\n'
            f'<meta property="og:image" content="{_e(image)}">\n'
            '<meta name="twitter:card" content="summary_large_image">\n'
        )
        return (
            self._head(title, head_extra)
            + '<body class="article">\n'
            + self._masthead()
            + '<main id="main">\n<article class="story">\n'
            + f'<div class="story-tags">Tags: {tags_links}</div>\n'
            + f'<h1 class="headline">{_e(title)}</h1>\n'
            + '<figure class="lead-image">'
            + f'<img src="{_e(image)}" alt="{_e(title)}" width="1200" height="675">'
            + f"<figcaption>{_e(story.caption)} "
            + f'<span class="credit">({_e(story.credit)})</span></figcaption></figure>\n'
            + f'<div class="byline">By {author_html}&nbsp;&nbsp;&nbsp;|&nbsp;&nbsp; '
            + f"{_e(date_text)} {story.zone}</div>\n"
            + f'<div class="story-body">\n{body}\n'
            + '<p class="copyright">© 2022 Herald Media. All rights reserved.</p>\n</div>\n'
            + "</article>\n"
            + '<div class="comment-cta"><a href="#comments">Click Here to comment on this '
            + "article</a></div>\n"
            + '<div class="share"><span>Share</span> '
            + f'<a href="https://www.facebook.com/sharer/sharer.php?u={share_target}">Facebook</a> '
            + f'<a href="https://twitter.com/intent/tweet?url={share_target}">Twitter</a> '
            + f'<a href="mailto:?subject={quote(title)}&amp;body={share_target}">Email</a></div>\n'
            + '<div class="story-meta" aria-hidden="true">\n'
            + '<div class="meta-section">Worldfront</div>\n'
            + f'<div class="meta-lead">{_e(story.lead)}</div>\n'
            + f'<div class="meta-keywords">{_e(", ".join(story.tags))}</div>\n'
            + f'<div class="meta-comments">{comments}</div>\n'
            + f'<div class="meta-date">{story.published.year}-29-{story.published.month:02d}'
            + "</div>\n"
            + f'<div class="meta-date-text">{_e(date_text)}</div>\n'
            + '<div class="meta-publisher">Herald Media, Inc.</div>\n</div>\n'
            + '<section class="newsletter">\n'
            + "<h3>Sign up for Herald's Daily Newsletter</h3>\n"
            + "<p>Get the morning's top stories and our analysis in your inbox before "
            + "breakfast.</p>\n"
            + '<form action="/newsletter/subscribe" method="post"><label>Email '
            + '<input type="email" name="email"></label> <label>Zip code '
            + '<input type="text" name="zip"></label> <span>(Optional for Local Stories)</span>'
            + ' <button type="submit">Sign Up</button></form>\n'
            + "<p>We will never sell or share your email address.</p>\n</section>\n"
            + '<section id="comments" class="comments">\n<h3>Join the Herald Community</h3>\n'
            + "<p>Read and Post Comments</p>\n"
            + "<p>Please read our Community Rules before you comment.</p>\n</section>\n"
            + '<a class="to-top" href="#main">TOP</a>\n</main>\n'
            + self._footer()
        )

    def _video_page(self) -> str:
        return (
            self._head("Video: Crowds Celebrate in Kherson's Main Square")
            + "<body>\n"
            + self._masthead()
            + '<main id="main">\n<h1>Video: Crowds Celebrate in Kherson\'s Main Square</h1>\n'
            + '<div class="player"><video controls src="/media/kherson-square.mp4" '
            + 'poster="/images/kherson.jpg"></video></div>\n'
            + '<p class="duration">Duration 1:42</p>\n<p>Watch residents welcome soldiers.</p>\n'
            + "</main>\n"
            + self._footer()
        )

    def _live_page(self) -> str:
        entries = "\n".join(
            f'<li><span class="time">{t}</span> {_e(text)}</li>'
            for t, text in (
                ("09:12", "Air raid alert lifted in the capital."),
                ("08:40", "Grid operator announces scheduled outages."),
                ("07:55", "Regional governor reports overnight shelling."),
            )
        )
        return (
            self._head("Live: Latest Updates From Ukraine")
            + "<body>\n"
            + self._masthead()
            + '<main id="main">\n<h1>Live: Latest Updates From Ukraine</h1>\n'
            + '<p class="live-badge">LIVE</p>\n'
            + f'<ul class="live-feed">\n{entries}\n</ul>\n</main>\n'
            + self._footer()
        )

    def _rss(self, state: int) -> str:
        items = []
        for story in self._rss_stories(state):
            link = self.url(story.path) + "?utm_source=rss&utm_medium=feed"
            cats = "".join(f"<category>{_x(c)}</category>" for c in story.categories)
            creator = "".join(f"<dc:creator>{_x(a)}</dc:creator>" for a in story.authors)
            items.append(
                "<item>"
                f"<title>{_x(story.title_in(state))}</title>"
                f"<link>{_x(link)}</link>"
                f'<guid isPermaLink="false">herald-{story.key}</guid>'
                f"<pubDate>{email.utils.format_datetime(story.published)}</pubDate>"
                f"{creator}{cats}"
                f"<description>{_x(story.lead)}</description>"
                "</item>"
            )
        items_xml = "\n".join(items)
        built = email.utils.format_datetime(LAST_MODIFIED[state], True)
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" '
            'xmlns:atom="http://www.w3.org/2005/Atom">\n<channel>\n'
            "<title>Herald - World</title>\n"
            f"<link>{_x(self.url('/world'))}</link>\n"
            "<description>World news from the Herald.</description>\n"
            "<language>en-us</language>\n"
            f"<lastBuildDate>{built}</lastBuildDate>\n"
            f'<atom:link href="{_x(self.url("/rss/world.xml"))}" rel="self" '
            'type="application/rss+xml"/>\n'
            f"{items_xml}\n</channel>\n</rss>\n"
        )

    def _route(self, path: str, query: dict[str, list[str]]) -> _Response | None:
        state = self.state
        if path == "/tags/ukraine":
            page_arg = query.get("page", ["1"])[0]
            if not page_arg.isdigit() or not 1 <= int(page_arg) <= self.UKRAINE_PAGES:
                return None
            page = int(page_arg)
            pages = self._ukraine_pages(state)
            next_href = f"/tags/ukraine?page={page + 1}" if page < len(pages) else None
            return _page(200, self._listing_page("Ukraine", pages[page - 1], next_href), "listing")
        if path == "/tags/russia" and not query:
            return _page(
                200, self._listing_page("Russia", self._russia_items(state), None), "listing"
            )
        if path == "/rss/world.xml":
            return _Response(200, RSS, self._rss(state).encode("utf-8"), "listing")
        if path == "/news/missing":
            return None
        if path == "/news/broken":
            return _error_page(500, "Internal Server Error", "Something went wrong on our end.")
        if path == self.VIDEO:
            return _page(200, self._video_page(), "article")
        if path == self.LIVE:
            return _page(200, self._live_page(), "article")
        for story in self._live(state):
            if path == story.path:
                delay = self.slow_delay if story.key == "slow" else 0.0
                return _page(200, self._article_page(story), "article", delay)
        return None


# --------------------------------------------------------------------------------------------


class CourierSite(FixtureSite):
    name = "courier"
    language = "en-GB"
    stories = COURIER_STORIES

    MARKETS = "/topic/economy/markets"

    def __init__(self, slow_delay: float = 3.0) -> None:
        super().__init__(slow_delay)
        # story key -> the page its rel=canonical names instead of its own (a partner's
        # original); set by FixtureNetwork, which knows the herald's address.
        self.canonical_elsewhere: dict[str, str] = {}

    TOPIC_FEED = "/topic/economy/rss.xml"  # only the topic page links it; no feed of the tests

    def feeds(self) -> tuple[FeedSpec, ...]:
        return (
            FeedSpec(name="courier-sitemap", kind="sitemap", path="/sitemap-news.xml"),
            FeedSpec(
                name="courier-economy",
                kind="listing",
                path="/topic/economy",
                tags=("economy",),
                article_links="article a.headline",
            ),
        )

    def _robots(self) -> str:
        return (
            "User-agent: *\nDisallow: /search\nDisallow: /account/\n\n"
            f"Sitemap: {self.url('/sitemap-news.xml')}\n"
        )

    def _authors_paths(self) -> tuple[str, ...]:
        return tuple(sorted({f"/author/{_slug(a)}" for s in self.stories for a in s.authors}))

    def _nav_paths(self) -> tuple[str, ...]:
        return ("/", "/business", "/opinion", "/subscribe", *self._authors_paths())

    def never_requested(self) -> tuple[str, ...]:
        return ("/business", "/opinion", "/subscribe", *self._authors_paths())

    def non_article_paths(self) -> tuple[str, ...]:
        return (self.MARKETS, *self._authors_paths())

    def _image_path(self, story: _Story) -> str:
        return f"/img/2022/{story.key}-1200.jpg"

    def _chrome(self, story: _Story) -> tuple[str, ...]:
        others = [s.title for s in self.stories if s.since == 1 and s.key != story.key]
        return (
            "We use cookies to make this site work and to understand how you use it.",
            "Manage cookie preferences",
            "Subscribe from €1 a week",
            "Economics correspondent" if len(story.authors) > 1 else "Staff reporter",
            story.caption,
            story.credit,
            "Most read",
            *others,
            "More on this story",
            "© 2022 The Courier SA. Registered in Brussels.",
            "Sign in to your account",
        )

    def _topic_items(self, state: int) -> list[tuple[str, str, str]]:
        """(href, title, story key or "") for the topic page."""
        factory = self._story("factory")
        mortgages = self._story("mortgages")
        items = [
            (
                f"{factory.variant_path}?utm_source=topic-economy&utm_medium=web",
                factory.title,
                "factory",
            ),
            (
                f"{mortgages.path}?utm_source=topic-economy&utm_medium=web&cmpid=eco-hub",
                mortgages.title,
                "mortgages",
            ),
            (self.MARKETS, "Markets: all the latest on shares, bonds and currencies", ""),
        ]
        if state == 2:
            inflation = self._story("inflation")
            items.insert(
                0,
                (
                    f"{inflation.path}?utm_source=topic-economy&utm_medium=web",
                    inflation.title,
                    "inflation",
                ),
            )
        return items

    def _sitemap_stories(self, state: int) -> list[_Story]:
        return sorted(self._live(state), key=lambda s: s.published, reverse=True)

    def _found_by(self, state: int) -> dict[str, set[str]]:
        return {
            "courier-sitemap": {s.key for s in self._sitemap_stories(state)},
            "courier-economy": {k for _, _, k in self._topic_items(state) if k},
        }

    # -- rendering -----------------------------------------------------------------------------

    def _top(self, title: str, head_extra: str) -> str:
        return (
            '<!DOCTYPE html>\n<html lang="en-GB">\n<head>\n<meta charset="utf-8">\n'
            f"<title>{_e(title)} – The Courier</title>\n"
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"{head_extra}</head>\n<body>\n"
            '<div class="cookie-banner"><p>We use cookies to make this site work and to '
            "understand how you use it.</p>"
            '<button type="button">Accept</button> <a href="/cookies">Manage cookie preferences'
            "</a></div>\n"
            '<header class="site-header"><a class="brand" href="/">The Courier</a>\n'
            '<nav class="sections"><a href="/topic/economy">Economy</a> '
            '<a href="/business">Business</a> <a href="/opinion">Opinion</a></nav>\n'
            '<a class="cta" href="/subscribe">Subscribe from €1 a week</a> '
            '<a class="signin" href="/account/signin">Sign in to your account</a>\n'
            "</header>\n"
        )

    def _home_page(self) -> str:
        return (
            self._top("Home", "")
            + f'<main class="content">\n<ul class="top">\n{self._home_links()}\n</ul>\n</main>\n'
            + self._bottom()
        )

    def _bottom(self) -> str:
        return (
            '<footer class="site-footer"><p>© 2022 The Courier SA. Registered in Brussels.</p>'
            '<p><a href="/cookies">Cookies</a> · <a href="/terms">Terms</a></p></footer>\n'
            "</body>\n</html>\n"
        )

    def _article_page(self, story: _Story) -> str:
        canonical = self.url(story.path)
        image = self.url(self._image_path(story))
        published_iso = story.published.isoformat()
        modified_iso = (story.modified or story.published).isoformat()
        keywords: object = (
            list(story.tags) if story.keywords_as_list else ", ".join(t.lower() for t in story.tags)
        )
        data = {
            "@context": "https://schema.org",
            "@type": "NewsArticle",
            "mainEntityOfPage": {"@type": "WebPage", "@id": canonical},
            "url": canonical,
            "headline": story.title,
            "description": story.summary,
            "image": {"@type": "ImageObject", "url": image, "width": 1200, "height": 675},
            "datePublished": "0001-01-01T00:00:00Z" if story.junk_jsonld_date else published_iso,
            "dateModified": modified_iso,
            "author": [
                {"@type": "Person", "name": a, "url": self.url(f"/author/{_slug(a)}")}
                for a in story.authors
            ],
            "publisher": {
                "@type": "Organization",
                "name": "The Courier",
                "logo": {"@type": "ImageObject", "url": self.url("/img/logo.png")},
            },
            "keywords": keywords,
            "inLanguage": "en-GB",
            "isAccessibleForFree": True,
        }
        canonical_link = self.canonical_elsewhere.get(story.key, canonical)
        head_extra = (
            f'<link rel="canonical" href="{_e(canonical_link)}">\n'
            f'<meta name="description" content="{_e(story.summary)}">\n'
            '<meta property="og:type" content="article">\n'
            '<meta property="og:site_name" content="The Courier">\n'
            '<meta property="og:locale" content="en_GB">\n'
            f'<meta property="og:title" content="{_e(story.title)}">\n'
            f'<meta property="og:url" content="{_e(canonical)}">\n'
            f'<meta property="og:image" content="{_e(image)}">\n'
            f'<meta property="og:description" content="{_e(story.summary)}">\n'
            f'<meta property="article:published_time" content="{published_iso}">\n'
            f'<meta property="article:modified_time" content="{modified_iso}">\n'
            f'<script type="application/ld+json">\n{_jsonld(data)}\n</script>\n'
        )
        byline = " and ".join(
            f'<a rel="author" href="/author/{_slug(a)}">{_e(a)}</a>' for a in story.authors
        )
        role = "Economics correspondent" if len(story.authors) > 1 else "Staff reporter"
        when = story.published
        zone = "CEST" if when.utcoffset() == timedelta(hours=2) else "CET"
        visible_date = f"{when.day} {_MONTHS[when.month - 1]} {when.year}, {when:%H.%M} {zone}"
        body = "\n".join(f"<p>{_e(p)}</p>" for p in story.paragraphs)
        most_read = "".join(
            f'<li><a href="{_e(s.path)}">{_e(s.title)}</a></li>'
            for s in self.stories
            if s.since == 1 and s.key != story.key
        )
        return (
            self._top(story.title, head_extra)
            + '<main class="content">\n<article class="article">\n'
            + '<p class="kicker"><a href="/topic/economy">Economy</a></p>\n'
            + f'<h1 class="article-title">{_e(story.title)}</h1>\n'
            + f'<p class="byline">By {byline}, <span class="role">{role}</span></p>\n'
            + f'<p class="dateline"><time datetime="{published_iso}">{visible_date}</time></p>\n'
            + f'<figure class="hero"><img src="{_e(image)}" alt="" width="1200" height="675">'
            + f'<figcaption><span class="caption">{_e(story.caption)}</span> '
            + f'<span class="credit">{_e(story.credit)}</span></figcaption></figure>\n'
            + f'<div class="article-body" itemprop="articleBody">\n{body}\n</div>\n'
            + '<aside class="related"><h2>More on this story</h2><ul>'
            + f'<li><a href="/topic/economy">Economy</a></li><li><a href="{self.MARKETS}">'
            + "Markets</a></li></ul></aside>\n"
            + "</article>\n"
            + f'<aside class="most-read"><h2>Most read</h2><ol>{most_read}</ol></aside>\n'
            + "</main>\n"
            + self._bottom()
        )

    def _topic_page(self, state: int) -> str:
        cards = []
        for href, title, key in self._topic_items(state):
            teaser = self._story(key).summary if key else "Prices, indices and analysis."
            cards.append(
                f'<article class="card"><a class="headline" href="{_e(href)}">{_e(title)}</a>'
                f'<p class="standfirst">{_e(teaser)}</p></article>'
            )
        head_extra = (
            f'<link rel="canonical" href="{_e(self.url("/topic/economy"))}">\n'
            '<meta property="og:type" content="website">\n'
            '<meta property="og:title" content="Economy">\n'
            # the topic's own feed, linked from nowhere else
            f'<link rel="alternate" type="application/rss+xml" title="Courier: Economy" '
            f'href="{self.TOPIC_FEED}">\n'
        )
        return (
            self._top("Economy", head_extra)
            + '<main class="content">\n<h1 class="topic-title">Economy</h1>\n'
            + '<section class="cards">\n'
            + "\n".join(cards)
            + "\n</section>\n"
            + '<aside class="most-read"><h2>Most read</h2><ol>'
            + '<li><a href="/opinion">Opinion: the case for patience</a></li></ol></aside>\n'
            + "</main>\n"
            + self._bottom()
        )

    def _markets_page(self) -> str:
        data = {
            "@context": "https://schema.org",
            "@type": "CollectionPage",
            "name": "Markets",
            "url": self.url(self.MARKETS),
        }
        head_extra = (
            f'<link rel="canonical" href="{_e(self.url(self.MARKETS))}">\n'
            '<meta property="og:type" content="website">\n'
            '<meta property="og:title" content="Markets">\n'
            f'<script type="application/ld+json">\n{_jsonld(data)}\n</script>\n'
        )
        rows = "\n".join(
            f'<li><a href="{_e(s.path)}">{_e(s.title)}</a> <span>{_e(s.summary)}</span></li>'
            for s in self.stories
            if s.since == 1
        )
        return (
            self._top("Markets", head_extra)
            + '<main class="content">\n<h1 class="topic-title">Markets</h1>\n'
            + '<table class="indices"><tr><th>Index</th><th>Level</th></tr>'
            + "<tr><td>Euro Stoxx 50</td><td>3,856.10</td></tr>"
            + "<tr><td>Bund 10y</td><td>2.15%</td></tr></table>\n"
            + f'<ul class="latest">\n{rows}\n</ul>\n</main>\n'
            + self._bottom()
        )

    def _topic_rss(self, state: int) -> str:
        items = "\n".join(
            f"<item><title>{_x(self._story(key).title)}</title>"
            f"<link>{_x(self.url(self._story(key).path))}</link>"
            f"<pubDate>{email.utils.format_datetime(self._story(key).published)}</pubDate></item>"
            for _href, _title, key in self._topic_items(state)
            if key
        )
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
            f"<title>Courier: Economy</title><link>{_x(self.url('/topic/economy'))}</link>\n"
            f"{items}\n</channel></rss>\n"
        )

    def _sitemap(self, state: int) -> str:
        urls = []
        for story in self._sitemap_stories(state):
            keywords = "".join(f"<news:keywords>{_x(k)}</news:keywords>" for k in story.categories)
            urls.append(
                "<url>"
                f"<loc>{_x(self.url(story.path))}</loc>"
                "<news:news><news:publication><news:name>The Courier</news:name>"
                "<news:language>en</news:language></news:publication>"
                f"<news:publication_date>{story.published.isoformat()}</news:publication_date>"
                f"<news:title>{_x(story.title)}</news:title>{keywords}</news:news>"
                f"<image:image><image:loc>{_x(self.url(self._image_path(story)))}</image:loc>"
                "</image:image>"
                "</url>"
            )
        body = "\n".join(urls)
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
            'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9" '
            'xmlns:image="http://www.google.com/schemas/sitemap-image/1.1">\n'
            f"{body}\n</urlset>\n"
        )

    def _route(self, path: str, query: dict[str, list[str]]) -> _Response | None:
        state = self.state
        if path == "/sitemap-news.xml":
            return _Response(200, XML, self._sitemap(state).encode("utf-8"), "listing")
        if path == "/topic/economy":
            return _page(200, self._topic_page(state), "listing")
        if path == self.TOPIC_FEED:
            return _Response(200, RSS, self._topic_rss(state).encode("utf-8"), "listing")
        if path == self.MARKETS:
            return _page(200, self._markets_page(), "listing")
        for story in self._live(state):
            if path in (story.path, story.variant_path):
                return _page(200, self._article_page(story), "article")
        return None


# --------------------------------------------------------------------------------------------


class GazetteSite(FixtureSite):
    name = "gazette"
    language = "en"
    stories = GAZETTE_STORIES

    NAV = (
        "/section/news/",
        "/section/science/",
        "/section/opinion/",
        "/tag/energy/",
        "/tag/flooding/",
        "/about/",
        "/newsletter/",
        "/privacy-policy/",
        "/tag/climate/page/2/",
    )

    def feeds(self) -> tuple[FeedSpec, ...]:
        return (
            FeedSpec(name="gazette-atom", kind="rss", path="/feed.atom"),
            FeedSpec(
                name="gazette-climate", kind="listing", path="/tag/climate", tags=("climate",)
            ),
        )

    def _robots(self) -> str:
        return "User-agent: *\nDisallow: /wp-admin/\nAllow: /wp-admin/admin-ajax.php\n"

    def _author_paths(self) -> tuple[str, ...]:
        return tuple(sorted({f"/author/{_slug(a)}/" for s in self.stories for a in s.authors}))

    def _nav_paths(self) -> tuple[str, ...]:
        return ("/", *self.NAV, *self._author_paths())

    def non_article_paths(self) -> tuple[str, ...]:
        return (*self.NAV, *self._author_paths())

    def _image_path(self, story: _Story) -> str:
        return f"/wp-content/uploads/2022/11/{story.key}-1024x576.jpg"

    def _chrome(self, story: _Story) -> tuple[str, ...]:
        return (
            "Skip to content",
            "The Gazette",
            "Independent reporting on climate, energy and the environment",
            f"Posted on {_MONTHS[story.published.month - 1]} {story.published.day}, "
            f"{story.published.year}",
            story.caption,
            story.credit,
            "Share this:",
            "Leave a Reply",
            "Your email address will not be published.",
            "Get the week's climate stories in your inbox every Friday.",
            "© 2022 The Gazette",
            "Proudly powered by WordPress",
        )

    def _tag_stories(self, state: int) -> list[_Story]:
        found = [s for s in self._live(state) if "Climate" in s.tags]
        return sorted(found, key=lambda s: s.published, reverse=True)

    def _atom_stories(self, state: int) -> list[_Story]:
        return sorted(self._live(state), key=lambda s: s.published, reverse=True)

    def _found_by(self, state: int) -> dict[str, set[str]]:
        return {
            "gazette-atom": {s.key for s in self._atom_stories(state)},
            "gazette-climate": {s.key for s in self._tag_stories(state)},
        }

    # -- rendering -----------------------------------------------------------------------------

    def _top(self, title: str, head_extra: str, body_class: str) -> str:
        nav = "".join(
            f'<li><a href="{href}">{label}</a></li>'
            for href, label in (
                ("/section/news/", "News"),
                ("/section/science/", "Science"),
                ("/section/opinion/", "Opinion"),
                ("/tag/climate/", "Climate"),
                ("/about/", "About"),
                ("/newsletter/", "Newsletter"),
            )
        )
        return (
            '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f"<title>{_e(title)} – The Gazette</title>\n"
            '<meta name="generator" content="WordPress 6.1">\n'
            f"{head_extra}"
            f'<link rel="alternate" type="application/atom+xml" href="{self.url("/feed.atom")}">\n'
            f'</head>\n<body class="{body_class}">\n'
            '<a class="skip-link screen-reader-text" href="#content">Skip to content</a>\n'
            '<header id="masthead" class="site-header">\n'
            '<p class="site-title"><a href="/" rel="home">The Gazette</a></p>\n'
            '<p class="site-description">Independent reporting on climate, energy and the '
            "environment</p>\n"
            f'<nav id="site-navigation" class="main-navigation"><ul>{nav}</ul></nav>\n'
            "</header>\n"
        )

    def _home_page(self) -> str:
        return (
            self._top("Home", "", "home blog")
            + f'<main id="main" class="site-main">\n<ul>\n{self._home_links()}\n</ul>\n</main>\n'
            + self._bottom()
        )

    def _bottom(self) -> str:
        return (
            '<aside id="secondary" class="widget-area"><section class="widget">'
            '<h2 class="widget-title">Newsletter</h2>'
            "<p>Get the week's climate stories in your inbox every Friday.</p>"
            '<p><a href="/newsletter/">Sign up</a></p></section></aside>\n'
            '<footer id="colophon" class="site-footer"><p>© 2022 The Gazette · '
            '<a href="/privacy-policy/">Privacy</a> · Proudly powered by WordPress</p></footer>\n'
            "</body>\n</html>\n"
        )

    def _posted_on(self, story: _Story) -> str:
        when = story.published
        return f"{_MONTHS[when.month - 1]} {when.day}, {when.year}"

    def _authors_html(self, story: _Story) -> str:
        return " and ".join(
            f'<a class="url fn n" href="/author/{_slug(a)}/">{_e(a)}</a>' for a in story.authors
        )

    def _article_page(self, story: _Story) -> str:
        url = self.url(story.path)
        image = self.url(self._image_path(story))
        tags_meta = "".join(
            f'<meta property="article:tag" content="{_e(t)}">\n' for t in story.tags
        )
        modified = (
            f'<meta property="article:modified_time" content="{_iso_z(story.modified)}">\n'
            if story.modified
            else ""
        )
        head_extra = (
            f'<meta name="description" content="{_e(story.summary)}">\n'
            f'<meta name="author" content="{_e(" and ".join(story.authors))}">\n'
            '<meta property="og:type" content="article">\n'
            '<meta property="og:site_name" content="The Gazette">\n'
            '<meta property="og:locale" content="en_US">\n'
            f'<meta property="og:title" content="{_e(story.title)}">\n'
            f'<meta property="og:url" content="{_e(url)}">\n'
            f'<meta property="og:image" content="{_e(image)}">\n'
            f'<meta property="og:description" content="{_e(story.summary)}">\n'
            f'<meta property="article:published_time" content="{_iso_z(story.published)}">\n'
            f"{modified}{tags_meta}"
        )
        tag_links = ", ".join(
            f'<a href="/tag/{_slug(t)}/" rel="tag">{_e(t)}</a>' for t in story.tags
        )
        body = "\n".join(f"<p>{_e(p)}</p>" for p in story.paragraphs)
        related = "".join(
            f'<li><a href="{_e(s.path)}">{_e(s.title)}</a></li>'
            for s in self.stories
            if s.since == 1 and s.key != story.key
        )
        return (
            self._top(story.title, head_extra, "post-template-default single single-post")
            + '<div id="content" class="site-content">\n<main id="main" class="site-main">\n'
            + f'<article id="post-{story.key}" class="post type-post status-publish">\n'
            + f'<header class="entry-header"><h1 class="entry-title">{_e(story.title)}</h1>\n'
            + '<div class="entry-meta"><span class="posted-on">Posted on '
            + f'<a href="{_e(story.path)}" rel="bookmark">{self._posted_on(story)}</a></span> '
            + f'<span class="byline">by {self._authors_html(story)}</span></div></header>\n'
            + f'<figure class="wp-block-image size-large"><img src="{_e(image)}" alt="">'
            + f"<figcaption>{_e(story.caption)} {_e(story.credit)}</figcaption></figure>\n"
            + f'<div class="entry-content">\n{body}\n</div>\n'
            + f'<footer class="entry-footer"><span class="tags-links">Tagged {tag_links}</span>'
            + "</footer>\n</article>\n"
            + '<div class="sharedaddy"><h3 class="sd-title">Share this:</h3><ul>'
            + f'<li><a href="https://www.facebook.com/sharer.php?u={quote(url, safe="")}">'
            + "Facebook</a></li>"
            + f'<li><a href="https://twitter.com/share?url={quote(url, safe="")}">Twitter</a>'
            + "</li></ul></div>\n"
            + f'<div id="jp-relatedposts"><h3>Related</h3><ul>{related}</ul></div>\n'
            + '<div id="comments" class="comments-area"><div id="respond">'
            + '<h3 id="reply-title">Leave a Reply</h3>'
            + "<p>Your email address will not be published.</p></div></div>\n"
            + "</main>\n</div>\n"
            + self._bottom()
        )

    def _tag_page(self, state: int) -> str:
        posts = []
        for story in self._tag_stories(state):
            tags = ", ".join(
                f'<a href="/tag/{_slug(t)}/" rel="tag">{_e(t)}</a>' for t in story.tags
            )
            posts.append(
                f'<article class="post type-post">\n<header class="entry-header">'
                f'<h2 class="entry-title"><a href="{_e(story.path)}" rel="bookmark">'
                f"{_e(story.title)}</a></h2>\n"
                f'<div class="entry-meta"><span class="posted-on"><a href="{_e(story.path)}">'
                f"{self._posted_on(story)}</a></span> "
                f'<span class="byline">by {self._authors_html(story)}</span></div></header>\n'
                f'<div class="entry-summary"><p>{_e(story.summary)}</p></div>\n'
                f'<footer class="entry-footer"><span class="tags-links">{tags}</span> '
                f'<a href="{_e(story.path)}#respond">Leave a comment</a></footer>\n</article>'
            )
        return (
            self._top("Climate", "", "archive tag tag-climate")
            + '<div id="content" class="site-content">\n<main id="main" class="site-main">\n'
            + '<header class="page-header"><h1 class="page-title">Tag: <span>Climate</span>'
            + "</h1></header>\n"
            + "\n".join(posts)
            + '\n<nav class="navigation posts-navigation"><div class="nav-previous">'
            + '<a href="/tag/climate/page/2/">Older posts</a></div></nav>\n'
            + "</main>\n</div>\n"
            + self._bottom()
        )

    def _atom(self, state: int) -> str:
        entries = []
        for index, story in enumerate(self._atom_stories(state)):
            # Relative links, in the three spellings real feeds use.
            relative = story.path.lstrip("/")
            href = (relative, story.path, "./" + relative)[index % 3]
            authors = "".join(f"<author><name>{_x(a)}</name></author>" for a in story.authors)
            cats = "".join(
                f'<category term="{_x(c)}" label="{_x(c.title())}"/>' for c in story.categories
            )
            updated = story.modified or story.published
            entries.append(
                "<entry>"
                f"<title>{_x(story.title)}</title>"
                f'<link rel="alternate" type="text/html" href="{_x(href)}"/>'
                f"<id>tag:gazette.example,2022:{story.key}</id>"
                f"<published>{_iso_z(story.published)}</published>"
                f"<updated>{_iso_z(updated)}</updated>"
                f"{authors}{cats}"
                f"<summary>{_x(story.summary)}</summary>"
                "</entry>"
            )
        body = "\n".join(entries)
        newest = max(s.modified or s.published for s in self._atom_stories(state))
        return (
            '<?xml version="1.0" encoding="utf-8"?>\n'
            '<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en">\n'
            "<title>The Gazette</title>\n"
            "<subtitle>Independent reporting on climate, energy and the environment</subtitle>\n"
            '<link rel="alternate" type="text/html" href="/"/>\n'
            "<id>tag:gazette.example,2022:feed</id>\n"
            f"<updated>{_iso_z(newest)}</updated>\n"
            f"{body}\n</feed>\n"
        )

    def _route(self, path: str, query: dict[str, list[str]]) -> _Response | None:
        state = self.state
        if path == "/feed.atom":
            return _Response(200, ATOM, self._atom(state).encode("utf-8"), "listing")
        if path in ("/tag/climate", "/tag/climate/"):
            return _page(200, self._tag_page(state), "listing")
        for story in self._live(state):
            if path == story.path:
                return _page(200, self._article_page(story), "article")
        return None


# --------------------------------------------------------------------------------------------
# The network
# --------------------------------------------------------------------------------------------


def _toml_string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid TOML basic string


class FixtureNetwork:
    """The three fixture sites, started on construction; a context manager."""

    def __init__(self, slow_delay: float = 3.0) -> None:
        started: list[FixtureSite] = []
        try:
            for cls in (HeraldSite, CourierSite, GazetteSite):
                started.append(cls(slow_delay=slow_delay))
        except BaseException:
            for site in started:
                site.close()
            raise
        self.herald, self.courier, self.gazette = started
        self.sites: tuple[FixtureSite, ...] = tuple(started)
        assert isinstance(self.courier, CourierSite)
        self.courier.canonical_elsewhere["danube"] = self.herald.url(
            self.herald._story("danube").path
        )

    @property
    def state(self) -> int:
        return self.herald.state

    def site(self, name: str) -> FixtureSite:
        for site in self.sites:
            if site.name == name:
                return site
        raise KeyError(name)

    def advance(self) -> None:
        """Switch every site to state 2 (new articles; one herald article edited)."""
        for site in self.sites:
            site.state = 2

    def feed_specs(self) -> list[tuple[FixtureSite, FeedSpec]]:
        return [(site, spec) for site in self.sites for spec in site.feeds()]

    def feeds_toml(self) -> str:
        blocks = []
        for site, spec in self.feed_specs():
            lines = [
                "[[feeds]]",
                f"name = {_toml_string(spec.name)}",
                f"kind = {_toml_string(spec.kind)}",
                f"url = {_toml_string(site.url(spec.path))}",
            ]
            if spec.tags:
                lines.append("tags = [" + ", ".join(_toml_string(t) for t in spec.tags) + "]")
            if spec.article_links:
                lines.append(f"article_links = {_toml_string(spec.article_links)}")
            if spec.next_page:
                lines.append(f"next_page = {_toml_string(spec.next_page)}")
            if spec.max_pages is not None:
                lines.append(f"max_pages = {spec.max_pages}")
            if spec.deny:
                lines.append("deny = [" + ", ".join(_toml_string(d) for d in spec.deny) + "]")
            blocks.append("\n".join(lines) + "\n")
        return "\n".join(blocks)

    def expected_articles(self) -> list[ExpectedArticle]:
        return [a for site in self.sites for a in site.expected_articles()]

    def requests(self) -> list[tuple[str, RequestRecord]]:
        return [(site.name, r) for site in self.sites for r in list(site.requests)]

    def close(self) -> None:
        for site in self.sites:
            site.close()

    def __enter__(self) -> FixtureNetwork:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


@pytest.fixture
def news_network() -> Iterator[FixtureNetwork]:
    """A started fixture news network (state 1), closed after the test."""
    with FixtureNetwork() as network:
        yield network


# Kept for callers that want to build a single site.
SITE_CLASSES: dict[str, type[FixtureSite]] = {
    "herald": HeraldSite,
    "courier": CourierSite,
    "gazette": GazetteSite,
}
