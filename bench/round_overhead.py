"""What a round costs beyond its two model calls, headless and in the TUI.

Starts its own OpenAI-compatible server on 127.0.0.1 in a child process (so its CPU is not
counted as ours): ``/v1/images/generations`` answers after 50 ms with a 1024×1024 PNG
(~1.5 MB) as ``b64_json``, ``/v1/chat/completions`` after 50 ms with a streamed caption.
Then plays N rounds with ``pace = 0`` through the real runtime, provider, engine and store:
headless (the engine as ``telestrations run`` drives it) and in the TUI (the real app under
Textual's headless pilot). Prints, for each:

- wall / provider time: the provider time is what the server spent answering (from the
  request read to the last byte written), summed over every call;
- our own ms per round: (wall - provider time) / rounds;
- CPU per round: this process's CPU (every thread) / rounds, and beside it the thumbnail
  processes' (``telestrations.tui.thumbnailer``);
- the TUI's RSS after N rounds and after ``--long`` rounds (default 1000);
- the load average, since the machine may be shared.

    /work/venv/bin/python bench/round_overhead.py                  # 200 rounds, RSS at 1000
    /work/venv/bin/python bench/round_overhead.py --rounds 50 --long 0
    /work/venv/bin/python bench/round_overhead.py --only headless
    /work/venv/bin/python bench/round_overhead.py --long 0 --floor   # and the app's floor
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gc
import io
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DELAY = 0.05
KEY = "sk-bench-0123456789abcdefghijklmn"
DRAWER = "openai:gpt-image-2"
GUESSER = "openai:gpt-4o-mini"
THINGS = (
    "house tree sun cat dog river mountain boat car child bird moon star lamp window door road "
    "city forest flower bridge castle dragon robot garden cloud rain snow ship train bicycle "
    "kite ball hat chair table clock book cake apple fish whale horse cow owl fox bear lion"
).split()
LOOKS = "small big old red blue green tall round happy sleepy tiny wooden bright dark".split()


def caption(n: int) -> str:
    """Call ``n``'s caption: varied, as a real guesser's are (the same caption every round
    would hide what a chain's drift and cycle checks cost as the game grows)."""
    rng = random.Random(n)
    words = ["a"]
    for i in range(rng.randint(2, 4)):
        words += [rng.choice(LOOKS), rng.choice(THINGS)] + (["with a"] if i == 0 else ["and a"])
    return " ".join(words[:-1])


# -- the server (child process) -----------------------------------------------------------------


def make_png() -> bytes:
    """A 1024×1024 drawing with some texture: about 1.5 MB as PNG, like a real drawer's."""
    from PIL import Image, ImageDraw

    noise = Image.effect_noise((1024, 1024), 24).convert("RGB")
    paper = Image.new("RGB", (1024, 1024), (245, 245, 240))
    im = Image.blend(paper, noise, 0.25)
    draw = ImageDraw.Draw(im)
    draw.rectangle((300, 450, 720, 820), outline=(0, 0, 0), width=6)
    draw.polygon([(280, 460), (510, 250), (740, 460)], outline=(0, 0, 0), width=6)
    draw.ellipse((780, 80, 940, 240), outline=(0, 0, 0), width=5)
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.calls = 0
        self.busy = 0.0


def serve() -> None:
    """Run the fake API until stdin closes; print the port first."""
    b64 = base64.b64encode(make_png()).decode()
    stats = Stats()
    models = [DRAWER.split(":", 1)[1], GUESSER.split(":", 1)[1]]

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # as real servers do: no 40 ms delayed-ACK stalls

        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, status: int, body: bytes, ctype: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            if self.path == "/stats":
                with stats.lock:
                    data = {"calls": stats.calls, "busy": stats.busy}
                self._send(200, json.dumps(data).encode())
            elif self.path == "/v1/models":
                data = [{"id": m, "object": "model", "owned_by": "bench"} for m in models]
                self._send(200, json.dumps({"object": "list", "data": data}).encode())
            else:
                self._send(404, b'{"error": {"message": "not found"}}')

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            t0 = time.monotonic()
            body = json.loads(raw or b"{}")
            time.sleep(DELAY)
            if self.path == "/v1/images/generations":
                out = {"created": int(time.time()), "data": [{"b64_json": b64}]}
                self._send(200, json.dumps(out).encode())
            elif self.path == "/v1/chat/completions":
                with stats.lock:
                    n = stats.calls
                self._chat(bool(body.get("stream")), n)
            else:
                self._send(404, b'{"error": {"message": "not found"}}')
            self.wfile.flush()
            with stats.lock:
                stats.calls += 1
                stats.busy += time.monotonic() - t0

        def _chat(self, stream: bool, n: int) -> None:
            head = {"id": f"chatcmpl-{uuid.uuid4().hex[:12]}", "created": int(time.time())}
            head["model"] = models[1]
            if not stream:
                message = {"role": "assistant", "content": caption(n)}
                choice = {"index": 0, "message": message, "finish_reason": "stop"}
                out = {**head, "object": "chat.completion", "choices": [choice]}
                self._send(200, json.dumps(out).encode())
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream; charset=utf-8")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            words = caption(n).split(" ")
            deltas: list[dict[str, Any]] = [{"role": "assistant", "content": ""}]
            deltas += [{"content": w if i == 0 else " " + w} for i, w in enumerate(words)]
            events = []
            for i, delta in enumerate([*deltas, {}]):
                finish = "stop" if i == len(deltas) else None
                choice = {"index": 0, "delta": delta, "finish_reason": finish}
                events.append(
                    json.dumps({**head, "object": "chat.completion.chunk", "choices": [choice]})
                )
            events.append("[DONE]")
            for e in events:
                piece = f"data: {e}\n\n".encode()
                self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")

    class Quiet(ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, request: Any, client_address: Any) -> None:
            pass  # a client closing its pooled connection at the end is not news

    server = Quiet(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(server.server_address[1], flush=True)
    sys.stdin.read()  # the parent closes it (or dies): stop
    server.shutdown()


# -- the measuring side -------------------------------------------------------------------------


class Server:
    """The child process serving the fake API."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        self.port = int(self.proc.stdout.readline())
        self.url = f"http://127.0.0.1:{self.port}/v1"

    def stats(self) -> tuple[int, float]:
        import urllib.request

        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/stats", timeout=5) as r:
            data = json.load(r)
        return int(data["calls"]), float(data["busy"])

    def describe(self) -> str:
        """The server, the load average and this machine's speed, for a bench's first line."""
        return (
            f"server on {self.url}: {DELAY * 1000:.0f} ms a call, 1024×1024 PNG; "
            f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
            f"machine: sum(range(10**6)) in {machine_speed():.1f} ms"
        )

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


HOMES: list[Path] = []  # removed at exit: each run writes a few hundred MB of pictures


def environment(server: Server) -> dict[str, str]:
    home = Path(tempfile.mkdtemp(prefix="telestrations-overhead-"))
    HOMES.append(home)
    env = {
        "TELESTRATIONS_DATA_DIR": str(home / "data"),
        "TELESTRATIONS_CONFIG": str(home / "config.toml"),
        "TELESTRATIONS_KEYS": str(home / "keys.json"),
        "OPENAI_BASE_URL": server.url,
        "OPENAI_API_KEY": KEY,
    }
    os.environ.update(env)
    return env


def children_rss() -> float:
    """MiB resident in the thumbnail processes (``telestrations.tui.thumbnailer``)."""
    try:
        from telestrations.tui.thumbnailer import thumbnailer
    except ImportError:
        return 0.0
    total = 0.0
    for pid in thumbnailer().pids():
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) / 1024
    return total


def children_cpu() -> float:
    """CPU seconds of the thumbnail processes (running, so not in RUSAGE_CHILDREN yet)."""
    try:
        from telestrations.tui.thumbnailer import thumbnailer
    except ImportError:  # an older checkout: thumbnails in threads, counted as ours
        return 0.0
    total = 0
    for pid in thumbnailer().pids():
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


class Meter:
    """Wall, CPU and the server's busy time between :meth:`start` and :meth:`stop`."""

    def __init__(self, server: Server) -> None:
        self.server = server

    def start(self) -> None:
        self.calls0, self.busy0 = self.server.stats()
        self.cpu0 = time.process_time()
        self.children0 = children_cpu()
        self.t0 = time.monotonic()

    def stop(self, label: str, rounds: int) -> dict[str, float]:
        wall = time.monotonic() - self.t0
        cpu = time.process_time() - self.cpu0
        children = children_cpu() - self.children0
        calls, busy = self.server.stats()
        calls -= self.calls0
        busy -= self.busy0
        fig = {
            "ratio": wall / busy,
            "own_ms": (wall - busy) / rounds * 1000,
            "cpu_ms": cpu / rounds * 1000,
            "children_cpu_ms": children / rounds * 1000,
            "wall": wall,
        }
        beside = f" (+{fig['children_cpu_ms']:.1f} in thumbnail processes)" if children else ""
        print(
            f"{label:>9}: {rounds} rounds ({calls} calls) in {wall:6.2f} s, provider time "
            f"{busy:6.2f} s  wall/provider {fig['ratio']:.3f}  own {fig['own_ms']:5.1f} ms/round"
            f"  CPU {fig['cpu_ms']:5.1f} ms/round{beside}",
            flush=True,
        )
        return fig


async def headless(server: Server, rounds: int) -> dict[str, float]:
    """The engine as ``telestrations run`` drives it: one line per turn written out."""
    from telestrations.game import CaptionReady, Event, Game, Limits, PictureReady, Settings
    from telestrations.runtime import Runtime
    from telestrations.terminal import json_line

    environment(server)
    runtime = Runtime.load()
    settings = Settings(drawer=DRAWER, guesser=GUESSER, pace=0.0)
    game_dir = runtime.store.new_game(
        "a house under the sun", {"drawer": DRAWER, "guesser": GUESSER}, lock=True
    )
    game = Game(game_dir, runtime.models(), settings, Limits(rounds=rounds))
    out = open(os.devnull, "w")  # noqa: ASYNC230 (a device: never blocks)

    def on_event(event: Event) -> None:
        if isinstance(event, (PictureReady, CaptionReady)):
            out.write(json_line(event.record.to_json()) + "\n")
            out.flush()

    game.subscribe(on_event, partials=False)  # as `run` does: it prints finished turns
    meter = Meter(server)
    meter.start()
    game.start()
    await game.wait()
    fig = meter.stop("headless", game.rounds_done)
    if game.rounds_done != rounds:
        raise SystemExit(f"headless game ended early: {game.reason}")
    out.close()
    await runtime.aclose()
    game_dir.unlock()
    return fig


async def tui(server: Server, rounds: int, long: int, floor: bool = False) -> dict[str, float]:
    """The real app under the headless pilot, 120×40.

    With ``floor``, the app draws nothing while the game runs: screen updates stay held (the
    fast-game frame gate never opens) and the history ignores new turns. What is left is the
    app's cost below its screen: the engine on its thread, messages, the status line. The
    real app can only be slower than that."""
    environment(server)
    if floor:
        from telestrations.tui.frame_gate import FrameGate
        from telestrations.tui.widgets.history import History

        async def ignore(self: History, record: object) -> None:
            return None

        FrameGate._open = lambda self: None  # type: ignore[method-assign]
        History.add = ignore  # type: ignore[method-assign]
    from telestrations.game import Settings
    from telestrations.runtime import Runtime
    from telestrations.tui.app import TelestrationsApp
    from telestrations.tui.screens.main import Launch

    runtime = Runtime.load()
    settings = Settings(drawer=DRAWER, guesser=GUESSER, pace=0.0)
    app = TelestrationsApp(runtime, Launch("a house under the sun", settings))
    meter = Meter(server)
    fig: dict[str, float] = {}
    async with app.run_test(size=(120, 40)) as pilot:
        main_screen = app.main
        assert main_screen is not None
        await pilot.pause(0.3)

        async def until(target: int) -> None:
            while main_screen.game is None or main_screen.game.rounds_done < target:
                if main_screen.game is not None and main_screen.game.state in ("paused", "stopped"):
                    raise SystemExit(f"the game stopped: {main_screen.game.reason}")
                await asyncio.sleep(0.05)

        meter.start()
        await pilot.press("enter")
        await until(rounds)
        done = main_screen.game.rounds_done if main_screen.game else 0
        fig = meter.stop("TUI floor" if floor else "TUI", done)
        if floor:
            await pilot.press("q")
            return fig
        gc.collect()
        fig["rss_short"] = rss_mib()
        h = main_screen.history
        print(
            f"      TUI: RSS after {done} rounds {fig['rss_short']:.1f} MiB "
            f"(cards mounted {h.mounted}; thumbnail processes {children_rss():.1f} MiB)",
            flush=True,
        )
        if long > rounds:
            await until(long)
            gc.collect()
            fig["rss_long"] = rss_mib()
            done_long = main_screen.game.rounds_done if main_screen.game else 0
            print(
                f"      TUI: RSS after {done_long} rounds {fig['rss_long']:.1f} MiB "
                f"(cards mounted {h.mounted}; thumbnail processes {children_rss():.1f} MiB): "
                f"{fig['rss_long'] / fig['rss_short']:.3f}× after {done}",
                flush=True,
            )
        await pilot.press("q")
    return fig


def machine_speed() -> float:
    """Milliseconds this machine takes for a fixed piece of pure Python (best of 5): the
    ratios below are our CPU time over a fixed 50 ms, so a machine half as fast shows twice
    the overhead. On the shared 2-core VM the README's figures come from, it varied between
    16 and 29 ms within one hour."""
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        sum(range(1_000_000))
        best = min(best, time.perf_counter() - t0)
    return best * 1000


async def main(args: argparse.Namespace) -> None:
    from telestrations.alloc import keep_big_buffers

    keep_big_buffers()  # as the telestrations command does at start
    server = Server()
    print(server.describe(), flush=True)
    try:
        if args.only in ("both", "headless"):
            await headless(server, args.rounds)
        if args.only in ("both", "tui"):
            await tui(server, args.rounds, args.long)
        if args.floor:
            await tui(server, args.rounds, 0, floor=True)
    finally:
        server.close()
        for home in HOMES:
            shutil.rmtree(home, ignore_errors=True)
    print(
        f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
        f"machine: sum(range(10**6)) in {machine_speed():.1f} ms",
        flush=True,
    )


if __name__ == "__main__":
    if sys.argv[1:] == ["--serve"]:
        serve()
        raise SystemExit(0)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--long", type=int, default=1000, help="TUI rounds for the RSS figure")
    parser.add_argument("--only", choices=("both", "headless", "tui"), default="both")
    parser.add_argument(
        "--floor",
        action="store_true",
        help="then the app again, drawing nothing while it plays (its cost below the screen)",
    )
    asyncio.run(main(parser.parse_args()))
