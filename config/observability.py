"""Logs and error reports for operators: JSON lines that name the organization and mailbox of
the fetch they come from, and optional Sentry reports with every known secret scrubbed.

`log_context(organization=..., mailbox=...)` sets what every log line emitted inside it carries
(a context variable: each worker thread or process has its own). `LogContextFilter` copies it
onto the records, `JsonFormatter` writes one JSON object per line (LOG_FORMAT=json).
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import re
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

#: What every log line emitted inside a fetch carries.
CONTEXT_FIELDS = ("organization", "mailbox")
_context: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar(
    "log_context", default=None
)


@contextlib.contextmanager
def log_context(**values: Any) -> Iterator[None]:
    token = _context.set({**(_context.get() or {}), **{k: str(v) for k, v in values.items()}})
    try:
        yield
    finally:
        _context.reset(token)


class LogContextFilter(logging.Filter):
    """Puts the current context's fields on every record ("" outside a fetch)."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = _context.get() or {}
        for name in CONTEXT_FIELDS:
            setattr(record, name, context.get(name, ""))
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, message, context, exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in CONTEXT_FIELDS:
            if value := getattr(record, name, ""):
                entry[name] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


# --- Sentry ---------------------------------------------------------------------------------
_URL_PASSWORD = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@\s]+@", re.IGNORECASE)


def scrubber(secrets: Iterable[str]) -> Callable[[Any], Any]:
    """A function that copies a JSON-like value with every secret, token and URL password
    replaced, using the transports' `scrub` (JWTs and bearer tokens too)."""
    from reception.transports.base import REDACTED, scrub

    known = [secret for secret in secrets if secret and len(secret) >= 4]

    def clean(value: Any) -> Any:
        if isinstance(value, str):
            return _URL_PASSWORD.sub(rf"\g<scheme>{REDACTED}@", scrub(value, known))
        if isinstance(value, dict):
            return {key: clean(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [clean(item) for item in value]
        return value

    return clean


def sentry_init(dsn: str, *, environment: str, secrets: Iterable[str]) -> None:
    """Error reports to Sentry without personal data, local variables or any known secret."""
    import sentry_sdk

    clean = scrubber(secrets)
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        include_local_variables=False,
        max_request_body_size="never",
        before_send=lambda event, hint: clean(event),
        before_breadcrumb=lambda crumb, hint: clean(crumb),
    )
