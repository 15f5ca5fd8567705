"""Every error answer is JSON with a `detail` that says what is wrong."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, ProgrammingError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from backend.runs.manager import FamilyAtCapacity, Overloaded, ShuttingDown

logger = logging.getLogger(__name__)
# A restarting replica is usually back, and a busy one has a free slot, within seconds.
SHUTDOWN_RETRY_AFTER_SECONDS = 5


def _describe(error: dict[str, object]) -> str:
    location = error.get("loc", ())
    parts = [str(part) for part in location if part not in ("body", "query", "path", "header")]  # type: ignore[attr-defined]
    where = ".".join(parts) or "request"
    return f"{where}: {error.get('msg')}"


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    return JSONResponse(
        {
            "detail": "; ".join(_describe(error) for error in errors),
            "errors": [
                {
                    "loc": list(error.get("loc", ())),
                    "msg": error.get("msg"),
                    "type": error.get("type"),
                }
                for error in errors
            ],
        },
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
    )


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse(
        {"detail": "StoryStream hit an internal error; the request was not completed"},
        status_code=status.HTTP_500_INTERNAL_SERVER_ERROR,
    )


async def _unavailable(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(
        {"detail": str(exc)},
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": str(SHUTDOWN_RETRY_AFTER_SECONDS)},
    )


async def _family_at_capacity(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(
        {"detail": str(exc)},
        status_code=status.HTTP_429_TOO_MANY_REQUESTS,
        headers={"Retry-After": str(SHUTDOWN_RETRY_AFTER_SECONDS)},
    )


async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, IntegrityError | DataError | ProgrammingError):
        return await _unexpected_error(request, exc)  # a bug or a conflict, not an outage
    logger.warning("database unavailable on %s %s: %s", request.method, request.url.path, exc)
    return JSONResponse(
        {"detail": "the story library is unavailable right now; try again shortly"},
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": str(SHUTDOWN_RETRY_AFTER_SECONDS)},
    )


def install_error_handlers(app: FastAPI) -> None:
    # A lost or refusing database is an outage to wait out (503), not a bug (500).
    app.add_exception_handler(DBAPIError, _database_unavailable)
    # Every pooled connection busy for the pool's whole timeout: overloaded, not broken.
    app.add_exception_handler(PoolTimeout, _database_unavailable)
    app.add_exception_handler(ShuttingDown, _unavailable)
    app.add_exception_handler(Overloaded, _unavailable)
    app.add_exception_handler(FamilyAtCapacity, _family_at_capacity)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected_error)
