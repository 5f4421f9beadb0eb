"""A demo warehouse table of support tickets in four topics, for `textlens train` walkthroughs.

    python -m textlens.samples.tickets --db warehouse.duckdb --rows 3000

Writes `tickets(id, ticket_text, topic, labelled, labelled_at)`: texts built
from templates with varied wording (openers, topic phrases, products,
details, sign-offs, casual typos) under a fixed seed, so the same command
always writes the same table. About 10% of rows are unlabelled
(`labelled = false`, topic NULL), as in a real warehouse, and `labelled_at`
spreads over 2026 so `WHERE labelled_at > ...` selects newer rows for
continued training. Topics: billing, shipping, technical, account.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
from pathlib import Path

TOPICS: dict[str, list[str]] = {
    "billing": [
        "I was charged twice for my {product} order",
        "the invoice for {month} shows the wrong amount",
        "my card was billed {amount} but I cancelled last week",
        "I need a refund for the {product}, the payment went through twice",
        "why did my subscription price go up to {amount}",
        "the discount code was not applied at checkout and I paid full price",
        "can you send me a corrected invoice with our VAT number",
        "there is an unknown charge of {amount} on my statement",
        "I was promised a credit of {amount} that never showed up",
        "please stop the automatic renewal, I do not want to be billed again",
        "the receipt lists a {product} I never bought",
        "your payment page declined my card three times but the money left my account",
    ],
    "shipping": [
        "my {product} still has not arrived after {days} days",
        "the tracking number for my {product} does not work",
        "the parcel was delivered to the wrong address",
        "the courier says delivered but there is nothing at my door",
        "can I change the delivery address for order {order}",
        "the box arrived crushed and the {product} inside is scratched",
        "when will my order {order} ship, it says processing for {days} days",
        "I paid for express delivery and it took {days} days",
        "the package is stuck in customs, what do I do",
        "only half of my order arrived, the {product} is missing",
        "the delivery driver left the parcel in the rain",
        "I want to return the {product}, how do I get a shipping label",
    ],
    "technical": [
        "the {product} app crashes every time I open settings",
        "I get error {code} when I try to sync my {product}",
        "the {product} will not connect to wifi after the update",
        "the screen of my {product} flickers and then goes black",
        "firmware update {version} bricked my {product}",
        "the battery drains in {days} hours since the last update",
        "bluetooth pairing with my {product} fails with error {code}",
        "the export button does nothing, the console shows error {code}",
        "my {product} keeps rebooting in a loop",
        "the sensor readings on the {product} are way off",
        "the api returns error {code} for every request since {month}",
        "the {product} gets very hot and shuts down",
    ],
    "account": [
        "I cannot log in, the password reset email never arrives",
        "please delete my account and all my data",
        "how do I change the email address on my account",
        "my account was locked after too many login attempts",
        "two factor codes are not accepted when I sign in",
        "someone else logged into my account from another country",
        "I want to merge my two accounts into one",
        "how do I add a colleague as a user on our team account",
        "I forgot my username and cannot recover it",
        "the verification link in the sign up email has expired",
        "please update the name on my profile, it is misspelled",
        "I need to transfer the account ownership to my manager",
    ],
}
OPENERS = [
    "",
    "Hi,",
    "Hello team,",
    "Good morning.",
    "Hey there!",
    "Dear support,",
    "URGENT:",
    "Hi, hope you are well.",
    "Quick question:",
    "This is the third time I write.",
]
CLOSERS = [
    "",
    "Thanks.",
    "Thank you in advance.",
    "Please help.",
    "Regards, {name}",
    "Please fix this asap!",
    "Cheers, {name}",
    "Looking forward to your answer.",
    "This is really frustrating.",
    "Best, {name}",
]
DETAILS = [
    "",
    "I am on the {plan} plan.",
    "Order number is {order}.",
    "It started on {month}.",
    "I have been a customer for {days} years.",
    "My colleague has the same problem.",
    "I already tried turning it off and on again.",
    "I contacted you by phone already.",
]
PRODUCTS = ["Lumo lamp", "Aria headphones", "Nimbus router", "Pulse watch", "Orbit speaker",
            "Vega tablet", "Kite camera", "Atlas keyboard"]  # fmt: skip
NAMES = ["Anna", "Marco", "Li", "Sam", "Priya", "Jonas", "Fatima", "Tom"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August"]
PLANS = ["basic", "pro", "business", "family"]


def _fill(template: str, rng: random.Random) -> str:
    return template.format(
        product=rng.choice(PRODUCTS),
        month=rng.choice(MONTHS),
        amount=f"${rng.randint(5, 400)}.{rng.randint(0, 99):02d}",
        days=rng.randint(2, 21),
        order=f"#{rng.randint(100000, 999999)}",
        code=f"E{rng.randint(100, 999)}",
        version=f"{rng.randint(1, 5)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}",
        name=rng.choice(NAMES),
        plan=rng.choice(PLANS),
    )


def _typo(text: str, rng: random.Random) -> str:
    """Swap two neighbouring letters of one word, as people type."""
    words = text.split(" ")
    k = rng.randrange(len(words))
    w = words[k]
    if len(w) > 3:
        i = rng.randrange(len(w) - 1)
        words[k] = w[:i] + w[i + 1] + w[i] + w[i + 2 :]
    return " ".join(words)


def make_ticket(topic: str, rng: random.Random) -> str:
    body = _fill(rng.choice(TOPICS[topic]), rng)
    if rng.random() < 0.5:
        body = body[0].upper() + body[1:]
    body += rng.choice([".", "!", "?", "", "..."])
    parts = [_fill(rng.choice(OPENERS), rng), body, _fill(rng.choice(DETAILS), rng)]
    parts.append(_fill(rng.choice(CLOSERS), rng))
    text = " ".join(p for p in parts if p)
    if rng.random() < 0.2:
        text = _typo(text, rng)
    if rng.random() < 0.1:
        text = text.lower()
    return text


def make_tickets(rows: int, seed: int = 7) -> list[tuple[int, str, str | None, bool, dt.datetime]]:
    """(id, ticket_text, topic, labelled, labelled_at) rows; imbalanced topics on purpose."""
    rng = random.Random(seed)
    topics = list(TOPICS)
    weights = [0.35, 0.30, 0.22, 0.13]
    start = dt.datetime(2026, 1, 1)
    out = []
    for i in range(1, rows + 1):
        topic = rng.choices(topics, weights)[0]
        labelled = rng.random() >= 0.1
        when = start + dt.timedelta(minutes=int(i * 525600 / max(rows, 1)))
        out.append((i, make_ticket(topic, rng), topic if labelled else None, labelled, when))
    return out


def write_tickets(db: Path, rows: int = 3000, seed: int = 7, table: str = "tickets") -> int:
    """(Re)create `table` in the DuckDB file `db`; return the row count."""
    import duckdb

    con = duckdb.connect(str(db))
    try:
        con.execute(f"DROP TABLE IF EXISTS {table}")
        con.execute(
            f"CREATE TABLE {table} (id INTEGER, ticket_text VARCHAR, topic VARCHAR, "
            "labelled BOOLEAN, labelled_at TIMESTAMP)"
        )
        con.executemany(f"INSERT INTO {table} VALUES (?, ?, ?, ?, ?)", make_tickets(rows, seed))
    finally:
        con.close()
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--rows", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--table", default="tickets")
    args = parser.parse_args(argv)
    n = write_tickets(args.db, args.rows, args.seed, args.table)
    print(f"wrote {n} tickets to {args.db} table {args.table}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
