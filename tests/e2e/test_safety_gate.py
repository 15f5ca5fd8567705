"""The promise to parents, over a real socket: no token of a sentence that failed the safety
check ever reaches a child's stream. A held-back sentence is repaired in place (the child sees a
pause, never a cleared screen); past the repair budget the draft is rewritten, then refused."""

from __future__ import annotations

import httpx

from tests.e2e.conftest import Serve
from tests.support import CHOICES_BLOCK, Frame, collect, create_child, event_types

SAFE_START = "Mia found a shiny shell on the beach. She showed it to her friend Leo. "
# Round 12 excuses "a pirate pulled out a gun and pointed it at them" (known_limits.jsonl).
UNSAFE = "Then a pirate pressed the barrel of his gun against their heads. "
SAFE_END = "They laughed and built a sandcastle together."
DRAFT_WITH_UNSAFE_MIDDLE = SAFE_START + UNSAFE + SAFE_END + CHOICES_BLOCK
CLEAN_REWRITE = SAFE_START + "Then a friendly crab waved hello to them. " + SAFE_END + CHOICES_BLOCK
REPAIRED_CONTINUATION = "Then a friendly crab waved hello to them. " + SAFE_END + CHOICES_BLOCK
UNSAFE_WORDS = ("pirate", "gun", "barrel")


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


async def test_a_blocked_sentence_is_repaired_in_place_without_reset(serve: Serve) -> None:
    async with serve(
        scripted_text=DRAFT_WITH_UNSAFE_MIDDLE, scripted_repair_text=REPAIRED_CONTINUATION
    ) as parent:
        _, _, frames = await _child_stream(parent)
        _no_token_of_the_unsafe_sentence(frames)
        types = event_types(frames)
        assert "reset" not in types
        repairing = [frame.data for frame in frames if frame.data.get("status") == "repairing"]
        assert repairing == [
            {"type": "node", "node": "generate", "status": "repairing", "progress": 5}
        ]
        shown = "".join(frame.data["chunk"] for frame in frames if frame.event == "content")
        assert shown == SAFE_START + REPAIRED_CONTINUATION.split("\n\nQUESTION")[0]
        # The pause comes after the last shown sentence before the repair, and before the rest.
        at = types.index("node", types.index("content"))
        before = "".join(f.data["chunk"] for f in frames[:at] if f.event == "content")
        assert before == SAFE_START.rstrip()
        story = frames[-1].data["story"]
        assert frames[-1].event == "complete"
        assert story["content"] == shown
        stored = (await parent.get(f"/api/v1/stories/{story['id']}")).json()
        assert stored["content"] == shown
        assert [repair["attempt"] for repair in stored["repairs"]] == [1]
        assert "weapons" in stored["repairs"][0]["categories"]
        assert stored["content_approved"] is True


async def test_after_the_repair_budget_the_draft_is_rewritten(serve: Serve) -> None:
    async with serve(
        scripted_text=DRAFT_WITH_UNSAFE_MIDDLE,
        scripted_repair_text=UNSAFE + SAFE_END + CHOICES_BLOCK,
        scripted_retry_text=CLEAN_REWRITE,
        safety_max_repairs=2,
    ) as parent:
        _, _, frames = await _child_stream(parent)
        _no_token_of_the_unsafe_sentence(frames)
        types = event_types(frames)
        assert [f.data["status"] for f in frames if f.data.get("status") == "repairing"] == [
            "repairing",
            "repairing",
        ]
        assert types.count("reset") == 1
        reset = frames[types.index("reset")]
        assert reset.data["attempt"] == 2
        assert reset.data["reason"].startswith("the draft did not pass the safety check (")
        assert "weapons" in reset.data["reason"]
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
        assert "weapons" in {issue["category"] for issue in draft["safety_issues"]}
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
