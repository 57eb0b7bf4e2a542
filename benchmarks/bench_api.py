"""``POST /api/fit`` over HTTP against the careful ``curve_fit`` loop in process, on the same curves.

Starts the real server (uvicorn on a free loopback port, this checkout's app, as ``bench_server.py``
does) and sends all ``--curves`` simulated curves (``bench_fit.simulate``: 11 concentrations × 8
replicates, IC50 log-uniform over the tested range) in one request. A request is timed from sending the
JSON body (encoded beforehand, as a client holding its data would) to the decoded JSON results; the best of
``--repeats`` counts. The loop (``bench_fit.careful_curve_fit_loop``, its code in bench_fit's docstring)
runs in this process on the same curves, its runs taken in turn with the requests'. Prints curves per
second of both and their ratio (issue 13's target: the API ≥ 1.5× the loop), the response size with and
without the fitted curves' points (``"curve_points": 100``), and whether the API's IC50s equal the
engine's in process.

Usage::

    .venv/bin/python benchmarks/bench_api.py [--curves 1000] [--repeats 5] [--seed 0]
"""

from __future__ import annotations

import argparse
import http.client
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

import numpy as np
from bench_fit import best_times, careful_curve_fit_loop, engine_ic50, load_average, simulate
from bench_server import start_server

from app.doseresponse import fit_hill_many


def _poster(url: str, body: bytes) -> Callable[[], tuple[dict[str, Any], int]]:
    """A function that POSTs ``body`` to /api/fit on one kept-alive connection: (decoded JSON, bytes).

    uvicorn closes a connection idle for 5 s (its keep-alive timeout), which the loop's turn can exceed on
    a busy machine: the request is then sent again on a new connection.
    """
    address = urlparse(url)
    connection = http.client.HTTPConnection(address.hostname or "127.0.0.1", address.port, timeout=600)
    headers = {"Content-Type": "application/json"}

    def post() -> tuple[dict[str, Any], int]:
        try:
            connection.request("POST", "/api/fit", body=body, headers=headers)
            response = connection.getresponse()
        except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
            connection.close()  # the next request opens a new connection
            connection.request("POST", "/api/fit", body=body, headers=headers)
            response = connection.getresponse()
        raw = response.read()
        if response.status != 200:
            raise SystemExit(f"/api/fit answered {response.status}: {raw[:300]!r}")
        return json.loads(raw), len(raw)

    return post


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--curves", type=int, default=1000, help="curves in the request (default 1000)")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs after a warm-up (fastest counts)")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the simulated screen")
    args = parser.parse_args()
    n = args.curves
    curves = simulate(n, np.random.default_rng(args.seed))
    payload = [
        {"label": f"curve {i + 1}", "concentrations_um": x.tolist(), "responses": y.tolist()}
        for i, (x, y) in enumerate(curves)
    ]
    print(f"{n} simulated curves × {curves[0][0].size} wells in one request; {load_average()} at the start")

    server = start_server()
    try:
        bodies = {
            points: json.dumps({"curves": payload, **({"curve_points": points} if points else {})}).encode()
            for points in (None, 100)
        }
        contenders: list[Callable[[], Any]] = [lambda: careful_curve_fit_loop(curves)]
        contenders += [_poster(server.url, body) for body in bodies.values()]
        (t_loop, _, _), *posts = best_times(contenders, args.repeats)
    finally:
        server.stop()
    timings = {
        points: (t_api, len(body), size, answer)
        for (points, body), (t_api, _, (answer, size)) in zip(bodies.items(), posts, strict=True)
    }

    print(f"loop  careful curve_fit (in process)      : {t_loop:6.3f} s {n / t_loop:7.0f} curves/s")
    for points, (t_api, sent, size, _) in timings.items():
        what = "/api/fit" if points is None else f"/api/fit, curve_points {points}"
        print(
            f"http  {what:35s}: {t_api:6.3f} s {n / t_api:7.0f} curves/s | "
            f"{t_loop / t_api:5.2f}× the loop | {sent / 1e6:.1f} MB in, {size / 1e6:.2f} MB out"
        )
    results = timings[None][3]["results"]
    over_http = np.array(
        [np.nan if r["ic50_um"] is None or not r["converged"] else r["ic50_um"] for r in results]
    )
    in_process = engine_ic50(fit_hill_many(curves))
    same = np.array_equal(over_http, in_process, equal_nan=True)
    print(f"IC50s over HTTP {'equal' if same else 'DIFFER FROM'} the engine's in process (every digit)")
    print(f"{load_average()} at the end")


if __name__ == "__main__":
    main()
