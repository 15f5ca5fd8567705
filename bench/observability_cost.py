"""What the operations layer (issue 16) adds per streamed token, in-process, in one run.

Appends the same `content` event N times to the bare in-memory event log (the baseline) and to
the same log wrapped by `ObservedEventLog` (the run metrics, span and conclusion line read from
the events), and feeds N tokens to the LangChain callback handler (`RunObserver`: node binding,
first-token timing, span bookkeeping) with no tracer, as a service without
`OTEL_EXPORTER_OTLP_ENDPOINT` runs it. Reports CPU time (this process's clock) per token for each
round and writes `bench/results/observability_cost.json`. Nothing here asserts timings.
Run with `python -m bench.observability_cost`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
import uuid
from pathlib import Path
from typing import Any

from backend.observability.callbacks import RunObserver
from backend.observability.metrics import ServiceMetrics
from backend.observability.run_watch import ObservedEventLog, RunWatcher
from backend.runs.events import ContentEvent
from backend.runs.log import InMemoryEventLog, RunEventLog

RESULTS = Path(__file__).with_name("results") / "observability_cost.json"
RETENTION_SECONDS = 60.0


async def append_cost_us(log: RunEventLog, run_id: str, tokens: int) -> float:
    """CPU microseconds per `append` of one content event."""
    await log.create(run_id)
    event = ContentEvent(chunk=" word", attempt=1)
    started = time.process_time()
    for _ in range(tokens):
        await log.append(run_id, event)
    return (time.process_time() - started) / tokens * 1e6


def callback_cost_us(tokens: int) -> float:
    """CPU microseconds per streamed token in the callback handler, tracing off."""
    observer = RunObserver(RunWatcher(ServiceMetrics(), log_kind="memory"), None)
    run = uuid.uuid4()
    started = time.process_time()
    for _ in range(tokens):
        observer.on_llm_new_token(" word", run_id=run)
    return (time.process_time() - started) / tokens * 1e6


async def measure(tokens: int, rounds: int) -> dict[str, Any]:
    rows = []
    for round_number in range(rounds):
        bare = await append_cost_us(
            InMemoryEventLog(RETENTION_SECONDS), f"bare-{round_number}", tokens
        )
        watcher = RunWatcher(ServiceMetrics(), log_kind="memory")
        watched = await append_cost_us(
            ObservedEventLog(InMemoryEventLog(RETENTION_SECONDS), watcher),
            f"watched-{round_number}",
            tokens,
        )
        rows.append(
            {
                "bare_append_us": bare,
                "watched_append_us": watched,
                "added_append_us": watched - bare,
                "callback_us": callback_cost_us(tokens),
            }
        )
    return {
        "benchmark": "storystream-observability-cost",
        "tokens_per_round": tokens,
        "rounds": rows,
        "median_added_us_per_token": statistics.median(
            row["added_append_us"] + row["callback_us"] for row in rows
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.observability_cost",
        description="CPU per streamed token that metrics, logs and tracing (off) add, in-process.",
    )
    parser.add_argument("--tokens", type=int, default=100_000, help="tokens per round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds")
    parser.add_argument("--output", type=Path, default=RESULTS, help="results file")
    args = parser.parse_args()
    result = asyncio.run(measure(args.tokens, args.rounds))
    for row in result["rounds"]:
        print(
            f"append: bare {row['bare_append_us']:.2f} µs, observed "
            f"{row['watched_append_us']:.2f} µs (ratio "
            f"{row['watched_append_us'] / row['bare_append_us']:.2f}x); "
            f"callback handler {row['callback_us']:.2f} µs per token"
        )
    print(f"added per token, median: {result['median_added_us_per_token']:.2f} µs")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written to {args.output}")


if __name__ == "__main__":
    main()
