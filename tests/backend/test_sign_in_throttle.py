"""Sign-in throttling (issue 13, finding 2): wrong passwords past the free attempts wait an
exponential back-off (429 with Retry-After), per account and per client address; registrations
too. Failed logins are logged with the account id, never the password."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from backend.app import create_app
from backend.auth.throttle import BackoffPolicy
from tests.support import PASSWORD, make_settings, running

LOGIN = "/api/v1/auth/login"
REGISTER = "/api/v1/auth/register"
WRONG = "not the password at all"


async def _register(client: httpx.AsyncClient, email: str) -> None:
    response = await client.post(REGISTER, json={"email": email, "password": PASSWORD})
    assert response.status_code == 202, response.text


async def _login(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await client.post(LOGIN, json={"email": email, "password": password})


def _settings(tmp_path: Path, **overrides: Any) -> Any:
    return make_settings(tmp_path, **{"login_free_attempts": 5, **overrides})


async def test_sixty_wrong_logins_get_429_with_retry_after_and_the_right_one_works_after(
    tmp_path: Path,
) -> None:
    async with running(create_app(_settings(tmp_path, login_backoff_seconds=0.5))) as client:
        await _register(client, "ana@example.com")
        responses = await asyncio.gather(
            *(_login(client, "ana@example.com", WRONG) for _ in range(60))
        )
        statuses = sorted(response.status_code for response in responses)
        # Five free attempts, and the sixth, which opens the first back-off period.
        assert statuses == [401] * 6 + [429] * 54
        for response in responses:
            if response.status_code == 429:
                assert response.headers["retry-after"] == "1"
                assert response.json() == {
                    "detail": "too many sign-in attempts for this account; try again in 1 second"
                }

        deadline = time.monotonic() + 10
        while (right := await _login(client, "ana@example.com", PASSWORD)).status_code == 429:
            assert time.monotonic() < deadline, "the back-off never ended"
            await asyncio.sleep(0.05)
        assert right.status_code == 200
        # The successful login cleared the account's count: five free attempts again.
        again = [(await _login(client, "ana@example.com", WRONG)).status_code for _ in range(5)]
        assert again == [401] * 5


async def test_the_right_password_waits_out_the_backoff_too(tmp_path: Path) -> None:
    async with running(create_app(_settings(tmp_path, login_backoff_seconds=60))) as client:
        await _register(client, "ana@example.com")
        wrong = [(await _login(client, "ana@example.com", WRONG)).status_code for _ in range(6)]
        assert wrong == [401] * 6
        refused = await _login(client, "ana@example.com", PASSWORD)
        assert refused.status_code == 429
        assert 58 <= int(refused.headers["retry-after"]) <= 60
        # Another account is not held back by this one's back-off.
        await _register(client, "ben@example.com")
        assert (await _login(client, "ben@example.com", PASSWORD)).status_code == 200


def test_the_backoff_doubles_with_each_attempt_up_to_its_cap() -> None:
    policy = BackoffPolicy(free_attempts=5, base_seconds=1.0, max_seconds=900.0)
    assert [policy.period(over) for over in range(1, 12)] == [
        1.0,
        2.0,
        4.0,
        8.0,
        16.0,
        32.0,
        64.0,
        128.0,
        256.0,
        512.0,
        900.0,
    ]
    assert policy.period(10_000) == 900.0


async def test_failed_logins_from_one_address_are_throttled_across_accounts(
    tmp_path: Path,
) -> None:
    settings = _settings(
        tmp_path,
        login_free_attempts=100,
        login_free_attempts_per_address=3,
        login_backoff_seconds=60,
    )
    async with running(create_app(settings)) as client:
        await _register(client, "ana@example.com")
        tried = [
            (await _login(client, f"guess-{number}@example.com", WRONG)).status_code
            for number in range(4)
        ]
        assert tried == [401] * 4
        refused = await _login(client, "ana@example.com", PASSWORD)
        assert refused.status_code == 429
        assert refused.json()["detail"].startswith("too many failed sign-ins from this address")
        assert refused.headers["retry-after"] == "60"


async def test_registrations_from_one_address_are_throttled(tmp_path: Path) -> None:
    settings = _settings(
        tmp_path, registration_free_attempts_per_address=2, login_backoff_seconds=60
    )
    async with running(create_app(settings)) as client:
        answers = [
            await client.post(
                REGISTER, json={"email": f"new-{number}@example.com", "password": PASSWORD}
            )
            for number in range(4)
        ]
        assert [answer.status_code for answer in answers] == [202, 202, 202, 429]
        assert answers[3].headers["retry-after"] == "60"
        assert answers[3].json()["detail"].startswith("too many registrations from this address")


async def test_failed_logins_are_logged_with_the_account_id_and_never_the_password(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with running(create_app(_settings(tmp_path))) as client:
        await _register(client, "ana@example.com")
        signed_in = (await _login(client, "ana@example.com", PASSWORD)).json()
        me = await client.get(
            "/api/v1/auth/me", headers={"Authorization": f"Bearer {signed_in['access_token']}"}
        )
        parent_id = me.json()["id"]
        with caplog.at_level(logging.WARNING, logger="backend.api.auth"):
            await _login(client, "ana@example.com", WRONG)
            await _login(client, "nobody@example.com", WRONG)
    warnings = [
        record.getMessage() for record in caplog.records if record.name == "backend.api.auth"
    ]
    assert warnings == [
        f"failed sign-in: wrong password for parent {parent_id} (client 127.0.0.1)",
        "failed sign-in: no account for that email (client 127.0.0.1)",
    ]
    assert {record.levelno for record in caplog.records if record.name == "backend.api.auth"} == {
        logging.WARNING
    }
    assert WRONG not in caplog.text
