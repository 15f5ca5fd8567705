"""Story quality on the configured story model: `make quality` (or `python -m bench.quality`).

Writes N chapters (default 16: 8 themes, ages 4-10, medium length, the reading level a new
child profile gets for its age) through the story workflow in-process, on the provider the
service would use (`STORYSTREAM_LLM_PROVIDER` and the other settings; `auto` picks Ollama when it
serves the model, else the embedded model). For each chapter and in total it reports:

- choices written by the model (`choices_source: "model"`, from the structured call);
- prompt echo or commentary (the detectors in `bench/story_checks.py`);
- the share of cut-off sentences ("it made a big.") and whether the ending the child sees is a
  real choice (a what-next question, 2-3 distinct choices of two words or more, no stray JSON,
  mark-up or commentary) and its summary clean;
- length against the target (`target_word_count`), within +-30 %;
- Flesch-Kincaid grade against the reader's band (`fits_reader`);
- the distinct-trigram ratio (repetition);
- time to the first shown token and the model's tokens per second while writing the body.

Results go to `bench/results/quality.json` (with each chapter's text, for reading). Nothing here
asserts a figure. `--rescore FILE` applies the current detectors to the chapters of an earlier
results file (its prompt echo as measured then), so that a stricter detector can be compared on
the same text.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from backend.app import provider_config
from backend.runs.events import ContentEvent
from backend.runs.mapper import EventMapper
from backend.settings import Settings, load_settings
from bench.story_checks import (
    cut_off_share,
    distinct_trigram_ratio,
    echoes_prompt,
    ending_problems,
    has_commentary,
    summary_is_clean,
)
from workflows.context import StoryContext
from workflows.graph import graph, initial_state
from workflows.metrics import measure_story, target_word_count
from workflows.nodes.generate import PROGRESS_EVENT
from workflows.providers import build_chat_model, resolve_provider
from workflows.safety.classifier import load_semantic_check
from workflows.state import StoryRequest
from workflows.story_prompt import build_story_messages
from workflows.story_rules import cut_off_sentences, sentences
from workflows.themes import load_theme_catalogue

RESULTS = Path(__file__).resolve().parent / "results" / "quality.json"
THEMES = (
    "space",
    "ocean",
    "dinosaurs",
    "friendship",
    "forest_animals",
    "seasons",
    "weather",
    "music",
)
NAMES = ("Mia", "Leo", "Ava", "Sam", "Zoe", "Noah", "Lily", "Max")
MIN_AGE, MAX_AGE = 4, 10
LENGTH_TOLERANCE = 0.3


@dataclass
class Chapter:
    theme: str
    age: int
    reading_level: str
    approved: bool
    choices_source: str
    choices: list[str]
    question: str
    summary: str
    prompt_echo: bool
    commentary: bool
    cut_off_share: float
    cut_off_sentences: list[str]
    real_choices: bool
    ending_problems: list[str]
    summary_clean: bool
    words: int
    target_words: int
    length_ok: bool
    grade: float
    band: tuple[float, float]
    fits_reader: bool
    distinct_trigrams: float
    first_token_ms: float | None
    tokens_per_second: float | None
    text: str


def reading_level(age: int) -> str:
    # As a new child profile gets it (backend/api/children.py).
    if age <= 6:
        return "beginner"
    return "intermediate" if age <= 9 else "advanced"


def plan(count: int, skip: int = 0) -> list[tuple[int, str, int]]:
    """Index, theme and age of each chapter: every theme in turn, ages 4-10 in turn. `skip`
    starts further along the same sequence (8 themes and 7 ages repeat only after 56), for
    chapters no earlier change was made to fit."""
    ages = MAX_AGE - MIN_AGE + 1
    return [(i, THEMES[i % len(THEMES)], MIN_AGE + i % ages) for i in range(skip, skip + count)]


def request_for(index: int, theme_id: str, age: int) -> StoryRequest:
    theme = load_theme_catalogue()[theme_id]
    name = NAMES[index % len(NAMES)]
    return StoryRequest(
        child_name=name,
        child_age=age,
        reading_level=reading_level(age),  # type: ignore[typeddict-item]
        interests=[],
        blocked_topics=[],
        allow_mild_peril=False,
        story_length="medium",
        theme=theme.spec(),
        gate="sentence",
        chapter_number=1,
        title=f"{name}'s {theme.title}",
        previous_summary=None,
        chosen_choice=None,
    )


async def write_chapter(context: StoryContext, request: StoryRequest, attempts: int) -> Chapter:
    mapper = EventMapper("quality")
    started = time.perf_counter()
    first_shown: float | None = None
    first_token: float | None = None
    last_token = 0.0
    events = graph.astream_events(initial_state(request, attempts), context=context, version="v2")
    async for event in events:
        if event["event"] == "on_custom_event" and event["name"] == PROGRESS_EVENT:
            # The model's tokens, reported by the generate node as it counts them.
            last_token = time.perf_counter()
            first_token = last_token if first_token is None else first_token
        for wire in mapper.map(event):
            if isinstance(wire, ContentEvent) and first_shown is None:
                first_shown = time.perf_counter()
    state = mapper.final_state
    if state is None:
        raise RuntimeError("the story workflow ended without a result")
    text = state["story_text"]
    metrics = measure_story(text, request["child_age"], request["reading_level"])
    target = target_word_count(request["child_age"], request["story_length"])
    prompts = [
        message.text
        for message in build_story_messages(context.prompts, request, (), context.profile)
    ]
    span = last_token - first_token if first_token is not None else 0.0
    return Chapter(
        theme=request["theme"]["id"],
        age=request["child_age"],
        reading_level=request["reading_level"],
        approved=state["safety"]["approved"],
        choices_source=state["choices_source"],
        choices=list(state["choices"]),
        question=state["choice_question"],
        summary=state.get("summary", ""),
        prompt_echo=echoes_prompt(text, prompts),
        **text_checks(text, state["choice_question"], state["choices"], state.get("summary", "")),
        words=metrics["word_count"],
        target_words=target,
        length_ok=abs(metrics["word_count"] - target) <= LENGTH_TOLERANCE * target,
        grade=metrics["readability_grade"],
        band=(metrics["target_grade_min"], metrics["target_grade_max"]),
        fits_reader=metrics["fits_reader"],
        distinct_trigrams=round(distinct_trigram_ratio(text), 3),
        first_token_ms=None if first_shown is None else round((first_shown - started) * 1000),
        tokens_per_second=round((mapper.tokens_seen - 1) / span, 1) if span else None,
        text=text,
    )


def text_checks(text: str, question: str, choices: list[str], summary: str) -> dict[str, Any]:
    """The detectors that read only the chapter and its ending (not the prompt)."""
    problems = ending_problems(question, choices)
    return {
        "commentary": has_commentary(text),
        "cut_off_share": round(cut_off_share(text), 3),
        "cut_off_sentences": cut_off_sentences(text),
        "real_choices": not problems,
        "ending_problems": problems,
        "summary_clean": summary_is_clean(summary),
    }


def summarise(chapters: list[Chapter]) -> dict[str, Any]:
    def count(flag: str) -> int:
        return sum(1 for chapter in chapters if getattr(chapter, flag))

    sentence_count = sum(len(sentences(c.text)) for c in chapters)
    cut_off_count = sum(len(c.cut_off_sentences) for c in chapters)

    first = [c.first_token_ms for c in chapters if c.first_token_ms is not None]
    speed = [c.tokens_per_second for c in chapters if c.tokens_per_second is not None]
    return {
        "chapters": len(chapters),
        "model_choices": sum(1 for c in chapters if c.choices_source == "model"),
        "prompt_echo_or_commentary": sum(1 for c in chapters if c.prompt_echo or c.commentary),
        # Cut-off sentences over all finished sentences of all chapters.
        "cut_off_sentences": round(cut_off_count / sentence_count, 3) if sentence_count else 0.0,
        "chapters_with_cut_off_sentences": sum(1 for c in chapters if c.cut_off_sentences),
        # The ending the child sees (the model's or the theme's) is a real choice.
        "real_choices": count("real_choices"),
        "real_model_choices": sum(
            1 for c in chapters if c.real_choices and c.choices_source == "model"
        ),
        "clean_summaries": count("summary_clean"),
        "length_within_30_percent": count("length_ok"),
        "fits_reader": count("fits_reader"),
        "approved": count("approved"),
        "median_length_ratio": round(
            statistics.median(c.words / c.target_words for c in chapters), 2
        ),
        "median_distinct_trigrams": round(
            statistics.median(c.distinct_trigrams for c in chapters), 3
        ),
        "median_first_token_ms": statistics.median(first) if first else None,
        "median_tokens_per_second": statistics.median(speed) if speed else None,
    }


async def measure(settings: Settings, count: int, out: Path, skip: int = 0) -> dict[str, Any]:
    """Writes the results to `out` after every chapter, so an interrupted run keeps them."""
    config = await resolve_provider(provider_config(settings))
    built = build_chat_model(config)
    try:
        if built.pool is not None:
            await built.pool.warm_up()
        context = StoryContext(
            model=built.model,
            classifier=await asyncio.to_thread(load_semantic_check),
            max_repairs=settings.safety_max_repairs,
            profile=built.profile,
        )
        chapters: list[Chapter] = []

        def results() -> dict[str, Any]:
            return {
                "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "provider": config.name,
                "model": config.model_label,
                "profile": built.profile,
                "machine": f"{platform.machine()}, {platform.python_version()}",
                # What the embedded model ran with (its speed depends on the threads).
                "local_settings": {
                    "threads": config.local_threads,
                    "temperature": config.local_temperature,
                    "repeat_penalty": config.local_repeat_penalty,
                },
                "planned": count,
                "skipped": skip,
                "summary": summarise(chapters),
                "chapters": [asdict(chapter) for chapter in chapters],
            }

        out.parent.mkdir(parents=True, exist_ok=True)
        for index, theme, age in plan(count, skip):
            chapter = await write_chapter(
                context, request_for(index, theme, age), settings.safety_max_attempts
            )
            chapters.append(chapter)
            print(
                f"{index + 1:2}/{skip + count} {theme:<15} age {age:2}: {chapter.words:4}/"
                f"{chapter.target_words} words, grade {chapter.grade:4} "
                f"{'fits' if chapter.fits_reader else 'off '} {chapter.band}, "
                f"choices {chapter.choices_source}, "
                f"echo/commentary {'yes' if chapter.prompt_echo or chapter.commentary else 'no'}, "
                f"cut-off {chapter.cut_off_share:.2f}, "
                f"real choices {'yes' if chapter.real_choices else 'no'}, "
                f"trigrams {chapter.distinct_trigrams}",
                flush=True,
            )
            text = json.dumps(results(), indent=2) + "\n"
            await asyncio.to_thread(out.write_text, text, encoding="utf-8")
    finally:
        built.close()
    return results()


def rescore(path: Path) -> dict[str, Any]:
    """An earlier results file with its chapters judged by the current detectors (prompt echo
    as it was measured: it needs the prompt of that run)."""
    result = cast(dict[str, Any], json.loads(path.read_text(encoding="utf-8")))
    chapters = []
    for measured in result["chapters"]:
        fields = {key: measured[key] for key in Chapter.__dataclass_fields__ if key in measured}
        fields.update(
            text_checks(
                measured["text"], measured["question"], measured["choices"], measured["summary"]
            )
        )
        fields["band"] = tuple(fields["band"])
        chapters.append(Chapter(**fields))
    result["rescored_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    result["summary"] = summarise(chapters)
    result["chapters"] = [asdict(chapter) for chapter in chapters]
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.quality",
        description="Write chapters on the configured story model and measure their quality: "
        "model-written choices, prompt echo or commentary, cut-off sentences, real choices, "
        "length against the target, reading grade against the reader's band, repetition, time "
        "to first token, tokens/s.",
    )
    parser.add_argument("--count", type=int, default=16, help="chapters to write (default 16)")
    parser.add_argument(
        "--skip",
        type=int,
        default=0,
        metavar="N",
        help="start N chapters further along the plan: chapters no change was fitted to "
        "(default 0)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help=f"JSON results ({RESULTS})")
    parser.add_argument(
        "--rescore",
        type=Path,
        metavar="FILE",
        help="write no chapters: judge FILE's chapters with the current detectors, print the "
        "summary and write the result to --out",
    )
    args = parser.parse_args(argv)
    if args.rescore is not None:
        result = rescore(args.rescore)
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    else:
        result = asyncio.run(measure(load_settings(), args.count, args.out, args.skip))
    summary = cast(dict[str, Any], result["summary"])
    print(f"\n{result['provider']} ({result['model']}), {summary['chapters']} chapters:")
    for key, value in summary.items():
        print(f"  {key}: {value}")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
