"""`mutate_alert_email` on a message built the way Superset 6.1 builds an Alert's email.

The table is rendered as Superset renders it (`superset.utils.csv.get_chart_dataframe`
then `EmailNotification._get_content`: one-level MultiIndex columns and index,
`to_html(na_rep="", index=True, escape=True)`), the message as `send_email_smtp`
does (multipart/related, an HTML part). The end-to-end test (test_market_alert.py)
reads the real one from the SMTP sink.
"""

from __future__ import annotations

from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

import pandas as pd

from textlens.superset_plugin.alert_email import mutate_alert_email, table_rows

HEADER = ["Alert on", "Day", "Items", "Negative share", "Baseline share",
          "Most negative headlines"]  # fmt: skip
NWM = ["NWM", "2025-06-23", 28, "79%", "15%", "NWM recall widens  |  Fires & <losses>"]


def superset_email(subject: str, rows: list[list[object]], header: list[str] = HEADER) -> Message:
    df = pd.DataFrame(rows, columns=header)
    df.columns = pd.MultiIndex.from_tuples([(c,) for c in header])
    df.index = pd.MultiIndex.from_tuples([(i,) for i in range(len(rows))])
    table = df.to_html(na_rep="", index=True, escape=True)
    body = f"<html><body><div>A spike.</div><b><a href='u'>Explore</a></b>{table}</body></html>"
    msg = MIMEMultipart("related")
    msg["Subject"] = subject
    msg["To"] = "market-alerts@example.com"
    msg.attach(MIMEText(body, "html"))
    return msg


def html_of(msg: Message) -> str:
    part = next(p for p in msg.walk() if p.get_content_type() == "text/html")
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode(part.get_content_charset() or "utf-8")


def test_the_subject_gets_the_first_rows_numbers_and_the_index_goes() -> None:
    msg = superset_email("[Superset] textlens alert: negative-sentiment spike", [NWM])
    assert table_rows(html_of(msg))[1][0] == "0"  # Superset's row number, before
    out = mutate_alert_email(msg, chart_id=10, execution_id="x")
    assert out["Subject"] == "textlens alert: NWM negative share 79% vs 15% baseline (2025-06-23)"
    rows = table_rows(html_of(out))
    assert rows[0] == HEADER
    # No row number; `&` and `<` came through escaped (cell texts with spaces collapsed).
    assert rows[1] == [" ".join(str(v).split()) for v in NWM]
    assert "&lt;losses&gt;" in html_of(out)
    assert out["To"] == "market-alerts@example.com"
    assert out.as_string()  # still a sendable message


def test_more_rows_are_counted_in_the_subject() -> None:
    other = ["topic recall", "2025-06-24", 40, "62%", "10%", "x"]
    out = mutate_alert_email(superset_email("[Superset] textlens alert: spike", [NWM, other]))
    assert out["Subject"].endswith("(2025-06-23) (+1 more)")
    assert len(table_rows(html_of(out))) == 3


def test_other_emails_are_left_alone() -> None:
    report = superset_email("[Superset] Weekly report", [NWM])
    before = report.as_string()
    assert mutate_alert_email(report).as_string() == before
    # Ours by its subject, but not the table it expects: sent as Superset made it.
    unknown = superset_email("[Superset] textlens alert: x", [[1, 2]], header=["a", "b"])
    before = unknown.as_string()
    assert mutate_alert_email(unknown).as_string() == before
