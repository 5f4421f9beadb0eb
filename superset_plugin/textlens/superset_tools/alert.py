"""The Superset Alert on the monitor's alerts: one email per new spike, with the alerts table.

A Superset Alert (Alerts & Reports, type "Alert") runs a SQL query on its
schedule and notifies when the single value it returns passes a validator.
Superset keeps no memory of the rows it has seen, so "a new alert row
appeared" is put in the query and in the grace period:

* the query counts the monitor's alerts whose window starts within the
  newest LOOKBACK_DAYS of monitored data (the latest window in
  `windows.parquet`, not the wall clock: a replayed or late stream works the
  same). A cron-run monitor writes a new spike's alert for the window that
  just closed, so it is counted while it is new, and not once the data have
  moved a lookback past it;
* the validator is `> 0`, and the grace period equals the lookback: after the
  email Superset stays in its grace state, without running the query, for as
  long as the alert counts as new. One spike, one email; a spike a week later
  gets its own.

Content: the "Alert email" table chart as TEXT (no screenshot, so no browser
on the workers): the new alerts only, worst first, numbers formatted by its
query (`market_alert_email`), with their most negative headlines; the
description links to the Market pulse dashboard. The subject is fixed per Alert
in Superset; textlens's EMAIL_HEADER_MUTATOR (`textlens.superset_plugin.alert_email`)
puts the first row's numbers in it and drops pandas' row-number column. Run every minute (`* * * * *`);
`textlens superset bootstrap` creates it or updates it in place (found by name).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textlens.superset_plugin.alert_email import SUBJECT_MARK
from textlens.superset_tools.api import SupersetClient

NAME = "Market pulse: new negative-sentiment spike"
LOOKBACK_DAYS = 7
GRACE_SECONDS = LOOKBACK_DAYS * 24 * 3600
CRON = "* * * * *"
#: Where the demo sends it (a local SMTP sink in the tests); `--alert-email` changes it.
DEFAULT_RECIPIENT = "market-alerts@example.com"
#: The Alert's fixed subject; the textlens EMAIL_HEADER_MUTATOR puts the numbers in its place
#: (`textlens.superset_plugin.alert_email`: it rewrites subjects that carry SUBJECT_MARK).
SUBJECT = f"{SUBJECT_MARK} negative-sentiment spike"


def new_alerts_condition(monitor: str) -> str:
    """WHERE of the alerts in `monitor`/alerts.parquet that count as new (module docstring)."""
    path = monitor.replace("'", "''")
    return (
        f"window_start >= (SELECT max(window_start)\n"
        f"                 FROM read_parquet('{path}/windows.parquet'))\n"
        f"                - INTERVAL {LOOKBACK_DAYS} DAY"
    )


def alert_sql(monitor: str) -> str:
    """The count of new alerts (see the module docstring) in the monitor's output `monitor`."""
    path = monitor.replace("'", "''")
    return (
        f"SELECT count(*) AS new_alerts FROM read_parquet('{path}/alerts.parquet')\n"
        f"WHERE {new_alerts_condition(monitor)}"
    )


@dataclass(frozen=True)
class AlertTarget:
    """What the Alert runs on and reports: the warehouse database and the alerts table chart."""

    database_id: int
    chart_id: int
    monitor: str
    recipients: tuple[str, ...] = (DEFAULT_RECIPIENT,)
    #: The Market pulse dashboard, linked from the email ("" leaves the link out).
    dashboard_url: str = ""


def alert_payload(target: AlertTarget) -> dict[str, Any]:
    """The report-schedule body for POST/PUT /api/v1/report/."""
    return {
        "type": "Alert",
        "name": NAME,
        "description": description(target.dashboard_url),
        "email_subject": SUBJECT,
        "active": True,
        "crontab": CRON,
        "timezone": "UTC",
        "sql": alert_sql(target.monitor),
        "database": target.database_id,
        "chart": target.chart_id,
        "dashboard": None,
        "report_format": "TEXT",
        "validator_type": "operator",
        "validator_config_json": {"op": ">", "threshold": 0.0},
        "grace_period": GRACE_SECONDS,
        "working_timeout": 600,
        "log_retention": 90,
        "creation_method": "alerts_reports",
        "force_screenshot": False,
        "recipients": [
            {"type": "Email", "recipient_config_json": {"target": ", ".join(target.recipients)}}
        ],
        "extra": {},
    }


def description(dashboard_url: str) -> str:
    """The email's first paragraph (Superset keeps links and a few tags of it)."""
    text = (
        "textlens monitor found a new spike of negative sentiment: the share of negative "
        "headlines in a day far above its usual share. Each new alert, worst first, with "
        "its most negative headlines."
    )
    if dashboard_url:
        text += f' <a href="{dashboard_url}">Open the Market pulse dashboard</a>.'
    return text


def ensure_alert(client: SupersetClient, target: AlertTarget) -> int:
    """Create the Alert, or update the one named NAME (no duplicate); returns its id."""
    payload = alert_payload(target)
    existing = client.find("report", "name", NAME)
    if len(existing) > 1:
        raise RuntimeError(f"{len(existing)} report schedules are named {NAME!r}; expected one")
    if existing:
        report_id = int(existing[0]["id"])
        client.request("PUT", f"/api/v1/report/{report_id}", body=payload)
        return report_id
    answer = client.request("POST", "/api/v1/report/", body=payload)
    return int(answer["id"])


def delete_alert(client: SupersetClient) -> bool:
    """Delete the Alert named NAME, with its log (the demo starts each run afresh)."""
    existing = client.find("report", "name", NAME)
    for report in existing:
        client.request("DELETE", f"/api/v1/report/{int(report['id'])}")
    return bool(existing)
