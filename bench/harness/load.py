"""Load from keep-alive http.client clients in threads, for a fixed time or request count.

gunicorn's sync workers answer ``Connection: close``; http.client then opens the next
connection by itself, so the same client code keeps connections alive wherever the
server allows it and reconnects where it does not."""
from __future__ import annotations

import dataclasses
import http.client
import threading
import time
from typing import Callable

from .stats import summary


@dataclasses.dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: bytes | None = None
    headers: dict = dataclasses.field(default_factory=dict)
    # (status, body) -> None when the answer is right, else what is wrong with it
    check: Callable[[int, bytes], str | None] | None = None


@dataclasses.dataclass
class Phase:
    latencies: list[float]
    wall: float
    errors: int = 0
    first_error: str | None = None

    def figures(self) -> dict:
        return dict(summary(self.latencies, self.wall), errors=self.errors,
                    first_error=self.first_error)


def run(port: int, next_request: Callable[[], Request | None], *, threads: int,
        seconds: float | None = None, count: int | None = None) -> Phase:
    """Send requests from ``threads`` clients until ``seconds`` have passed or ``count``
    requests were sent (or ``next_request`` returns None); every answer is checked."""
    lock = threading.Lock()
    phase = Phase(latencies=[], wall=0.0)
    sent = [0]
    started = time.perf_counter()
    stop_at = started + seconds if seconds is not None else None

    def take() -> Request | None:
        with lock:
            if count is not None and sent[0] >= count:
                return None
            sent[0] += 1
        return next_request()

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        mine: list[float] = []
        try:
            while stop_at is None or time.perf_counter() < stop_at:
                try:
                    request = take()
                except Exception as exc:  # the request could not be made: say so, stop this client
                    with lock:
                        phase.errors += 1
                        phase.first_error = phase.first_error or f"making a request: {exc}"
                    break
                if request is None:
                    break
                t0 = time.perf_counter()
                status, body = _send(conn, request)
                mine.append(time.perf_counter() - t0)
                problem = request.check(status, body) if request.check else None
                if problem:
                    with lock:
                        phase.errors += 1
                        phase.first_error = phase.first_error or f"{request.method} {request.path}: {problem}"
        finally:
            conn.close()
            with lock:
                phase.latencies.extend(mine)

    pool = [threading.Thread(target=client) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    phase.wall = time.perf_counter() - started
    return phase


def _send(conn: http.client.HTTPConnection, request: Request) -> tuple[int, bytes]:
    for attempt in (1, 2):
        try:
            conn.request(request.method, request.path, body=request.body, headers=request.headers)
            response = conn.getresponse()
            return response.status, response.read()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            # the server closed an idle kept-alive connection between two requests
            conn.close()
            if attempt == 2:
                raise
    raise AssertionError("unreachable")
