"""`pytest --sim-variants SPEC`: run the integration tests against a simulator with that variant set.

The option sets `PA_SIM_VARIANTS`, which the integration harness reads (tests/integration/harness.py); the header
of the run names the variant set, so a red run says what it ran under.
"""

from __future__ import annotations

import os

import pytest

from pa_harness.acceptance.variants import VARIANTS_ENV, from_environment
from tradovate_sim.variants import VariantError, Variants


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register `--sim-variants`."""
    parser.addoption(
        "--sim-variants",
        default=None,
        help="simulator variant set for the integration tests, e.g. 'evidence' or "
        "'chart_history_id=historical+sync_split=multi_same_id' (sets PA_SIM_VARIANTS)",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Check the spec and hand it to the harness through the environment."""
    spec = config.getoption("--sim-variants")
    if spec is None:
        return
    try:
        os.environ[VARIANTS_ENV] = Variants.parse(spec).label
    except VariantError as error:
        raise pytest.UsageError(f"--sim-variants: {error}") from None


def pytest_report_header(config: pytest.Config) -> str:
    """Name the simulator variant set the integration tests run under (shown unless -q)."""
    return _variants_line()


def pytest_sessionstart(session: pytest.Session) -> None:
    """Name a chosen variant set even under -q (the project's default), so a red run says what it ran under."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if os.environ.get(VARIANTS_ENV) and reporter is not None and session.config.get_verbosity() < 0:
        reporter.write_line(_variants_line())


def _variants_line() -> str:
    try:
        label = from_environment().label
    except VariantError as error:
        return f"simulator variants: invalid {VARIANTS_ENV}: {error}"
    origin = f"from {VARIANTS_ENV}" if os.environ.get(VARIANTS_ENV) else "the effective defaults"
    return f"simulator variants: {label} ({origin})"
