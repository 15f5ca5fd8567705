"""The semantic check's training sentences: where they are, their labels, and their digest.

Training data: `workflows/safety/training/data/*.jsonl` (unsafe rows `{text, category, style}`,
benign rows `{text, note}`, and benign whole stories `{text, genre, note}` in `stories_*.jsonl`)
the sets the word lists were tuned on (`tests/data/safety/unsafe_sentences.jsonl`,
`benign_sentences.jsonl`), and the retired held-out sets (`RETIRED_SETS`): sets that chose a
model are no longer a clean measure, so their sentences and stories become training data. A
whole story is cut into the units the streaming gate judges: its sentences, a sentence of fewer
than `MIN_SENTENCE_WORDS` words joined to the next. A poisoned story gives its unsafe sentence
(labelled with its category) and the rest of its units (safe). The held-out set still in use
(`l`) is never read here.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from workflows.safety.classifier.model import SAFE
from workflows.safety.sentences import sentence_spans
from workflows.sentence_gate import MIN_SENTENCE_WORDS

ROOT = Path(__file__).resolve().parents[3]
DATA = Path(__file__).with_name("data")
RULE_SETS = ROOT / "tests" / "data" / "safety"
SEED = 20261201
# Held-out sets that chose a model (and so stopped measuring one): folder of sentences, folder
# of whole stories. Round 9 retired a-e and g, round 12 f and h-k. Set l is not here: it still
# measures.
RETIRED_SETS = {
    "a": ("heldout", "whole_stories"),
    "b": ("heldout_b", "whole_stories_b"),
    "c": ("heldout_c", "whole_stories_c"),
    "d": ("heldout_d", "whole_stories_d"),
    "e": ("heldout_e", "whole_stories_e"),
    "g": ("heldout_g", "whole_stories_g"),
    "f": ("heldout_f", "whole_stories_f"),
    "h": ("heldout_h", "whole_stories_h"),
    "i": ("heldout_i", "whole_stories_i"),
    "j": ("heldout_j", "whole_stories_j"),
    "k": ("heldout_k", "whole_stories_k"),
}
LABELS = (
    SAFE,
    "violence",
    "weapons",
    "sexual",
    "self_harm",
    "hate",
    "drugs_alcohol",
    "dangerous_acts",
    "profanity",
    "scary",
    "personal_data",
    "manipulation",
)


@dataclass(frozen=True)
class Example:
    text: str
    label: str
    kind: str  # the unsafe category, the benign sentence's note, or "story <genre>"
    story: str = ""  # "<file>:<line>" for a unit of a whole story, which is split as one
    # The unsafe sentence of a poisoned story. It keeps no story id (the split treats it as a
    # sentence, as it always has); the flag lets validation count buried sentences passed.
    buried: bool = False


def retired_files() -> list[Path]:
    return [
        path
        for folders in RETIRED_SETS.values()
        for folder in folders
        for path in sorted((RULE_SETS / folder).glob("*.jsonl"))
    ]


def training_files() -> list[Path]:
    return [
        *sorted(DATA.glob("*.jsonl")),
        RULE_SETS / "unsafe_sentences.jsonl",
        RULE_SETS / "benign_sentences.jsonl",
        *retired_files(),
    ]


def file_name(path: Path) -> str:
    """A training file's name: retired sets reuse names (`benign.jsonl`), so keep the folder."""
    return path.name if path.parent in (DATA, RULE_SETS) else f"{path.parent.name}/{path.name}"


def training_digest(files: Sequence[Path]) -> str:
    digest = hashlib.sha256()
    for path in files:
        digest.update(file_name(path).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def gate_units(text: str) -> list[str]:
    """The pieces of a story the streaming gate judges one by one (`SentenceGate`)."""
    units: list[str] = []
    pending: list[str] = []
    for start, end in sentence_spans(text):
        pending.append(text[start:end])
        if len(" ".join(pending).split()) >= MIN_SENTENCE_WORDS:
            units.append(" ".join(pending))
            pending = []
    if pending:
        units.append(" ".join(pending))
    return units


def load_examples(files: Sequence[Path]) -> list[Example]:
    examples: dict[str, Example] = {}
    for path in files:
        for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            row = json.loads(line)
            name = file_name(path)
            if path.parent not in (DATA, RULE_SETS) and path.name.startswith("benign"):
                # A retired set's benign rows name their tricky kind as `category`.
                row["note"] = row.pop("category", "ordinary")
            label = row.get("category", SAFE)
            if label not in LABELS:
                raise ValueError(f"{name}:{number}: unknown category {label!r}")
            if "unsafe_sentence" in row:
                unsafe = row["unsafe_sentence"].strip()
                examples.setdefault(unsafe, Example(unsafe, label, label, buried=True))
                # The unsafe "sentence" may be several gate units: drop every unit it touches.
                pieces = [unsafe[start:end] for start, end in sentence_spans(unsafe)]
                for unit in gate_units(row["text"]):
                    if not any(piece in unit for piece in pieces):
                        example = Example(unit, SAFE, "story poisoned", f"{name}:{number}")
                        examples.setdefault(unit, example)
                continue
            if "genre" in row:
                story = f"{name}:{number}"
                for unit in gate_units(row["text"]):
                    examples.setdefault(unit, Example(unit, SAFE, f"story {row['genre']}", story))
                continue
            kind = label if label != SAFE else row.get("note", "ordinary")
            # The first label of a sentence written twice wins; the rest are dropped.
            examples.setdefault(row["text"].strip(), Example(row["text"].strip(), label, kind))
    return list(examples.values())
