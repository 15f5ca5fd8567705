from __future__ import annotations

from workflows.safety import load_rule_check
from workflows.sentence_gate import SentenceGate
from workflows.state import SafetyIssue


async def _rules(sentence: str) -> list[SafetyIssue]:
    return load_rule_check().find_issues(sentence)


def _gate(enabled: bool = True) -> SentenceGate:
    return SentenceGate(check=_rules, enabled=enabled)


async def _feed_all(gate: SentenceGate, tokens: list[str]) -> list[list[str]]:
    return [await gate.feed(token) for token in tokens] + [await gate.finish()]


async def test_a_sentence_is_released_token_by_token_once_it_ends() -> None:
    steps = await _feed_all(
        _gate(), ["Mia", " smiled", " at", " Leo", ".", " She", " ran", " to", " school", "!"]
    )
    assert steps == [
        [], [], [], [], ["Mia", " smiled", " at", " Leo", "."],
        [], [], [], [], [" She", " ran", " to", " school", "!"],
        [],
    ]  # fmt: skip


async def test_a_failing_sentence_releases_nothing_and_closes_the_gate() -> None:
    gate = _gate()
    tokens = ["Mia", " waved", " at", " Leo", ".", " He", " had", " a", " gun", ".", " Bye", "."]
    steps = await _feed_all(gate, tokens)
    assert [piece for step in steps for piece in step] == ["Mia", " waved", " at", " Leo", "."]
    assert gate.blocked is not None
    assert gate.blocked.sentence == "He had a gun."
    assert [issue["category"] for issue in gate.blocked.issues] == ["weapons"]
    assert gate.released == "Mia waved at Leo."


async def test_a_short_sentence_is_judged_with_the_one_after_it() -> None:
    gate = _gate()
    steps = await _feed_all(gate, ['"Look', '!"', " said", " Mia", " to", " Leo", "."])
    assert steps == [
        [],
        [],
        [],
        [],
        [],
        [],
        ['"Look', '!"', " said", " Mia", " to", " Leo", "."],
        [],
    ]
    gate = _gate()
    await _feed_all(gate, ["Mia", " waved", ".", " He", " had", " a", " gun", "."])
    assert gate.blocked is not None
    assert gate.blocked.sentence == "Mia waved. He had a gun."
    assert gate.released == ""


async def test_the_last_sentence_may_end_without_punctuation() -> None:
    assert await _feed_all(_gate(), ["The", " end"]) == [[], [], ["The", " end"]]


async def test_a_line_break_ends_a_sentence() -> None:
    steps = await _feed_all(_gate(), ["The", " Moon", " Is", " Round", "\n", "Text"])
    assert steps == [[], [], [], [], ["The", " Moon", " Is", " Round", "\n"], [], ["Text"]]


async def test_a_closing_quote_belongs_to_its_sentence() -> None:
    steps = await _feed_all(
        _gate(), ['"Hello', " there", " my", " friend", '!"', " said", " Mia", "."]
    )
    assert steps == [
        [], [], [], [], ['"Hello', " there", " my", " friend", '!"'],
        [], [], [],
        [" said", " Mia", "."],  # too short alone: judged at the end
    ]  # fmt: skip


async def test_a_parent_preview_releases_every_token_unchecked() -> None:
    gate = _gate(enabled=False)
    assert await _feed_all(gate, ["He", " had", " a", " gun"]) == [
        ["He"],
        [" had"],
        [" a"],
        [" gun"],
        [],
    ]
    assert gate.blocked is None


async def test_resume_after_a_block_keeps_what_was_released_and_checks_what_follows() -> None:
    gate = _gate()
    await _feed_all(gate, ["Mia", " waved", " at", " Leo", ".", " He", " had", " a", " gun", "."])
    gate.resume()
    steps = await _feed_all(
        gate, [" She", " sang", " a", " song", ".", " A", " big", " gun", " fired", "!"]
    )
    assert [piece for step in steps for piece in step] == [" She", " sang", " a", " song", "."]
    assert gate.released == "Mia waved at Leo. She sang a song."
    assert gate.blocked is not None
    assert gate.blocked.sentence == "A big gun fired!"
