"""`oversell` command line. Exit codes follow Jepsen's CLI: 0 valid, 1 invalid, 2 unknown, 254 bad input."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import NoReturn

from harness.exit_codes import EXIT_BAD_INPUT, EXIT_INTERRUPTED, UsageError


class _Parser(argparse.ArgumentParser):
    """argparse exits 2 on usage errors, which would read as 'unknown'; we use 254."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_BAD_INPUT)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="oversell", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    from harness.check_command import add_check_arguments

    add_check_arguments(sub.add_parser("check", help="check recorded histories"))
    from harness.run_command import add_nemeses_arguments, add_rerun_arguments, add_run_arguments

    add_run_arguments(sub.add_parser("run", help="run an audit against a strategy"))
    add_rerun_arguments(sub.add_parser("rerun", help="rerun a recorded run folder"))
    add_nemeses_arguments(sub.add_parser("nemeses", help="list the faults --nemesis takes"))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except UsageError as e:
        print(f"oversell: error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("oversell: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    raise SystemExit(main())
