"""A small client of Superset's REST API (standard library only): login, CSRF, import, charts.

Why not `requests`: `textlens superset bootstrap` must run from any textlens
install, and the base install has no HTTP library. Superset's write endpoints
want a JWT (from /api/v1/security/login) *and* a CSRF token tied to the
session cookie, so one cookie jar carries the session across calls.
"""

from __future__ import annotations

import http.cookiejar
import json
import urllib.error
import urllib.parse
import urllib.request
import uuid
from typing import Any


class SupersetError(RuntimeError):
    """A Superset API call failed; the message has the method, path, status and body."""


class SupersetClient:
    """A logged-in session against one Superset (`login()` first)."""

    def __init__(self, base_url: str, *, timeout: float = 120.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.cookies = http.cookiejar.CookieJar()
        self._opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))
        self._token: str | None = None
        self._csrf: str | None = None

    def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        data: bytes | None = None,
        content_type: str | None = None,
    ) -> Any:
        """Send one request; returns the decoded JSON answer (None when empty)."""
        headers = {"Accept": "application/json", "Referer": self.base_url}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        if self._csrf and method != "GET":
            headers["X-CSRFToken"] = self._csrf
        if body is not None:
            data = json.dumps(body).encode()
            content_type = "application/json"
        if content_type:
            headers["Content-Type"] = content_type
        req = urllib.request.Request(
            self.base_url + path, data=data, headers=headers, method=method
        )
        try:
            with self._opener.open(req, timeout=self.timeout) as answer:
                raw = answer.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")[:2000]
            raise SupersetError(f"{method} {path} -> HTTP {exc.code}: {detail}") from None
        except urllib.error.URLError as exc:
            raise SupersetError(
                f"{method} {path}: cannot reach Superset at {self.base_url} ({exc.reason})"
            ) from None
        return json.loads(raw) if raw else None

    def login(self, username: str, password: str) -> None:
        """JWT login, then the CSRF token for this session."""
        answer = self.request(
            "POST",
            "/api/v1/security/login",
            body={"username": username, "password": password, "provider": "db", "refresh": True},
        )
        self._token = answer["access_token"]
        self._csrf = self.request("GET", "/api/v1/security/csrf_token/")["result"]

    def import_bundle(
        self,
        resource: str,
        bundle: bytes,
        *,
        overwrite: bool = True,
        passwords: dict[str, str] | None = None,
    ) -> None:
        """POST the bundle ZIP to /api/v1/<resource>/import/ (multipart form).

        `passwords` maps a database file of the bundle (`databases/x.yaml`) to the
        password its masked URL stands for; Superset stores it encrypted.
        """
        boundary = uuid.uuid4().hex
        fields = {
            "overwrite": "true" if overwrite else "false",
            "passwords": json.dumps(passwords or {}),
        }
        parts: list[bytes] = []
        for name, value in fields.items():
            parts.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                f"{value}\r\n".encode()
            )
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="formData"; '
            f'filename="bundle.zip"\r\nContent-Type: application/zip\r\n\r\n'.encode()
            + bundle
            + b"\r\n"
        )
        parts.append(f"--{boundary}--\r\n".encode())
        self.request(
            "POST",
            f"/api/v1/{resource}/import/",
            data=b"".join(parts),
            content_type=f"multipart/form-data; boundary={boundary}",
        )

    def dashboard(self, id_or_slug: str | int) -> dict[str, Any]:
        return dict(self.request("GET", f"/api/v1/dashboard/{id_or_slug}")["result"])

    def dashboard_charts(self, id_or_slug: str | int) -> list[dict[str, Any]]:
        return list(self.request("GET", f"/api/v1/dashboard/{id_or_slug}/charts")["result"])

    def dashboard_datasets(self, id_or_slug: str | int) -> list[dict[str, Any]]:
        return list(self.request("GET", f"/api/v1/dashboard/{id_or_slug}/datasets")["result"])

    def find(self, resource: str, column: str, value: str) -> list[dict[str, Any]]:
        """`GET /api/v1/<resource>/` filtered by `column == value` (rison query)."""
        rison = f"(filters:!((col:{column},opr:eq,value:'{value}')),page_size:100)"
        query = urllib.parse.quote(rison, safe="(),:!'")
        return list(self.request("GET", f"/api/v1/{resource}/?q={query}")["result"])

    def set_query_context(self, chart_id: int, query_context: dict[str, Any]) -> None:
        self.request(
            "PUT",
            f"/api/v1/chart/{chart_id}",
            body={"query_context": json.dumps(query_context), "query_context_generation": True},
        )

    def chart_data(self, chart_id: int) -> dict[str, Any]:
        """The saved chart's data: its first query's result (rows in `data`)."""
        answer = self.request("GET", f"/api/v1/chart/{chart_id}/data/?format=json")
        return dict(answer["result"][0])

    def execute_sql(self, database_id: int, sql: str, *, limit: int = 1000) -> dict[str, Any]:
        """Run SQL like SQL Lab does (synchronously); raises SupersetError on failure.

        `limit` is SQL Lab's row-limit dropdown (the browser's default is 1000): the
        row cap the engine spec wraps around the query, whose own LIMIT stays inside.
        """
        return dict(
            self.request(
                "POST",
                "/api/v1/sqllab/execute/",
                body={
                    "database_id": database_id,
                    "sql": sql,
                    "runAsync": False,
                    "queryLimit": limit,
                    "schema": "main",
                    "tab": "textlens",
                    "client_id": uuid.uuid4().hex[:10],
                },
            )
        )
