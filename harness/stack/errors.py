"""Errors of the local stack, kept apart so every stack module can raise them without import cycles."""

from __future__ import annotations


class StackError(RuntimeError):
    """The stack could not be brought up or driven: says which binary or service, and where its log is."""


class StackTerminated(Exception):
    """Raised out of `async with LocalStack(...)` after SIGTERM turned into a clean stop.

    A distinct type so the run command can exit 143 (killed by SIGTERM) instead of reporting a crash.
    """
