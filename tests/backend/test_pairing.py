"""Pairing codes (issue 14): a parent's short code gives a reading app its child's device token,
once, within ten minutes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from backend.api.pairing import ALPHABET, CODE_REFUSED, code_digest
from tests.conftest import ClientFactory
from tests.support import create_child, sign_up


async def _code(client: httpx.AsyncClient, child_id: int) -> dict[str, object]:
    response = await client.post(f"/api/v1/children/{child_id}/pairing-codes")
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


async def test_a_code_pairs_a_reading_app_once(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    child_id = await create_child(client)
    created = await _code(client, child_id)
    code = str(created["code"])
    assert (len(code), code[4]) == (9, "-")
    assert set(code.replace("-", "")) <= set(ALPHABET)
    expires_at = datetime.fromisoformat(str(created["expires_at"]))
    assert timedelta(minutes=9) < expires_at - datetime.now(UTC) <= timedelta(minutes=10)

    # Typed on a tablet: lower case, no dash, spaces around.
    claimed = await anonymous.post(
        "/api/v1/pairing/claim",
        json={"code": f" {code.replace('-', '').lower()} ", "label": "tablet"},
    )
    assert claimed.status_code == 201, claimed.text
    body = claimed.json()
    assert body["child"]["id"] == child_id
    assert body["device"]["label"] == "tablet"
    device = {"Authorization": f"Bearer {body['token']}"}
    assert (await anonymous.get(f"/api/v1/children/{child_id}", headers=device)).status_code == 200
    # A device token is no parent: the parent's data stays closed.
    assert (await anonymous.get("/api/v1/children", headers=device)).status_code == 403
    listed = (await client.get(f"/api/v1/children/{child_id}/device-tokens")).json()
    assert [row["id"] for row in listed] == [body["device"]["id"]]

    again = await anonymous.post("/api/v1/pairing/claim", json={"code": code})
    assert (again.status_code, again.json()) == (404, {"detail": CODE_REFUSED})


async def test_a_wrong_or_expired_code_is_refused(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    child_id = await create_child(client)
    wrong = await anonymous.post("/api/v1/pairing/claim", json={"code": "ABCD-EFGH"})
    assert (wrong.status_code, wrong.json()) == (404, {"detail": CODE_REFUSED})
    code = str((await _code(client, child_id))["code"])
    later = datetime.now(UTC) + timedelta(minutes=11)
    monkeypatch.setattr("backend.api.pairing.utcnow", lambda: later)
    expired = await anonymous.post("/api/v1/pairing/claim", json={"code": code})
    assert (expired.status_code, expired.json()) == (404, {"detail": CODE_REFUSED})


async def test_only_the_childs_parent_makes_codes(
    client: httpx.AsyncClient, new_client: ClientFactory
) -> None:
    child_id = await create_child(client)
    other = new_client()
    await sign_up(other)
    assert (await other.post(f"/api/v1/children/{child_id}/pairing-codes")).status_code == 404
    device = (await client.post(f"/api/v1/children/{child_id}/device-tokens", json={})).json()
    as_device = await other.post(
        f"/api/v1/children/{child_id}/pairing-codes",
        headers={"Authorization": f"Bearer {device['token']}"},
    )
    assert as_device.status_code == 403


def test_codes_are_compared_without_case_spaces_or_dashes() -> None:
    assert code_digest("abcd efgh") == code_digest("ABCD-EFGH") == code_digest("ABCDEFGH")
