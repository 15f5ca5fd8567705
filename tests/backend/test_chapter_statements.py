"""What one chapter costs the database (issue 15): the statements a gated story sends, from the
request to the stored chapter, counted as the driver sees them."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from tests.support import collect, create_child, event_types


def _verb_and_table(statement: str) -> str:
    words = statement.split()
    verb = words[0].upper()
    if verb == "SELECT":
        return f"SELECT {words[words.index('FROM') + 1]}"
    if verb == "INSERT":
        return f"INSERT {words[2]}"
    return f"{verb} {words[1]}"


@pytest.fixture
def statements() -> Iterator[list[str]]:
    sent: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        sent.append(_verb_and_table(statement))

    event.listen(Engine, "before_cursor_execute", record)
    yield sent
    event.remove(Engine, "before_cursor_execute", record)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_first_chapter_costs_few_statements(
    client: httpx.AsyncClient, statements: list[str]
) -> None:
    child_id = await create_child(client)
    statements.clear()
    frames = await collect(
        client,
        "/api/v1/stories/generate/stream",
        params={"child_id": child_id, "theme": "space"},
    )
    assert event_types(frames)[-1] == "complete"
    # The caller and the child (authorisation), the run's row at its start, then one transaction
    # at its end: the new series, the chapter, the run's row. Nothing is read back.
    assert statements == [
        "SELECT parents",
        "SELECT children",
        "INSERT runs",
        "INSERT series",
        "INSERT stories",
        "UPDATE runs",
    ]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_next_chapter_touches_its_series_without_loading_it(
    client: httpx.AsyncClient, statements: list[str]
) -> None:
    child_id = await create_child(client)
    url = "/api/v1/stories/generate/stream"
    first = await collect(client, url, params={"child_id": child_id, "theme": "space"})
    series_id = first[-1].data["story"]["series_id"]
    statements.clear()
    frames = await collect(
        client, url, params={"child_id": child_id, "series_id": series_id, "choice": 1}
    )
    assert event_types(frames)[-1] == "complete"
    assert statements == [
        "SELECT parents",
        "SELECT children",
        # Planning: the series, its approved chapters, no run writing this chapter already.
        "SELECT series",
        "SELECT stories",
        "SELECT runs",
        "UPDATE stories",  # the child's choice on chapter 1
        "INSERT runs",
        "UPDATE series",
        "INSERT stories",
        "UPDATE runs",
    ]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_story_start_is_one_transaction_and_the_end_another(
    client: httpx.AsyncClient,
) -> None:
    """The run's row commits with the request's own reads: one connection and one commit
    before the first event, not a second session of the run's own."""
    child_id = await create_child(client)
    commits: list[str] = []

    def record(_conn: object) -> None:
        commits.append("commit")

    event.listen(Engine, "commit", record)
    try:
        frames = await collect(
            client,
            "/api/v1/stories/generate/stream",
            params={"child_id": child_id, "theme": "space"},
        )
    finally:
        event.remove(Engine, "commit", record)
    assert event_types(frames)[-1] == "complete"
    assert commits == ["commit", "commit"]
