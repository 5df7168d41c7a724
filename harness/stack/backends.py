"""The registry of stack backends: `--backend NAME` picks one; each makes a `Stack` from a request.

A new backend is one module under `harness/stack/` and one line here; nothing outside this
folder changes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from harness.stack.local_stack import LocalStack
from harness.stack.stack import Stack, StackRequest


@dataclass(frozen=True, slots=True)
class Backend:
    name: str
    description: str
    make: Callable[[StackRequest], Stack]


BACKENDS: dict[str, Backend] = {
    b.name: b
    for b in (
        Backend("local", "real processes on 127.0.0.1, in the run folder", LocalStack.from_request),
    )
}


class UnknownBackend(ValueError):
    """No backend of that name; the message lists the known ones."""


def backend(name: str) -> Backend:
    if name not in BACKENDS:
        raise UnknownBackend(f"unknown backend {name!r}: choose from {', '.join(BACKENDS)}")
    return BACKENDS[name]


def make_stack(name: str, request: StackRequest) -> Stack:
    return backend(name).make(request)
