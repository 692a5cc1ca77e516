"""How close `telestrations batch` gets to the ideal wall time with slow providers.

Starts its own OpenAI-compatible server on 127.0.0.1 in a child process (so its CPU is not
counted as ours): ``/v1/images/generations`` answers after 100 ms with a PNG as ``b64_json``,
``/v1/chat/completions`` after 100 ms with a caption. Then runs ``telestrations batch`` in
this process (the real command: runtime, provider, HTTP stack, engine, store, CSV) with
100 chains × 10 rounds at concurrency 16 and prints wall / ideal, where ideal =
chains × rounds × 2 calls × delay / concurrency (every slot busy all the time, nothing else
costs anything). Target: ≤ 1.1. Also prints the load average, since the machine may be shared,
and what the server itself took per call (from the request read to the answer written): on
a loaded machine its 100 ms sleep runs late too, and wall/ideal at that time per call is
what is left for ours.

    /work/venv/bin/python bench/batch_speed.py
    /work/venv/bin/python bench/batch_speed.py --chains 20 --rounds 5 --concurrency 4 --repeat 3
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

KEY = "sk-bench-0123456789abcdefghijklmn"
DRAWER = "openai:gpt-image-2"
GUESSER = "openai:gpt-4o-mini"
CAPTIONS = (
    "a small house with a tree under a round sun",
    "a boat on the water near a hill",
    "two cats sitting on a red sofa",
    "a tree beside a house at night",
)


def make_png(size: int) -> bytes:
    from PIL import Image, ImageDraw

    im = Image.new("RGB", (size, size), (245, 245, 240))
    draw = ImageDraw.Draw(im)
    s = size / 1024
    draw.rectangle((300 * s, 450 * s, 720 * s, 820 * s), outline=(0, 0, 0), width=6)
    draw.polygon([(280 * s, 460 * s), (510 * s, 250 * s), (740 * s, 460 * s)], outline=(0, 0, 0))
    draw.ellipse((780 * s, 80 * s, 940 * s, 240 * s), outline=(0, 0, 0), width=5)
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def serve(delay: float, size: int) -> None:
    """Run the fake API until stdin closes; print the port first."""
    b64 = base64.b64encode(make_png(size)).decode()
    lock = threading.Lock()
    state: dict[str, float] = {"calls": 0, "now": 0, "peak": 0, "busy": 0.0}
    models = [DRAWER.split(":", 1)[1], GUESSER.split(":", 1)[1]]

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            if self.path == "/stats":
                with lock:
                    self._send(200, json.dumps(state).encode())
            elif self.path == "/v1/models":
                data = [{"id": m, "object": "model", "owned_by": "bench"} for m in models]
                self._send(200, json.dumps({"object": "list", "data": data}).encode())
            else:
                self._send(404, b'{"error": {"message": "not found"}}')

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            t0 = time.monotonic()
            with lock:
                state["calls"] += 1
                state["now"] += 1
                state["peak"] = max(state["peak"], state["now"])
                n = state["calls"]
            try:
                time.sleep(delay)
                if self.path == "/v1/images/generations":
                    out = {"created": int(time.time()), "data": [{"b64_json": b64}]}
                elif self.path == "/v1/chat/completions":
                    message = {"role": "assistant", "content": CAPTIONS[n % len(CAPTIONS)]}
                    choice = {"index": 0, "message": message, "finish_reason": "stop"}
                    out = {"id": f"c{n}", "object": "chat.completion", "choices": [choice]}
                else:
                    self._send(404, b'{"error": {"message": "not found"}}')
                    return
                self._send(200, json.dumps(out).encode())
                self.wfile.flush()
            finally:
                with lock:
                    state["now"] -= 1
                    state["busy"] += time.monotonic() - t0

    class Server(ThreadingHTTPServer):
        request_queue_size = 128  # the default 5 resets connections when 16 clients connect

    server = Server(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(server.server_address[1], flush=True)
    sys.stdin.read()


def stats(port: int) -> dict[str, float]:
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/stats", timeout=5) as r:
        data: dict[str, float] = json.loads(r.read())
        return data


def one_run(
    port: int, args: argparse.Namespace, work: Path, n: int
) -> tuple[float, int, float, float]:
    """Wall seconds of one `telestrations batch` in this process, its exit status, and the
    mean seconds a call held its slot, as the client saw it (from the manifest), and this
    process's CPU seconds (every thread) per call."""
    from telestrations import cli

    home = work / f"run{n}"
    home.mkdir()
    (home / "config.toml").write_text(
        f'[providers.openai]\nbase_url = "http://127.0.0.1:{port}/v1"\n'
        "compatible = false\nstream = false\n"
    )
    prompts = home / "prompts.txt"
    words = ["house", "boat", "cat", "tree", "sun", "hill", "kite", "dog", "car", "moon"]
    prompts.write_text(
        "\n".join(
            f"a {words[i % 10]} number {i} under a {words[(i * 7) % 10]}"
            for i in range(args.chains)
        )
        + "\n"
    )
    os.environ.update(
        TELESTRATIONS_CONFIG=str(home / "config.toml"),
        TELESTRATIONS_DATA_DIR=str(home / "data"),
        TELESTRATIONS_KEYS=str(home / "keys.json"),
        OPENAI_API_KEY=KEY,
    )
    argv = ["batch", str(prompts), "--rounds", str(args.rounds), "--pair", f"{DRAWER},{GUESSER}"]
    argv += ["--concurrency", str(args.concurrency), "--no-check"]
    with open(os.devnull, "w") as null, contextlib.redirect_stderr(null):
        with contextlib.redirect_stdout(null):
            t0, cpu0 = time.perf_counter(), time.process_time()
            code = cli.main(argv)
            wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    import csv

    summary = next((home / "data" / "batches").iterdir()) / "summary.csv"
    with summary.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    if len(rows) != args.chains * args.rounds:
        raise SystemExit(f"summary.csv has {len(rows)} rows, not {args.chains * args.rounds}")
    calls = json.loads((summary.parent / "manifest.json").read_text())["calls"]
    n_calls = max(calls["calls"], 1)
    return wall, code, calls["seconds"] / n_calls, cpu / n_calls


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--chains", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--delay", type=float, default=0.1, help="seconds each call takes")
    ap.add_argument("--image-size", type=int, default=512, help="PNG side in pixels")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        serve(args.delay, args.image_size)
        return
    serve_args = ["--serve", "--delay", str(args.delay), "--image-size", str(args.image_size)]
    server = subprocess.Popen(
        [sys.executable, __file__, *serve_args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        ideal = args.chains * args.rounds * 2 * args.delay / args.concurrency
        walls = []
        with tempfile.TemporaryDirectory(prefix="telestrations-batch-") as tmp:
            for n in range(args.repeat):
                load = os.getloadavg()[0]
                busy0 = stats(port)["busy"]
                wall, code, call, cpu = one_run(port, args, Path(tmp), n)
                served = (stats(port)["busy"] - busy0) / (args.chains * args.rounds * 2)
                walls.append(wall)
                print(
                    f"run {n + 1}: {args.chains} chains × {args.rounds} rounds at concurrency "
                    f"{args.concurrency}, calls of {args.delay * 1000:.0f} ms: wall {wall:.2f} s, "
                    f"ideal {ideal:.2f} s, wall/ideal {wall / ideal:.3f}; a call took "
                    f"{call * 1000:.0f} ms in its slot (the server took {served * 1000:.1f} ms: "
                    f"wall/ideal at that {wall / (ideal * served / args.delay):.3f}), "
                    f"our CPU {cpu * 1000:.1f} ms per call (exit {code}, load {load:.2f})",
                    flush=True,
                )
        seen = stats(port)
        best, median = min(walls), statistics.median(walls)
        print(
            f"wall/ideal min {best / ideal:.3f} median {median / ideal:.3f} (target ≤ 1.1); "
            f"server saw {seen['calls']} calls, at most {seen['peak']} at once; "
            f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
        )
    finally:
        if server.stdin is not None:
            server.stdin.close()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
