"""The semantic check's training data: which files it reads, and how retired held-out rows become
training examples (`workflows/safety/training/dataset.py`)."""

from __future__ import annotations

import json
from pathlib import Path

from bench.safety_eval import HELD_OUT_SETS
from workflows.safety.classifier.model import SAFE
from workflows.safety.training.dataset import (
    RETIRED_SETS,
    RULE_SETS,
    load_examples,
    retired_files,
    training_files,
)


def write_rows(path: Path, rows: list[dict[str, object]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), "utf-8")
    return path


def test_no_held_out_set_still_in_use_is_read_into_training() -> None:
    in_use = set(HELD_OUT_SETS) - set(RETIRED_SETS)
    assert in_use == {"l", "m"}
    read = {path.resolve() for path in training_files()}
    for name in in_use:
        held_out = HELD_OUT_SETS[name]
        files = [held_out.unsafe, held_out.benign, *held_out.benign_stories]
        for relative in [*files, held_out.poisoned_stories]:
            assert (RULE_SETS / relative).resolve() not in read, relative


def test_every_file_of_a_retired_set_is_training_data() -> None:
    expected = {
        (RULE_SETS / relative).resolve()
        for name in RETIRED_SETS
        for relative in (
            HELD_OUT_SETS[name].unsafe,
            HELD_OUT_SETS[name].benign,
            *HELD_OUT_SETS[name].benign_stories,
            HELD_OUT_SETS[name].poisoned_stories,
        )
    }
    assert {path.resolve() for path in retired_files()} == expected


def test_a_retired_benign_row_is_safe_and_keeps_its_kind(tmp_path: Path) -> None:
    path = write_rows(
        tmp_path / "heldout_x" / "benign.jsonl",
        [{"text": "The killer whale leapt over the waves.", "category": "homonym"}],
    )
    [example] = load_examples([path])
    assert (example.text, example.label, example.kind) == (
        "The killer whale leapt over the waves.",
        SAFE,
        "homonym",
    )


def test_a_poisoned_story_gives_its_unsafe_sentence_and_only_safe_units_around_it(
    tmp_path: Path,
) -> None:
    unsafe = "He hit the puppy until it bled. Then he laughed at it."
    text = (
        "Mia walked to the park with her grandad on a sunny morning. "
        # "Oh no." is too short to be judged alone: the gate joins it to the unsafe sentence.
        f"They saw a man with a small dog by the pond. Oh no. {unsafe} "
        "Mia and her grandad fed the ducks and went home for tea."
    )
    path = write_rows(
        tmp_path / "whole_stories_x" / "poisoned.jsonl",
        [{"text": text, "unsafe_sentence": unsafe, "category": "violence", "age": 6}],
    )
    examples = load_examples([path])
    assert [(e.text, e.label, e.story, e.buried) for e in examples if e.label != SAFE] == [
        (unsafe, "violence", "", True)
    ]
    safe = [e for e in examples if e.label == SAFE]
    assert not any(e.buried for e in safe)
    assert [e.text for e in safe] == [
        "Mia walked to the park with her grandad on a sunny morning.",
        "They saw a man with a small dog by the pond.",
        "Mia and her grandad fed the ducks and went home for tea.",
    ]
    assert {(e.kind, e.story) for e in safe} == {
        ("story poisoned", "whole_stories_x/poisoned.jsonl:1")
    }
