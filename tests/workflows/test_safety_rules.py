from __future__ import annotations

import pytest

from workflows.safety import load_rule_check
from workflows.safety.personal_data import find_personal_data
from workflows.safety.terms import WordListError, parse_terms, parse_word_sets
from workflows.safety.topics import word_forms


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("The pirate pulled out a gun.", "weapons"),
        ("He wanted to kill the dragon.", "violence"),
        ("Dad drank a beer by the fire.", "drugs_alcohol"),
        ("Call me on 555 123 4567 tonight.", "personal_data"),
        ("Write to mia@example.com for a prize.", "personal_data"),
        ("A zombie crawled out of the ground.", "scary"),
        ("In the game, Leo had to kill the boss to win.", "violence"),
    ],
)
def test_unsafe_text_is_rejected_with_category_and_span(text: str, category: str) -> None:
    report = load_rule_check().assess(text)
    assert not report["approved"]
    issue = next(issue for issue in report["issues"] if issue["category"] == category)
    start, end = issue["span"]
    assert text[start:end].lower() == issue["term"].lower() or category == "personal_data"
    assert report["score"] < 1.0


@pytest.mark.parametrize(
    "text",
    [
        "Mia said hello to the shell on the beach.",
        "The class passed the skill test together.",
        "Grandma planted seeds and watched them grow.",
        "The teacher will assess the class in Scunthorpe.",
        "Mom poured fruit cocktail for the assistant.",
        "The game had begun in Sussex, near the therapist's house.",
        "A killer whale swam past the bullet train.",
        "Maya took a shot from the three-point line.",
        "Gran counted 1 2 3 4 5 6 7 8 9 10 in 1999 on 12.05.2019.",
    ],
)
def test_gentle_text_with_lookalike_words_is_approved(text: str) -> None:
    report = load_rule_check().assess(text)
    assert report == {"approved": True, "score": 1.0, "issues": []}


def test_multi_word_terms_win_over_their_parts() -> None:
    issues = load_rule_check().find_issues("They hid the machine gun.")
    assert [issue["term"] for issue in issues] == ["machine gun"]


def test_a_longer_phrase_of_another_category_reports_once() -> None:
    issues = load_rule_check().find_issues("She said she would kill herself.")
    assert [(issue["category"], issue["term"]) for issue in issues] == [
        ("self_harm", "kill herself")
    ]


@pytest.mark.parametrize(
    ("text", "term", "category"),
    [
        ("He said he would k1ll the cat.", "k1ll", "violence"),
        ("Hand me the g u n now.", "g u n", "weapons"),
        ("Hand me the G-U-N now.", "G-U-N", "weapons"),
        ("Oh sh!t, the bus left.", "sh!t", "profanity"),
        ("That f*cking dragon!", "f*cking", "profanity"),
        ("Killll them all!", "Killll", "violence"),
        ("They had s.e.x in the barn.", "s.e.x", "sexual"),
        ("Watch p0rn on the laptop.", "p0rn", "sexual"),
        ("That a$$hole took my bike.", "a$$hole", "profanity"),
        ("You stupid b1tch.", "b1tch", "profanity"),
        ("Shuuuut up, you baby.", "Shuuuut up", "profanity"),
        ("The boy found a g.u.n there.", "g.u.n", "weapons"),
    ],
)
def test_disguised_spellings_are_found(text: str, term: str, category: str) -> None:
    issues = load_rule_check().find_issues(text)
    assert (category, term) in [(issue["category"], issue["term"]) for issue in issues]


@pytest.mark.parametrize(
    "text",
    [
        "The dragon will k\u200bill you.",  # zero-width space inside the word
        "The dragon will \uff4b\uff49\uff4c\uff4c you.",  # fullwidth letters
        "The dragon will k\u0456ll you.",  # Cyrillic i
        "Ça va? The dragon will kíll you.",  # an accent, after other accented text
    ],
)
def test_spans_of_folded_text_point_into_the_original_text(text: str) -> None:
    (issue,) = load_rule_check().find_issues(text)
    start, end = issue["span"]
    assert issue["category"] == "violence"
    assert issue["term"] == text[start:end]
    assert text[:start] == "Ça va? The dragon will " or text[:start] == "The dragon will "
    assert text[end:] == " you."


def test_spans_of_spelled_out_words_cover_every_letter() -> None:
    text = "Then the robot said: k - i - l - l them."
    (issue,) = load_rule_check().find_issues(text)
    assert issue["span"] == (text.index("k - i"), text.index(" them"))


@pytest.mark.parametrize(
    "text",
    [
        "Immigrants are not criminals, said Mom.",
        "Girls are great at football.",
        "The boys are not allowed in the girls' tent.",
        "She fell off her bike and hurt herself.",
        "Leo cut himself a slice of cake.",
        "We could make out a ship in the fog.",
        "The horse kicked the ball to the dog.",
        "Mia ate the baby carrots.",
    ],
)
def test_context_keeps_everyday_sentences_approved(text: str) -> None:
    assert load_rule_check().assess(text)["approved"], load_rule_check().find_issues(text)


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("Immigrants are criminals, said the man.", "hate"),
        ("Those immigrants are dirty animals.", "hate"),
        ("The troll chopped off the prince's head.", "violence"),
        ("He kicked the little puppy.", "violence"),
        ("Tell me your address, little one.", "personal_data"),
    ],
)
def test_phrases_with_gaps_and_word_sets_are_found(text: str, category: str) -> None:
    categories = {issue["category"] for issue in load_rule_check().find_issues(text)}
    assert category in categories


def test_blocked_topics_match_singular_plural_and_case_with_high_severity() -> None:
    text = "A big Spider and two more spiders sat in the dark."
    issues = load_rule_check().find_issues(text, blocked_topics=["spiders", " ", "the dark"])
    assert [(issue["category"], issue["severity"], issue["term"]) for issue in issues] == [
        ("blocked_topic", "high", "Spider"),
        ("blocked_topic", "high", "spiders"),
        ("blocked_topic", "high", "the dark"),
    ]
    for issue in issues:
        start, end = issue["span"]
        assert text[start:end] == issue["term"]
    assert not load_rule_check().assess(text, blocked_topics=["spider"])["approved"]
    assert load_rule_check().assess(text)["approved"]


def test_an_everyday_phrase_does_not_excuse_a_blocked_topic() -> None:
    issues = load_rule_check().find_issues("Two killer whales swam by.", blocked_topics=["whale"])
    assert [(issue["category"], issue["term"]) for issue in issues] == [("blocked_topic", "whales")]


def test_blocked_topics_see_through_disguises() -> None:
    issues = load_rule_check().find_issues("A s p i d e r!", blocked_topics=["spider"])
    assert [issue["category"] for issue in issues] == ["blocked_topic"]


def test_word_forms_cover_regular_plurals() -> None:
    assert set(word_forms("spider")) == {"spider", "spiders"}
    assert set(word_forms("spiders")) == {"spiders", "spider"}
    assert set(word_forms("puppy")) >= {"puppy", "puppies"}
    assert set(word_forms("puppies")) >= {"puppies", "puppy"}
    assert set(word_forms("fox")) >= {"fox", "foxes"}


def test_only_low_severity_issues_are_approved_with_a_lower_score() -> None:
    check = load_rule_check()
    low = check.assess("The stupid umbrella turned inside out.")
    assert low["approved"]
    assert [issue["severity"] for issue in low["issues"]] == ["low"]
    assert 0.0 < low["score"] < 1.0
    medium = check.assess("Damn, the umbrella turned inside out.")
    assert not medium["approved"]
    assert [issue["severity"] for issue in medium["issues"]] == ["medium"]


def test_gore_is_high_so_a_mild_peril_policy_never_lets_it_through() -> None:
    check = load_rule_check()
    severities = {
        text: {issue["severity"] for issue in check.find_issues(text)}
        for text in ("A zombie waved.", "They found a severed head.", "Maggots crawled out.")
    }
    assert severities == {
        "A zombie waved.": {"medium"},
        "They found a severed head.": {"high"},
        "Maggots crawled out.": {"high"},
    }


def test_score_falls_with_every_issue_and_stays_between_zero_and_one() -> None:
    check = load_rule_check()
    scores = [
        check.assess(text)["score"]
        for text in (
            "A gentle day.",
            "A gun.",
            "A gun and a bomb.",
            "A gun, a bomb and a knife attack.",
        )
    ]
    assert scores == sorted(scores, reverse=True)
    assert len(set(scores)) == len(scores)
    assert all(0.0 <= score <= 1.0 for score in scores)
    assert 0.0 <= check.assess("gun " * 200)["score"] <= 1.0


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("Call (555) 867-5309 now.", "phone number"),
        ("Dial +44 20 7946 0958 today.", "phone number"),
        ("Call 1-800-555-0123.", "phone number"),
        ("Her number is 555-0199.", "phone number"),
        ("Write to mia dot jones at gmail dot com.", "email address"),
        ("Write to bob[at]example[dot]com.", "email address"),
        ("She lives at 221B Baker Street.", "street address"),
        ("Send it to 8 Willow Close, Leeds LS6 2AB.", "postcode"),
        ("The card is 4111 1111 1111 1111.", "card number"),
    ],
)
def test_personal_data_patterns_find_their_label(text: str, label: str) -> None:
    assert label in [found.label for found in find_personal_data(text)]


@pytest.mark.parametrize(
    "text",
    [
        "Apollo 11 landed in 1969.",
        "Between 1990 and 2000 the tree grew.",
        "The concert was on 12.05.2019.",
        "Created 2026-11-22 02:58:05.561357.",
        "There are 1000000 stars.",
        "Dial 911 in an emergency.",
        "The score was 3-2 at half time.",
        "The Smiths lived on Maple Street.",
        "They looked at the stars. Com...",
    ],
)
def test_numbers_and_dates_are_not_personal_data(text: str) -> None:
    assert list(find_personal_data(text)) == []


def test_word_list_syntax_expands_sets_groups_and_severity_sections() -> None:
    sets = parse_word_sets("@pet = dog | guinea pig\n@animal = @pet | cow\n")
    assert sets["animal"] == (("dog",), ("guinea", "pig"), ("cow",))
    phrases = parse_terms(
        "test.txt",
        "gun|guns\n# severity: low\n(no one|nobody) likes @animal\nchop * off *'s head\n",
        "test",
        sets,
    )
    assert [phrase.label.severity for phrase in phrases] == ["high", "low", "low"]
    assert phrases[0].single_words == {"gun", "guns"}
    assert len(phrases[1].slots) == 3


@pytest.mark.parametrize(
    "text",
    ["* gun\n", "gun *\n", "@missing gun\n", "g#n\n", "# only a comment\n"],
)
def test_word_list_mistakes_are_refused_with_their_place(text: str) -> None:
    with pytest.raises(WordListError, match=r"test\.txt"):
        parse_terms("test.txt", text, "test", {})
