"""The `storystream` command line: serve the API, stream a story to the terminal, migrate."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import httpx
import typer
from httpx_sse import aconnect_sse
from rich.console import Console
from rich.table import Table

from backend.services import Services
from backend.settings import Settings, SettingsError, load_settings, refuse_public_bind

app = typer.Typer(
    name="storystream",
    help="StoryStream: children's stories written by a LangGraph workflow, streamed over SSE.",
    no_args_is_help=True,
    add_completion=False,
)
db_app = typer.Typer(help="Database commands.", no_args_is_help=True)
app.add_typer(db_app, name="db")
runs_app = typer.Typer(help="Runs, as an operator sees them (issue 16).", no_args_is_help=True)
app.add_typer(runs_app, name="runs")

DEVELOPER_EMAIL = "developer@storystream.local"

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


class CliFailure(Exception):
    """A one-line reason to stop with a non-zero exit code."""


def fail(reason: str) -> typer.Exit:
    err.print(f"[bold red]error:[/] {reason}", markup=True)
    return typer.Exit(code=1)


def _settings_or_exit() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        raise fail(str(exc)) from None


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8000,
    reload: Annotated[
        bool, typer.Option(help="Restart when the code changes (development).")
    ] = False,
) -> None:
    """Serve the StoryStream API (settings from STORYSTREAM_* environment variables)."""
    import uvicorn

    from backend.observability.logging import chosen_format, logging_config

    settings = _settings_or_exit()
    try:
        refuse_public_bind(settings, host)
    except SettingsError as exc:
        raise fail(str(exc)) from None
    uvicorn.run(
        "backend.main:app",
        host=host,
        port=port,
        reload=reload,
        loop="uvloop",  # with httptools: 0.80x the CPU per token of asyncio + h11 (make bench)
        http="httptools",
        # Bounds the header section uvicorn buffers (h11); the service refuses more with 431.
        h11_max_incomplete_event_size=settings.max_header_bytes,
        # uvicorn's own lines (the reloader's too) in StoryStream's format from the first one.
        log_config=logging_config(
            chosen_format(settings.log_format, settings.env), settings.log_level
        ),
    )


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the database migrations to STORYSTREAM_DATABASE_URL."""
    from backend.db.migrate import upgrade_database

    settings = _settings_or_exit()
    try:
        upgrade_database(settings.database_url)
    except Exception as exc:
        raise fail(f"the database could not be migrated: {exc}") from None
    out.print(f"database is up to date: {settings.database_url}")


@asynccontextmanager
async def _client(
    server: str | None, email: str | None, password: str | None
) -> AsyncIterator[httpx.AsyncClient]:
    """A client signed in as a parent: on a server with --email/--password, in-process as the
    local developer account (outside production)."""
    if server:
        if not email or not password:
            raise CliFailure("--server needs the --email and --password of a parent account")
        timeout = httpx.Timeout(10, read=None)
        async with httpx.AsyncClient(base_url=server, timeout=timeout) as client:
            login = await client.post(
                "/api/v1/auth/login", json={"email": email, "password": password}
            )
            if login.status_code != 200:
                raise CliFailure(f"could not sign in as {email}: {_detail(login)}")
            client.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
            yield client
        return
    from backend.app import create_app

    settings = _settings_or_exit()
    if settings.env == "production":
        raise CliFailure("in production, stream from a server: --server with a parent account")
    # A server may be writing stories on the same database: leave its runs alone.
    service = create_app(settings.model_copy(update={"interrupt_orphaned_runs": False}))
    async with service.router.lifespan_context(service):
        transport = httpx.ASGITransport(app=service)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://storystream.local", timeout=None
        ) as client:
            token = await _developer_token(service.state.services)
            client.headers["Authorization"] = f"Bearer {token}"
            yield client


async def _developer_token(services: Services) -> str:
    """An access token for the local developer account, created on first use."""
    from sqlalchemy import select

    from backend.auth.passwords import hash_password
    from backend.db.models import Parent

    async with services.sessions() as session, session.begin():
        parent = await session.scalar(select(Parent).where(Parent.email == DEVELOPER_EMAIL))
        if parent is None:
            # Nobody knows this password: the account is reached in-process only.
            unusable = hash_password(secrets.token_hex(32))
            parent = Parent(email=DEVELOPER_EMAIL, password_hash=unusable)
            session.add(parent)
            await session.flush()
        parent_id = parent.id
    return services.tokens.issue("access", parent_id=parent_id).token


def _detail(response: httpx.Response) -> str:
    try:
        return str(response.json()["detail"])
    except (ValueError, KeyError, TypeError):
        return response.text[:200] or response.reason_phrase


async def _stream_story(
    server: str | None,
    credentials: tuple[str | None, str | None],
    *,
    name: str,
    age: int,
    theme: str,
    chapter: int,
    child_id: int | None,
) -> None:
    async with _client(server, *credentials) as client:
        if child_id is None:
            created = await client.post("/api/v1/children", json={"name": name, "age": age})
            if created.status_code != 201:
                raise CliFailure(f"could not create the child profile: {_detail(created)}")
            child_id = int(created.json()["id"])
        params = {"child_id": child_id, "theme": theme, "chapter_number": chapter}
        async with aconnect_sse(
            client, "GET", "/api/v1/stories/generate/stream", params=params
        ) as source:
            if source.response.status_code != 200:
                await source.response.aread()
                raise CliFailure(_detail(source.response))
            async for sse in source.aiter_sse():
                # httpx-sse turns a keep-alive comment into an event without data: skip it.
                if sse.data:
                    _show(sse.event, json.loads(sse.data))


def _show(event: str, data: dict[str, Any]) -> None:
    if event == "node":
        place = f", place {data['position']} in the queue" if data.get("position") else ""
        if data["node"] == "generate" and data["status"] == "completed":
            out.print()  # end the story's last line before the progress line
        err.print(f"[dim]\\[{data['progress']:>3}%] {data['node']} {data['status']}{place}[/]")
    elif event == "content":
        out.print(data["chunk"], end="", markup=False)
        out.file.flush()
    elif event == "reset":
        out.print(f"\n[yellow]-- the draft is being rewritten: {data['reason']} --[/]")
    elif event == "safety":
        verdict = "[green]approved[/]" if data["approved"] else "[red]rejected[/]"
        issues = ", ".join(f"{i['category']} ({i['term']})" for i in data["issues"]) or "none"
        out.print(f"\nsafety: {verdict}, score {data['score']:.2f}, issues: {issues}")
    elif event == "metadata":
        table = Table(title="reading fit", show_header=False)
        table.add_row("words", str(data["word_count"]))
        table.add_row("reading time", f"{data['estimated_reading_time']} min")
        table.add_row("readability grade", str(data["readability_grade"]))
        table.add_row("vocabulary", data["vocabulary_level"])
        table.add_row("learning", ", ".join(data["educational_elements"]) or "-")
        out.print(table)
    elif event == "complete":
        story = data["story"]
        out.print(f"\n[bold]{story['choice_question']}[/]")
        for number, choice in enumerate(story["choices"], start=1):
            out.print(f"  {number}. {choice}")
        out.print(f"\n[dim]stored as story {story['id']} (run {story['run_id']})[/]")
    elif event == "error":
        raise CliFailure(f"{data['message']} ({data['error_code']})")


@app.command()
def generate(
    theme: Annotated[str, typer.Option(help="Theme id, e.g. space, ocean, dinosaurs.")] = "space",
    age: Annotated[int, typer.Option(help="The child's age (3-12).", min=3, max=12)] = 6,
    name: Annotated[str, typer.Option(help="The child's name.")] = "Mia",
    chapter: Annotated[int, typer.Option(help="Chapter number (1 starts a story).", min=1)] = 1,
    child_id: Annotated[
        int | None, typer.Option(help="Use an existing child profile instead of creating one.")
    ] = None,
    server: Annotated[
        str | None,
        typer.Option(
            help="A running StoryStream, e.g. http://127.0.0.1:8000 (default: in-process)."
        ),
    ] = None,
    email: Annotated[
        str | None,
        typer.Option(envvar="STORYSTREAM_CLI_EMAIL", help="Parent account, for --server."),
    ] = None,
    password: Annotated[
        str | None,
        typer.Option(envvar="STORYSTREAM_CLI_PASSWORD", help="Its password, for --server."),
    ] = None,
) -> None:
    """Write a story and stream it to the terminal.

    Shows progress per node, the text as it arrives, then the safety verdict, the reading
    metrics and the choices for the next chapter. Runs in-process, as the local developer
    account, unless --server is given (with a parent's --email and --password).
    """
    try:
        asyncio.run(
            _stream_story(
                server,
                (email, password),
                name=name,
                age=age,
                theme=theme,
                chapter=chapter,
                child_id=child_id,
            )
        )
    except CliFailure as exc:
        raise fail(str(exc)) from None
    except httpx.ConnectError:
        raise fail(f"no StoryStream server answers at {server}") from None
    except httpx.HTTPError as exc:
        raise fail(f"the connection to StoryStream broke: {exc}") from None


# --- storystream runs list|show (issue 16) -------------------------------------------------


def _ms(value: int | None) -> str:
    return "-" if value is None else f"{value} ms"


def _when(value: object) -> str:
    return "-" if value is None else str(value)[:19]


@runs_app.command("list")
def runs_list(
    limit: Annotated[int, typer.Option(help="How many, newest first.", min=1, max=1000)] = 20,
    status: Annotated[
        str | None, typer.Option(help="Only runs in this status (queued, running, failed...).")
    ] = None,
    child_id: Annotated[int | None, typer.Option(help="Only this child's runs.")] = None,
) -> None:
    """The newest runs: status, outcome, timings and tokens, from the database."""
    from backend.observability.runs_view import list_runs

    settings = _settings_or_exit()
    try:
        rows = asyncio.run(list_runs(settings, limit=limit, status=status, child_id=child_id))
    except Exception as exc:
        raise fail(f"the runs could not be read: {exc}") from None
    table = Table(title=f"runs ({len(rows)})")
    for column in ("run", "status", "error", "child", "family", "theme", "ch", "created"):
        table.add_column(column)
    for column in ("first token", "total", "tokens in/out"):
        table.add_column(column, justify="right")
    for row in rows:
        table.add_row(
            row.id,
            row.status,
            row.error_code or "",
            str(row.child_id),
            str(row.family_id or "-"),
            row.theme,
            str(row.chapter_number),
            _when(row.created_at),
            _ms(row.time_to_first_token_ms),
            _ms(row.total_ms),
            f"{row.input_tokens or 0}/{row.output_tokens or 0}",
        )
    out.print(table)


@runs_app.command("show")
def runs_show(
    run_id: Annotated[str, typer.Argument(help="The run's id.")],
    events: Annotated[int, typer.Option(help="How many of its last events.", min=0)] = 10,
) -> None:
    """One run: status, timings, outcome, its event count and last events (no story text)."""
    from backend.observability.runs_view import describe_event, find_run, run_events

    settings = _settings_or_exit()
    try:
        row = asyncio.run(find_run(settings, run_id))
        log = asyncio.run(run_events(settings, run_id, events)) if row is not None else None
    except Exception as exc:
        raise fail(f"the run could not be read: {exc}") from None
    if row is None or log is None:
        raise fail(f"no run {run_id}")
    outcome = row.status + (f" ({row.error_code})" if row.error_code else "")
    details = [
        ("run", row.id),
        ("outcome", outcome),
        ("child / family", f"{row.child_id} / {row.family_id or '-'}"),
        ("chapter", f"{row.chapter_number} of theme {row.theme}"),
        ("story model", f"{row.provider} ({row.model}), gate {row.gate or '-'}"),
        ("replica", row.runner or "-"),
        (
            "created / started / finished",
            " / ".join(_when(at) for at in (row.created_at, row.started_at, row.finished_at)),
        ),
        ("first token / total", f"{_ms(row.time_to_first_token_ms)} / {_ms(row.total_ms)}"),
        ("tokens in / out", f"{row.input_tokens or 0} / {row.output_tokens or 0}"),
        ("story", str(row.story_id) if row.story_id is not None else "-"),
    ]
    if row.error_message:
        details.append(("error", row.error_message))
    if log.count is None:
        details.append(("events", f"not readable here: {log.unavailable_because}"))
    else:
        details.append(("events", f"{log.count} ({'closed' if log.closed else 'open'})"))
    for name, text in details:
        out.print(f"{name}: {text}", markup=False)
    for event in log.last:
        out.print(f"  {event.seq:>5} {describe_event(event)}", markup=False)


def main() -> None:
    app()
