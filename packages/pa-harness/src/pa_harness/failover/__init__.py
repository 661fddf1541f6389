"""PA instances as real processes (`pa run --transport nats://...`) around one NATS server and one simulator.

`NatsWorld` runs nats-server (provisioned), the simulator, and U and OE as NATS clients in the calling process;
`PaProcess` is one PA as a desk runs it, which the caller starts, kills (SIGKILL), stops (SIGTERM), pauses and
restarts. The end-to-end failover tests (tests/integration/test_failover.py) and the crash soak use them.
"""

from pa_harness.failover.instance import PaProcess, pa_command
from pa_harness.failover.world import NatsWorld, WorldConfig

__all__ = ["NatsWorld", "PaProcess", "WorldConfig", "pa_command"]
