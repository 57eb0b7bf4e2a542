"""Server start-up and idle memory: seconds from launching uvicorn to the first ``/healthz`` answer, and the
resident memory (VmRSS) of the idle server process after it.

Starts the real server (``python -m uvicorn app.main:app`` on a free loopback port, this checkout's app)
``--repeats`` times. Each time: the wall time from launching the process to the first 200 from
``/healthz`` (polled every 5 ms), then one more ``/healthz``, half a second idle, and the process's VmRSS
from ``/proc/<pid>/status`` (Linux). Prints every run, the median and the best. Issue 13's targets: start
to first ``/healthz`` ≤ 2 s, idle RSS ≤ 120 MB.

Usage::

    .venv/bin/python benchmarks/bench_server.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STARTUP_TARGET_S = 2.0
RSS_TARGET_MB = 120.0


@dataclass
class Server:
    """A running uvicorn process of this checkout's app."""

    process: subprocess.Popen
    url: str
    startup_s: float  # launch → first 200 from /healthz

    def stop(self) -> None:
        """Terminate the process and wait for it."""
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/healthz", timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def start_server(*, timeout_s: float = 60.0) -> Server:
    """Launch uvicorn on a free loopback port and wait until ``/healthz`` answers; time it."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    start = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    while time.perf_counter() - start < timeout_s:
        if _healthy(url):
            return Server(process, url, time.perf_counter() - start)
        if process.poll() is not None:
            raise SystemExit(f"the server exited with code {process.returncode}")
        time.sleep(0.005)
    process.kill()
    raise SystemExit(f"the server did not answer /healthz within {timeout_s:.0f} s")


def resident_mb(pid: int) -> float:
    """VmRSS of a process in MB (10⁶ bytes), from /proc/<pid>/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024 / 1e6
    raise RuntimeError(f"no VmRSS for process {pid}")


def measure_once() -> tuple[float, float]:
    """(seconds to the first /healthz, idle RSS in MB after one more /healthz) of a fresh server."""
    server = start_server()
    try:
        _healthy(server.url)
        time.sleep(0.5)
        return server.startup_s, resident_mb(server.process.pid)
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="server starts to measure (default 5)")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores at the start")
    runs = []
    for i in range(args.repeats):
        startup, rss = measure_once()
        runs.append((startup, rss))
        print(f"run {i + 1}: start → first /healthz {startup:5.2f} s, idle RSS {rss:6.1f} MB")
    startups, rsses = zip(*runs, strict=True)
    print(
        f"start → first /healthz: median {statistics.median(startups):.2f} s, best {min(startups):.2f} s "
        f"(target ≤ {STARTUP_TARGET_S:g} s)"
    )
    print(
        f"idle RSS              : median {statistics.median(rsses):.1f} MB, best {min(rsses):.1f} MB "
        f"(target ≤ {RSS_TARGET_MB:g} MB)"
    )
    print(f"load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
