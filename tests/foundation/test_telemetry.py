"""Logs are JSON lines, to stderr and a file, and never carry a configured secret."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

from platform_adapter.telemetry import REDACTED, SecretRedactor, configure_logging, get_logger

SECRET = "hunter2-secret"


def test_secrets_are_redacted_everywhere_in_a_log_line(tmp_path: Path) -> None:
    stream = io.StringIO()
    log_file = configure_logging(log_dir=tmp_path, secrets=[SECRET], stream=stream)
    log = get_logger("test")
    log.info("login", password=SECRET, nested={"k": [f"x{SECRET}y"]}, raw=SECRET.encode())
    try:
        raise RuntimeError(f"auth failed for {SECRET}")
    except RuntimeError:
        log.exception("boom")
    logging.getLogger("thirdparty").warning("library said %s", SECRET)
    assert log_file is not None
    for text in (stream.getvalue(), log_file.read_text()):
        assert SECRET not in text
        assert REDACTED in text
    lines = [json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{")]
    assert lines[0]["event"] == "login"
    assert lines[0]["nested"] == {"k": [f"x{REDACTED}y"]}


def test_short_values_are_not_treated_as_secrets() -> None:
    redactor = SecretRedactor(["", "ab"])
    assert redactor.redact_text("ab cd") == "ab cd"
