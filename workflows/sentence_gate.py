"""Holds streamed story text back until its sentence is complete and has passed the checks.

Tokens keep their granularity: a passing sentence releases its pieces one by one, exactly as they
arrived. A sentence of fewer than `MIN_SENTENCE_WORDS` words ('"Look!"', 'Chapter 1') is judged
together with the one after it: on its own it carries too little meaning to judge. A failing
sentence releases nothing and closes the gate, so a child never sees any part of it; `resume()`
opens it again for a repair, keeping everything released so far. `enabled=False` (a parent's
preview) releases every piece at once, unchecked.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from workflows.state import BlockedSentence, SafetyIssue

SentenceCheck = Callable[[str], Awaitable[list[SafetyIssue]]]
# A sentence ends at ., ! or ? (with closing quotes or brackets) or at a line break.
_SENTENCE_END = re.compile(r"""(?:[.!?]+["')\]\u2019\u201d]*|\n)\s*$""")
MIN_SENTENCE_WORDS = 4


@dataclass
class SentenceGate:
    check: SentenceCheck
    enabled: bool = True
    blocked: BlockedSentence | None = None
    released_text: list[str] = field(default_factory=list)
    _pending: list[str] = field(default_factory=list)

    @property
    def released(self) -> str:
        return "".join(self.released_text)

    async def feed(self, piece: str) -> list[str]:
        """Pieces a child may see now, in order; nothing once a sentence has been blocked."""
        if self.blocked is not None:
            return []
        if not self.enabled:
            self.released_text.append(piece)
            return [piece]
        self._pending.append(piece)
        if _SENTENCE_END.search(piece) and self._pending_words() >= MIN_SENTENCE_WORDS:
            return await self._release()
        return []

    def _pending_words(self) -> int:
        return len("".join(self._pending).split())

    async def finish(self) -> list[str]:
        """The last sentence, which may end without punctuation."""
        if self.blocked is not None or not self._pending:
            return []
        return await self._release()

    def resume(self) -> None:
        """Opens the gate after a blocked sentence: the text released so far stays, the blocked
        sentence is gone, and what comes next is checked as before."""
        self.blocked = None
        self._pending = []

    async def _release(self) -> list[str]:
        sentence = "".join(self._pending)
        issues = await self.check(sentence) if sentence.strip() else []
        if any(issue["severity"] != "low" for issue in issues):
            self.blocked = BlockedSentence(sentence=sentence.strip(), issues=issues)
            self._pending = []
            return []
        pieces, self._pending = self._pending, []
        self.released_text.extend(pieces)
        return pieces
