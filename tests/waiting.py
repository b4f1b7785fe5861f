"""wait_until: poll a condition until it holds. The bound only keeps a broken test from hanging the
suite; it is generous on purpose (a busy machine is slow, not broken) and says nothing about speed."""
from __future__ import annotations

import time

HANG_GUARD_SECONDS = 600.0


def wait_until(predicate, timeout: float = HANG_GUARD_SECONDS, step: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"not reached in {timeout:g} s"
        time.sleep(step)
