"""`python -m pa_harness.acceptance ARGS`: `pa acceptance ARGS` (how `--variants` runs each variant set)."""

import sys

from platform_adapter.cli import app

app(args=["acceptance", *sys.argv[1:]], prog_name="pa")
