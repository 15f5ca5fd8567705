"""The embedded model's body shaper, on a small made-up vocabulary: what it forbids, pushes and
penalises at each step of a chapter."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from workflows.body_shaping import ChapterShape, ChapterShaper, sorted_vocabulary

TEXTS = (
    "<eos>",  # 0
    ".",  # 1
    "!",  # 2
    '."',  # 3
    " the",  # 4
    " cat",  # 5
    " sat",  # 6
    " happy",  # 7
    " magnificent",  # 8
    " zyxq",  # 9
    "[",  # 10
    " story",  # 11
    " Mia",  # 12
    ' "',  # 13
    "...",  # 14
    " on",  # 15
    " bed",  # 16
    " .",  # 17
    " your",  # 18
    " child",  # 19
    " this",  # 20
    " book",  # 21
    " big",  # 22
)
TOKEN = {text: token for token, text in enumerate(TEXTS)}
VOCABULARY = sorted_vocabulary(TEXTS, eos=0)
SHAPE = ChapterShape(
    target_words=6,
    min_words=4,
    sentence_words=3,
    full_stop_push=1.5,
    two_syllable_penalty=1.0,
    long_word_penalty=3.0,
    rare_word_penalty=2.0,
)
PROMPT = [TOKEN[" Mia"], TOKEN[" sat"], TOKEN[" on"], TOKEN[" the"], TOKEN[" bed"]]
NEVER = -1e9


def _ids(tokens: list[int]) -> npt.NDArray[np.intc]:
    return np.array(tokens, dtype=np.intc)


def _shaper_after(written: list[str]) -> tuple[ChapterShaper, npt.NDArray[np.single]]:
    """A shaper that has seen the prompt and then `written`, and its scores for the next token
    (every raw score 0, so what is left is the shaping)."""
    shaper = ChapterShaper(SHAPE, VOCABULARY)
    scores = np.zeros(len(TEXTS), dtype=np.single)
    shaper(_ids(PROMPT), scores)  # the first call sees the prompt
    return shaper, shaper(_ids(PROMPT + [TOKEN[text] for text in written]), scores)


def test_the_vocabulary_is_sorted_by_what_a_child_reads() -> None:
    assert [TEXTS[t] for t in VOCABULARY.sentence_ends] == [".", "!"]
    assert [TEXTS[t] for t in VOCABULARY.closing_quotes] == ['."']
    assert [TEXTS[t] for t in VOCABULARY.forbidden] == ["[", " story", "..."]
    assert [TEXTS[t] for t in VOCABULARY.two_syllables] == [" happy"]
    assert [TEXTS[t] for t in VOCABULARY.long_words] == [" magnificent"]
    assert [TEXTS[t] for t in VOCABULARY.rare_words] == [" zyxq"]


def test_mark_up_and_talk_about_the_story_are_never_written() -> None:
    _, scores = _shaper_after([])
    assert scores[TOKEN["["]] == scores[TOKEN[" story"]] == scores[TOKEN["..."]] == NEVER


def test_long_and_rare_words_are_less_likely_and_names_are_left_alone() -> None:
    _, scores = _shaper_after([])
    assert scores[TOKEN[" cat"]] == 0.0
    assert scores[TOKEN[" happy"]] == -1.0
    assert scores[TOKEN[" magnificent"]] == -3.0
    assert scores[TOKEN[" zyxq"]] == -2.0
    assert scores[TOKEN[" Mia"]] == 0.0


def test_the_chapter_may_not_end_before_its_minimum_length() -> None:
    _, scores = _shaper_after([" cat", " sat", "."])
    assert scores[TOKEN["<eos>"]] == NEVER


def test_no_run_of_the_prompt_is_copied() -> None:
    # The prompt holds " Mia sat on the bed": after " Mia sat on the", " bed" would copy it.
    _, scores = _shaper_after([" Mia", " sat", " on", " the"])
    assert scores[TOKEN[" bed"]] == NEVER
    assert scores[TOKEN[" cat"]] == 0.0


def test_a_long_sentence_is_pushed_towards_its_full_stop() -> None:
    _, scores = _shaper_after([" the", " cat", " sat", " on"])
    # Four words against three: one word past, one push.
    assert scores[TOKEN["."]] == 1.5
    assert scores[TOKEN["!"]] == 1.5


def test_a_closing_quotation_mark_only_closes_an_open_quotation() -> None:
    _, outside = _shaper_after([" the", " cat"])
    assert outside[TOKEN['."']] == NEVER
    _, inside = _shaper_after([' "', " the", " cat"])
    assert inside[TOKEN['."']] == 0.0


def test_the_chapter_stops_at_the_end_of_the_sentence_that_reaches_its_target() -> None:
    shaper, scores = _shaper_after([" the", " cat", " sat", ".", " Mia", " sat", " on"])
    assert shaper.words == 6
    # Past the target and mid-sentence: the sentence is pushed to its end, not cut.
    assert scores[TOKEN["<eos>"]] == 0.0
    assert scores[TOKEN["."]] > 3.0
    _, stopped = _shaper_after([" the", " cat", " sat", ".", " Mia", " sat", " on", " bed", "."])
    assert stopped[TOKEN["<eos>"]] == 0.0
    assert {float(score) for token, score in enumerate(stopped) if token != 0} == {NEVER}


def test_a_repair_counts_the_words_the_child_has_already_read() -> None:
    shaper = ChapterShaper(SHAPE, VOCABULARY, words_before=5)
    scores = np.zeros(len(TEXTS), dtype=np.single)
    shaper(_ids(PROMPT), scores)
    stopped = shaper(_ids([*PROMPT, TOKEN[" cat"], TOKEN["."]]), scores)
    assert shaper.words == 6
    assert stopped[TOKEN["<eos>"]] == 0.0
    assert stopped[TOKEN[" the"]] == NEVER


def test_a_sentence_never_ends_on_a_word_that_cannot_end_one() -> None:
    # "it made a big." and "the cat sat on the." are cut off: no full stop, in any token.
    for written in ([" the", " cat", " sat", " on", " the"], [" Mia", " sat", " the", " big"]):
        _, scores = _shaper_after(written)
        assert scores[TOKEN["."]] == scores[TOKEN["!"]] == scores[TOKEN[" ."]] == NEVER
    # "The cat sat on the bed." is finished: its full stop is pushed as before.
    _, finished = _shaper_after([" the", " cat", " sat", " on", " bed"])
    assert finished[TOKEN["."]] == finished[TOKEN["!"]] == 3.0


def test_a_cut_off_sentence_is_not_forced_even_past_the_target() -> None:
    _, scores = _shaper_after([" the", " cat", " sat", ".", " Mia", " sat", " on", " the"])
    assert scores[TOKEN["."]] == NEVER
    assert scores[TOKEN[" cat"]] == 0.0


def test_no_words_to_a_parent_or_about_the_book() -> None:
    _, after_your = _shaper_after([" Mia", " sat", " your"])
    assert after_your[TOKEN[" child"]] == NEVER
    _, after_this = _shaper_after([" Mia", " sat", " this"])
    assert after_this[TOKEN[" book"]] == NEVER
    _, after_the = _shaper_after([" Mia", " sat", " the"])
    assert after_the[TOKEN[" child"]] == NEVER
    assert after_the[TOKEN[" book"]] == 0.0
