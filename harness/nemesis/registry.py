"""The catalogue of faults: the CLI, the schedule and `oversell nemeses` all read it.

A new fault is one module that defines `FAULTS` (a list of objects that implement
`harness.nemesis.fault.Fault`) and one line in `FAULT_MODULES`.
"""

from __future__ import annotations

import importlib

from harness.nemesis.fault import Fault

FAULT_MODULES = (
    "harness.nemesis.toxic_nemesis",
    "harness.nemesis.pause_nemesis",
    "harness.nemesis.kill_nemesis",
    "harness.nemesis.slow_dependency_nemesis",
    "harness.nemesis.pause_holder_nemesis",
    "harness.nemesis.service_crash_nemesis",
)

_faults: dict[str, Fault] = {}
_loaded: list[str] = []


def _load() -> dict[str, Fault]:
    if not _loaded:
        _loaded.append("yes")
        for module_name in FAULT_MODULES:
            module = importlib.import_module(module_name)
            for fault in module.FAULTS:
                register(fault)
    return _faults


def register(fault: Fault) -> None:
    """Add a fault (the registry's own modules, or a test's)."""
    if fault.name in _faults and _faults[fault.name] is not fault:
        raise ValueError(f"two faults are named {fault.name!r}")
    _faults[fault.name] = fault


def unregister(name: str) -> None:
    _faults.pop(name, None)


def faults() -> dict[str, Fault]:
    """Every fault by name, in catalogue order."""
    return dict(_load())


def fault_names() -> list[str]:
    return list(_load())


def get_fault(name: str) -> Fault:
    known = _load()
    if name not in known:
        raise ValueError(f"unknown nemesis {name!r}: choose from {', '.join(known)} or none")
    return known[name]


def param_names(fault: Fault) -> set[str]:
    return set(fault.defaults) | set(getattr(fault, "optional_params", ()))
