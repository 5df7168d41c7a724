"""Pause Python's cyclic garbage collector around work on millions of small objects.

A history of 1M ops is some 10M objects (events, operations, their dicts) and no reference
cycles. Every full collection walks all of them, and building the next million objects triggers
one after another: on a 1M-op check that was seconds of pure traversal. Nothing the checkers build
forms cycles, so pausing the collector loses nothing; it is re-enabled (if it was on) after.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
