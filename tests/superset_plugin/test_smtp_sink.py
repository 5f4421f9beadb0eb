"""The demo's SMTP sink, spoken to by `smtplib` as Superset's worker does (send_email_smtp)."""

from __future__ import annotations

import email
import smtplib
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from pathlib import Path

from textlens.superset_tools.smtp_sink import SmtpSink


def test_each_message_lands_whole_in_the_mailbox(tmp_path: Path) -> None:
    body = "Alert: NWM 79% — négatif\n"
    msg = MIMEMultipart("related")
    msg["Subject"] = "textlens alert: NWM negative share 79%"
    msg["From"] = "superset@localhost"
    msg["To"] = "market-alerts@example.com"
    msg.attach(MIMEText(body, "html", "utf-8"))
    with SmtpSink(tmp_path / "mailbox") as sink:
        with smtplib.SMTP(sink.host, sink.port, timeout=10) as smtp:
            smtp.ehlo()
            refused = smtp.sendmail(
                "superset@localhost", ["market-alerts@example.com", "ops@example.com"],
                msg.as_string(),
            )  # fmt: skip
            assert refused == {}
            second = "Subject: second\r\n\r\nhi\r\n.\r\n..two dots\r\n"  # smtplib stuffs them
            smtp.sendmail("superset@localhost", ["x@example.com"], second)
        paths = sink.messages()
    assert [p.suffix for p in paths] == [".eml", ".eml"]
    assert not list((tmp_path / "mailbox").glob("*.part"))
    first = email.message_from_bytes(paths[0].read_bytes())
    assert first["Subject"] == msg["Subject"] and first["To"] == msg["To"]
    part = next(p for p in first.walk() if p.get_content_type() == "text/html")
    assert part.get_payload(decode=True).decode("utf-8") == body
    assert paths[1].read_bytes() == second.encode()  # dot-stuffing undone


def test_data_before_a_recipient_is_refused(tmp_path: Path) -> None:
    with SmtpSink(tmp_path) as sink, smtplib.SMTP(sink.host, sink.port, timeout=10) as smtp:
        assert smtp.docmd("DATA")[0] == 503
        assert smtp.docmd("STARTTLS")[0] == 502
        assert smtp.noop()[0] == 250
    assert sink.messages() == []
