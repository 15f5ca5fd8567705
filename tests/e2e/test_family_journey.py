"""A family's whole journey over a real socket, the reading app streaming like EventSource does:
no Authorization header on the streams, only a short-lived `?ticket=`."""

from __future__ import annotations

import httpx

from tests.e2e.conftest import Serve
from tests.support import PASSWORD, collect


async def test_family_journey_from_sign_up_to_the_second_chapter(serve: Serve) -> None:
    async with serve(scripted_text=None) as service:
        base_url = str(service.base_url)
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as parent:
            registered = await parent.post(
                "/api/v1/auth/register", json={"email": "sam@example.com", "password": PASSWORD}
            )
            assert registered.status_code == 202
            login = await parent.post(
                "/api/v1/auth/login", json={"email": "sam@example.com", "password": PASSWORD}
            )
            parent.headers["Authorization"] = f"Bearer {login.json()['access_token']}"

            child = (await parent.post("/api/v1/children", json={"name": "Mia", "age": 6})).json()
            allowed = await parent.put(
                f"/api/v1/children/{child['id']}/themes", json={"theme_ids": ["space", "ocean"]}
            )
            assert allowed.json() == {"theme_ids": ["space", "ocean"]}
            device = (
                await parent.post(
                    f"/api/v1/children/{child['id']}/device-tokens", json={"label": "tablet"}
                )
            ).json()

        # The reading app: its device token for API calls, tickets for the streams.
        async with (
            httpx.AsyncClient(
                base_url=base_url,
                timeout=30,
                headers={"Authorization": f"Bearer {device['token']}"},
            ) as app,
            httpx.AsyncClient(base_url=base_url, timeout=30) as event_source,
        ):
            ticket = (
                await app.post("/api/v1/stream-tickets", json={"child_id": child["id"]})
            ).json()
            chapter_one = await collect(
                event_source,
                "/api/v1/stories/generate/stream",
                params={"child_id": child["id"], "theme": "space", "ticket": ticket["ticket"]},
            )
            assert chapter_one[-1].event == "complete"
            story = chapter_one[-1].data["story"]
            assert len(story["choices"]) == 3
            assert story["choice_question"]
            assert "QUESTION" not in story["content"]

            chosen = await app.post(f"/api/v1/stories/{story['id']}/choice", json={"choice": 3})
            assert chosen.json()["chosen_choice"] == 3

            ticket = (
                await app.post("/api/v1/stream-tickets", json={"child_id": child["id"]})
            ).json()
            chapter_two = await collect(
                event_source,
                "/api/v1/stories/generate/stream",
                params={
                    "child_id": child["id"],
                    "series_id": story["series_id"],
                    "ticket": ticket["ticket"],
                },
            )
            second = chapter_two[-1].data["story"]
            assert second["chapter_number"] == 2
            # The scripted model opens a continued chapter with the choice its prompt carried.
            assert second["content"].startswith(f"Mia chose to {story['choices'][2].lower()}")

            library = (await app.get(f"/api/v1/children/{child['id']}/stories")).json()
            assert [item["id"] for item in library["items"]] == [second["id"], story["id"]]
            series = (await app.get(f"/api/v1/children/{child['id']}/series")).json()
            assert [(entry["id"], entry["chapters"]) for entry in series["items"]] == [
                (story["series_id"], 2)
            ]
            read = await app.post(f"/api/v1/stories/{second['id']}/read")
            assert read.json()["read_at"] is not None

            # The app cannot do what only parents may.
            assert (await app.get("/api/v1/children")).status_code == 403
