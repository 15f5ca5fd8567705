"""Capacity: N stories streaming at once from one StoryStream process, the scripted model writing
each at a realistic speed (20 tokens/s by default), then a burst of story starts.

For each N (100, 300, 500 by default) the stories are spread over many children of several
families and started on a ramp (50 a second by default, as children open the app), each started
with `POST /runs` and streamed from `GET /runs/{id}/stream`. Reported per N: streams completed,
failed, refused starts (429/503, retried after `Retry-After`), the added inter-token delay (p50,
p99: how much later than the model's pace each batch of tokens arrived; a sentence arrives as
one batch once complete), time to first event, the p99 stream
duration over the model's own time (one story streamed alone on the idle server), server CPU per
streamed token (the server's CPU clock over the level), and memory per idle open stream (a fresh
server whose model is so slow that its N streams stay open and quiet: resident memory with them
open, minus before, over N; each stream's run included).

The burst: 300 stories started within one second (`GET /stories/generate/stream`, as the child's
app does) on a fresh server: how many answered 5xx or were refused, and the first event's p50,
p99 and slowest. With `--processes 2` the levels also run on two processes sharing PostgreSQL
and Redis, each story started on one replica and streamed from the other. The chapters differ
(sentences of the held-out benign stories, `bench/story_corpus.py`), so each preview's
whole-chapter check runs the semantic classifier as a real chapter would; the corpus holds about
250 chapters of 120 words, after which they repeat (the report says how many did not). Results
are printed and written to JSON. Nothing is asserted: the figures depend on the machine.

    python -m bench.capacity --levels 100 300 500 --processes 1 2
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
from collections.abc import Awaitable, Callable, Iterator, Sequence
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

from bench.peer_app import STREAM_PATH as PEER_STREAM_PATH
from bench.servers import PROJECT_ROOT, BenchError, Server, running_server
from bench.story_corpus import chapters, distinct_chapters, passing_sentences, write_scripts
from bench.stream_bench import (
    QUESTION_BLOCK,
    THEME,
    peer_environment,
    positive_float,
    positive_int,
    process_cpu_seconds,
    service_environment,
    story_body,
    write_report,
)

DEFAULT_OUTPUT = PROJECT_ROOT / "bench" / "results" / "capacity.json"
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
# Raw tokens (a parent's preview), so the delays measure the server; the sentence gate's own
# delay is measured by bench.stream_bench.
GATE = "none"
# Chapters beyond the measured streams: the model-time probe and the warm-ups.
CHAPTER_SLACK = 20
REFUSED = (429, 503)
PASSWORD = "a capacity password"
# The idle server's model: one token every 20 s, well inside the first-token timeout.
IDLE_TOKENS_PER_SECOND = 0.05
IDLE_SETTLE_SECONDS = 2.0
# Tokens that arrive closer together than this came in one batch (one sentence, one send).
BATCH_SECONDS = 0.005


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
    model_seconds: float
    duration_over_model_p50: float
    duration_over_model_p99: float
    server_cpu_us_per_token: float
    # The first few failures, as the client saw them (the server logs say more).
    failures: list[str]


@dataclass(frozen=True)
class IdleMemory:
    streams: int
    opened: int
    server_rss_mb_idle: float
    server_rss_mb_open: float
    server_kb_per_open_stream: float
    # The seed-style peer (bench.peer_app) with the same N streams open on its equally slow
    # model, in the same run: what an astream_events run and its SSE response cost by themselves.
    peer_kb_per_open_stream: float
    over_peer: float


@dataclass(frozen=True)
class BurstResult:
    starts: int
    window_seconds: float
    completed: int
    server_errors: int
    refused: int
    other_failures: int
    first_event_ms_p50: float
    first_event_ms_p99: float
    first_event_ms_max: float
    statuses: dict[str, int]


@dataclass(frozen=True)
class StreamResult:
    first_event: float
    duration: float
    added_delays: list[float]
    tokens: int
    refused_starts: int
    completed: bool


@dataclass(frozen=True)
class Family:
    """A parent's bearer token and the ids of their children."""

    authorization: str
    children: tuple[int, ...]


def resident_mb(pid: int) -> float:
    """The process's resident memory (Linux /proc), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise BenchError(f"no resident memory reading for process {pid}")


def servers_resident_mb(servers: Sequence[Server]) -> float:
    return sum(resident_mb(server.pid) for server in servers)


def servers_cpu_seconds(servers: Sequence[Server]) -> float:
    return sum(process_cpu_seconds(server.pid) for server in servers)


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))] if ordered else 0.0


async def create_families(client: httpx.AsyncClient, families: int, children: int) -> list[Family]:
    """`families` parents with `children` children between them (as even as it goes)."""
    made: list[Family] = []
    run = uuid.uuid4().hex[:6]
    for number in range(families):
        account = {"email": f"capacity-{run}-{number}@example.com", "password": PASSWORD}
        await client.post("/api/v1/auth/register", json=account)
        login = await client.post("/api/v1/auth/login", json=account)
        if login.status_code != 200:
            raise BenchError(f"signing in answered {login.status_code}: {login.text[:200]}")
        authorization = f"Bearer {login.json()['access_token']}"
        ids = []
        for index in range(number, children, families):
            created = await client.post(
                "/api/v1/children",
                json={"name": f"Kid{index}", "age": 5 + index % 5},
                headers={"Authorization": authorization},
            )
            if created.status_code != 201:
                raise BenchError(f"creating a child answered {created.status_code}")
            ids.append(created.json()["id"])
        made.append(Family(authorization, tuple(ids)))
    return made


def child_slots(families: Sequence[Family]) -> list[tuple[str, int]]:
    """(authorization, child id) for every child, round robin over the families."""
    columns = [[(family.authorization, child) for child in family.children] for family in families]
    return [slot for row in itertools.zip_longest(*columns) for slot in row if slot is not None]


async def start_story(
    client: httpx.AsyncClient, authorization: str, child_id: int
) -> tuple[str, int]:
    """POST /runs as a well-behaved client: a refusal (429/503) waits its Retry-After and
    tries again. Returns the run id and how many refusals it took."""
    refused = 0
    body = {"theme": THEME, "gate": GATE, "child_id": child_id}
    while True:
        created = await client.post(
            "/api/v1/runs", json=body, headers={"Authorization": authorization}
        )
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
    slot: tuple[str, int],
    pace: float,
    delay: float,
) -> StreamResult:
    """After `delay`, start a story on `starter` and stream it from `reader` (the same replica
    or another); times count from the start request."""
    await asyncio.sleep(delay)
    authorization, child_id = slot
    started = time.perf_counter()
    first: float | None = None
    arrivals: list[float] = []
    completed = False
    run_id, refused = await start_story(starter, authorization, child_id)
    headers = {"Authorization": authorization}
    async with aconnect_sse(
        reader, "GET", f"/api/v1/runs/{run_id}/stream", headers=headers
    ) as source:
        source.response.raise_for_status()
        async for event in source.aiter_sse():
            now = time.perf_counter()
            first = first if first is not None else now - started
            if event.event == "content":
                arrivals.append(now)
            elif event.event in ("complete", "error"):
                completed = event.event == "complete"
                break
    added = added_delays(arrivals, pace) or [0.0]
    duration = time.perf_counter() - started
    return StreamResult(first or 0.0, duration, added, len(arrivals), refused, completed)


def added_delays(arrivals: Sequence[float], pace: float) -> list[float]:
    """How much later than the model's pace each batch of tokens arrived. The body splitter
    releases a sentence once it is complete, so tokens come in batches: a batch of n tokens is
    on time when it follows the one before by n model intervals."""
    batches: list[tuple[float, int]] = []
    for arrival in arrivals:
        if batches and arrival - batches[-1][0] < BATCH_SECONDS:
            batches[-1] = (arrival, batches[-1][1] + 1)
        else:
            batches.append((arrival, 1))
    return [
        max(0.0, later - earlier - pace * count)
        for (earlier, _), (later, count) in itertools.pairwise(batches)
    ]


def _clients(
    servers: Sequence[Server], patience: float, connections: int
) -> list[httpx.AsyncClient]:
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    return [
        httpx.AsyncClient(base_url=server.base_url, timeout=httpx.Timeout(patience), limits=limits)
        for server in servers
    ]


async def model_seconds(
    server: Server, slot: tuple[str, int], rate: float, patience: float
) -> float:
    """How long one story takes streamed alone on the idle server: the model's own time."""
    (client,) = _clients([server], patience, 4)
    async with client:
        durations = [
            (await one_stream(client, client, slot, 1.0 / rate, 0.0)).duration for _ in range(2)
        ]
    return min(durations)


async def measure_level(
    servers: Sequence[Server],
    families: Sequence[Family],
    streams: int,
    args: argparse.Namespace,
    model_time: float,
) -> LevelResult:
    clients = _clients(servers, args.timeout, streams + 10)
    slots = child_slots(families)
    count = len(clients)
    try:
        cpu_before = servers_cpu_seconds(servers)
        started = time.perf_counter()
        # Story i starts on replica i % n and streams from replica (i // n) % n: every pairing.
        tasks = [
            asyncio.create_task(
                one_stream(
                    clients[index % count],
                    clients[(index // count) % count],
                    slots[index % len(slots)],
                    1.0 / args.rate,
                    index / args.ramp,
                )
            )
            for index in range(streams)
        ]
        outcomes = await asyncio.wait_for(
            asyncio.gather(*tasks, return_exceptions=True), args.timeout
        )
        wall = time.perf_counter() - started
        cpu = servers_cpu_seconds(servers) - cpu_before
    finally:
        await asyncio.gather(*(client.aclose() for client in clients))
    results = [outcome for outcome in outcomes if isinstance(outcome, StreamResult)]
    failures = [repr(outcome) for outcome in outcomes if not isinstance(outcome, StreamResult)]
    if not results:
        raise BenchError(f"every stream failed at {streams} streams; first: {failures[0]}")
    done = [result for result in results if result.completed]
    firsts = [result.first_event for result in results]
    delays = [delay for result in results for delay in result.added_delays]
    overs = [result.duration / model_time for result in done]
    tokens = sum(result.tokens for result in results)
    return LevelResult(
        streams=streams,
        completed=len(done),
        failed=len(failures) + len(results) - len(done),
        refused_starts=sum(result.refused_starts for result in results),
        tokens=tokens,
        wall_seconds=round(wall, 2),
        tokens_per_second=round(tokens / wall, 1),
        added_delay_ms_p50=round(percentile(delays, 0.5) * 1e3, 1),
        added_delay_ms_p99=round(percentile(delays, 0.99) * 1e3, 1),
        first_event_ms_p50=round(statistics.median(firsts) * 1e3, 1),
        first_event_ms_p99=round(percentile(firsts, 0.99) * 1e3, 1),
        model_seconds=round(model_time, 3),
        duration_over_model_p50=round(percentile(overs, 0.5), 3),
        duration_over_model_p99=round(percentile(overs, 0.99), 3),
        server_cpu_us_per_token=round(cpu * 1e6 / tokens, 1) if tokens else 0.0,
        failures=failures[:5],
    )


@dataclass(frozen=True)
class OpenStreams:
    opened: int
    rss_mb_before: float
    rss_mb_open: float

    def kb_per_stream(self, streams: int) -> float:
        return round(max(0.0, self.rss_mb_open - self.rss_mb_before) * 1024 / streams, 1)


async def hold_open_streams(
    server: Server,
    client: httpx.AsyncClient,
    streams: int,
    open_stream: Callable[[int], Awaitable[tuple[str, dict[str, str]]]],
    seconds: float,
) -> OpenStreams:
    """The server's resident memory before and with `streams` streams held open (the URL and
    headers of stream i from `open_stream(i)`)."""
    await asyncio.sleep(IDLE_SETTLE_SECONDS)
    before = resident_mb(server.pid)
    opened = 0
    all_open = asyncio.Event()

    async def hold(index: int) -> None:
        nonlocal opened
        url, headers = await open_stream(index)
        async with aconnect_sse(client, "GET", url, headers=headers) as source:
            source.response.raise_for_status()
            opened += 1
            if opened == streams:
                all_open.set()
            await asyncio.Event().wait()  # hold the stream open until cancelled

    holders = [asyncio.create_task(hold(index)) for index in range(streams)]
    try:
        async with asyncio.timeout(seconds):
            await all_open.wait()
        await asyncio.sleep(IDLE_SETTLE_SECONDS)
        open_rss = resident_mb(server.pid)
    finally:
        for holder in holders:
            holder.cancel()
        await asyncio.gather(*holders, return_exceptions=True)
    return OpenStreams(opened, round(before, 1), round(open_rss, 1))


async def measure_idle_memory(
    server: Server, peer: Server, streams: int, args: argparse.Namespace
) -> IdleMemory:
    """N streams open on runs whose model is nearly silent: the memory each costs, on StoryStream
    (stories started by many children) and on the peer."""
    (client,) = _clients([server], args.timeout, streams + 10)
    async with client:
        families = await create_families(client, args.families, args.children)
        slots = child_slots(families)

        async def story_stream(index: int) -> tuple[str, dict[str, str]]:
            authorization, child_id = slots[index % len(slots)]
            run_id, _ = await start_story(client, authorization, child_id)
            return f"/api/v1/runs/{run_id}/stream", {"Authorization": authorization}

        ours = await hold_open_streams(server, client, streams, story_stream, args.timeout)
    (peer_client,) = _clients([peer], args.timeout, streams + 10)
    async with peer_client:

        async def peer_stream(index: int) -> tuple[str, dict[str, str]]:
            return f"{PEER_STREAM_PATH}?theme={THEME}", {}

        theirs = await hold_open_streams(peer, peer_client, streams, peer_stream, args.timeout)
    kb, peer_kb = ours.kb_per_stream(streams), theirs.kb_per_stream(streams)
    return IdleMemory(
        streams=streams,
        opened=ours.opened,
        server_rss_mb_idle=ours.rss_mb_before,
        server_rss_mb_open=ours.rss_mb_open,
        server_kb_per_open_stream=kb,
        peer_kb_per_open_stream=peer_kb,
        over_peer=round(kb / peer_kb, 2) if peer_kb else 0.0,
    )


async def measure_burst(server: Server, args: argparse.Namespace) -> BurstResult:
    """`args.burst` stories started within `args.burst_window` seconds, each on its own stream
    (`GET /stories/generate/stream`, as the child's app starts one)."""
    (client,) = _clients([server], args.timeout, args.burst + 10)
    async with client:
        families = await create_families(client, args.families, args.children)
        slots = child_slots(families)

        async def start(index: int) -> tuple[str, float | None, bool]:
            await asyncio.sleep(index * args.burst_window / args.burst)
            authorization, child_id = slots[index % len(slots)]
            params: dict[str, str | int] = {"child_id": child_id, "theme": THEME, "gate": GATE}
            began = time.perf_counter()
            first: float | None = None
            async with aconnect_sse(
                client,
                "GET",
                "/api/v1/stories/generate/stream",
                params=params,
                headers={"Authorization": authorization},
            ) as source:
                status = source.response.status_code
                if status != 200:
                    await source.response.aread()
                    return str(status), None, False
                async for event in source.aiter_sse():
                    first = first if first is not None else time.perf_counter() - began
                    if event.event in ("complete", "error"):
                        return "200", first, event.event == "complete"
            return "200", first, False

        outcomes = await asyncio.gather(
            *(start(index) for index in range(args.burst)), return_exceptions=True
        )
    statuses: dict[str, int] = {}
    firsts: list[float] = []
    completed = 0
    other = 0
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            other += 1
            statuses[type(outcome).__name__] = statuses.get(type(outcome).__name__, 0) + 1
            continue
        status, first, done = outcome
        statuses[status] = statuses.get(status, 0) + 1
        completed += done
        if first is not None:
            firsts.append(first)
    return BurstResult(
        starts=args.burst,
        window_seconds=args.burst_window,
        completed=completed,
        server_errors=sum(count for status, count in statuses.items() if status.startswith("5")),
        refused=sum(statuses.get(str(status), 0) for status in REFUSED),
        other_failures=other,
        first_event_ms_p50=round(percentile(firsts, 0.5) * 1e3, 1),
        first_event_ms_p99=round(percentile(firsts, 0.99) * 1e3, 1),
        first_event_ms_max=round(max(firsts, default=0.0) * 1e3, 1),
        statuses=statuses,
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
    processes: int, env: dict[str, str], args: argparse.Namespace, label: str
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
                # The deployment's replicas share their keys, and nothing else on this Redis.
                "STORYSTREAM_REDIS_NAMESPACE": f"storystream-capacity-{uuid.uuid4().hex[:12]}",
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
                    args.output.parent / "logs" / f"service-{label}-{processes}-{number}.log",
                    args.timeout,
                )
            )
            for number in range(1, processes + 1)
        ]
        yield shape, servers


@contextmanager
def idle_peer(scripts: Path, args: argparse.Namespace, label: str) -> Iterator[Server]:
    """The seed-style peer, its model as slow as the idle StoryStream's."""
    with running_server(
        "peer",
        ["--factory", "bench.peer_app:create_app"],
        peer_environment(scripts, IDLE_TOKENS_PER_SECOND),
        0,
        args.output.parent / "logs" / f"peer-{label}.log",
        args.timeout,
    ) as peer:
        yield peer


def _write_chapters(workdir: Path, args: argparse.Namespace) -> tuple[Path, int, int]:
    """Different chapters for the streams (a repeated one would meet the classifier's cache in
    the preview's whole-chapter check): the file, how many chapters, how many repeat nothing."""
    count = sum(args.levels) + args.burst + CHAPTER_SLACK
    sentences = passing_sentences()
    bodies = chapters(sentences, args.words, count)
    path = write_scripts(workdir / "chapters.jsonl", bodies, QUESTION_BLOCK)
    return path, count, distinct_chapters(bodies)


def _environment(
    workdir: Path, args: argparse.Namespace, rate: float, name: str, scripts: Path | None = None
) -> dict[str, str]:
    body = story_body(args.words)
    env = service_environment(body + QUESTION_BLOCK, workdir, rate, name=name, scripts_file=scripts)
    capacity = max([*args.levels, args.burst])
    env["STORYSTREAM_MAX_CONCURRENT_RUNS"] = str(capacity)
    env["STORYSTREAM_MAX_QUEUED_RUNS"] = "0"
    return env


def run(args: argparse.Namespace) -> dict[str, Any]:
    configurations: list[dict[str, Any]] = []
    idle: list[IdleMemory] = []
    burst: BurstResult | None = None
    with tempfile.TemporaryDirectory(prefix="storystream-capacity-") as tmp:
        workdir = Path(tmp)
        scripts, chapter_count, distinct = _write_chapters(workdir, args)
        for processes in args.processes:
            env = _environment(workdir, args, args.rate, f"levels-{processes}", scripts)
            with deployment(processes, env, args, "levels") as (shape, servers):
                (client,) = _clients(servers[:1], args.timeout, 4)
                families = asyncio.run(_families(client, args))
                model_time = asyncio.run(
                    model_seconds(servers[0], child_slots(families)[0], args.rate, args.timeout)
                )
                results: list[LevelResult] = []
                for streams in args.levels:
                    print(
                        f"{processes} process(es): {streams} streams at {args.rate:g} tokens/s",
                        file=sys.stderr,
                    )
                    results.append(
                        asyncio.run(measure_level(servers, families, streams, args, model_time))
                    )
            configurations.append(
                asdict(shape) | {"levels": [asdict(result) for result in results]}
            )
        for streams in args.levels:
            print(f"memory: {streams} idle open streams", file=sys.stderr)
            env = _environment(workdir, args, IDLE_TOKENS_PER_SECOND, f"idle-{streams}")
            with (
                deployment(1, env, args, f"idle-{streams}") as (_, servers),
                idle_peer(scripts, args, f"idle-{streams}") as peer,
            ):
                idle.append(asyncio.run(measure_idle_memory(servers[0], peer, streams, args)))
        if args.burst:
            print(f"burst: {args.burst} starts within {args.burst_window:g} s", file=sys.stderr)
            env = _environment(workdir, args, args.rate, "burst", scripts)
            with deployment(1, env, args, "burst") as (_, servers):
                burst = asyncio.run(measure_burst(servers[0], args))
    return {
        "benchmark": "storystream-capacity",
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "parameters": {
            "tokens_per_second_per_stream": args.rate,
            "words": args.words,
            "starts_per_second": args.ramp,
            "families": args.families,
            "children": args.children,
            "gate": GATE,
            "chapters": "sentences of the held-out benign stories the gate passes "
            "(bench/story_corpus.py), in turn",
            "chapters_per_server": chapter_count,
            "distinct_chapters": distinct,
        },
        "machine": {
            "python": platform.python_version(),
            "cpu_count": os.cpu_count(),
            "load_average": os.getloadavg(),
        },
        "configurations": configurations,
        "idle_memory": [asdict(result) for result in idle],
        "burst": asdict(burst) if burst is not None else None,
    }


async def _families(client: httpx.AsyncClient, args: argparse.Namespace) -> list[Family]:
    async with client:
        return await create_families(client, args.families, args.children)


def format_table(report: dict[str, Any]) -> str:
    params = report["parameters"]
    lines = [
        f"StoryStream capacity: scripted model at {params['tokens_per_second_per_stream']:g} "
        f"tokens/s per stream, {params['words']}-word chapters, {params['starts_per_second']:g} "
        f"starts/s, {params['children']} children in {params['families']} families"
    ]
    for shape in report["configurations"]:
        lines += [
            "",
            f"{shape['processes']} process(es), {shape['database']}, "
            f"event log {shape['event_log']}",
            f"{'streams':>8}{'done':>6}{'failed':>8}{'refused':>9}{'tokens/s':>10}{'delay p50':>11}"
            f"{'delay p99':>11}{'first p50':>11}{'first p99':>11}{'dur/model p99':>15}"
            f"{'CPU/token':>11}",
        ]
        for level in shape["levels"]:
            lines.append(
                f"{level['streams']:>8}{level['completed']:>6}{level['failed']:>8}"
                f"{level['refused_starts']:>9}"
                f"{level['tokens_per_second']:>10.0f}"
                f"{level['added_delay_ms_p50']:>9.1f}ms{level['added_delay_ms_p99']:>9.1f}ms"
                f"{level['first_event_ms_p50'] / 1e3:>10.2f}s"
                f"{level['first_event_ms_p99'] / 1e3:>10.2f}s"
                f"{level['duration_over_model_p99']:>14.2f}x"
                f"{level['server_cpu_us_per_token']:>9.0f}µs"
            )
        if shape["levels"]:
            lines.append(
                f"  (model time of one story alone: {shape['levels'][0]['model_seconds']:.2f} s)"
            )
    if report["idle_memory"]:
        lines += ["", "memory per idle open stream (its run included), one process:"]
        for idle in report["idle_memory"]:
            lines.append(
                f"  {idle['streams']:>5} streams ({idle['opened']} opened): "
                f"{idle['server_rss_mb_idle']:.0f} MB -> {idle['server_rss_mb_open']:.0f} MB, "
                f"{idle['server_kb_per_open_stream']:.1f} KB per stream; the peer "
                f"{idle['peer_kb_per_open_stream']:.1f} KB ({idle['over_peer']:.2f}x)"
            )
    burst = report["burst"]
    if burst is not None:
        lines += [
            "",
            f"burst: {burst['starts']} starts within {burst['window_seconds']:g} s: "
            f"{burst['completed']} completed, {burst['server_errors']} answered 5xx, "
            f"{burst['refused']} refused, {burst['other_failures']} failed otherwise; "
            f"first event p50 {burst['first_event_ms_p50'] / 1e3:.2f} s, "
            f"p99 {burst['first_event_ms_p99'] / 1e3:.2f} s, "
            f"slowest {burst['first_event_ms_max'] / 1e3:.2f} s; statuses {burst['statuses']}",
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.capacity",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--levels", type=positive_int, nargs="+", default=[100, 300, 500])
    parser.add_argument(
        "--processes",
        type=positive_int,
        nargs="+",
        default=[1],
        help="deployments to measure: 1 (SQLite, in memory) or more (PostgreSQL and Redis)",
    )
    parser.add_argument("--rate", type=positive_float, default=20.0, help="tokens/s per stream")
    parser.add_argument("--words", type=positive_int, default=120, help="chapter length in words")
    parser.add_argument(
        "--ramp", type=positive_float, default=50.0, help="stories started per second"
    )
    parser.add_argument("--families", type=positive_int, default=10, help="parents")
    parser.add_argument("--children", type=positive_int, default=100, help="children in all")
    parser.add_argument(
        "--burst", type=int, default=300, help="stories started at once in the burst (0: none)"
    )
    parser.add_argument("--burst-window", type=positive_float, default=1.0, metavar="SECONDS")
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
