"""Structured logging: one JSON object per line to stderr and to `<log_dir>/pa.jsonl`, secrets redacted.

The redactor replaces every configured secret value wherever it appears in an event (keys, values,
nested containers, exception text), so a secret that leaks into a message or an error is still caught.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, MutableMapping
from pathlib import Path
from typing import Any, TextIO

import structlog

REDACTED = "[REDACTED]"


class SecretRedactor:
    """A structlog processor that masks known secret values anywhere in the event dict."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: tuple[str, ...] = ()
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        """Register more secret values (empty and very short values are ignored: they'd mask everything)."""
        merged = set(self._secrets) | {s for s in secrets if len(s) >= 4}
        self._secrets = tuple(sorted(merged, key=len, reverse=True))

    def redact_text(self, text: str) -> str:
        """Mask every secret value in `text`."""
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text

    def _walk(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.redact_text(value)
        if isinstance(value, dict):
            return {self._walk(k): self._walk(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(self._walk(v) for v in value)
        if isinstance(value, bytes | bytearray):
            return self.redact_text(bytes(value).decode("utf-8", "replace"))
        if isinstance(value, BaseException):
            return self.redact_text(f"{type(value).__name__}: {value}")
        return value

    def __call__(self, logger: Any, method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        if not self._secrets:
            return event
        return {k: self._walk(v) for k, v in event.items()}


_redactor = SecretRedactor()


def redactor() -> SecretRedactor:
    """The process-wide redactor used by every logger configured here."""
    return _redactor


class _RedactingFormatter(logging.Formatter):
    """Final guard for stdlib records (e.g. library warnings) on their way to a handler."""

    def format(self, record: logging.LogRecord) -> str:
        return _redactor.redact_text(super().format(record))


def configure_logging(
    *, level: str = "INFO", log_dir: Path | None = None, secrets: Iterable[str] = (), stream: TextIO | None = None
) -> Path | None:
    """Route structlog and stdlib logging to JSON lines on stderr and, if `log_dir`, to `log_dir/pa.jsonl`."""
    _redactor.add(secrets)
    handlers: list[logging.Handler] = [logging.StreamHandler(stream or sys.stderr)]
    log_file: Path | None = None
    if log_dir is not None:
        log_dir.mkdir(parents=True, exist_ok=True)
        log_file = log_dir / "pa.jsonl"
        handlers.append(logging.FileHandler(log_file, encoding="utf-8"))
    formatter = _RedactingFormatter("%(message)s")
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
        old.close()
    for handler in handlers:
        handler.setFormatter(formatter)
        root.addHandler(handler)
    root.setLevel(level.upper())
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            _redactor,
            structlog.processors.JSONRenderer(),
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        cache_logger_on_first_use=False,
    )
    return log_file


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    """A structured logger for `name`."""
    logger: structlog.stdlib.BoundLogger = structlog.get_logger(name)
    return logger
