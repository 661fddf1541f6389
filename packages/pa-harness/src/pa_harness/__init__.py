"""The PA's harness: reference U / Paper / OE, the demos, acceptance, soak, benchmarks, audit, a NATS launcher.

It imports the product (`platform_adapter`) and the simulator (`tradovate_sim`); neither imports it. Its
commands join the `pa` CLI through the `platform_adapter.commands` entry point (see `commands`).
"""
