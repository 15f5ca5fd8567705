"""Capacity: N stories streaming at once from one StoryStream process, the scripted model writing
each at a realistic speed (20 tokens/s by default).

Reports, per N: aggregate tokens/s, the added inter-token delay (p50, p99: how much later than
the model's pace tokens arrived), time to the first event (median, p99), and the server's memory
per open stream (resident memory with the N streams open, minus before, over N). Results are
printed and written to JSON. Nothing is asserted: the figures depend on the machine.

    python -m bench.capacity --levels 100 500 1000
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from httpx_sse import aconnect_sse

from bench.stream_bench import (
    PROJECT_ROOT,
    QUESTION_BLOCK,
    THEME,
    BenchError,
    Server,
    create_child,
    positive_float,
    positive_int,
    running_server,
    service_environment,
    story_body,
    write_report,
)

DEFAULT_OUTPUT = PROJECT_ROOT / "bench" / "results" / "capacity.json"
# Raw tokens (a parent's preview), so the delays measure the server; the sentence gate's own
# delay is measured by bench.stream_bench.
RUN_BODY: dict[str, Any] = {"theme": THEME, "gate": "none"}
STARTING_AT_ONCE = 8


@dataclass(frozen=True)
class LevelResult:
    streams: int
    completed: int
    tokens: int
    wall_seconds: float
    tokens_per_second: float
    added_delay_ms_p50: float
    added_delay_ms_p99: float
    first_event_ms_p50: float
    first_event_ms_p99: float
    server_rss_mb_idle: float
    server_rss_mb_open: float
    server_kb_per_open_stream: float


def resident_mb(pid: int) -> float:
    """The process's resident memory (Linux /proc), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise BenchError(f"no resident memory reading for process {pid}")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def one_stream(
    client: httpx.AsyncClient,
    child_id: int,
    pace: float,
    opened: asyncio.Event,
    starting: asyncio.Semaphore,
) -> tuple[float, list[float], int]:
    """Start a story and stream it at once; return time to first event (from the request),
    the added delays between tokens, and the token count."""
    started = time.perf_counter()
    async with starting:  # a browser-like ramp: a few new stories at a time, not all at once
        created = await client.post("/api/v1/runs", json=RUN_BODY | {"child_id": child_id})
    if created.status_code != 201:
        raise BenchError(f"starting a run answered {created.status_code}: {created.text[:200]}")
    run_id = created.json()["run_id"]
    first: float | None = None
    arrivals: list[float] = []
    async with aconnect_sse(client, "GET", f"/api/v1/runs/{run_id}/stream") as source:
        opened.set()
        async for event in source.aiter_sse():
            now = time.perf_counter()
            first = first if first is not None else now - started
            if event.event == "content":
                arrivals.append(now)
            elif event.event in ("complete", "error"):
                break
    gaps = [later - earlier for earlier, later in itertools.pairwise(arrivals)]
    added = [max(0.0, gap - pace) for gap in gaps] or [0.0]
    return first or 0.0, added, len(arrivals)


async def measure_level(server: Server, streams: int, rate: float, patience: float) -> LevelResult:
    limits = httpx.Limits(max_connections=streams + 10, max_keepalive_connections=streams + 10)
    async with httpx.AsyncClient(
        base_url=server.base_url, timeout=httpx.Timeout(patience), limits=limits
    ) as client:
        child_id = await create_child(client)
        idle = resident_mb(server.pid)
        opened = [asyncio.Event() for _ in range(streams)]
        starting = asyncio.Semaphore(STARTING_AT_ONCE)
        started = time.perf_counter()
        tasks = [
            asyncio.create_task(one_stream(client, child_id, 1.0 / rate, flag, starting))
            for flag in opened
        ]
        await asyncio.wait_for(asyncio.gather(*(flag.wait() for flag in opened)), patience)
        open_rss = resident_mb(server.pid)
        results = await asyncio.wait_for(asyncio.gather(*tasks), patience)
        wall = time.perf_counter() - started
    firsts = [first for first, _, _ in results]
    delays = [delay for _, added, _ in results for delay in added]
    tokens = sum(count for _, _, count in results)
    return LevelResult(
        streams=streams,
        completed=sum(1 for _, _, count in results if count),
        tokens=tokens,
        wall_seconds=round(wall, 2),
        tokens_per_second=round(tokens / wall, 1),
        added_delay_ms_p50=round(percentile(delays, 0.5) * 1e3, 1),
        added_delay_ms_p99=round(percentile(delays, 0.99) * 1e3, 1),
        first_event_ms_p50=round(statistics.median(firsts) * 1e3, 1),
        first_event_ms_p99=round(percentile(firsts, 0.99) * 1e3, 1),
        server_rss_mb_idle=round(idle, 1),
        server_rss_mb_open=round(open_rss, 1),
        server_kb_per_open_stream=round(max(0.0, open_rss - idle) * 1024 / streams, 1),
    )


def run(levels: list[int], rate: float, words: int, timeout: float) -> dict[str, Any]:
    body = story_body(words)
    results: list[LevelResult] = []
    with tempfile.TemporaryDirectory(prefix="storystream-capacity-") as tmp:
        env = service_environment(body + QUESTION_BLOCK, Path(tmp), rate)
        env["STORYSTREAM_MAX_CONCURRENT_RUNS"] = str(max(levels))
        env["STORYSTREAM_MAX_QUEUED_RUNS"] = "0"
        with running_server(
            "service", ["backend.main:app"], env, 0, Path(tmp) / "service.log", timeout
        ) as server:
            for streams in levels:
                print(f"{streams} streams at {rate:g} tokens/s each", file=sys.stderr)
                results.append(asyncio.run(measure_level(server, streams, rate, timeout)))
    return {
        "benchmark": "storystream-capacity",
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "parameters": {"tokens_per_second_per_stream": rate, "words": words, "processes": 1},
        "machine": {"python": platform.python_version(), "cpu_count": os.cpu_count()},
        "levels": [asdict(result) for result in results],
    }


def format_table(report: dict[str, Any]) -> str:
    rate = report["parameters"]["tokens_per_second_per_stream"]
    lines = [
        f"StoryStream capacity: one process, scripted model at {rate:g} tokens/s per stream",
        "",
        f"{'streams':>8}{'done':>6}{'tokens/s':>10}{'delay p50':>11}{'delay p99':>11}"
        f"{'first p50':>11}{'first p99':>11}{'KB/stream':>11}",
    ]
    for level in report["levels"]:
        lines.append(
            f"{level['streams']:>8}{level['completed']:>6}{level['tokens_per_second']:>10.0f}"
            f"{level['added_delay_ms_p50']:>9.1f}ms{level['added_delay_ms_p99']:>9.1f}ms"
            f"{level['first_event_ms_p50']:>9.1f}ms{level['first_event_ms_p99']:>9.1f}ms"
            f"{level['server_kb_per_open_stream']:>11.1f}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.capacity",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--levels", type=positive_int, nargs="+", default=[100, 500, 1000])
    parser.add_argument("--rate", type=positive_float, default=20.0, help="tokens/s per stream")
    parser.add_argument("--words", type=positive_int, default=60, help="story length in words")
    parser.add_argument("--timeout", type=positive_float, default=300.0, metavar="SECONDS")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    try:
        report = run(args.levels, args.rate, args.words, args.timeout)
    except (BenchError, TimeoutError) as exc:
        print(f"capacity bench: {exc}", file=sys.stderr)
        return 1
    print(format_table(report))
    write_report(report, args.output)
    print(f"\nresults written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
