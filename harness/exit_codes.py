"""Exit codes shared by every command, as Jepsen's CLI: 0 valid, 1 invalid, 2 unknown, 254 bad input."""

from __future__ import annotations

EXIT_VALID = 0
EXIT_INVALID = 1
EXIT_UNKNOWN = 2
EXIT_BAD_INPUT = 254
EXIT_RUN_ERROR = 255  # the run itself could not be carried out (a service did not come up)
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """Bad command-line usage or input; reported as one line and exit 254."""
