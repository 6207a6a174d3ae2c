"""Stage timings of a request (the ``timings_ms`` of an answer): how long each stage took."""

from __future__ import annotations

import time
from collections.abc import Generator
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def timed(timings: dict[str, float], stage: str, work):
    clock = time.perf_counter()
    try:
        return work()
    finally:
        timings[stage] = time.perf_counter() - clock


def timed_steps(timings: dict[str, float], stage: str, steps: Generator[T, None, R]) -> Generator[T, None, R]:
    """timed() for a stage that yields as it goes: only the time spent producing its items counts, not
    the time the consumer spends between them (a UI redrawing the draft)."""
    spent = 0.0
    try:
        while True:
            clock = time.perf_counter()
            try:
                item = next(steps)
            except StopIteration as done:
                return done.value
            finally:
                spent += time.perf_counter() - clock
            yield item
    finally:
        steps.close()  # a consumer that stops early ends the stage now, not when garbage collected
        timings[stage] = spent
