"""PA logging during a benchmark: as in production (INFO, JSON lines to a file), but off the terminal."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import structlog

from platform_adapter.telemetry import configure_logging


@contextlib.contextmanager
def pa_logging(log_dir: Path, level: str = "INFO") -> Iterator[Path | None]:
    """Send PA logs to `log_dir/pa.jsonl` (stderr to /dev/null) and restore the previous setup afterwards."""
    saved_structlog = structlog.get_config()
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    with open(os.devnull, "w", encoding="utf-8") as devnull:
        try:
            yield configure_logging(level=level, log_dir=log_dir, stream=devnull)
        finally:
            for handler in list(root.handlers):
                root.removeHandler(handler)
                handler.close()
            for handler in saved_handlers:
                root.addHandler(handler)
            root.setLevel(saved_level)
            structlog.configure(**saved_structlog)
