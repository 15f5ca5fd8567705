"""The embedded model's body shaper, on a small made-up vocabulary: what it forbids, pushes and
penalises at each step of a chapter."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

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
    " I",  # 23
    " you",  # 24
    "You",  # 25
    "\n",  # 26
    " first",  # 27
    " line",  # 28
    "-",  # 29
    "word",  # 30
    " page",  # 31
    "4",  # 32
    "da",  # 33
    " We",  # 34
    " song",  # 35
    " lines",  # 36
    " long",  # 37
    " said",  # 38
    ' "I',  # 39
    " they",  # 40
    " count",  # 41
    " word",  # 42
    "\u201c",  # 43
    "\u201d",  # 44
    ",",  # 45
    " is",  # 46
    " a",  # 47
    " great",  # 48
    " start",  # 49
    " ",  # 50
    "ten",  # 51
    " ten",  # 52
    " part",  # 53
    " blog",  # 54
    " tips",  # 55
    " scene",  # 56
    " b",  # 57
    "Bed",  # 58
    "This",  # 59
    "'s",  # 60
    " hero",  # 61
    " of",  # 62
    " adds",  # 63
    " summary",  # 64
    " main",  # 65
    " character",  # 66
    " ends",  # 67
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


def _shaper_after(
    written: list[str], prompt: list[int] = PROMPT, shape: ChapterShape = SHAPE
) -> tuple[ChapterShaper, npt.NDArray[np.single]]:
    """A shaper that has seen the prompt and then `written`, and its scores for the next token
    (every raw score 0, so what is left is the shaping)."""
    shaper = ChapterShaper(shape, VOCABULARY)
    scores = np.zeros(len(TEXTS), dtype=np.single)
    shaper(_ids(prompt), scores)  # the first call sees the prompt
    return shaper, shaper(_ids(prompt + [TOKEN[text] for text in written]), scores)


def test_the_vocabulary_is_sorted_by_what_a_child_reads() -> None:
    assert [TEXTS[t] for t in VOCABULARY.sentence_ends] == [".", "!"]
    assert [TEXTS[t] for t in VOCABULARY.closing_quotes] == ['."']
    assert [TEXTS[t] for t in VOCABULARY.forbidden] == [
        "[",
        " story",
        "...",
        " page",
        "4",
        " blog",
        " tips",
        " scene",
        " summary",
    ]
    assert [TEXTS[t] for t in VOCABULARY.two_syllables] == [" happy", " hero"]
    assert [TEXTS[t] for t in VOCABULARY.long_words] == [" magnificent", " character"]
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


# Long enough that no table below reaches the chapter's target or pushes a full stop.
ROOMY = ChapterShape(target_words=100, min_words=50, sentence_words=20)


@pytest.mark.parametrize(
    ("written", "forbidden"),
    [
        # The narrator who talks about the writing or to the reader (SmolLM2, bench.quality
        # run 5): "I will keep this one as new", "you can use alliteration", "We'll do
        # something fun today!"
        ([], " I"),
        ([" Mia", " sat", "."], " I"),
        ([" Mia", " sat", "."], " you"),
        ([" Mia", " sat", "."], " We"),
        ([" Mia", " sat", ".", "\n"], "You"),
        ([], "You"),
        # A quotation that is closed, or left open at the end of its paragraph, is over.
        ([' "I', " sat", '."'], " you"),
        ([' "', " cat", "\n"], " I"),
        ([" Mia", "\u201c", " cat", "\u201d"], " you"),
        # "The first line says", "The last two lines", "a three-line passage", "word count".
        ([" the", " first"], " line"),
        ([" the", " first"], " lines"),
        ([" cat", "-"], "word"),
        ([" the", " word"], " count"),
        # No page, no digits: "the next part of the page", "this short 401-word passage".
        ([" the"], " page"),
        ([" the"], "4"),
        # ... and where a digit was meant, no second space: "saw  ten".
        ([" Mia", " sat", " "], " ten"),
        # Judging the draft: "This is a great start, but it can be even better."
        ([" this", " is", " a", " great"], " start"),
        # "This is the end of the first part", "This is the start to the second part".
        ([" this", " is", " the"], " start"),
        ([" the", " first"], " part"),
        # No narrator's "This is": "This is the next section of the first".
        ([" Mia", " sat", ".", " this"], " is"),
        ([" Mia", " sat", ".", "\n", "This"], "'s"),
        # Even in a quotation: "Zoe, the hero of this small adventure is a rabbit."
        ([' "', " Mia", ",", " the", " hero", " of"], " this"),
        # "This adds an exciting theme for the main character!", "In this short summary of
        # Ava's first day", "This ends with Sam and Alex saying..." (run 10).
        ([" Mia", " sat", ".", " this"], " adds"),
        ([" Mia", " sat", ".", "\n", "This"], " ends"),
        ([" the"], " summary"),
        ([" the", " main"], " character"),
    ],
)
def test_words_about_the_writing_are_never_chosen(written: list[str], forbidden: str) -> None:
    _, scores = _shaper_after(written, shape=ROOMY)
    assert scores[TOKEN[forbidden]] == NEVER


@pytest.mark.parametrize(
    "sentence",
    [
        # Dialogue keeps "I" and "you", in straight and curly quotation marks.
        [' "', " I", " sat", " on", " the", " bed", '."', " Mia", " said", "."],
        [' "I', " you", '."'],
        [" Mia", " said", ",", ' "', " you", " sat", '."'],
        [" Mia", "\u201c", " I", " sat", "\u201d"],
        # "first", "line" and "word" in their everyday senses.
        [" Mia", " sat", " first", "."],
        [" the", " long", " line", "."],
        [" the", " big", " line", "."],
        [" Mia", " said", " the", " word", "."],
        [" Mia", "\n", " they", " sat", "."],
        [" Mia", " sat", " ", "ten", "."],
        [" Mia", " sat", " a", " great", " start", "."],
        [" the", " cat", " is", " the", " great", " part", "."],
        # "This is" in a quotation, and "is" after "this" inside a sentence.
        [' "', "This", " is", " the", " bed", '."'],
        [" Mia", " said", " this", " is", " the", " bed", "."],
        [" Mia", " is", " the", " hero", " of", " the", " bed", "."],
        # "ends" and "main" inside a sentence, and a character who is not the main one.
        [" Mia", " said", " this", " ends", "."],
        [" the", " main", " bed", "."],
        [" the", " big", " character", "."],
        # "your song": only the words after "your" that address a parent are banned.
        [' "', " your", " song", '."'],
    ],
)
def test_ordinary_sentences_stay_writable(sentence: list[str]) -> None:
    for end in range(len(sentence)):
        _, scores = _shaper_after(sentence[:end], shape=ROOMY)
        assert scores[TOKEN[sentence[end]]] > NEVER, (sentence[:end], sentence[end])


def test_a_name_spelled_with_the_token_i_stays_writable() -> None:
    # "The hero is Ida": " I", "da". The chapter must be able to name her; "you" stays banned.
    prompt = [TOKEN[" Mia"], TOKEN[" I"], TOKEN["da"], TOKEN[" sat"]]
    _, scores = _shaper_after([" the", " cat", " sat", "."], prompt=prompt, shape=ROOMY)
    assert scores[TOKEN[" I"]] == 0.0
    assert scores[TOKEN[" you"]] == NEVER
    _, without = _shaper_after([" the", " cat", " sat", "."], shape=ROOMY)
    assert without[TOKEN[" I"]] == NEVER


# Six words of the prompt, as `make quality` reads it: "The cat sat on the bed".
SIX_WORDS = [
    TOKEN[" the"],
    TOKEN[" cat"],
    TOKEN[" sat"],
    TOKEN[" on"],
    TOKEN[" the"],
    TOKEN[" bed"],
]


@pytest.mark.parametrize(
    "written",
    [
        # Other tokens, same words: a comma or a line break does not make it a new run.
        [" the", " cat", ",", " sat", " on", " the"],
        [" the", " cat", ".", "\n", " sat", " on", " the"],
    ],
)
def test_six_words_of_the_prompt_are_not_copied_with_other_punctuation(
    written: list[str],
) -> None:
    _, scores = _shaper_after(written, prompt=SIX_WORDS, shape=ROOMY)
    # " bed" and the token that could start it (" b") are never chosen; other words are.
    assert scores[TOKEN[" bed"]] == scores[TOKEN[" b"]] == NEVER
    assert scores[TOKEN[" big"]] > NEVER
    # Five words of it are fine, and so is the sixth word elsewhere.
    _, five = _shaper_after([" the", " cat", ",", " sat", " on"], prompt=SIX_WORDS, shape=ROOMY)
    assert five[TOKEN[" the"]] > NEVER
    _, elsewhere = _shaper_after([" Mia", " sat", " on", " the"], prompt=SIX_WORDS, shape=ROOMY)
    assert elsewhere[TOKEN[" bed"]] > NEVER


def test_a_copied_run_after_a_line_break_is_not_finished_either() -> None:
    prompt = [
        TOKEN[" cat"],
        TOKEN[" sat"],
        TOKEN[" on"],
        TOKEN[" the"],
        TOKEN[" big"],
        TOKEN[" bed"],
    ]
    _, scores = _shaper_after([" cat", " sat", " on", " the", " big", "\n"], prompt=prompt)
    assert scores[TOKEN["Bed"]] == NEVER
