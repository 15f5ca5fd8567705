"""Chapters continue a series in order, choices are made once, and the library lists them."""

from __future__ import annotations

import httpx

from tests.support import Frame, collect, create_child


async def _chapter(client: httpx.AsyncClient, **params: object) -> list[Frame]:
    return await collect(client, "/api/v1/stories/generate/stream", params=params)


async def test_chapters_continue_a_series_with_the_childs_choice(client: httpx.AsyncClient) -> None:
    child_id = await create_child(client)
    first = (await _chapter(client, child_id=child_id, theme="space", title="Moon Trip"))[-1]
    story = first.data["story"]
    assert (story["chapter_number"], story["title"]) == (1, "Moon Trip")
    series_id = story["series_id"]

    chosen = await client.post(f"/api/v1/stories/{story['id']}/choice", json={"choice": 2})
    assert chosen.status_code == 200
    assert chosen.json()["chosen_choice"] == 2
    again = await client.post(f"/api/v1/stories/{story['id']}/choice", json={"choice": 1})
    assert again.status_code == 409
    assert again.json() == {"detail": "choice 2 was already made for this chapter"}

    second = (await _chapter(client, child_id=child_id, series_id=series_id))[-1].data["story"]
    assert (second["chapter_number"], second["series_id"], second["title"]) == (
        2,
        series_id,
        "Moon Trip",
    )
    choice_text = story["choices"][1].lower()
    assert second["content"].startswith(f"Mia chose to {choice_text}")

    # Chapter 3 by theme and number finds the same series; its choice comes with the request.
    third = (
        await _chapter(
            client,
            child_id=child_id,
            theme="space",
            chapter_number=3,
            series_id=series_id,
            choice=1,
        )
    )[-1].data["story"]
    assert third["chapter_number"] == 3
    assert third["content"].startswith(f"Mia chose to {second['choices'][0].lower()}")

    detail = (await client.get(f"/api/v1/series/{series_id}")).json()
    assert [chapter["chapter_number"] for chapter in detail["chapter_list"]] == [1, 2, 3]
    assert [chapter["chosen_choice"] for chapter in detail["chapter_list"]] == [2, 1, None]


async def test_chapters_out_of_order_are_409(client: httpx.AsyncClient) -> None:
    child_id = await create_child(client)
    early = await client.get(
        "/api/v1/stories/generate/stream",
        params={"child_id": child_id, "theme": "space", "chapter_number": 3},
    )
    assert early.status_code == 409
    story = (await _chapter(client, child_id=child_id, theme="space"))[-1].data["story"]
    skip = await client.get(
        "/api/v1/stories/generate/stream",
        params={"child_id": child_id, "series_id": story["series_id"], "chapter_number": 3},
    )
    assert skip.status_code == 409
    assert (
        skip.json()["detail"] == f"chapter 3 needs chapter 2 of series {story['series_id']} first"
    )
    rewrite = await client.post(
        "/api/v1/runs",
        json={"child_id": child_id, "series_id": story["series_id"], "chapter_number": 1},
    )
    assert rewrite.status_code == 409
    assert rewrite.json()["detail"] == f"chapter 1 of series {story['series_id']} already exists"
    wrong_theme = await client.post(
        "/api/v1/runs",
        json={"child_id": child_id, "series_id": story["series_id"], "theme": "ocean"},
    )
    assert wrong_theme.status_code == 422
    too_many = await client.post(
        "/api/v1/runs", json={"child_id": child_id, "series_id": story["series_id"], "choice": 3}
    )
    assert too_many.status_code == 201
    invalid_choice = await client.post(f"/api/v1/stories/{story['id']}/choice", json={"choice": 4})
    assert invalid_choice.status_code == 422


async def test_library_lists_newest_first_paginates_and_marks(client: httpx.AsyncClient) -> None:
    child_id = await create_child(client)
    ids = []
    for theme in ("space", "ocean", "space"):
        ids.append((await _chapter(client, child_id=child_id, theme=theme))[-1].data["story"]["id"])

    page = (await client.get(f"/api/v1/children/{child_id}/stories", params={"limit": 2})).json()
    assert (page["total"], page["limit"], page["offset"]) == (3, 2, 0)
    assert [item["id"] for item in page["items"]] == [ids[2], ids[1]]
    rest = (
        await client.get(f"/api/v1/children/{child_id}/stories", params={"limit": 2, "offset": 2})
    ).json()
    assert [item["id"] for item in rest["items"]] == [ids[0]]

    series = (await client.get(f"/api/v1/children/{child_id}/series")).json()
    assert series["total"] == 3
    assert [entry["chapters"] for entry in series["items"]] == [1, 1, 1]

    read = await client.post(f"/api/v1/stories/{ids[0]}/read")
    assert read.json()["read_at"] is not None
    first_read = read.json()["read_at"]
    assert (await client.post(f"/api/v1/stories/{ids[0]}/read")).json()["read_at"] == first_read

    await client.put(f"/api/v1/stories/{ids[1]}/favourite", json={"favourite": True})
    favourites = (
        await client.get(f"/api/v1/children/{child_id}/stories", params={"favourites": True})
    ).json()
    assert [item["id"] for item in favourites["items"]] == [ids[1]]


async def test_a_chapter_being_written_cannot_be_started_twice(client: httpx.AsyncClient) -> None:
    child_id = await create_child(client)
    story = (await _chapter(client, child_id=child_id, theme="space"))[-1].data["story"]
    services = client._transport.app.state.services  # type: ignore[attr-defined]
    services.runs.env.context.model.tokens_per_second = 5  # keep chapter 2 running a while
    first = await client.post(
        "/api/v1/runs", json={"child_id": child_id, "series_id": story["series_id"]}
    )
    assert first.status_code == 201
    second = await client.post(
        "/api/v1/runs", json={"child_id": child_id, "series_id": story["series_id"]}
    )
    assert second.status_code == 409
    assert second.json()["detail"] == (
        f"chapter 2 of series {story['series_id']} is being written (run {first.json()['run_id']})"
    )
    await client.post(f"/api/v1/runs/{first.json()['run_id']}/cancel")
