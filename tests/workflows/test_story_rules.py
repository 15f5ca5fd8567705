"""The commentary rules (`workflows.story_rules.COMMENTARY`) on the embedded model's talk about
its own writing (bench.quality, runs 2-5, 2026-12-01) and on story sentences that share its
words."""

from __future__ import annotations

import pytest

from workflows.story_rules import ABOUT_THE_WRITING, has_commentary


@pytest.mark.parametrize(
    "text",
    [
        'The first line says "Ben found a little patch under his bed."',
        "The rest of the words are just like you wrote them.",
        "You can't add more writing or change what has been done.",
        "So I will keep it as a new scene, but that would be too long.",
        "Instead I'll write this next one to show how Zoe finds his way.",
        "The rest is just like you wrote before. I will keep this one as new and special.",
        "They had big eyes full of gold! This is the next part of the page.",
        'The first line is "Lily" sets out on an adventure.',
        "In this short 401-word passage, you can use alliteration to make it!",
        'The next two lines are "In small village", and it says.',
        "You could use the word 'village' in your writing.",
        "The first three lines of this short one.",
        "The last two lines of this short three-line passage.",
        "And you can use more words in your writing.",
        "The last part of the book, when you read it.",
        "This will be a special book of love, in your words.",
        "This ends at Mina's house.",
        "This is a great start, but it can be even better.",
        "This is a good start but there are some bad things.",
        'This is the end of the first part - "Zeos" has been written by a child!',
        "How many words does this word list contain?",
        "The answer will be in that same amount as there are letters.",
        'The last two words are "and their big brother".',
        'The next word, "but", was added to make it more special.',
        "In this way there were no other words left in the rest of the text.",
        "This is what makes the whole piece so good and fun for children.",
        "A lot of other words could have been used instead.",
        "The next day they met a bear. This is the next section of the first",
        "Zeki, the hero of today's book is a rabbit named Zeke.",
        '"Zoe, the hero of this small adventure is a rabbit named Zephyr."',
    ],
)
def test_talk_about_the_writing_is_commentary(text: str) -> None:
    assert ABOUT_THE_WRITING.search(text)
    assert has_commentary(text)


@pytest.mark.parametrize(
    "text",
    [
        "Mia ran to the finish line.",
        "A dotted line led from the village bridge to a hill.",
        "The ducks walked in a long line.",
        "Ben stood first in line for the slide.",
        "The first light of the morning was pink.",
        '"I will keep it safe," said Mia.',
        '"Use your words," said Mom.',
        "Mia wrote a letter, just as her dad wrote one.",
        "The next day, they played in the snow.",
        "The rest of the day was fun.",
        "The last part of the trip was the best.",
        "Sam read the words on the page.",
        "They sang the first verse of the song.",
        "This is the best day ever!",
        "It was a two-day trip to the sea.",
        "Mia had a great start to her day.",
        "The book was written in red ink.",
        "How many stars can you see?",
        "She knew the answer was yes.",
        'Mia\'s first words were "Bella" and she was on a journey.',
        "The old man has no words but a smile.",
        "They ate the whole pie.",
        "They walked to the next section of the forest.",
        "Mia was the hero of the day.",
    ],
)
def test_story_sentences_with_the_same_words_are_not_commentary(text: str) -> None:
    assert not has_commentary(text)
