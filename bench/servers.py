"""Service processes for benchmarks and end-to-end tests: `uvicorn` subprocesses on 127.0.0.1
with their own environment, started, waited on until `/healthz` answers, and always stopped."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

PROJECT_ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
HEALTH_POLL_SECONDS = 0.05
SHUTDOWN_SECONDS = 10.0
# uvicorn's event loop and HTTP parser: uvloop and httptools (uvicorn[standard]) serve a token
# for less CPU than asyncio and h11 (measured side by side by bench.stream_bench).
FAST_STACK = ("uvloop", "httptools")
DEFAULT_STACK = ("asyncio", "h11")


class BenchError(RuntimeError):
    """A benchmark run that could not produce results; the message says why."""


@dataclass(frozen=True)
class Server:
    """A running uvicorn subprocess."""

    name: str
    pid: int
    base_url: str


def free_port() -> int:
    """A TCP port on HOST that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def clean_environment(extra: Mapping[str, str]) -> dict[str, str]:
    """This process's environment without STORYSTREAM_* settings, plus `extra`."""
    base = {key: value for key, value in os.environ.items() if not key.startswith("STORYSTREAM_")}
    return {**base, **extra}


def log_tail(path: Path, lines: int = 30) -> str:
    """The last `lines` lines of a server log."""
    text = path.read_text("utf-8", errors="replace") if path.exists() else ""
    return "\n".join(text.splitlines()[-lines:]) or "(the log is empty)"


def wait_until_healthy(
    process: subprocess.Popen[bytes], server: Server, log: Path, timeout: float
) -> None:
    """Poll `GET /healthz` until it answers 200; fail if the process exits or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchError(
                f"the {server.name} exited with code {process.returncode} before answering "
                f"/healthz; its log ends with:\n{log_tail(log)}"
            )
        # Connection refused until the server listens: keep polling.
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{server.base_url}/healthz", timeout=1.0).status_code == 200:
                return
        time.sleep(HEALTH_POLL_SECONDS)
    raise BenchError(
        f"the {server.name} did not answer /healthz within {timeout:g} s; its log ends with:\n"
        f"{log_tail(log)}"
    )


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """Terminate a subprocess, killing it if it has not exited after SHUTDOWN_SECONDS."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=SHUTDOWN_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def running_server(
    name: str,
    app_args: Sequence[str],
    env: Mapping[str, str],
    port: int,
    log: Path,
    timeout: float,
    stack: tuple[str, str] = FAST_STACK,
) -> Iterator[Server]:
    """Start `uvicorn <app_args>` on HOST:port with `stack` (event loop, HTTP parser), wait
    until healthy, and always stop it after."""
    port = port or free_port()
    loop, http = stack
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        *app_args,
        "--host",
        HOST,
        "--port",
        str(port),
        "--loop",
        loop,
        "--http",
        http,
        "--log-level",
        "warning",
    ]
    print(f"starting the {name}: {' '.join(command[1:])}", file=sys.stderr)
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=dict(env), stdout=log_file, stderr=subprocess.STDOUT
        )
        try:
            server = Server(name=name, pid=process.pid, base_url=f"http://{HOST}:{port}")
            wait_until_healthy(process, server, log, timeout)
            yield server
        finally:
            stop_process(process)
