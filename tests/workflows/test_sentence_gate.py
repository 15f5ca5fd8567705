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
    steps = await _feed_all(_gate(), ["Mia", " smiled", ".", " She", " ran", "!"])
    assert steps == [[], [], ["Mia", " smiled", "."], [], [], [" She", " ran", "!"], []]


async def test_a_failing_sentence_releases_nothing_and_closes_the_gate() -> None:
    gate = _gate()
    steps = await _feed_all(
        gate, ["Mia", " waved", ".", " He", " had", " a", " gun", ".", " Bye", "."]
    )
    assert [piece for step in steps for piece in step] == ["Mia", " waved", "."]
    assert gate.blocked is not None
    assert gate.blocked.sentence == "He had a gun."
    assert [issue["category"] for issue in gate.blocked.issues] == ["weapons"]
    assert gate.released == "Mia waved."


async def test_the_last_sentence_may_end_without_punctuation() -> None:
    assert await _feed_all(_gate(), ["The", " end"]) == [[], [], ["The", " end"]]


async def test_a_line_break_ends_a_sentence() -> None:
    assert await _feed_all(_gate(), ["Title", "\n", "Text"]) == [[], ["Title", "\n"], [], ["Text"]]


async def test_a_closing_quote_belongs_to_its_sentence() -> None:
    steps = await _feed_all(_gate(), ['"Hello', '!"', " said", " Mia", "."])
    assert steps == [[], ['"Hello', '!"'], [], [], [" said", " Mia", "."], []]


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
    await _feed_all(gate, ["Mia", " waved", ".", " He", " had", " a", " gun", "."])
    gate.resume()
    steps = await _feed_all(gate, [" She", " sang", ".", " A", " gun", "!"])
    assert [piece for step in steps for piece in step] == [" She", " sang", "."]
    assert gate.released == "Mia waved. She sang."
    assert gate.blocked is not None
    assert gate.blocked.sentence == "A gun!"
