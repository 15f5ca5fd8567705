"""Measures the sentence gate (rules + semantic classifier) on the held-out sets and whole stories.

Every sentence goes through the gate's own check (`workflows.policy.sentence_check`) for the
default reader (six years old, no mild peril: what a new child profile gets); whole stories are
streamed token by token through a `SentenceGate`, which resumes after each block as a repair
would. Prints rates per category and the CPU per sentence, and writes
`bench/results/safety.json`. Run with `make bench` or `python -m bench.safety_eval`.

Held-out sets of sentences and whole stories (`HELD_OUT_SETS`), each written blind by writers
who never saw the training data, before any result of the model they measure was seen
(`tests/data/safety/README.md`). Sets that chose a model (`RETIRED_SETS`: a-e and g since
round 9, f and h-k since round 12) are training data and are measured only when asked for by
name; by default the set still in use is measured: l (written blind after round 11, clean: it
chooses nothing).
`tests/e2e/test_safety_evaluation_api.py` measures the same over the real API.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from workflows.policy import blocks, sentence_check
from workflows.providers.scripted import tokenize
from workflows.readers import evaluation_reader
from workflows.safety import load_rule_check
from workflows.safety.classifier import SemanticCheck, load_semantic_check
from workflows.safety.sentences import sentence_spans
from workflows.safety.training.dataset import RETIRED_SETS
from workflows.sentence_gate import SentenceCheck, SentenceGate

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "safety"
RESULTS = Path(__file__).with_name("results") / "safety.json"


@dataclass(frozen=True)
class HeldOutSet:
    name: str
    unsafe: str
    benign: str
    benign_stories: tuple[str, ...]
    poisoned_stories: str


HELD_OUT_SETS = {
    "a": HeldOutSet(
        "a",
        "heldout/unsafe.jsonl",
        "heldout/benign.jsonl",
        ("whole_stories/benign_a.jsonl", "whole_stories/benign_b.jsonl"),
        "whole_stories/poisoned.jsonl",
    ),
    "b": HeldOutSet(
        "b",
        "heldout_b/unsafe.jsonl",
        "heldout_b/benign.jsonl",
        ("whole_stories_b/benign.jsonl",),
        "whole_stories_b/poisoned.jsonl",
    ),
    "c": HeldOutSet(
        "c",
        "heldout_c/unsafe.jsonl",
        "heldout_c/benign.jsonl",
        ("whole_stories_c/benign.jsonl",),
        "whole_stories_c/poisoned.jsonl",
    ),
    "d": HeldOutSet(
        "d",
        "heldout_d/unsafe.jsonl",
        "heldout_d/benign.jsonl",
        ("whole_stories_d/benign.jsonl",),
        "whole_stories_d/poisoned.jsonl",
    ),
    "e": HeldOutSet(
        "e",
        "heldout_e/unsafe.jsonl",
        "heldout_e/benign.jsonl",
        ("whole_stories_e/benign.jsonl",),
        "whole_stories_e/poisoned.jsonl",
    ),
    "f": HeldOutSet(
        "f",
        "heldout_f/unsafe.jsonl",
        "heldout_f/benign.jsonl",
        ("whole_stories_f/benign.jsonl",),
        "whole_stories_f/poisoned.jsonl",
    ),
    "g": HeldOutSet(
        "g",
        "heldout_g/unsafe.jsonl",
        "heldout_g/benign.jsonl",
        ("whole_stories_g/benign.jsonl",),
        "whole_stories_g/poisoned.jsonl",
    ),
    "h": HeldOutSet(
        "h",
        "heldout_h/unsafe.jsonl",
        "heldout_h/benign.jsonl",
        ("whole_stories_h/benign.jsonl",),
        "whole_stories_h/poisoned.jsonl",
    ),
    "i": HeldOutSet(
        "i",
        "heldout_i/unsafe.jsonl",
        "heldout_i/benign.jsonl",
        ("whole_stories_i/benign.jsonl",),
        "whole_stories_i/poisoned.jsonl",
    ),
    "j": HeldOutSet(
        "j",
        "heldout_j/unsafe.jsonl",
        "heldout_j/benign.jsonl",
        ("whole_stories_j/benign.jsonl",),
        "whole_stories_j/poisoned.jsonl",
    ),
    "k": HeldOutSet(
        "k",
        "heldout_k/unsafe.jsonl",
        "heldout_k/benign.jsonl",
        ("whole_stories_k/benign.jsonl",),
        "whole_stories_k/poisoned.jsonl",
    ),
    "l": HeldOutSet(
        "l",
        "heldout_l/unsafe.jsonl",
        "heldout_l/benign.jsonl",
        ("whole_stories_l/benign.jsonl",),
        "whole_stories_l/poisoned.jsonl",
    ),
    "m": HeldOutSet(
        "m",
        "heldout_m/unsafe.jsonl",
        "heldout_m/benign.jsonl",
        ("whole_stories_m/benign.jsonl",),
        "whole_stories_m/poisoned.jsonl",
    ),
}


@cache
def load_rows(relative: str) -> tuple[dict[str, Any], ...]:
    lines = (DATA / relative).read_text("utf-8").splitlines()
    return tuple(json.loads(line) for line in lines if line.strip())


def gate_check(classifier: SemanticCheck | None = None) -> SentenceCheck:
    return sentence_check(
        load_rule_check(), classifier or load_semantic_check(), evaluation_reader()
    )


@dataclass
class Rates:
    """Share of sentences with the expected outcome, overall and per category."""

    expected: str  # "blocked" or "passed"
    total: int = 0
    correct: int = 0
    per_category: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    wrong: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.correct / self.total if self.total else 0.0

    def add(self, category: str, ok: bool, text: str) -> None:
        self.total += 1
        self.correct += ok
        counts = self.per_category[category]
        counts[0] += ok
        counts[1] += 1
        if not ok:
            self.wrong.append(f"[{category}] {text}")

    def category_rates(self) -> dict[str, float]:
        return {name: ok / n for name, (ok, n) in sorted(self.per_category.items())}


async def sentence_rates(relative: str, expect_blocked: bool, check: SentenceCheck) -> Rates:
    rates = Rates(expected="blocked" if expect_blocked else "passed")
    for row in load_rows(relative):
        blocked = blocks(await check(row["text"]))
        rates.add(row["category"], blocked == expect_blocked, row["text"])
    return rates


@dataclass
class StoryOutcome:
    blocked_sentences: list[str]
    shown: str


async def stream_story(text: str, check: SentenceCheck) -> StoryOutcome:
    """The story token by token through a gate; after a block the gate resumes, as a repair
    continues the chapter, so every sentence is judged."""
    gate = SentenceGate(check=check)
    blocked: list[str] = []
    for token in tokenize(text):
        await gate.feed(token)
        if gate.blocked is not None:
            blocked.append(gate.blocked.sentence)
            gate.resume()
    await gate.finish()
    if gate.blocked is not None:
        blocked.append(gate.blocked.sentence)
    return StoryOutcome(blocked_sentences=blocked, shown=gate.released)


@dataclass
class StoryRates:
    benign_total: int
    benign_clean: int
    benign_blocked: list[str]
    poisoned_total: int
    poisoned_held: int
    poisoned_missed: list[str]
    poisoned_per_category: dict[str, float]


async def story_rates(held_out: HeldOutSet, check: SentenceCheck) -> StoryRates:
    benign = [row for name in held_out.benign_stories for row in load_rows(name)]
    blocked_in_benign: list[str] = []
    clean = 0
    for story in benign:
        outcome = await stream_story(story["text"], check)
        clean += not outcome.blocked_sentences
        blocked_in_benign.extend(outcome.blocked_sentences)
    poisoned = load_rows(held_out.poisoned_stories)
    missed: list[str] = []
    per_category: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for story in poisoned:
        outcome = await stream_story(story["text"], check)
        held = story["unsafe_sentence"] not in outcome.shown
        per_category[story["category"]][0] += held
        per_category[story["category"]][1] += 1
        if not held:
            missed.append(f"[{story['category']}] {story['unsafe_sentence']}")
    return StoryRates(
        benign_total=len(benign),
        benign_clean=clean,
        benign_blocked=blocked_in_benign,
        poisoned_total=len(poisoned),
        poisoned_held=len(poisoned) - len(missed),
        poisoned_missed=missed,
        poisoned_per_category={k: ok / n for k, (ok, n) in sorted(per_category.items())},
    )


@dataclass
class GateCost:
    sentences: int
    screened_share: float  # cleared by the cheap screen, no encoder
    mean_cpu_ms: float
    p99_cpu_ms: float
    mean_wall_ms: float
    p99_wall_ms: float


async def gate_cost(stories: Sequence[str], classifier: SemanticCheck) -> GateCost:
    """CPU (all threads of this process) and wall time of the gate's check per sentence of the
    benign stories, sentences judged one at a time as one stream would; the classifier's cache
    is bypassed so every sentence is judged afresh."""
    rules = load_rule_check()
    reader = evaluation_reader()
    sentences = [story[start:end] for story in stories for start, end in sentence_spans(story)]
    fresh = SemanticCheck(classifier.model, classifier.encoder)
    check = sentence_check(rules, fresh, reader)
    for sentence in sentences[:20]:
        await check(sentence)  # warm-up: caches of the rules, the tokenizer, BLAS
    fresh = SemanticCheck(classifier.model, classifier.encoder)
    check = sentence_check(rules, fresh, reader)
    cpu: list[float] = []
    wall: list[float] = []
    for sentence in sentences:
        cpu_start, wall_start = time.process_time(), time.perf_counter()
        await check(sentence)
        cpu.append(time.process_time() - cpu_start)
        wall.append(time.perf_counter() - wall_start)
    screened = sum(verdict is not None for verdict in fresh.screen(sentences))
    return GateCost(
        sentences=len(sentences),
        screened_share=screened / len(sentences),
        mean_cpu_ms=1000 * statistics.fmean(cpu),
        p99_cpu_ms=1000 * _percentile(cpu, 0.99),
        mean_wall_ms=1000 * statistics.fmean(wall),
        p99_wall_ms=1000 * _percentile(wall, 0.99),
    )


def _percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _print_rates(name: str, rates: Rates) -> None:
    print(f"{name}: {rates.expected} {100 * rates.rate:.1f}% ({rates.correct}/{rates.total})")
    for category, rate in rates.category_rates().items():
        print(f"  {category:20} {100 * rate:5.1f}%")


async def measure_set(
    held_out: HeldOutSet, check: SentenceCheck, rules_only: SentenceCheck, show_misses: bool
) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for label, chosen in (("gate", check), ("rules_only", rules_only)):
        unsafe = await sentence_rates(held_out.unsafe, True, chosen)
        benign = await sentence_rates(held_out.benign, False, chosen)
        print(f"--- held-out set {held_out.name}, sentences, {label.replace('_', ' ')}")
        _print_rates("unsafe", unsafe)
        _print_rates("benign", benign)
        if show_misses and label == "gate":
            print("missed unsafe:" + "".join(f"\n  {text}" for text in unsafe.wrong))
            print("blocked benign:" + "".join(f"\n  {text}" for text in benign.wrong))
        results[label] = {
            "unsafe_blocked": unsafe.rate,
            "unsafe_blocked_per_category": unsafe.category_rates(),
            "benign_passed": benign.rate,
            "benign_passed_per_category": benign.category_rates(),
        }
    stories = await story_rates(held_out, check)
    print(f"--- held-out set {held_out.name}, whole stories, gate")
    print(
        f"benign stories streamed with no block: {stories.benign_clean}/{stories.benign_total}"
        f" ({100 * stories.benign_clean / stories.benign_total:.1f}%)"
    )
    print(
        f"poisoned stories whose unsafe sentence was held back: "
        f"{stories.poisoned_held}/{stories.poisoned_total}"
    )
    if show_misses:
        print("blocked in benign stories:" + "".join(f"\n  {s}" for s in stories.benign_blocked))
        print("reached the child:" + "".join(f"\n  {s}" for s in stories.poisoned_missed))
    results["stories"] = asdict(stories)
    return results


async def run(sets: Sequence[str], show_misses: bool) -> dict[str, Any]:
    classifier = load_semantic_check()
    check = gate_check(classifier)
    rules_only = sentence_check(load_rule_check(), None, evaluation_reader())
    results: dict[str, Any] = {
        f"set_{name}": await measure_set(HELD_OUT_SETS[name], check, rules_only, show_misses)
        for name in sets
    }
    benign_texts = [
        # Set l's stories: never training data (set a's until round 8 and set f's until round 12
        # became training data, and the screen clears more of what it was trained on).
        story["text"]
        for name in HELD_OUT_SETS["l"].benign_stories
        for story in load_rows(name)
    ]
    cost = await gate_cost(benign_texts, classifier)
    print(
        f"--- gate cost over {cost.sentences} sentences of set l's benign stories: "
        f"{100 * cost.screened_share:.0f}% cleared by the screen; CPU per sentence mean "
        f"{cost.mean_cpu_ms:.2f} ms, p99 {cost.p99_cpu_ms:.2f} ms; wall mean "
        f"{cost.mean_wall_ms:.2f} ms, p99 {cost.p99_wall_ms:.2f} ms"
    )
    results["gate_cost"] = asdict(cost)
    return results


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show-misses", action="store_true", help="print every wrong verdict")
    parser.add_argument(
        "--set",
        dest="sets",
        action="append",
        choices=sorted(HELD_OUT_SETS),
        help="held-out set to measure (repeatable; default: the sets not retired into training)",
    )
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    in_use = sorted(set(HELD_OUT_SETS) - set(RETIRED_SETS))
    results = asyncio.run(run(args.sets or in_use, args.show_misses))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n", "utf-8")
    print(f"results written to {args.output}")


if __name__ == "__main__":
    main()
