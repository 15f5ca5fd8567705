"""Log lines an operator can use: JSON objects outside development, readable lines in it.

Every line goes through the same structlog processors, whether it was written with the standard
`logging` module (StoryStream's own modules, uvicorn, libraries) or with structlog: the bound
context (request id; a run's id, child id, family id and node), the replica, the level, the
logger and an ISO timestamp are added, and tickets and tokens are redacted from the message and
every field. Names and story text are never logged by StoryStream.
"""

from __future__ import annotations

import logging
import logging.config
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any, Literal

import structlog
from structlog.types import EventDict, Processor, WrappedLogger

from backend.access_log import REDACTED, SECRET_FIELDS, install_ticket_redaction, redact_secrets
from backend.observability.context import replica

LogFormat = Literal["auto", "json", "console"]
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")


def chosen_format(log_format: LogFormat, environment: str) -> Literal["json", "console"]:
    """`auto`: readable in development, JSON lines everywhere else."""
    if log_format != "auto":
        return log_format
    return "console" if environment == "development" else "json"


def _add_replica(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    event_dict.setdefault("replica", replica())
    return event_dict


def _redact(value: Any) -> Any:
    if isinstance(value, str):
        return redact_secrets(value)
    if isinstance(value, Mapping):
        return {
            key: REDACTED if str(key).lower() in SECRET_FIELDS else _redact(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [_redact(item) for item in value]
    return value


def redact_event(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """No ticket or token in any field: known secret fields blanked, the rest scanned."""
    for key, value in list(event_dict.items()):
        if key.lower() in SECRET_FIELDS:
            event_dict[key] = REDACTED
        else:
            event_dict[key] = _redact(value)
    return event_dict


def _uvicorn_fields(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """uvicorn's access line ('%s - "%s %s HTTP/%s" %d') as fields too; its colour copy of
    messages dropped."""
    event_dict.pop("color_message", None)
    args = event_dict.pop("positional_args", None)
    record = event_dict.get("_record")
    access = record is not None and record.name == "uvicorn.access"
    if access and isinstance(args, tuple) and len(args) == 5:
        event_dict.update(client=args[0], method=args[1], path=args[2], status=args[4])
    return event_dict


def shared_processors() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        _uvicorn_fields,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _add_replica,
    ]


def formatter_config(log_format: Literal["json", "console"]) -> dict[str, Any]:
    """A `logging.config` formatter entry (also usable in uvicorn's `log_config`)."""
    renderer: Processor
    if log_format == "json":
        renderer = structlog.processors.JSONRenderer(default=str)
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    return {
        "()": structlog.stdlib.ProcessorFormatter,
        "foreign_pre_chain": shared_processors(),
        "pass_foreign_args": True,
        "processors": [
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            redact_event,
            renderer,
        ],
    }


class QuietLibraries(logging.Filter):
    """Drops onnxruntime's quantiser notes (dozens of root-logger INFO lines at start-up)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (
            record.name == "root"
            and record.levelno <= logging.INFO
            and "onnxruntime" in record.pathname
        )


def logging_config(log_format: Literal["json", "console"], level: str) -> dict[str, Any]:
    """One handler on the root logger; uvicorn's loggers write through it too."""
    handler_name = "storystream"
    loggers: MutableMapping[str, Any] = {
        name: {"handlers": [], "propagate": True} for name in UVICORN_LOGGERS
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {handler_name: formatter_config(log_format)},
        "filters": {"quiet_libraries": {"()": QuietLibraries}},
        "handlers": {
            handler_name: {
                "class": "logging.StreamHandler",
                "formatter": handler_name,
                "stream": "ext://sys.stderr",
                "filters": ["quiet_libraries"],
            }
        },
        "root": {"handlers": [handler_name], "level": level.upper()},
        "loggers": dict(loggers),
    }


def configure_logging(
    log_format: LogFormat = "auto", environment: str = "development", level: str = "INFO"
) -> Literal["json", "console"]:
    """Route every log line of this process through StoryStream's processors (idempotent)."""
    chosen = chosen_format(log_format, environment)
    # uvicorn has already set its loggers' levels from --log-level; keep them.
    levels = {name: logging.getLogger(name).level for name in UVICORN_LOGGERS}
    logging.config.dictConfig(logging_config(chosen, level))
    for name, previous in levels.items():
        if previous:
            logging.getLogger(name).setLevel(previous)
    logging.captureWarnings(True)
    structlog.configure(
        processors=[
            *shared_processors()[:1],
            structlog.stdlib.filter_by_level,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    install_ticket_redaction()
    return chosen
