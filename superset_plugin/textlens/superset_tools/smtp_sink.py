"""A local SMTP sink: every message it is given lands in a mailbox folder as an `.eml` file.

What the demo's Alert emails go to, so they arrive without a mail server or an
account: Superset's worker sends through `smtplib` to 127.0.0.1 (no TLS, no
login, as the generated config does by default), and each message is written
whole to `<mailbox>/<time>-<n>.eml` (written under a temporary name, then
renamed: a reader never sees half a message). Open one with any mail program.

Standard library only (`socketserver`), like the rest of `superset_tools`:
the handful of commands `smtplib.sendmail` sends (EHLO/HELO, MAIL, RCPT,
DATA, RSET, NOOP, QUIT), from loopback clients, nothing relayed.
"""

from __future__ import annotations

import socketserver
import threading
import time
from pathlib import Path

from textlens.superset_tools.local import StopOnExit

HOST = "127.0.0.1"
#: Largest message accepted (Superset's alert emails are a few kilobytes; PNG reports more).
MAX_BYTES = 25 * 1024 * 1024
NAME = "textlens-mailbox"


class _Session(socketserver.StreamRequestHandler):
    """One SMTP client connection (RFC 5321, the subset smtplib uses)."""

    server: _Server

    def reply(self, line: str) -> None:
        self.wfile.write(line.encode("ascii") + b"\r\n")

    def handle(self) -> None:
        self.reply(f"220 {NAME} ESMTP")
        recipients: list[str] = []
        sender: str | None = None
        while raw := self.rfile.readline(65536):
            verb, _, arg = raw.decode("ascii", "replace").strip().partition(" ")
            verb = verb.upper()
            if verb in ("EHLO", "HELO"):
                self.reply(f"250 {NAME}")
            elif verb == "MAIL":
                sender, recipients = arg, []
                self.reply("250 OK")
            elif verb == "RCPT":
                recipients.append(arg)
                self.reply("250 OK")
            elif verb == "DATA":
                if sender is None or not recipients:
                    self.reply("503 MAIL and RCPT first")
                    continue
                self.reply("354 End data with <CR><LF>.<CR><LF>")
                message = self._read_data()
                if message is None:
                    self.reply("552 Message too large")
                else:
                    self.reply(f"250 OK saved as {self.server.save(message).name}")
                sender, recipients = None, []
            elif verb == "RSET":
                sender, recipients = None, []
                self.reply("250 OK")
            elif verb == "NOOP":
                self.reply("250 OK")
            elif verb == "QUIT":
                self.reply("221 Bye")
                return
            else:  # STARTTLS, AUTH, VRFY…: a loopback sink offers none of them
                self.reply("502 Command not implemented")

    def _read_data(self) -> bytes | None:
        """The message up to the lone ".", dot-stuffing undone; None when over MAX_BYTES."""
        lines: list[bytes] = []
        size = 0
        while line := self.rfile.readline(65536):
            if line in (b".\r\n", b".\n"):
                return None if size > MAX_BYTES else b"".join(lines)
            size += len(line)
            if size <= MAX_BYTES:
                lines.append(line[1:] if line.startswith(b"..") else line)
        return None


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, mailbox: Path, port: int) -> None:
        super().__init__((HOST, port), _Session)
        self.mailbox = mailbox
        self._count = 0
        self._lock = threading.Lock()

    def save(self, message: bytes) -> Path:
        with self._lock:
            self._count += 1
            stem = f"{time.strftime('%Y%m%d-%H%M%S')}-{self._count:04d}"
        path = self.mailbox / f"{stem}.eml"
        partial = path.with_suffix(".part")
        partial.write_bytes(message)
        partial.replace(path)
        return path


class SmtpSink(StopOnExit):
    """An SMTP server on 127.0.0.1:`port` (a free one by default) writing to `mailbox`."""

    def __init__(self, mailbox: Path, *, port: int = 0) -> None:
        self.mailbox = mailbox.resolve()
        self.mailbox.mkdir(parents=True, exist_ok=True)
        self._server = _Server(self.mailbox, port)
        self.host = HOST
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def messages(self) -> list[Path]:
        """The `.eml` files in the mailbox, oldest first."""
        return sorted(self.mailbox.glob("*.eml"))

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
