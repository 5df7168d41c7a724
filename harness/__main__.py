"""`python -m harness` is `oversell`."""

from harness.cli import main

raise SystemExit(main())
