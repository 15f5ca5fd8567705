"""Measures what StoryStream costs per streamed token over real HTTP, against the seed-style
peer and a bare SSE floor, all in one run.

Four servers run side by side as uvicorn subprocesses, each fed the same scripted story (no
artificial delay): StoryStream (`scripted` provider) on uvloop + httptools and, for the stack
comparison, on asyncio + h11; the peer (`bench.peer_app`: `astream_events` v2 over a 3-node
graph, one JSON SSE frame per token, no gate, log or database); and the floor (`bench.floor_app`:
bare sse-starlette, no graph). After unmeasured warm-ups the targets are measured in rounds, in
turn (gated, ungated, peer, floor, ...), so that a machine whose load changes affects them alike.
Each measurement reads the server process's CPU clock before and after its streams, which are
read one at a time with httpx + httpx-sse. Nothing here asserts timings.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import platform
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

import httpx
from httpx_sse import aconnect_sse

from bench.floor_app import CHUNKS_FILE_ENV, STREAM_PATH
from bench.peer_app import STREAM_PATH as PEER_STREAM_PATH
from bench.peer_app import TEXTS_FILE_ENV, TOKENS_PER_SECOND_ENV
from bench.servers import (
    DEFAULT_STACK,
    FAST_STACK,
    PROJECT_ROOT,
    BenchError,
    Server,
    clean_environment,
    running_server,
)
from bench.story_corpus import chapters, distinct_chapters, passing_sentences, write_scripts
from workflows.providers.scripted import tokenize

DEFAULT_OUTPUT = PROJECT_ROOT / "bench" / "results" / "latest.json"
CHILD = {"name": "Mia", "age": 7}
PARENT = {"email": "bench@example.com", "password": "a bench password"}
THEME = "space"
SERVICE_STREAM_PATH = "/api/v1/stories/generate/stream"
# Ends every scripted answer: the parser turns it into the question and choices, never content.
# The ending fits `workflows.ending.ChapterEnding`, so the structured call succeeds at once, as
# it does for a well-behaved model (a refused ending would add a retry to every story).
QUESTION_BLOCK = (
    "\n\nQUESTION: What should Mia do next?\nCHOICE 1: Go up to the Moon"
    "\nCHOICE 2: Go down to the sea\nCHOICE 3: Stay by the rocket"
)
SENTENCES = (
    "Mia looked up and saw a bright silver rocket.",
    "A friendly robot waved hello from the launch pad.",
    "Together they counted down and zoomed past the Moon.",
    "Mia felt brave and curious and very happy.",
    "The stars twinkled like tiny lamps far away.",
    "They shared their snacks and laughed at a funny comet.",
)
# Idle time before each CPU reading, so work a stream triggers after its last byte is counted.
SETTLE_SECONDS = 0.25


@dataclass(frozen=True)
class BenchConfig:
    """The parameters of one benchmark run."""

    stories: int
    warmup: int
    words: int
    port: int
    floor_port: int
    timeout: float
    output: Path
    rounds: int = 3
    model_rate: float = 20.0
    latency_words: int = 60
    latency_stories: int = 3


@dataclass(frozen=True)
class StreamTarget:
    """An SSE endpoint to stream from: a path on the server and its query parameters."""

    path: str
    params: Mapping[str, str | int]
    headers: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def __str__(self) -> str:
        return f"GET {self.path}"


@dataclass(frozen=True)
class StreamSample:
    """What the client saw of one stream; times in seconds from sending the request."""

    text: str
    content_events: int
    first_event_s: float
    first_content_s: float
    total_s: float
    content_times_s: tuple[float, ...] = ()


@dataclass(frozen=True)
class GateLatency:
    """What the sentence gate costs a reader at a realistic model speed."""

    tokens_per_second: float
    stories: int
    first_visible_ms_gated: float
    first_visible_ms_ungated: float
    added_delay_per_token_ms: float


@dataclass(frozen=True)
class Measurement:
    """The measured streams of one server and the server CPU and wall time they took."""

    samples: list[StreamSample]
    cpu_seconds: float
    wall_seconds: float
    other_threads_cpu_seconds: float = 0.0  # not the event loop's thread: encoder, SQLite


@dataclass(frozen=True)
class TargetResult:
    """The figures reported for one server (service or floor)."""

    stories: int
    content_events: int
    server_cpu_seconds: float
    server_cpu_us_per_token: float
    server_cpu_ms_per_story: float
    # Of that, the event loop's thread, and the other threads (the encoder, SQLite's connections).
    main_thread_cpu_ms_per_story: float
    other_threads_cpu_ms_per_story: float
    first_event_ms_median: float
    first_content_ms_median: float
    wall_seconds: float
    tokens_per_second_wall: float
    content_matches_story: bool


# --- the story ---------------------------------------------------------------------------------


def story_body(words: int) -> str:
    """A child-safe story body of at least `words` words, in paragraphs, of six sentences over
    and over (the floor's stream and the paced gate measurement, where no classifier is timed)."""
    return chapters(SENTENCES, words, 1)[0]


# --- server processes --------------------------------------------------------------------------


def service_environment(
    scripted_text: str,
    workdir: Path,
    tokens_per_second: float = 0.0,
    name: str = "bench",
    scripts_file: Path | None = None,
) -> dict[str, str]:
    """Settings for the service: scripted provider at a set speed, a fresh SQLite database;
    with `scripts_file`, the chapters it holds in turn instead of `scripted_text`."""
    database = workdir / f"{name}-{tokens_per_second:g}.db"
    scripts = {"STORYSTREAM_SCRIPTED_TEXTS_FILE": str(scripts_file)} if scripts_file else {}
    return clean_environment(
        {
            **scripts,
            "STORYSTREAM_LLM_PROVIDER": "scripted",
            "STORYSTREAM_DATABASE_URL": f"sqlite+aiosqlite:///{database}",
            "STORYSTREAM_SCRIPTED_TOKENS_PER_SECOND": f"{tokens_per_second:g}",
            "STORYSTREAM_SCRIPTED_TEXT": scripted_text,
            # One bench family streams far more stories a minute than a real one would.
            "STORYSTREAM_FAMILY_RUNS_PER_MINUTE": "10000",
            "STORYSTREAM_FAMILY_CONCURRENT_STREAMS": "10000",
            # One benchmark family starts every stream; the per-family cap on runs in flight
            # (and its fairness reserve) is for real families.
            "STORYSTREAM_FAMILY_RUNS_IN_FLIGHT": "10000",
        }
    )


def floor_environment(chunks_file: Path) -> dict[str, str]:
    """Settings for the floor app: the file holding the chunks it streams."""
    return clean_environment({CHUNKS_FILE_ENV: str(chunks_file)})


def peer_environment(scripts_file: Path, tokens_per_second: float = 0.0) -> dict[str, str]:
    """Settings for the peer app: the JSON Lines file of the chapters its model streams in turn,
    at a set speed (0: as fast as it can)."""
    return clean_environment(
        {TEXTS_FILE_ENV: str(scripts_file), TOKENS_PER_SECOND_ENV: f"{tokens_per_second:g}"}
    )


def _process_cpu_clock(pid: int) -> int:
    # Linux encodes "the CPU-time clock of process pid" as a clock id (MAKE_PROCESS_CPUCLOCK with
    # CPUCLOCK_SCHED): nanosecond precision, where /proc/<pid>/stat counts 10 ms ticks.
    return ((~pid) << 3) | 2


def cpu_time_source() -> str:
    """Which clock `process_cpu_seconds` reads on this machine."""
    try:
        time.clock_gettime(_process_cpu_clock(os.getpid()))
    except OSError:
        return f"/proc ticks of {1e3 / os.sysconf('SC_CLK_TCK'):g} ms"
    return "per-process CPU clock, ns resolution"


def process_cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process (all its threads), to the nanosecond on Linux."""
    with contextlib.suppress(OSError):  # not Linux, or no such clock: fall back to /proc
        return time.clock_gettime(_process_cpu_clock(pid))
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError as exc:
        raise BenchError(
            f"cannot read the CPU time of process {pid} (Linux /proc needed): {exc}"
        ) from None
    # Fields after the parenthesised command name start at field 3 (state); utime and stime
    # are fields 14 and 15, counted in clock ticks.
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def thread_cpu_seconds(pid: int) -> dict[int, float]:
    """User plus system CPU time of each thread of a process, by thread id (/proc ticks: 10 ms
    steps, fine over a round of stories). The event loop runs on the main thread (id = pid);
    the semantic check's encoder and SQLite's connections run on threads of their own."""
    ticks = os.sysconf("SC_CLK_TCK")
    times: dict[int, float] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError, ValueError):  # a thread may end while it is read
            stat = (task / "stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            times[int(task.name)] = (int(fields[11]) + int(fields[12])) / ticks
    return times


# --- the client --------------------------------------------------------------------------------


async def stream_once(client: httpx.AsyncClient, target: StreamTarget) -> StreamSample:
    """Read one SSE stream to its end, timing the first event and the first content event."""
    chunks: list[str] = []
    content_times: list[float] = []
    first_event: float | None = None
    first_content: float | None = None
    completed = False
    started = time.perf_counter()
    async with aconnect_sse(
        client, "GET", target.path, params=target.params, headers=target.headers
    ) as source:
        response = source.response
        if response.status_code != 200:
            await response.aread()
            raise BenchError(f"{target} answered {response.status_code}: {response.text[:300]}")
        async for event in source.aiter_sse():
            elapsed = time.perf_counter() - started
            first_event = elapsed if first_event is None else first_event
            if event.event == "content":
                first_content = elapsed if first_content is None else first_content
                chunks.append(json.loads(event.data)["chunk"])
                content_times.append(elapsed)
            elif event.event == "error":
                raise BenchError(f"{target} streamed an error event: {event.data[:300]}")
            elif event.event == "complete":
                completed = True
    total = time.perf_counter() - started
    if not completed or first_event is None or first_content is None:
        raise BenchError(f"{target} ended without content and a complete event")
    return StreamSample(
        "".join(chunks), len(chunks), first_event, first_content, total, tuple(content_times)
    )


async def bounded_stream(
    client: httpx.AsyncClient, target: StreamTarget, config: BenchConfig
) -> StreamSample:
    """`stream_once`, failing with a BenchError after `config.timeout` seconds or on HTTP errors."""
    try:
        async with asyncio.timeout(config.timeout):
            return await stream_once(client, target)
    except TimeoutError:
        raise BenchError(f"{target} did not finish within {config.timeout:g} s") from None
    except httpx.HTTPError as exc:
        raise BenchError(f"{target} failed: {exc!r}") from None


async def measure(
    client: httpx.AsyncClient, pid: int, target: StreamTarget, config: BenchConfig, stories: int
) -> Measurement:
    """Stream `stories` stories in a row, reading the server's CPU clock around them."""
    await asyncio.sleep(SETTLE_SECONDS)
    cpu_before, threads_before = process_cpu_seconds(pid), thread_cpu_seconds(pid)
    started = time.perf_counter()
    samples = [await bounded_stream(client, target, config) for _ in range(stories)]
    wall = time.perf_counter() - started
    await asyncio.sleep(SETTLE_SECONDS)
    cpu = process_cpu_seconds(pid) - cpu_before
    threads_after = thread_cpu_seconds(pid)
    # The other threads' share in /proc ticks; the loop's is the rest of the precise process
    # clock (a thread that ended meanwhile is counted with the loop).
    others = sum(
        max(0.0, seconds - threads_before.get(tid, 0.0))
        for tid, seconds in threads_after.items()
        if tid != pid
    )
    return Measurement(
        samples=samples, cpu_seconds=cpu, wall_seconds=wall, other_threads_cpu_seconds=others
    )


def combined(measurements: Sequence[Measurement]) -> Measurement:
    """The rounds of one target as one measurement."""
    return Measurement(
        samples=[sample for measurement in measurements for sample in measurement.samples],
        cpu_seconds=sum(measurement.cpu_seconds for measurement in measurements),
        wall_seconds=sum(measurement.wall_seconds for measurement in measurements),
        other_threads_cpu_seconds=sum(m.other_threads_cpu_seconds for m in measurements),
    )


@dataclass(frozen=True)
class Target:
    """One measured kind of stream: which server, what to ask it, what text should arrive."""

    key: str
    server: Server
    stream: StreamTarget
    texts: frozenset[str]  # what may arrive: one of these chapter bodies, whole


def new_client(server: Server, timeout: float) -> httpx.AsyncClient:
    """One keep-alive HTTP client for all the streams of a server."""
    return httpx.AsyncClient(base_url=server.base_url, timeout=httpx.Timeout(timeout))


async def create_child(client: httpx.AsyncClient) -> int:
    """Sign in as the bench's parent and create the child the stories are for; returns its id."""
    await client.post("/api/v1/auth/register", json=PARENT)  # 409 when it already exists
    login = await client.post("/api/v1/auth/login", json=PARENT)
    if login.status_code != 200:
        raise BenchError(f"signing in answered {login.status_code}: {login.text[:300]}")
    client.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
    response = await client.post("/api/v1/children", json=CHILD)
    if response.status_code != 201:
        raise BenchError(f"creating a child answered {response.status_code}: {response.text[:300]}")
    child_id: int = response.json()["id"]
    return child_id


def _story_target(child_id: int, gate: str) -> StreamTarget:
    return StreamTarget(SERVICE_STREAM_PATH, {"child_id": child_id, "theme": THEME, "gate": gate})


async def measure_targets(targets: Sequence[Target], config: BenchConfig) -> dict[str, Measurement]:
    """Warm every target up, then measure them in turn, `config.rounds` times."""
    async with contextlib.AsyncExitStack() as stack:
        clients: dict[str, httpx.AsyncClient] = {}
        for target in targets:
            if target.server.base_url not in clients:
                clients[target.server.base_url] = await stack.enter_async_context(
                    new_client(target.server, config.timeout)
                )
        for target in targets:
            for _ in range(config.warmup):
                await bounded_stream(clients[target.server.base_url], target.stream, config)
        rounds: dict[str, list[Measurement]] = {target.key: [] for target in targets}
        for _ in range(config.rounds):
            for target in targets:
                client = clients[target.server.base_url]
                rounds[target.key].append(
                    await measure(client, target.server.pid, target.stream, config, config.stories)
                )
        return {key: combined(measurements) for key, measurements in rounds.items()}


async def service_targets(
    server: Server, config: BenchConfig, bodies: frozenset[str], *keys: str
) -> list[Target]:
    """The service's gated and ungated story streams, for a child of the bench's parent."""
    async with new_client(server, config.timeout) as client:
        child_id = await create_child(client)
        token = client.headers["Authorization"]
    gates = {"gated": "sentence", "ungated": "none", "gated_h11": "sentence"}
    return [
        Target(
            key,
            server,
            dataclasses.replace(
                _story_target(child_id, gates[key]), headers={"Authorization": token}
            ),
            bodies,
        )
        for key in keys
    ]


async def measure_gate_latency(server: Server, config: BenchConfig) -> GateLatency:
    """At a realistic model speed, when does each token become visible, gated or not?"""
    async with new_client(server, config.timeout * 4) as client:
        child_id = await create_child(client)
        pairs = []
        for _ in range(config.latency_stories):
            gated = await stream_once(client, _story_target(child_id, "sentence"))
            ungated = await stream_once(client, _story_target(child_id, "none"))
            pairs.append((gated, ungated))
    delays = [
        statistics.mean(
            g - u for g, u in zip(gated.content_times_s, ungated.content_times_s, strict=True)
        )
        for gated, ungated in pairs
    ]
    return GateLatency(
        tokens_per_second=config.model_rate,
        stories=len(pairs),
        first_visible_ms_gated=statistics.median(g.first_content_s for g, _ in pairs) * 1e3,
        first_visible_ms_ungated=statistics.median(u.first_content_s for _, u in pairs) * 1e3,
        added_delay_per_token_ms=statistics.median(delays) * 1e3,
    )


# --- results -----------------------------------------------------------------------------------


def summarise(measurement: Measurement, bodies: frozenset[str]) -> TargetResult:
    """The reported figures of one measurement."""
    samples = measurement.samples
    tokens = sum(sample.content_events for sample in samples)
    return TargetResult(
        stories=len(samples),
        content_events=tokens,
        server_cpu_seconds=measurement.cpu_seconds,
        server_cpu_us_per_token=measurement.cpu_seconds * 1e6 / tokens,
        server_cpu_ms_per_story=measurement.cpu_seconds * 1e3 / len(samples),
        main_thread_cpu_ms_per_story=(
            measurement.cpu_seconds - measurement.other_threads_cpu_seconds
        )
        * 1e3
        / len(samples),
        other_threads_cpu_ms_per_story=measurement.other_threads_cpu_seconds * 1e3 / len(samples),
        first_event_ms_median=statistics.median(s.first_event_s for s in samples) * 1e3,
        first_content_ms_median=statistics.median(s.first_content_s for s in samples) * 1e3,
        wall_seconds=measurement.wall_seconds,
        tokens_per_second_wall=tokens / measurement.wall_seconds,
        content_matches_story=all(sample.text in bodies for sample in samples),
    )


def ratio(numerator: float, denominator: float) -> float | None:
    """numerator / denominator, or None when the denominator measured zero."""
    return numerator / denominator if denominator > 0 else None


# What is compared, and the acceptance targets of issue 15 (None: reported only).
COMPARISONS: tuple[tuple[str, str, str, float | None], ...] = (
    ("gated_over_peer", "gated", "peer", 1.0),
    ("ungated_over_peer", "ungated", "peer", 1.2),
    ("peer_over_floor", "peer", "floor", None),
    ("gated_over_floor", "gated", "floor", None),
)
FIRST_EVENT_TARGET_MS = 3.0
STACK_NAMES = {"gated": "+".join(FAST_STACK), "gated_h11": "+".join(DEFAULT_STACK)}


def build_report(
    config: BenchConfig,
    corpus: Corpus,
    results: Mapping[str, TargetResult],
    gate: GateLatency,
) -> dict[str, Any]:
    """The JSON document of one run: parameters, machine, every target, the ratios."""
    cpu = {key: result.server_cpu_us_per_token for key, result in results.items()}
    first = {key: result.first_event_ms_median for key, result in results.items()}
    return {
        "benchmark": "storystream-stream",
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "parameters": {
            "stories_per_round": config.stories,
            "rounds": config.rounds,
            "warmup": config.warmup,
            "words": config.words,
            "tokens_per_story": statistics.mean(len(tokenize(b)) for b in corpus.bodies),
            "chapters": "different for every story: sentences of the held-out benign stories "
            "that the gate passes, each used once (bench/story_corpus.py)",
            "chapter_sentences": corpus.sentences,
            "distinct_chapters": corpus.distinct,
            "chapters_streamed_per_server": len(corpus.bodies),
            "theme": THEME,
            "provider": "scripted",
            "scripted_tokens_per_second": 0,
            "server_stack": "+".join(FAST_STACK),
        },
        "machine": {
            "python": platform.python_version(),
            "implementation": platform.python_implementation(),
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "cpu_time_source": cpu_time_source(),
            "load_average": os.getloadavg(),
        },
        "targets": {key: asdict(result) for key, result in results.items()},
        "ratios": {
            name: {
                "server_cpu_us_per_token": ratio(cpu[top], cpu[bottom]),
                "first_event_ms_median": ratio(first[top], first[bottom]),
                "target_cpu": goal,
            }
            for name, top, bottom, goal in COMPARISONS
        },
        "first_event_target_ms": FIRST_EVENT_TARGET_MS,
        "server_stack": {
            STACK_NAMES[key]: {
                "server_cpu_us_per_token": cpu[key],
                "first_event_ms_median": first[key],
            }
            for key in ("gated", "gated_h11")
        }
        | {"cpu_ratio_fast_over_default": ratio(cpu["gated"], cpu["gated_h11"])},
        "gate": {
            "server_cpu_ratio_gated_over_ungated": ratio(cpu["gated"], cpu["ungated"]),
            "at_model_speed": asdict(gate),
        },
    }


ROWS = (
    ("server CPU per token (µs)", "server_cpu_us_per_token", "{:.1f}"),
    ("server CPU per story (ms)", "server_cpu_ms_per_story", "{:.2f}"),
    ("  of it, the event loop's thread (ms)", "main_thread_cpu_ms_per_story", "{:.2f}"),
    ("  other threads: encoder, SQLite (ms)", "other_threads_cpu_ms_per_story", "{:.2f}"),
    ("time to first event, median (ms)", "first_event_ms_median", "{:.2f}"),
    ("time to first content, median (ms)", "first_content_ms_median", "{:.2f}"),
    ("tokens/s (wall)", "tokens_per_second_wall", "{:.0f}"),
)
COLUMNS = ("gated", "ungated", "peer", "floor")


def _verdict(value: float | None, goal: float | None) -> str:
    if value is None or goal is None:
        return ""
    return f"  (target <= {goal:g}x: {'met' if value <= goal else 'NOT met'})"


def format_table(report: Mapping[str, Any]) -> str:
    """The printed summary: one row per figure, a column per target, then the ratios."""
    params, machine = report["parameters"], report["machine"]
    targets, ratios = report["targets"], report["ratios"]
    gate = report["gate"]["at_model_speed"]
    warmups = params["warmup"]
    stories = params["stories_per_round"] * params["rounds"]
    lines = [
        f"StoryStream stream benchmark: {stories} stories x {params['tokens_per_story']} tokens "
        f"per target ({params['rounds']} rounds, in turn) after {warmups} warm-up"
        f"{'s' * (warmups != 1)}, scripted model, {params['server_stack']}, Python "
        f"{machine['python']}, {machine['cpu_count']} CPUs, load "
        f"{machine['load_average'][0]:.1f}",
        "",
        "gated: StoryStream as children get it (sentence gate: rules + semantic classifier);",
        "ungated: a parent's preview (gate=none); peer: seed-style astream_events -> one JSON SSE",
        "frame per token (bench.peer_app); floor: bare sse-starlette, no graph",
        "",
        f"{'':36}" + "".join(f"{column:>11}" for column in COLUMNS),
    ]
    for label, key, number in ROWS:
        lines.append(
            f"{label:36}"
            + "".join(f"{number.format(targets[column][key]):>11}" for column in COLUMNS)
        )
    lines.append("")
    for name, figures in ratios.items():
        cpu, first = figures["server_cpu_us_per_token"], figures["first_event_ms_median"]
        shown_cpu = f"{cpu:.2f}x" if cpu is not None else "n/a"
        shown_first = f"{first:.2f}x" if first is not None else "n/a"
        lines.append(
            f"{name.replace('_', ' '):20} CPU per token {shown_cpu:>7}, first event "
            f"{shown_first:>7}{_verdict(cpu, figures['target_cpu'])}"
        )
    first_gated = targets["gated"]["first_event_ms_median"]
    target_ms = report["first_event_target_ms"]
    lines.append(
        f"first event, gated, median: {first_gated:.2f} ms (target <= {target_ms:g} ms: "
        f"{'met' if first_gated <= target_ms else 'NOT met'})"
    )
    stack = report["server_stack"]
    fast, default = STACK_NAMES["gated"], STACK_NAMES["gated_h11"]
    lines += [
        "",
        f"server stack, StoryStream gated: {fast} "
        f"{stack[fast]['server_cpu_us_per_token']:.1f} µs/token, "
        f"{stack[fast]['first_event_ms_median']:.2f} ms first event; {default} "
        f"{stack[default]['server_cpu_us_per_token']:.1f} µs/token, "
        f"{stack[default]['first_event_ms_median']:.2f} ms "
        f"({stack['cpu_ratio_fast_over_default']:.2f}x the CPU)",
        "",
        f"sentence gate at {gate['tokens_per_second']:g} model tokens/s "
        f"({gate['stories']} stories each way):",
        f"  first visible token: {gate['first_visible_ms_gated']:.0f} ms gated, "
        f"{gate['first_visible_ms_ungated']:.0f} ms ungated",
        f"  added delay per token (held until its sentence ends): "
        f"{gate['added_delay_per_token_ms']:.0f} ms",
    ]
    return "\n".join(lines)


def write_report(report: Mapping[str, Any], output: Path) -> None:
    """Write the report as indented JSON, creating the directory if needed."""
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", "utf-8")


# --- the command -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Corpus:
    """The chapters the measured servers stream, each server from the first in turn."""

    bodies: list[str]
    sentences: int  # sentences of the held-out benign stories the gate passes
    distinct: int  # chapters that repeat no sentence of an earlier one

    def script_file(self, path: Path) -> Path:
        return write_scripts(path, self.bodies, QUESTION_BLOCK)


def bench_corpus(config: BenchConfig) -> Corpus:
    """Enough different chapters for the busiest server (the gated and ungated streams share
    one): every measured chapter is new to the semantic check's cache, as a child's are."""
    per_target = config.warmup + config.rounds * config.stories
    sentences = passing_sentences()
    bodies = chapters(sentences, config.words, 2 * per_target)
    return Corpus(bodies=bodies, sentences=len(sentences), distinct=distinct_chapters(bodies))


def run(config: BenchConfig) -> dict[str, Any]:
    """Start the four servers, measure their streams in turn, then the gate at model speed."""
    print("choosing the chapters: held-out story sentences the gate passes", file=sys.stderr)
    corpus = bench_corpus(config)
    bodies = frozenset(corpus.bodies)
    body = story_body(config.words)
    chunks = tokenize(body)
    with tempfile.TemporaryDirectory(prefix="storystream-bench-") as tmp, ExitStack() as stack:
        workdir = Path(tmp)
        chunks_file = workdir / "floor-chunks.json"
        chunks_file.write_text(json.dumps(chunks), "utf-8")
        scripts = corpus.script_file(workdir / "chapters.jsonl")

        def start(
            name: str, app: list[str], env: Mapping[str, str], port: int, server_stack: Any
        ) -> Server:
            log = workdir / f"{name.replace(' ', '-')}.log"
            return stack.enter_context(
                running_server(name, app, env, port, log, config.timeout, server_stack)
            )

        service_app = ["backend.main:app"]
        service = start(
            "service",
            service_app,
            service_environment(body, workdir, scripts_file=scripts),
            config.port,
            FAST_STACK,
        )
        service_h11 = start(
            "service on asyncio+h11",
            service_app,
            service_environment(body, workdir, name="h11", scripts_file=scripts),
            0,
            DEFAULT_STACK,
        )
        peer = start(
            "peer",
            ["--factory", "bench.peer_app:create_app"],
            peer_environment(scripts),
            0,
            FAST_STACK,
        )
        floor = start(
            "floor",
            ["--factory", "bench.floor_app:create_app"],
            floor_environment(chunks_file),
            config.floor_port,
            FAST_STACK,
        )
        scripted = frozenset(body + QUESTION_BLOCK for body in corpus.bodies)

        async def targets() -> list[Target]:
            return [
                *await service_targets(service, config, bodies, "gated", "ungated"),
                *await service_targets(service_h11, config, bodies, "gated_h11"),
                Target("peer", peer, StreamTarget(PEER_STREAM_PATH, {"theme": THEME}), scripted),
                Target("floor", floor, StreamTarget(STREAM_PATH, {}), frozenset({body})),
            ]

        print(
            f"streaming 5 targets x ({config.warmup} + {config.rounds} x {config.stories}) stories",
            file=sys.stderr,
        )
        chosen = asyncio.run(targets())
        measured = asyncio.run(measure_targets(chosen, config))
        paced = start(
            "service at model speed",
            service_app,
            service_environment(
                story_body(config.latency_words) + QUESTION_BLOCK, workdir, config.model_rate
            ),
            0,
            FAST_STACK,
        )
        print(f"streaming 2 x {config.latency_stories} paced stories", file=sys.stderr)
        gate = asyncio.run(measure_gate_latency(paced, config))
    texts = {target.key: target.texts for target in chosen}
    results = {key: summarise(measurement, texts[key]) for key, measurement in measured.items()}
    return build_report(config, corpus, results, gate)


def positive_int(text: str) -> int:
    """argparse type: an integer of at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def non_negative_int(text: str) -> int:
    """argparse type: an integer of at least 0."""
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, not {value}")
    return value


def positive_float(text: str) -> float:
    """argparse type: a number greater than 0."""
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be greater than 0, not {value:g}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The command line of `python -m bench.stream_bench`."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.stream_bench",
        description=(
            "Stream stories over real HTTP from StoryStream (sentence-gated, and a parent's "
            "ungated preview), from the seed-style peer (astream_events v2, one JSON SSE frame "
            "per token, no gate, log or database) and from a bare sse-starlette floor, all fed "
            "the same scripted story with no artificial delay, and report server CPU per "
            "streamed token, time to first event and wall throughput with the ratios. "
            "StoryStream is also measured on asyncio + h11 against uvloop + httptools. All run "
            "as uvicorn subprocesses on 127.0.0.1; the client reads one stream at a time. "
            "Prints a table and writes the figures as JSON."
        ),
        epilog=(
            "Server CPU is the server process's CPU clock (Linux), read around each "
            "measurement, divided by the content events received. A further, paced server "
            "measures the gate's latency at --model-rate. The figures depend on the machine "
            "and on what else runs on it; nothing is asserted."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--stories",
        type=positive_int,
        default=10,
        metavar="N",
        help="measured stories per target and round",
    )
    parser.add_argument(
        "--rounds",
        type=positive_int,
        default=3,
        metavar="N",
        help="rounds of measurements, the targets in turn in each",
    )
    parser.add_argument(
        "--warmup",
        type=non_negative_int,
        default=2,
        metavar="N",
        help="unmeasured stories streamed first from each target",
    )
    parser.add_argument(
        "--words",
        type=positive_int,
        default=300,
        metavar="N",
        help="story length in words (about one streamed token per word)",
    )
    parser.add_argument(
        "--port", type=non_negative_int, default=0, help="port of the service; 0 picks a free one"
    )
    parser.add_argument(
        "--floor-port",
        type=non_negative_int,
        default=0,
        metavar="PORT",
        help="port of the floor app; 0 picks a free one",
    )
    parser.add_argument(
        "--timeout",
        type=positive_float,
        default=90.0,
        metavar="SECONDS",
        help="limit for each server start and for each stream",
    )
    parser.add_argument(
        "--model-rate",
        type=positive_float,
        default=20.0,
        metavar="TOKENS_PER_S",
        help="model speed for the sentence-gate latency measurement",
    )
    parser.add_argument(
        "--latency-words",
        type=positive_int,
        default=60,
        metavar="N",
        help="story length for the sentence-gate latency measurement",
    )
    parser.add_argument(
        "--latency-stories",
        type=positive_int,
        default=3,
        metavar="N",
        help="paced stories streamed each way (gated, ungated) for the latency measurement",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=DEFAULT_OUTPUT,
        metavar="PATH",
        help="where to write the JSON results",
    )
    return parser


def parse_config(argv: Sequence[str] | None = None) -> BenchConfig:
    """The benchmark parameters from the command line."""
    args = build_parser().parse_args(argv)
    return BenchConfig(
        stories=args.stories,
        rounds=args.rounds,
        warmup=args.warmup,
        words=args.words,
        port=args.port,
        floor_port=args.floor_port,
        timeout=args.timeout,
        output=args.output,
        model_rate=args.model_rate,
        latency_words=args.latency_words,
        latency_stories=args.latency_stories,
    )


def interrupt_on_sigterm(signum: int, frame: FrameType | None) -> None:
    """Turn SIGTERM into KeyboardInterrupt, so the server subprocesses are stopped too."""
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark, print the table, write the JSON; exit status 1 if it cannot finish."""
    config = parse_config(argv)
    signal.signal(signal.SIGTERM, interrupt_on_sigterm)
    try:
        report = run(config)
    except BenchError as exc:
        print(f"storystream-bench: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("storystream-bench: interrupted; the servers were stopped", file=sys.stderr)
        return 130
    print(format_table(report))
    write_report(report, config.output)
    for target, result in report["targets"].items():
        if not result["content_matches_story"]:
            print(f"warning: the {target} did not stream exactly the story text", file=sys.stderr)
    print(f"\nresults written to {config.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
