"""A cancellation nats-py can lose on the way: code that would run on after one looks for it itself.

On Python 3.11 `asyncio.wait_for` returns the inner result (or raises TimeoutError) when a cancellation arrives
in the same loop iteration as a message or its timeout (CPython gh-86296, fixed in 3.12). nats-py 2.16 waits
that way in `Subscription.next_msg`, so in `fetch`, requests (KV puts, JetStream API calls) and KV watches:
the task then runs on in state "cancelling", and a loop around those calls, or a wait after them, never ends.
Seen running the acceptance tests over NATS: U's consumer kept fetching, and a PA whose platform task failed
never stopped, its health task having lost the stop request in a KV put.
"""

from __future__ import annotations

import asyncio


def raise_if_cancelling() -> None:
    """Raise CancelledError if the current task was asked to stop and the request was lost inside nats-py."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
