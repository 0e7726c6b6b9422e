"""Jobs for the worker tests: module-level (the child imports them by name) and light
(this module imports nothing heavy, so a job's time is its own)."""

from __future__ import annotations

import time


def sleeper(seconds: float, *, progress=None) -> str:
    time.sleep(seconds)
    return "woke"


def interval(seconds: float, *, progress=None) -> tuple[float, float]:
    began = time.time()
    time.sleep(seconds)
    return began, time.time()


def reporter(n: int, *, progress=None) -> int:
    for done in range(1, n + 1):
        progress(done, n)
    return n
