"""A real gRPC server for client tests, answering textlens.v1.TextAnalysis from a script.

It is a plain `grpc.server` (thread pool) on a loopback port, with the generated
servicer base class: the client under test talks real gRPC over a real socket,
so retries, deadlines and error conversion see exactly what gRPC hands them.

Only Sentiment is scripted. Each call is recorded, then (after `delay` seconds,
if set) fails with the next scripted `Failure` (`context.abort`, optionally with
the `textlens-error` trailer naming the error class, as the real server sends
it), or, with the script empty, answers each text as its own label. Every other
RPC keeps the base class behaviour: a real UNIMPLEMENTED.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterable
from concurrent import futures
from dataclasses import dataclass
from types import TracebackType

import grpc

from textlens.client.rpc_errors import ERROR_METADATA_KEY
from textlens.v1 import textlens_pb2 as pb
from textlens.v1 import textlens_pb2_grpc as pb_grpc

LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class Failure:
    """One scripted failure: the status `code` and `details` that `context.abort` sends.

    `error_class` (e.g. "UnknownModel") goes into the `textlens-error` trailer;
    `extra_trailers` are sent before it.
    """

    code: grpc.StatusCode
    details: str = ""
    error_class: str | None = None
    extra_trailers: tuple[tuple[str, str], ...] = ()

    def trailers(self) -> tuple[tuple[str, str], ...]:
        named = () if self.error_class is None else ((ERROR_METADATA_KEY, self.error_class),)
        return self.extra_trailers + named


@dataclass(frozen=True)
class RecordedCall:
    """What the server saw of one Sentiment call, on arrival."""

    texts: list[str]
    model: str
    #: Seconds left of the call's deadline as the server sees it (None: no deadline).
    time_remaining: float | None


class ScriptedServicer(pb_grpc.TextAnalysisServicer):
    """Sentiment from a script of failures, then echoes; records every call."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failures: list[Failure] = []
        self._calls: list[RecordedCall] = []
        self.delay = 0.0
        #: Set on server stop, so a delayed handler does not outlive its server.
        self.stopping = threading.Event()

    def script(self, failures: Iterable[Failure]) -> None:
        """Append failures for the next calls to pop, in order."""
        with self._lock:
            self._failures.extend(failures)

    @property
    def calls(self) -> list[RecordedCall]:
        with self._lock:
            return list(self._calls)

    @property
    def failures_left(self) -> int:
        with self._lock:
            return len(self._failures)

    def Sentiment(
        self, request: pb.SentimentRequest, context: grpc.ServicerContext
    ) -> pb.SentimentResponse:
        with self._lock:
            self._calls.append(
                RecordedCall(list(request.texts), request.model, context.time_remaining())
            )
            failure = self._failures.pop(0) if self._failures else None
            delay = self.delay
        if delay > 0:
            self.stopping.wait(delay)
        if failure is not None:
            if failure.trailers():
                context.set_trailing_metadata(failure.trailers())
            context.abort(failure.code, failure.details)
        return pb.SentimentResponse(
            results=[pb.SentimentResult(label=text, score=0.0) for text in request.texts]
        )


class ScriptedServer:
    """A real gRPC server for the scripted servicer on 127.0.0.1.

    Nothing is bound until start(), since gRPC listens as soon as it binds:
    `port=0` then takes a free port; pass a port to take that one (e.g. one a
    test reserved and released). Use as a context manager, or start()/stop().
    The script can be set before start().
    """

    def __init__(self, port: int = 0, *, workers: int = 4) -> None:
        self.servicer = ScriptedServicer()
        self.port = port
        self._workers = workers
        self._server: grpc.Server | None = None
        self._stopped = False

    @property
    def target(self) -> str:
        """host:port; with port=0, known only once started."""
        if self.port == 0:
            raise RuntimeError("the server picks its port when started: start() it first")
        return f"{LOOPBACK}:{self.port}"

    # --- script and record ---------------------------------------------------

    def script(self, *failures: Failure) -> None:
        """The next Sentiment calls fail with these, in order; later ones succeed."""
        self.servicer.script(failures)

    def fail(
        self,
        code: grpc.StatusCode,
        details: str = "",
        error_class: str | None = None,
        times: int = 1,
    ) -> None:
        """Shorthand: the next `times` Sentiment calls fail with the same status."""
        self.servicer.script([Failure(code, details, error_class)] * times)

    @property
    def delay(self) -> float:
        """Seconds each Sentiment call sleeps before it answers or fails."""
        return self.servicer.delay

    @delay.setter
    def delay(self, seconds: float) -> None:
        self.servicer.delay = seconds

    @property
    def calls(self) -> list[RecordedCall]:
        """Every Sentiment call received so far, in arrival order."""
        return self.servicer.calls

    @property
    def sent_texts(self) -> list[list[str]]:
        """The texts of each recorded call."""
        return [call.texts for call in self.calls]

    @property
    def failures_left(self) -> int:
        return self.servicer.failures_left

    # --- lifecycle -----------------------------------------------------------

    def start(self) -> ScriptedServer:
        """Bind and serve; returns self."""
        if self._server is not None or self._stopped:
            raise RuntimeError("a ScriptedServer starts once")
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=self._workers))
        pb_grpc.add_TextAnalysisServicer_to_server(self.servicer, server)
        port = server.add_insecure_port(f"{LOOPBACK}:{self.port}")
        if port == 0:
            raise RuntimeError(f"could not bind {LOOPBACK}:{self.port}")
        server.start()
        self.port, self._server = port, server
        return self

    def stop(self) -> None:
        """Stop at once (in-flight calls are cancelled); idempotent, also before start()."""
        if self._stopped:
            return
        self._stopped = True
        self.servicer.stopping.set()
        if self._server is not None:
            self._server.stop(grace=None).wait(5)

    def __enter__(self) -> ScriptedServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def unused_port() -> int:
    """A loopback port that nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
    return port


def start_later(server: ScriptedServer, after: float) -> threading.Thread:
    """Start `server` from a thread after `after` seconds; join the returned thread."""

    def run() -> None:
        time.sleep(after)
        server.start()

    thread = threading.Thread(target=run, name="start-scripted-server", daemon=True)
    thread.start()
    return thread
