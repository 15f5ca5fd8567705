"""Which safety model a training round ships, on training data alone: the criterion's units are
the validation units (train.py's seeded split) that come from the named retired sets, which the
baseline never trained on; each model judges them through its own whole gate (the rules, its
screen, its encoder at its own `block_at` and `excuse_below`, for the evaluation reader), and
the lower mistake cost (`threshold.MistakeCosts`, weighed as a held-out set's counts) wins.

Run from a worktree whose training data holds the candidate's sets (`RETIRED_SETS`), after
training the candidate there; each model is a folder with `safety_model.json` and its adapter:

    python -m workflows.safety.training.compare --sets l --baseline A/ --candidate B/ --output F

Poisoned stories' safe units are left out, as train.py's report leaves them out of the stories.
Needs the training extras (scikit-learn, for the split).
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from safetensors.numpy import load

from workflows.policy import blocks, sentence_check
from workflows.readers import evaluation_reader
from workflows.safety import load_rule_check
from workflows.safety.classifier import SemanticCheck
from workflows.safety.classifier.encoder import MiniLMEncoder
from workflows.safety.classifier.model import MODEL_FILE, SAFE, SafetyModel, parse_safety_model
from workflows.safety.training.dataset import (
    LABELS,
    RETIRED_SETS,
    RULE_SETS,
    Example,
    load_examples,
    training_files,
)
from workflows.safety.training.threshold import MistakeCosts, verdict_cost

POISONED_STORY_UNIT = "story poisoned"


@dataclass(frozen=True)
class Score:
    cost: float
    unsafe_held: float
    benign_passed: float
    stories_untouched: float
    buried_held: float
    n: dict[str, int]


def read_safety_model(folder: Path) -> SafetyModel:
    """A model as train.py writes it: `safety_model.json` and the adapter file it names."""
    document = json.loads((folder / MODEL_FILE).read_text("utf-8"))
    adapter = None
    if "adapter" in document:
        adapter = load((folder / document["adapter"]["file"]).read_bytes())
    return parse_safety_model(document, adapter)


def set_texts(names: Sequence[str]) -> set[str]:
    """Every unit the named retired sets give the training data."""
    files = [
        path
        for name in names
        for folder in RETIRED_SETS[name]
        for path in sorted((RULE_SETS / folder).glob("*.jsonl"))
    ]
    return {example.text for example in load_examples(files)}


def criterion_units(
    examples: Sequence[Example], validation: Sequence[int], texts: set[str]
) -> list[Example]:
    """The validation units from those sets, without poisoned stories' safe units."""
    return [
        examples[index]
        for index in validation
        if examples[index].text in texts and examples[index].kind != POISONED_STORY_UNIT
    ]


def score(units: Sequence[Example], blocked: Sequence[bool], costs: MistakeCosts) -> Score:
    verdicts = np.array(blocked, dtype=bool)
    unsafe = np.array([unit.label != SAFE for unit in units])
    story = np.array([unit.story for unit in units])
    buried = np.array([unit.buried for unit in units])
    in_story = story != ""
    sentences = unsafe & ~buried
    benign = ~unsafe & ~in_story
    stories = np.unique(story[in_story])
    touched = np.unique(story[in_story & verdicts])

    def share(mask: np.ndarray, held: bool) -> float:
        if not mask.any():
            return 0.0
        rate = float(verdicts[mask].mean())
        return rate if held else 1.0 - rate

    return Score(
        cost=verdict_cost(verdicts, unsafe, story, buried, costs),
        unsafe_held=share(sentences, held=True),
        benign_passed=share(benign, held=False),
        stories_untouched=1.0 - len(touched) / len(stories) if len(stories) else 0.0,
        buried_held=share(buried, held=True),
        n={
            "unsafe": int(sentences.sum()),
            "benign": int(benign.sum()),
            "stories": len(stories),
            "buried": int(buried.sum()),
        },
    )


async def gate_blocked(model: SafetyModel, texts: Sequence[str]) -> list[bool]:
    """Whether the whole gate, with this model, holds back each text."""
    classifier = SemanticCheck(model, MiniLMEncoder.from_package(model.adapter, precision="int8"))
    check = sentence_check(load_rule_check(), classifier, evaluation_reader())
    return [blocks(await check(text)) for text in texts]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m workflows.safety.training.compare",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    parser.add_argument("--sets", nargs="+", required=True, choices=sorted(RETIRED_SETS))
    parser.add_argument("--baseline", type=Path, required=True, help="folder of the baseline")
    parser.add_argument("--candidate", type=Path, required=True, help="folder of the candidate")
    parser.add_argument("--output", type=Path, required=True, help="JSON file of the scores")
    args = parser.parse_args(argv)
    # The same split train.py makes (scikit-learn, seeded).
    from workflows.safety.training.train import split

    examples = load_examples(training_files())
    labels = np.array([LABELS.index(example.label) for example in examples])
    _, validation = split(examples, labels)
    units = criterion_units(examples, [int(i) for i in validation], set_texts(args.sets))
    texts = [unit.text for unit in units]
    scores = {}
    for name, folder in (("baseline", args.baseline), ("candidate", args.candidate)):
        blocked = asyncio.run(gate_blocked(read_safety_model(folder), texts))
        scores[name] = asdict(score(units, blocked, MistakeCosts()))
        print(f"{name} ({folder}): {json.dumps(scores[name])}")
    winner = "candidate" if scores["candidate"]["cost"] < scores["baseline"]["cost"] else "baseline"
    print(f"ships: the {winner}")
    report = {"sets": args.sets, "units": len(units), **scores, "ships": winner}
    args.output.write_text(json.dumps(report, indent=1) + "\n", "utf-8")


if __name__ == "__main__":
    main()
