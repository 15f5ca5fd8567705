"""Where a streamed story's server CPU goes: py-spy samples the service (or the peer) while it
streams scripted stories, and the samples are summed into the pipeline's parts.

py-spy runs with `--gil`, so it samples only while Python holds the GIL: a stand-in for CPU,
where plain sampling also counts the time a thread waits. Each sample goes to the first part of
`PARTS` that one of its frames names, so the shares add up to 100 %. py-spy is a profiling tool,
not a dependency: `.venv/bin/pip install py-spy` first.

    python -m bench.profile_stream --gate sentence --stories 30
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from bench.peer_app import STREAM_PATH as PEER_STREAM_PATH
from bench.servers import BenchError, Server, running_server
from bench.story_corpus import chapters, passing_sentences, write_scripts
from bench.stream_bench import (
    QUESTION_BLOCK,
    SERVICE_STREAM_PATH,
    THEME,
    StreamTarget,
    create_child,
    new_client,
    peer_environment,
    positive_int,
    service_environment,
    story_body,
    stream_once,
)

WARM_UP_STORIES = 3
# (part, frame substrings): the first part one of a sample's frames matches takes the sample.
PARTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("database (aiosqlite thread, SQLAlchemy)", ("aiosqlite", "sqlalchemy/")),
    ("starting a story (auth, planning, submit)", ("solve_dependencies", "generate_story_stream")),
    ("ending node (structured-output call)", ("workflows/nodes/ending.py",)),
    ("safety_check node", ("workflows/nodes/safety_check.py",)),
    ("metrics node", ("workflows/nodes/metrics.py",)),
    ("sentence checks (rules + classifier)", ("sentence_check.<locals>.check",)),
    ("custom events (released sentences)", ("adispatch_custom_event",)),
    ("body splitter", ("StoryBodySplitter",)),
    ("chat model stream + LLM callbacks", ("BaseChatModel.astream", "_agenerate_with_cache")),
    ("generate node, rest", ("workflows/nodes/generate.py",)),
    ("event mapper", ("backend/runs/mapper.py",)),
    ("event log", ("backend/runs/log.py",)),
    ("run executor (timeouts, publishing)", ("backend/runs/executor.py",)),
    ("peer: JSON + SSE frame per token", ("bench/peer_app.py",)),
    ("socket writes (uvicorn)", ("RequestResponseCycle.send",)),
    ("LangGraph + astream_events tracer", ("langchain_core", "langgraph")),
    ("SSE response (sse-starlette)", ("sse_starlette",)),
    ("HTTP (uvicorn, Starlette, FastAPI)", ("uvicorn", "starlette", "fastapi")),
)


def shares(samples: dict[str, int]) -> list[tuple[str, float]]:
    """Each part's share of the samples (collapsed stacks with counts), largest first."""
    counts: collections.Counter[str] = collections.Counter()
    for stack, count in samples.items():
        frames = stack.split(";")
        part = next(
            (name for name, marks in PARTS if any(m in f for f in frames for m in marks)),
            "event loop, rest",
        )
        counts[part] += count
    total = sum(counts.values()) or 1
    return [(part, count / total) for part, count in counts.most_common()]


def read_samples(path: Path) -> dict[str, int]:
    """py-spy's raw output: one collapsed stack and its sample count per line."""
    samples: dict[str, int] = {}
    for line in path.read_text("utf-8").splitlines():
        stack, _, count = line.rpartition(" ")
        if stack:
            samples[stack] = samples.get(stack, 0) + int(count)
    return samples


async def stream_stories(server: Server, target: str, stories: int, out: Path) -> None:
    """Warm up, then stream `stories` stories with py-spy attached to the server."""
    async with new_client(server, 90) as client:
        if target == "peer":
            stream = StreamTarget(PEER_STREAM_PATH, {"theme": THEME})
        else:
            child_id = await create_child(client)
            params: dict[str, str | int] = {"child_id": child_id, "theme": THEME, "gate": target}
            stream = StreamTarget(SERVICE_STREAM_PATH, params)
        for _ in range(WARM_UP_STORIES):
            await stream_once(client, stream)
        spy = subprocess.Popen(  # noqa: ASYNC220 - started once, waited on after the streams
            [
                *(py_spy(), "record", "--pid", str(server.pid), "--gil", "--nonblocking"),
                *("--rate", "400", "--format", "raw", "--output", str(out)),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        await asyncio.sleep(1.0)  # py-spy attaches
        for _ in range(stories):
            await stream_once(client, stream)
        spy.send_signal(signal.SIGINT)
        await asyncio.to_thread(spy.wait)


def py_spy() -> str:
    found = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(found).exists():
        raise BenchError("py-spy is not installed: .venv/bin/pip install py-spy")
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.profile_stream",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--gate", choices=["sentence", "none", "peer"], default="sentence")
    parser.add_argument("--stories", type=positive_int, default=30)
    parser.add_argument("--words", type=positive_int, default=300)
    parser.add_argument(
        "--keep-samples", type=Path, help="also copy py-spy's raw samples (collapsed stacks) here"
    )
    args = parser.parse_args(argv)
    script = story_body(args.words) + QUESTION_BLOCK
    # Different chapters, as in `make bench`: a repeated one would meet the classifier's cache.
    bodies = chapters(passing_sentences(), args.words, args.stories + WARM_UP_STORIES)
    try:
        with tempfile.TemporaryDirectory(prefix="storystream-profile-") as tmp:
            workdir = Path(tmp)
            scripts = write_scripts(workdir / "chapters.jsonl", bodies, QUESTION_BLOCK)
            if args.gate == "peer":
                app = ["--factory", "bench.peer_app:create_app"]
                env = peer_environment(scripts)
            else:
                app = ["backend.main:app"]
                env = service_environment(script, workdir, scripts_file=scripts)
            with running_server("server", app, env, 0, workdir / "server.log", 90) as server:
                asyncio.run(stream_stories(server, args.gate, args.stories, workdir / "raw"))
            samples = read_samples(workdir / "raw")
            if args.keep_samples is not None:
                shutil.copyfile(workdir / "raw", args.keep_samples)
    except BenchError as exc:
        print(f"profile: {exc}", file=sys.stderr)
        return 1
    total = sum(samples.values())
    print(f"{args.gate}: {args.stories} stories of {args.words} words, {total} samples")
    for part, share in shares(samples):
        print(f"{share * 100:5.1f} %  {part}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
