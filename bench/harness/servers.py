"""gunicorn for the portal (wsgi:app) and for the bare Flask app, on free loopback ports."""
from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One gunicorn master with ``workers`` sync workers (as `make run` serves the portal)."""

    def __init__(self, app_spec: str, *, cwd: Path, workers: int, env: dict, log: Path,
                 ready_path: str = "/healthz"):
        self.app_spec, self.cwd, self.workers, self.env = app_spec, cwd, workers, env
        self.log, self.ready_path = log, ready_path
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    def start(self) -> "Server":
        gunicorn = Path(sys.executable).with_name("gunicorn")
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [str(gunicorn), "--workers", str(self.workers), "--bind", f"127.0.0.1:{self.port}",
             "--log-level", "warning", self.app_spec],
            cwd=self.cwd, env=self.env, stdout=self.log.open("w"), stderr=subprocess.STDOUT,
            start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", self.ready_path)
                if conn.getresponse().status == 200:
                    conn.close()
                    return self
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"gunicorn {self.app_spec} did not start; see {self.log}")

    def worker_pids(self) -> list[int]:
        if self.process is None:
            return []
        pids = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    if _status_field(entry / "status", "PPid") == str(self.process.pid):
                        pids.append(int(entry.name))
                except OSError:
                    continue  # ended while we looked
        return pids

    def peak_rss_mib(self) -> float | None:
        """The largest VmHWM (peak resident set) among the workers, in MiB."""
        peaks = []
        for pid in self.worker_pids():
            try:
                value = _status_field(Path(f"/proc/{pid}/status"), "VmHWM")
            except OSError:
                continue
            if value:
                peaks.append(int(value.split()[0]) / 1024)  # kB
        return round(max(peaks), 1) if peaks else None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self.process = None

    def __enter__(self) -> "Server":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _status_field(path: Path, name: str) -> str | None:
    for line in path.read_text().splitlines():
        if line.startswith(name + ":"):
            return line.split(":", 1)[1].strip()
    return None


def portal(workers: int, env: dict, log_dir: Path) -> Server:
    return Server("wsgi:app", cwd=ROOT, workers=workers, env=env, log=log_dir / "portal.log")


def bare(workers: int, env: dict, log_dir: Path) -> Server:
    return Server("bare_app:app", cwd=ROOT / "bench", workers=workers, env=env,
                  log=log_dir / "bare.log", ready_path="/")
