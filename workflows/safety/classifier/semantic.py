"""The semantic sentence check: a cheap screen clears clearly safe sentences, the encoder and its
head judge the rest.

    sentence ─> screen (word weights + static embeddings, ~0.1 ms) ─ clearly safe ─> pass
                   │ uncertain
                   ▼
               MiniLM encoder (ONNX Runtime int8, one worker thread; sentences of concurrent
               streams handed over together, each run alone) ─> head ─> verdict
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Literal

import numpy as np

from workflows.safety.classifier.batching import MicroBatcher
from workflows.safety.classifier.encoder import MiniLMEncoder
from workflows.safety.classifier.features import encoder_features, static_features
from workflows.safety.classifier.model import SAFE, SafetyModel, load_safety_model

Stage = Literal["screen", "encoder"]
CACHE_SIZE = 8192


@dataclass(frozen=True)
class SemanticVerdict:
    unsafe: float  # the probability that the sentence is unsafe for a child
    category: str  # the most likely unsafe category
    stage: Stage
    blocked: bool
    # The encoder read the sentence as safe enough to excuse a listed word in it (never the
    # screen's verdict: it does not read the sentence whole).
    excuses: bool = False


class SemanticCheck:
    def __init__(self, model: SafetyModel, encoder: MiniLMEncoder) -> None:
        self.model = model
        self.encoder = encoder
        self._safe_index = model.labels.index(SAFE)
        self._batcher: MicroBatcher[SemanticVerdict] = MicroBatcher(self._encode_and_judge)
        # Whole-chapter checks see again the sentences the gate already judged.
        self._cache: OrderedDict[str, SemanticVerdict] = OrderedDict()

    def screen(self, texts: Sequence[str]) -> list[SemanticVerdict | None]:
        """A verdict for each sentence the screen clears; None where the encoder must judge."""
        scores = self.model.screen.scores(texts, static_features(self.encoder, list(texts)))
        return [
            SemanticVerdict(
                unsafe=float(_sigmoid(score)), category=SAFE, stage="screen", blocked=False
            )
            if score < self.model.screen.clear_below
            else None
            for score in scores
        ]

    def judge_now(self, texts: Sequence[str]) -> list[SemanticVerdict]:
        """Verdicts computed on this thread (evaluations and the CLI; never on the event loop)."""
        screened = self.screen(texts)
        uncertain = [text for text, verdict in zip(texts, screened, strict=True) if verdict is None]
        judged = iter(self._encode_and_judge(uncertain))
        return [verdict if verdict is not None else next(judged) for verdict in screened]

    async def judge(self, texts: Sequence[str], *, screen: bool = True) -> list[SemanticVerdict]:
        """Verdicts for sentences of a running story: the encoder runs off the event loop.
        `screen=False` asks the encoder even where the screen would clear the sentence."""
        # The gate's sentences carry their leading space, the whole-chapter check's do not; no
        # stage reads whitespace, so stripped text keys the cache and safety_check reuses the
        # gate's verdicts instead of encoding the chapter again.
        texts = [text.strip() for text in texts]
        verdicts: list[SemanticVerdict | None] = [self._cache.get(text) for text in texts]
        if not screen:
            verdicts = [v if v is not None and v.stage == "encoder" else None for v in verdicts]
        missing = [index for index, verdict in enumerate(verdicts) if verdict is None]
        if missing:
            screened = (
                self.screen([texts[index] for index in missing])
                if screen
                else [None] * len(missing)
            )
            uncertain = [
                index for index, verdict in zip(missing, screened, strict=True) if verdict is None
            ]
            for index, verdict in zip(missing, screened, strict=True):
                verdicts[index] = verdict
            judged = await self._batcher.submit([texts[index] for index in uncertain])
            for index, verdict in zip(uncertain, judged, strict=True):
                verdicts[index] = verdict
            for index in missing:
                self._remember(texts[index], verdicts[index])  # type: ignore[arg-type]
        return [verdict for verdict in verdicts if verdict is not None]

    def _encode_and_judge(self, texts: list[str]) -> list[SemanticVerdict]:
        if not texts:
            return []
        probabilities = self.model.head.probabilities(encoder_features(self.encoder.encode(texts)))
        verdicts = []
        for row in probabilities:
            unsafe = 1.0 - float(row[self._safe_index])
            masked = row.copy()
            masked[self._safe_index] = -1.0
            verdicts.append(
                SemanticVerdict(
                    unsafe=unsafe,
                    category=self.model.labels[int(np.argmax(masked))],
                    stage="encoder",
                    blocked=unsafe >= self.model.block_at,
                    excuses=unsafe < self.model.excuse_below,
                )
            )
        return verdicts

    def _remember(self, text: str, verdict: SemanticVerdict) -> None:
        self._cache[text] = verdict
        self._cache.move_to_end(text)
        if len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)


def _sigmoid(score: float) -> float:
    return 1.0 / (1.0 + float(np.exp(-score)))


@cache
def load_semantic_check() -> SemanticCheck:
    """The packaged encoder with the committed adapters and head, loaded once per process."""
    model = load_safety_model()
    return SemanticCheck(model, MiniLMEncoder.from_package(model.adapter, precision="int8"))
