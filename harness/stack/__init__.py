"""The run side's local stack: real Redis, Postgres, Toxiproxy and candidate processes on loopback."""

from harness.stack.errors import StackError, StackTerminated
from harness.stack.local_stack import InstanceInfo, LocalStack
from harness.stack.processes import ManagedProcess, reap_stale
from harness.stack.toxiproxy_client import (
    Conflict,
    NotFound,
    Proxy,
    Toxic,
    ToxiproxyClient,
    ToxiproxyError,
    ToxiproxyTimeout,
    ToxiproxyUnavailable,
)

__all__ = [
    "Conflict",
    "InstanceInfo",
    "LocalStack",
    "ManagedProcess",
    "NotFound",
    "Proxy",
    "StackError",
    "StackTerminated",
    "Toxic",
    "ToxiproxyClient",
    "ToxiproxyError",
    "ToxiproxyTimeout",
    "ToxiproxyUnavailable",
    "reap_stale",
]
