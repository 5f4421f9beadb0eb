"""Synthetic finance headlines and posts for the "Market pulse" demo (fixed seed).

A stream of news headlines and social posts about twelve fictional listed
companies over half a year, written from templates per topic (earnings,
product, legal and regulation, jobs, supply chain, analyst ratings) and tone
(positive, neutral, negative): mostly good or plain news, about one item in
seven bad, as in a normal market. Every text names its ticker ("Northwind
Motors (NWM) ...", "$NWM ..."), so `aspect_sentiment(headline, ticker)` has a
mention to read, and a few compare two companies ("NWM rises while QBT
slips"), where sentiment toward each ticker differs from the text's overall
tone.

One real incident, near the end of the stream so the demo's alert is "new":
Northwind Motors recalls its electric car after battery fires. For four days
its coverage triples and turns mostly negative (about 15% -> 65%), which is
what `textlens monitor` must flag, once, and nothing else.

The companies are invented (no real firm gets invented bad news).
"""

from __future__ import annotations

import datetime as dt
import random
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb


@dataclass(frozen=True)
class Company:
    ticker: str
    name: str
    product: str
    #: Relative share of the coverage (large caps get more).
    weight: float


COMPANIES = (
    Company("NWM", "Northwind Motors", "Aurora electric SUV", 2.0),
    Company("QBT", "Quantbit Semiconductor", "Q9 processor", 1.8),
    Company("ORBT", "Orbital Cloud", "Orbit AI suite", 1.5),
    Company("HLX", "Helios Energy", "HX solar panel", 1.0),
    Company("ARDN", "Arden Therapeutics", "cholesterol drug Lipavex", 1.0),
    Company("CSTL", "Castellan Bank", "mobile banking app", 1.0),
    Company("VRDA", "Verida Foods", "plant-based snack line", 0.8),
    Company("BLCR", "Bluecrest Airlines", "lie-flat business cabin", 0.9),
    Company("LMNS", "Lumina Networks", "5G home router", 0.8),
    Company("PXFG", "Pixelforge Games", "Starfall game", 0.9),
    Company("SLTR", "Solterra Mining", "Atacama copper project", 0.7),
    Company("KSTL", "Kestrel Aerospace", "K7 cargo drone", 0.8),
)
TICKERS = tuple(c.ticker for c in COMPANIES)

#: The stream: 25 weeks, Monday 2025-01-06 to Sunday 2025-06-29 (END exclusive).
START = dt.datetime(2025, 1, 6)
END = dt.datetime(2025, 6, 30)
#: The incident [start, end): four weekdays of recall news about Northwind Motors.
INCIDENT_TICKER = "NWM"
INCIDENT_START = dt.datetime(2025, 6, 23)
INCIDENT_END = dt.datetime(2025, 6, 27)
#: Extra items about the incident, as a share of all rows (about 30 a day at n=4000).
INCIDENT_SHARE = 0.03
#: Tone of ordinary coverage, and of the incident ticker's coverage during the incident.
TONE_WEIGHTS = {"positive": 0.40, "neutral": 0.45, "negative": 0.15}
INCIDENT_TONE_WEIGHTS = {"positive": 0.05, "neutral": 0.25, "negative": 0.70}
#: Share of rows that are social posts rather than news headlines.
POST_SHARE = 0.3

ANALYSTS = ["Morgan Stanley", "Goldman Sachs", "Barclays", "UBS", "Jefferies", "Citi"]
COUNTRIES = ["Vietnam", "Mexico", "Taiwan", "Poland", "India", "Brazil"]
#: News headline templates per topic and tone. "{co}" = "Name (TICKER)"; {t} the ticker;
#: also {product}, {pct}, {k}, {analyst}, {country}, {other} (another ticker). Every
#: template of a topic carries the topic's words (quarterly earnings, product launch,
#: regulators, jobs, supply chain, analyst rating), so a topic model can find the topics;
#: each was checked to read as its tone to the default sentiment model.
NEWS: dict[str, dict[str, list[str]]] = {
    "earnings": {
        "positive": [
            "{co} beats quarterly earnings estimates as revenue jumps {pct}%",
            "{co} quarterly earnings hit a record, full-year guidance raised",
            "{co} posts strong quarterly earnings, profit up {pct}%",
        ],
        "neutral": [
            "{co} to report quarterly earnings next week",
            "{co} quarterly earnings in line with estimates",
            "{co} confirms the date of its quarterly earnings call",
        ],
        "negative": [
            "{co} misses quarterly earnings estimates and cuts its guidance",
            "{co} quarterly earnings disappoint, shares tumble {pct}%",
            "{co} swings to a loss as quarterly earnings collapse",
        ],
    },
    "product": {
        "positive": [
            "{co} product launch is a huge success in {country}, sales up {pct}%",
            "{co} product launch draws {k}00,000 preorders for the {product}",
        ],
        "neutral": [
            "{co} product launch event set in {country} next month",
            "{co} announces a product launch date in {country} for the {product}",
        ],
        "negative": [
            "{co} delays its product launch in {country} again, disappointing investors",
            "{co} product launch flops as buyers find defects in {pct}% of units",
        ],
    },
    "regulation": {
        "positive": [
            "{co} wins regulators' approval for its merger, shares jump {pct}%",
            "Regulators approve the {product} from {co}, a major boost",
        ],
        "neutral": [
            "{co} answers regulators' questions about the {product}",
            "{co} files its annual compliance report with regulators",
            "Regulators schedule a hearing on the {co} merger",
        ],
        "negative": [
            "{co} hit with a ${k} million fine by regulators for compliance failures",
            "Regulators open a probe into {co}, shares sink",
            "Regulators sue {co} over misleading statements to investors",
        ],
    },
    "jobs": {
        "positive": [
            "{co} adds {k},000 jobs as strong demand lifts sales",
            "{co} jobs boom as the company hires and raises wages",
        ],
        "neutral": [
            "{co} moves {k}00 jobs to a new campus",
            "{co} jobs data due in its annual report",
        ],
        "negative": [
            "{co} to cut {k},000 jobs as sales slump",
            "{co} jobs cuts spark a strike, halting production",
        ],
    },
    "supply chain": {
        "positive": [
            "{co} supply chain recovers, output climbs {pct}%",
            "{co} supply chain problems ease, lifting production to a record",
        ],
        "neutral": [
            "{co} signs a supply chain agreement with a maker in {country}",
            "{co} moves part of its supply chain to {country}",
        ],
        "negative": [
            "{co} supply chain disruption forces a halt to production",
            "{co} warns its supply chain in {country} is failing, output falls",
        ],
    },
    "analyst rating": {
        "positive": [
            "{analyst} upgrades {co} to buy, analyst rating sees {pct}% upside",
            "{analyst} raises its analyst rating on {co} after strong results",
        ],
        "neutral": [
            "{analyst} starts coverage of {co} with a hold analyst rating",
            "{analyst} keeps its neutral analyst rating on {co}",
        ],
        "negative": [
            "{analyst} downgrades {co} to sell, analyst rating warns of weak demand",
            "Analyst rating downgrade for {co}: {analyst} warns of losses",
        ],
    },
}
#: Social posts per topic and tone ("$TICKER" cashtags).
POSTS: dict[str, dict[str, list[str]]] = {
    "earnings": {
        "positive": ["${t} had a great quarter, quarterly earnings very strong"],
        "neutral": ["Anyone holding ${t} into quarterly earnings?"],
        "negative": ["${t} quarterly earnings were awful, dead money"],
    },
    "product": {
        "positive": ["Love the {product}, ${t} nailed this product launch"],
        "neutral": ["Who is watching the ${t} product launch today?"],
        "negative": ["${t} botched another product launch, the {product} is a flop"],
    },
    "regulation": {
        "positive": ["Huge win for ${t}, regulators approved the merger, bullish"],
        "neutral": ["When do regulators decide on the ${t} merger?"],
        "negative": ["Regulators keep fining ${t}, terrible compliance"],
    },
    "jobs": {
        "positive": ["${t} is adding jobs and growing fast, love it"],
        "neutral": ["Does anyone know if ${t} is adding jobs this year?"],
        "negative": ["${t} cutting jobs again, terrible management"],
    },
    "supply chain": {
        "positive": ["${t} fixed its supply chain, production is booming"],
        "neutral": ["Where does ${t} get its supply chain parts?"],
        "negative": ["${t} supply chain is a mess, factories idle again"],
    },
    "analyst rating": {
        "positive": ["Analysts love ${t}, another analyst rating upgrade today"],
        "neutral": ["What analyst rating does everyone have on ${t}?"],
        "negative": ["Another analyst rating downgrade for ${t}, ugly"],
    },
}
#: Two tickers, opposite tones: sentiment toward the row's ticker ({t}) is the first clause's.
COMPARATIVE: dict[str, list[str]] = {
    "positive": [
        "{t} shares rise {pct}% while {other} slips",
        "{t} shares gain as rival {other} stumbles",
    ],
    "negative": [
        "{t} shares fall {pct}% while {other} rallies",
        "{t} shares sink on weak sales while {other} holds steady",
    ],
}
#: The incident's own coverage (Northwind Motors recalls the Aurora after battery fires).
INCIDENT_NEWS: dict[str, list[str]] = {
    "positive": ["{co} shares rebound as investors bet the recall costs are manageable"],
    "neutral": [
        "{co} says it is working with regulators on the Aurora recall",
        "{co} sets up a recall hotline for Aurora owners",
    ],
    "negative": [
        "{co} recalls {k}0,000 Aurora SUVs over battery fire risk",
        "{co} faces a regulator probe over the battery fire recall, shares sink",
        "{co} shares plunge {pct}% as the Aurora recall widens",
        "{co} halts Aurora deliveries as the battery recall grows",
        "${t} this recall is a disaster, selling everything",
        "Aurora owners sue {co} over the battery fire recall",
    ],
}


@dataclass(frozen=True)
class NewsItem:
    """One row; `topic` and `tone` are the template's (ground truth, not in the table)."""

    id: int
    published_at: dt.datetime
    ticker: str
    source: str
    headline: str
    topic: str
    tone: str


def _moment(rng: random.Random, start: dt.datetime, days: int) -> dt.datetime:
    """A time of day in market hours-ish; weekends get a third of a weekday's news."""
    while True:
        day = start + dt.timedelta(days=rng.randrange(days))
        if day.weekday() < 5 or rng.random() < 1 / 3:
            return day + dt.timedelta(minutes=rng.randrange(6 * 60, 22 * 60))


def _pick(rng: random.Random, weights: dict[str, float]) -> str:
    names, values = zip(*weights.items(), strict=True)
    return str(rng.choices(names, values)[0])


def _fill(rng: random.Random, template: str, company: Company) -> str:
    other = rng.choice([c for c in COMPANIES if c is not company])
    return template.format(
        co=f"{company.name} ({company.ticker})",
        t=company.ticker,
        name=company.name,
        product=company.product,
        other=other.ticker,
        pct=rng.randint(2, 14),
        k=rng.randint(2, 9),
        analyst=rng.choice(ANALYSTS),
        country=rng.choice(COUNTRIES),
    )


def _ordinary(rng: random.Random, company: Company, tone: str) -> tuple[str, str, str]:
    """(source, topic, text) for ordinary coverage of `company` in `tone`."""
    if tone in COMPARATIVE and rng.random() < 0.05:
        return "news", "shares", _fill(rng, rng.choice(COMPARATIVE[tone]), company)
    if rng.random() < POST_SHARE:
        topic = rng.choice(sorted(POSTS))
        return "post", topic, _fill(rng, rng.choice(POSTS[topic][tone]), company)
    topic = rng.choice(sorted(NEWS))
    return "news", topic, _fill(rng, rng.choice(NEWS[topic][tone]), company)


def generate_news(n: int = 4000, *, seed: int = 11) -> list[NewsItem]:
    """`n` items in time order (ids 1..n); INCIDENT_SHARE of them are the incident's burst."""
    rng = random.Random(seed)
    days = (END - START).days
    incident_days = (INCIDENT_END - INCIDENT_START).days
    incident = next(c for c in COMPANIES if c.ticker == INCIDENT_TICKER)
    weights = [c.weight for c in COMPANIES]
    rows: list[tuple[dt.datetime, str, str, str, str, str]] = []
    for _ in range(n):
        if rng.random() < INCIDENT_SHARE:
            at = _moment(rng, INCIDENT_START, incident_days)
            company = incident
        else:
            at = _moment(rng, START, days)
            company = rng.choices(COMPANIES, weights)[0]
        during = company is incident and INCIDENT_START <= at < INCIDENT_END
        tone = _pick(rng, INCIDENT_TONE_WEIGHTS if during else TONE_WEIGHTS)
        if during and rng.random() < 0.8:
            text = _fill(rng, rng.choice(INCIDENT_NEWS[tone]), company)
            source, topic = ("post" if text.startswith("$") else "news"), "recall"
        else:
            source, topic, text = _ordinary(rng, company, tone)
        rows.append((at, company.ticker, source, text, topic, tone))
    rows.sort()
    return [NewsItem(i + 1, *row) for i, row in enumerate(rows)]


def create_news_table(
    con: duckdb.DuckDBPyConnection, table: str = "news", n: int = 4000, seed: int = 11
) -> int:
    """(Re)create `table` (id, published_at, ticker, source, headline); returns n."""
    import pyarrow as pa

    rows = generate_news(n, seed=seed)
    data = pa.table(
        {
            "id": pa.array([r.id for r in rows], pa.int64()),
            "published_at": pa.array([r.published_at for r in rows], pa.timestamp("us")),
            "ticker": pa.array([r.ticker for r in rows], pa.string()),
            "source": pa.array([r.source for r in rows], pa.string()),
            "headline": pa.array([r.headline for r in rows], pa.string()),
        }
    )
    con.register("_textlens_market_news", data)
    try:
        con.execute(
            f'CREATE OR REPLACE TABLE "{table}" AS SELECT * FROM _textlens_market_news ORDER BY id'
        )
    finally:
        con.unregister("_textlens_market_news")
    return n


def _alternation(values: list[str]) -> str:
    return "|".join(re.escape(v) for v in values)


def topic_masks() -> list[tuple[str, str]]:
    """`textlens topics fit --mask` rules for the demo: company, ticker, product, bank names out.

    Why: in a headline a few words long the company, ticker and product names
    carry most of the embedding, so topics fitted on raw headlines are the
    companies ("northwind · motors · nwm"), not what happened to them. With the
    names replaced ("the company", "stock", "the product", "a bank") the
    clusters are the events (earnings, regulators, jobs, ...). The topic model
    applies the same rules to every text it classifies.
    """
    names = _alternation([c.name for c in COMPANIES])
    tickers = _alternation([c.ticker for c in COMPANIES])
    return [
        (rf"(?:{names}) \((?:{tickers})\)", "the company"),
        (rf"\$?\b(?:{tickers})\b", "stock"),
        (rf"\b(?:{_alternation([c.product for c in COMPANIES])})\b", "the product"),
        (rf"\b(?:{_alternation(ANALYSTS)})\b", "a bank"),
    ]
