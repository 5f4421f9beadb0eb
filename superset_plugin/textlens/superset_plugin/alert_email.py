"""The textlens Alert's email as a reader wants it: the numbers in the subject, no row numbers.

What Superset 6.1 allows: an Alert's email subject is one fixed string
(`"<EMAIL_REPORTS_SUBJECT_PREFIX> <email_subject>"`), set when the Alert is
saved, so it cannot say which ticker spiked; and a TEXT report's body is the
content chart's rows as `DataFrame.to_html(index=True)`, a first column of row
numbers included. What it offers for the rest is one hook, `EMAIL_HEADER_MUTATOR(msg,
**header_data)` in superset_config.py, which gets every outgoing message just
before it is sent. textlens's generated config sets it to `mutate_alert_email`.

It changes only emails whose subject contains SUBJECT_MARK (the Alert the
bootstrap creates, `textlens.superset_tools.alert`), and only when the body's
table is the one it expects; anything else is sent as Superset made it:

* the subject becomes "textlens alert: NWM negative share 79% vs 15% baseline
  (2025-06-23)", from the first row of the email's own table (the content
  query puts the worst alert first), with "(+N more)" when there are more.
  Read from the rows the body shows, at send time, so subject and body agree;
* the row-number column (Superset's RangeIndex) is dropped.

The numbers are formatted by the content query itself (`79%`, not
`0.7857142857142857`): Superset's table post-processing would format them only
under their column names, which it has already replaced by the verbose names.
"""

from __future__ import annotations

import re
from email.header import Header
from email.message import Message
from html.parser import HTMLParser
from typing import Any

#: In the Alert's `email_subject`: marks the emails this hook rewrites.
SUBJECT_MARK = "textlens alert:"
#: The content chart's column labels the subject is made of (its dataset's verbose names).
ALERT_ON = "Alert on"
DAY = "Day"
NEGATIVE = "Negative share"
BASELINE = "Baseline share"

_TABLE = re.compile(r'<table[^>]*class="dataframe"[^>]*>.*?</table>', re.DOTALL)
#: The first cell of a row, when it is a header cell: pandas' index column.
_INDEX_CELL = re.compile(r"(<tr[^>]*>\s*)<th[^>]*>([^<]*)</th>\s*")


class _Cells(HTMLParser):
    """Rows of cell texts (th and td alike) of the tables in an HTML document."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th") and self.rows:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def table_rows(html: str) -> list[list[str]]:
    """The cell texts of each row of `html`'s tables, header rows included."""
    parser = _Cells()
    parser.feed(html)
    parser.close()
    return parser.rows


def drop_index_column(html: str) -> str | None:
    """`html` without the row-number column of its pandas table; None if it has none.

    Only a column that is a header cell first in every row, blank over the
    header and 0, 1, 2… down the body, is taken for pandas' RangeIndex.
    """
    table = _TABLE.search(html)
    if table is None:
        return None
    firsts = [m.group(2).strip() for m in _INDEX_CELL.finditer(table.group(0))]
    rows = table.group(0).count("<tr")
    if len(firsts) != rows or firsts[:1] != [""] or firsts[1:] != [str(i) for i in range(rows - 1)]:
        return None
    cleaned = _INDEX_CELL.sub(r"\1", table.group(0))
    return html[: table.start()] + cleaned + html[table.end() :]


def alert_subject(rows: list[list[str]]) -> str | None:
    """The subject for the table `rows` (header first); None when its columns are not ours."""
    if len(rows) < 2:
        return None
    header = rows[0]
    if not {ALERT_ON, DAY, NEGATIVE, BASELINE} <= set(header):
        return None
    first = dict(zip(header, rows[1], strict=False))
    more = len(rows) - 2
    return (
        f"{SUBJECT_MARK} {first[ALERT_ON]} negative share {first[NEGATIVE]} vs "
        f"{first[BASELINE]} baseline ({first[DAY]})" + (f" (+{more} more)" if more else "")
    )


def _html_part(msg: Message) -> Message | None:
    for part in msg.walk():
        if part.get_content_type() == "text/html":
            return part
    return None


def mutate_alert_email(msg: Message, **header_data: Any) -> Message:
    """Superset's EMAIL_HEADER_MUTATOR: the textlens Alert's subject and table (module doc)."""
    if SUBJECT_MARK not in str(msg.get("Subject", "")):
        return msg
    part = _html_part(msg)
    payload = part.get_payload(decode=True) if part is not None else None
    if part is None or not isinstance(payload, bytes):
        return msg
    html = payload.decode(part.get_content_charset() or "utf-8", "replace")
    cleaned = drop_index_column(html)
    if cleaned is None:
        return msg
    subject = alert_subject(table_rows(cleaned))
    if subject is None:
        return msg
    del part["Content-Transfer-Encoding"]
    part.set_payload(cleaned, "utf-8")
    del msg["Subject"]
    msg["Subject"] = subject if subject.isascii() else Header(subject, "utf-8").encode()
    return msg
