"""The promise to parents, over a real socket: no token of a sentence that failed the safety
check ever reaches a child's stream."""

from __future__ import annotations

import httpx

from tests.e2e.conftest import Serve
from tests.support import CHOICES_BLOCK, Frame, collect, create_child, event_types

SAFE_START = "Mia found a shiny shell on the beach. She showed it to her friend Leo. "
UNSAFE = "Then a pirate pulled out a gun and pointed it at them. "
SAFE_END = "They laughed and built a sandcastle together."
DRAFT_WITH_UNSAFE_MIDDLE = SAFE_START + UNSAFE + SAFE_END + CHOICES_BLOCK
CLEAN_REWRITE = SAFE_START + "Then a friendly crab waved hello to them. " + SAFE_END + CHOICES_BLOCK
UNSAFE_WORDS = ("pirate", "gun", "pointed")


async def _child_app(parent: httpx.AsyncClient, child_id: int) -> dict[str, str]:
    device = await parent.post(f"/api/v1/children/{child_id}/device-tokens", json={})
    return {"Authorization": f"Bearer {device.json()['token']}"}


async def _child_stream(parent: httpx.AsyncClient) -> tuple[int, dict[str, str], list[Frame]]:
    child_id = await create_child(parent)
    as_child = await _child_app(parent, child_id)
    frames = await collect(
        parent,
        "/api/v1/stories/generate/stream",
        params={"child_id": child_id, "theme": "ocean"},
        headers=as_child,
    )
    return child_id, as_child, frames


def _no_token_of_the_unsafe_sentence(frames: list[Frame]) -> None:
    chunks = [frame.data["chunk"] for frame in frames if frame.event == "content"]
    assert chunks, "the safe sentences before it were shown"
    for chunk in chunks:
        assert not any(word in chunk.lower() for word in UNSAFE_WORDS), chunk


async def test_unsafe_sentence_is_never_streamed_and_the_draft_is_rewritten(serve: Serve) -> None:
    async with serve(
        scripted_text=DRAFT_WITH_UNSAFE_MIDDLE, scripted_retry_text=CLEAN_REWRITE
    ) as parent:
        _, _, frames = await _child_stream(parent)
        _no_token_of_the_unsafe_sentence(frames)
        types = event_types(frames)
        assert types.count("reset") == 1
        reset = frames[types.index("reset")]
        assert reset.data == {
            "type": "reset",
            "reason": "the draft did not pass the safety check (weapons)",
            "attempt": 2,
        }
        after_reset = frames[types.index("reset") :]
        text = "".join(frame.data["chunk"] for frame in after_reset if frame.event == "content")
        assert text == CLEAN_REWRITE.split("\n\nQUESTION")[0]
        assert frames[-1].event == "complete"
        assert frames[-1].data["story"]["content"] == text


async def test_a_draft_that_stays_unsafe_is_refused_and_kept_for_the_parent_only(
    serve: Serve,
) -> None:
    async with serve(scripted_text=DRAFT_WITH_UNSAFE_MIDDLE) as parent:
        child_id, as_child, frames = await _child_stream(parent)
        _no_token_of_the_unsafe_sentence(frames)
        assert event_types(frames).count("reset") == 1
        assert frames[-1].data["error_code"] == "SAFETY_REJECTED"
        run = (await parent.get(f"/api/v1/runs/{frames[0].data['run_id']}")).json()
        draft = (await parent.get(f"/api/v1/stories/{run['story_id']}")).json()
        assert draft["content_approved"] is False
        assert UNSAFE.strip() in draft["content"]
        assert [issue["category"] for issue in draft["safety_issues"]] == ["weapons"]
        hidden = await parent.get(f"/api/v1/stories/{run['story_id']}", headers=as_child)
        assert hidden.status_code == 404
        library = await parent.get(f"/api/v1/children/{child_id}/stories", headers=as_child)
        assert library.json()["items"] == []


async def test_a_parent_preview_without_the_gate_shows_raw_tokens(serve: Serve) -> None:
    async with serve(scripted_text=DRAFT_WITH_UNSAFE_MIDDLE) as parent:
        child_id = await create_child(parent)
        frames = await collect(
            parent,
            "/api/v1/stories/generate/stream",
            params={"child_id": child_id, "theme": "ocean", "gate": "none"},
        )
        shown = "".join(frame.data["chunk"] for frame in frames if frame.event == "content")
        assert UNSAFE.strip() in shown
        as_child = await _child_app(parent, child_id)
        refused = await parent.get(
            "/api/v1/stories/generate/stream",
            params={"child_id": child_id, "theme": "ocean", "gate": "none"},
            headers=as_child,
        )
        assert refused.status_code == 403
        assert refused.json() == {
            "detail": "only a parent may preview a story without the safety gate"
        }
