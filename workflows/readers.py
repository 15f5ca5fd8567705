"""The reader the safety evaluations and the training criterion judge for: a 6-year-old with no
settings of her own, whose policy changes no severity (`workflows.policy.apply_policy`)."""

from __future__ import annotations

from workflows.state import StoryRequest
from workflows.themes import load_theme_catalogue


def evaluation_reader() -> StoryRequest:
    return StoryRequest(
        child_name="Mia",
        child_age=6,
        reading_level="beginner",
        interests=[],
        blocked_topics=[],
        allow_mild_peril=False,
        story_length="medium",
        theme=load_theme_catalogue()["space"].spec(),
        gate="sentence",
        chapter_number=1,
        title="Evaluation",
        previous_summary=None,
        chosen_choice=None,
    )
