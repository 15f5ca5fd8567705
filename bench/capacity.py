"""Capacity: N stories streaming at once, the scripted model writing each at a realistic speed
(20 tokens/s by default), from one StoryStream process (SQLite, in-memory event log) and from two
processes behind Redis (PostgreSQL, Redis Streams event log), as replicas behind a load balancer.

With two processes, clients alternate: each story is started on one replica and streamed from
either, so half the streams cross replicas through Redis. Reports, per N: aggregate tokens/s,
the added inter-token delay (p50, p99: how much later than the model's pace tokens arrived), time
to the first event (median, p99), the server memory per open stream (resident memory of every
server process with the N streams open, minus before, over N), and how many story starts were
refused (429/503) and retried after `Retry-After`. Results are printed and written to JSON.
Nothing is asserted: the figures depend on the machine.

    python -m bench.capacity --levels 100 500 1000 --processes 1 2
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
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from httpx_sse import aconnect_sse
from redis import Redis
from redis.exceptions import RedisError

from bench.servers import PROJECT_ROOT, BenchError, Server, running_server
from bench.stream_bench import (
    QUESTION_BLOCK,
    THEME,
    create_child,
    positive_float,
    positive_int,
    service_environment,
    story_body,
    write_report,
)

DEFAULT_OUTPUT = PROJECT_ROOT / "bench" / "results" / "capacity.json"
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
# Raw tokens (a parent's preview), so the delays measure the server; the sentence gate's own
# delay is measured by bench.stream_bench.
RUN_BODY: dict[str, Any] = {"theme": THEME, "gate": "none"}
STARTING_AT_ONCE = 8
REFUSED = (429, 503)


@dataclass(frozen=True)
class Deployment:
    processes: int
    database: str
    event_log: str


@dataclass(frozen=True)
class LevelResult:
    streams: int
    completed: int
    failed: int
    refused_starts: int
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
    # The first few failures, as the client saw them (the server logs say more).
    failures: list[str]


@dataclass(frozen=True)
class StreamResult:
    first_event: float
    added_delays: list[float]
    tokens: int
    refused_starts: int


def resident_mb(pid: int) -> float:
    """The process's resident memory (Linux /proc), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise BenchError(f"no resident memory reading for process {pid}")


def servers_resident_mb(servers: list[Server]) -> float:
    return sum(resident_mb(server.pid) for server in servers)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def start_story(client: httpx.AsyncClient, child_id: int) -> tuple[str, int]:
    """POST /runs as a well-behaved client: a refusal (429/503) waits its Retry-After and
    tries again. Returns the run id and how many refusals it took."""
    refused = 0
    while True:
        created = await client.post("/api/v1/runs", json=RUN_BODY | {"child_id": child_id})
        if created.status_code == 201:
            run_id: str = created.json()["run_id"]
            return run_id, refused
        if created.status_code not in REFUSED:
            raise BenchError(f"starting a run answered {created.status_code}: {created.text[:200]}")
        refused += 1
        await asyncio.sleep(float(created.headers.get("retry-after", "1")))


async def one_stream(
    starter: httpx.AsyncClient,
    reader: httpx.AsyncClient,
    child_id: int,
    pace: float,
    opened: asyncio.Event,
    starting: asyncio.Semaphore,
) -> StreamResult:
    """Start a story on `starter` and stream it at once from `reader` (the same replica or
    another); time to first event counts from the request."""
    started = time.perf_counter()
    first: float | None = None
    arrivals: list[float] = []
    try:
        async with starting:  # a browser-like ramp: a few new stories at a time
            run_id, refused = await start_story(starter, child_id)
        async with aconnect_sse(reader, "GET", f"/api/v1/runs/{run_id}/stream") as source:
            opened.set()
            source.response.raise_for_status()
            async for event in source.aiter_sse():
                now = time.perf_counter()
                first = first if first is not None else now - started
                if event.event == "content":
                    arrivals.append(now)
                elif event.event in ("complete", "error"):
                    break
    finally:
        opened.set()  # also when it failed: the level must not wait for it to open
    gaps = [later - earlier for earlier, later in itertools.pairwise(arrivals)]
    added = [max(0.0, gap - pace) for gap in gaps] or [0.0]
    return StreamResult(first or 0.0, added, len(arrivals), refused)


class ReplicaClients:
    """One HTTP client per server, closed together."""

    def __init__(self, servers: list[Server], patience: float, limits: httpx.Limits) -> None:
        self._clients = [
            httpx.AsyncClient(
                base_url=server.base_url, timeout=httpx.Timeout(patience), limits=limits
            )
            for server in servers
        ]

    async def __aenter__(self) -> list[httpx.AsyncClient]:
        return self._clients

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.gather(*(client.aclose() for client in self._clients))


async def measure_level(
    servers: list[Server], streams: int, rate: float, patience: float
) -> LevelResult:
    limits = httpx.Limits(max_connections=streams + 10, max_keepalive_connections=streams + 10)
    async with ReplicaClients(servers, patience, limits) as clients:
        child_id = await create_child(clients[0])
        for client in clients[1:]:
            client.headers["Authorization"] = clients[0].headers["Authorization"]
        idle = servers_resident_mb(servers)
        opened = [asyncio.Event() for _ in range(streams)]
        starting = asyncio.Semaphore(STARTING_AT_ONCE)
        count = len(clients)
        started = time.perf_counter()
        # Story i starts on replica i % n and streams from replica (i // n) % n: every pairing.
        tasks = [
            asyncio.create_task(
                one_stream(
                    clients[index % count],
                    clients[(index // count) % count],
                    child_id,
                    1.0 / rate,
                    flag,
                    starting,
                )
            )
            for index, flag in enumerate(opened)
        ]
        await asyncio.wait_for(asyncio.gather(*(flag.wait() for flag in opened)), patience)
        open_rss = servers_resident_mb(servers)
        outcomes = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), patience)
        wall = time.perf_counter() - started
    results = [outcome for outcome in outcomes if isinstance(outcome, StreamResult)]
    failures = [repr(outcome) for outcome in outcomes if not isinstance(outcome, StreamResult)]
    if not results:
        raise BenchError(f"every stream failed at {streams} streams; first: {failures[0]}")
    firsts = [result.first_event for result in results]
    delays = [delay for result in results for delay in result.added_delays]
    tokens = sum(result.tokens for result in results)
    return LevelResult(
        streams=streams,
        completed=sum(1 for result in results if result.tokens),
        failed=len(failures),
        refused_starts=sum(result.refused_starts for result in results),
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
        failures=failures[:5],
    )


async def _admin(postgres_url: str, statement: str) -> None:
    connection = await asyncpg.connect(postgres_url, timeout=5)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@contextmanager
def fresh_postgres_database(postgres_url: str) -> Iterator[str]:
    """A new, empty PostgreSQL database beside `postgres_url`'s (dropped afterwards); yields
    its SQLAlchemy asyncpg URL."""
    name = f"storystream_capacity_{uuid.uuid4().hex[:8]}"
    try:
        asyncio.run(_admin(postgres_url, f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        raise BenchError(
            f"two processes need PostgreSQL; it is not reachable at {postgres_url} ({exc})"
        ) from None
    base = postgres_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    try:
        yield f"{base}/{name}"
    finally:
        asyncio.run(_admin(postgres_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def check_redis(redis_url: str) -> None:
    try:
        Redis.from_url(redis_url, socket_connect_timeout=3).ping()
    except (RedisError, OSError) as exc:
        raise BenchError(
            f"two processes need Redis; it is not reachable at {redis_url} ({exc})"
        ) from None


@contextmanager
def deployment(
    processes: int, env: dict[str, str], args: argparse.Namespace
) -> Iterator[tuple[Deployment, list[Server]]]:
    """`processes` service processes: one on SQLite with the in-memory event log, or several
    sharing a fresh PostgreSQL database and Redis."""
    with ExitStack() as stack:
        if processes == 1:
            shape = Deployment(processes, "SQLite", "in memory")
        else:
            check_redis(args.redis_url)
            database = stack.enter_context(fresh_postgres_database(args.postgres_url))
            env = env | {
                "STORYSTREAM_DATABASE_URL": database,
                "STORYSTREAM_REDIS_URL": args.redis_url,
            }
            shape = Deployment(processes, "PostgreSQL", "Redis Streams")
        # One after another: the first applies the migrations before the next starts.
        servers = [
            stack.enter_context(
                running_server(
                    f"service {number}",
                    ["backend.main:app"],
                    env,
                    0,
                    args.output.parent / "logs" / f"service-{processes}-{number}.log",
                    args.timeout,
                )
            )
            for number in range(1, processes + 1)
        ]
        yield shape, servers


def run(args: argparse.Namespace) -> dict[str, Any]:
    body = story_body(args.words)
    configurations: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="storystream-capacity-") as tmp:
        env = service_environment(body + QUESTION_BLOCK, Path(tmp), args.rate)
        env["STORYSTREAM_MAX_CONCURRENT_RUNS"] = str(max(args.levels))
        env["STORYSTREAM_MAX_QUEUED_RUNS"] = "0"
        for processes in args.processes:
            with deployment(processes, env, args) as (shape, servers):
                results: list[LevelResult] = []
                for streams in args.levels:
                    print(
                        f"{processes} process(es): {streams} streams at {args.rate:g} tokens/s",
                        file=sys.stderr,
                    )
                    results.append(
                        asyncio.run(measure_level(servers, streams, args.rate, args.timeout))
                    )
            configurations.append(
                asdict(shape) | {"levels": [asdict(result) for result in results]}
            )
    return {
        "benchmark": "storystream-capacity",
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "parameters": {"tokens_per_second_per_stream": args.rate, "words": args.words},
        "machine": {"python": platform.python_version(), "cpu_count": os.cpu_count()},
        "configurations": configurations,
    }


def format_table(report: dict[str, Any]) -> str:
    rate = report["parameters"]["tokens_per_second_per_stream"]
    lines = [f"StoryStream capacity: scripted model at {rate:g} tokens/s per stream"]
    for shape in report["configurations"]:
        lines += [
            "",
            f"{shape['processes']} process(es), {shape['database']}, "
            f"event log {shape['event_log']}",
            f"{'streams':>8}{'done':>6}{'failed':>8}{'refused':>9}{'tokens/s':>10}{'delay p50':>11}"
            f"{'delay p99':>11}{'first p50':>11}{'first p99':>11}{'KB/stream':>11}",
        ]
        for level in shape["levels"]:
            lines.append(
                f"{level['streams']:>8}{level['completed']:>6}{level['failed']:>8}"
                f"{level['refused_starts']:>9}"
                f"{level['tokens_per_second']:>10.0f}"
                f"{level['added_delay_ms_p50']:>9.1f}ms{level['added_delay_ms_p99']:>9.1f}ms"
                f"{level['first_event_ms_p50'] / 1e3:>10.1f}s"
                f"{level['first_event_ms_p99'] / 1e3:>10.1f}s"
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
    parser.add_argument(
        "--processes",
        type=positive_int,
        nargs="+",
        default=[1, 2],
        help="deployments to measure: 1 (SQLite, in memory) or more (PostgreSQL and Redis)",
    )
    parser.add_argument("--rate", type=positive_float, default=20.0, help="tokens/s per stream")
    parser.add_argument("--words", type=positive_int, default=60, help="story length in words")
    parser.add_argument("--timeout", type=positive_float, default=300.0, metavar="SECONDS")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL, help="for 2+ processes")
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL, help="for 2+ processes")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    try:
        report = run(args)
    except (BenchError, TimeoutError) as exc:
        print(f"capacity bench: {exc}", file=sys.stderr)
        return 1
    print(format_table(report))
    write_report(report, args.output)
    print(f"\nresults written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
