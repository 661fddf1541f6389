"""SIGHUP reloads the credentials and releases a refused login (ADR 0011): the operator's way to ask for a login."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest

from platform_adapter.composition import reload_on_sighup
from platform_adapter.config import Credentials, load_credentials
from platform_adapter.telemetry import redactor


class RecordingPlatform:
    """Stands in for `TradovatePlatform.retry_login`."""

    def __init__(self) -> None:
        self.reloaded: list[Credentials] = []
        self.called = asyncio.Event()

    def retry_login(self, credentials: Credentials) -> bool:
        self.reloaded.append(credentials)
        self.called.set()
        return True


async def test_sighup_reloads_the_credentials_and_asks_for_one_login(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PA_TRADOVATE_PASSWORD", "rotated-password-1")
    platform = RecordingPlatform()
    with reload_on_sighup(platform, load_credentials):  # type: ignore[arg-type]
        assert signal.getsignal(signal.SIGHUP) not in (signal.SIG_DFL, signal.SIG_IGN, None)
        os.kill(os.getpid(), signal.SIGHUP)
        await asyncio.wait_for(platform.called.wait(), timeout=5)
    assert signal.getsignal(signal.SIGHUP) == signal.SIG_DFL  # handed back on the way out
    (credentials,) = platform.reloaded
    assert credentials.password is not None
    assert credentials.password.get_secret_value() == "rotated-password-1"
    assert redactor().redact_text("x rotated-password-1 y") == "x [REDACTED] y"  # the new secret is masked in logs


async def test_a_reload_that_fails_keeps_the_latch_and_the_pa(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PA_TRADOVATE_PASWORD", "typo")  # refused: unknown credential variable
    platform = RecordingPlatform()
    attempted = asyncio.Event()

    def load() -> Credentials:
        attempted.set()
        return load_credentials()

    with reload_on_sighup(platform, load):  # type: ignore[arg-type]
        os.kill(os.getpid(), signal.SIGHUP)
        await asyncio.wait_for(attempted.wait(), timeout=5)
    assert platform.reloaded == []  # a bad reload is logged; the latch and the running PA stay as they were
