"""Where the stack's server binaries are, and a clear error naming the missing ones.

Installed by ./setup.sh: Debian's redis-server and PostgreSQL (version directory found at run
time, the newest wins), and Toxiproxy built into the repository's .tools/bin.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from harness.stack.errors import StackError

INSTALL_HINT = "install it with ./setup.sh"
REPO_ROOT = Path(__file__).resolve().parents[2]


def _version_key(bindir: Path) -> tuple[int, ...]:
    """/usr/lib/postgresql/15/bin -> (15,); so 15 sorts before 16 (and 9.6 before 10)."""
    return tuple(int(n) for n in re.findall(r"\d+", bindir.parent.name)) or (0,)


def find_postgres_bindir() -> Path | None:
    """Debian's newest /usr/lib/postgresql/<version>/bin, else initdb on PATH, else `pg_config --bindir`."""
    candidates = [
        d
        for d in Path("/usr/lib/postgresql").glob("*/bin")
        if (d / "initdb").exists() and (d / "postgres").exists()
    ]
    if candidates:
        return max(candidates, key=_version_key)
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=5, check=True
            )
        except (OSError, subprocess.SubprocessError):
            return None
        bindir = Path(out.stdout.strip())
        if (bindir / "initdb").exists():
            return bindir
    return None


@dataclass(frozen=True, slots=True)
class StackBinaries:
    """Paths of the servers the local stack runs. Build it with `discover()`, or by hand in tests."""

    redis_server: Path
    initdb: Path
    postgres: Path
    toxiproxy_server: Path

    @classmethod
    def discover(cls, repo_root: Path = REPO_ROOT) -> StackBinaries:
        """Best guess for each; a missing one keeps its expected path so `check()` can name it."""
        redis = shutil.which("redis-server") or "/usr/bin/redis-server"
        pg_bindir = find_postgres_bindir() or Path("/usr/lib/postgresql/<version>/bin")
        toxiproxy = repo_root / ".tools/bin/toxiproxy-server"
        if not toxiproxy.exists():
            toxiproxy = Path(shutil.which("toxiproxy-server") or toxiproxy)
        return cls(
            redis_server=Path(redis),
            initdb=pg_bindir / "initdb",
            postgres=pg_bindir / "postgres",
            toxiproxy_server=toxiproxy,
        )

    def check(self) -> None:
        """StackError naming every missing or non-executable binary, with the install hint."""
        missing = [
            f"{what} not found at {path}"
            for what, path in (
                ("redis-server", self.redis_server),
                ("initdb (PostgreSQL)", self.initdb),
                ("postgres (PostgreSQL)", self.postgres),
                ("toxiproxy-server", self.toxiproxy_server),
            )
            if not (path.is_file() and shutil.which(str(path)))
        ]
        if missing:
            raise StackError("; ".join(missing) + f": {INSTALL_HINT}")

    def describe(self) -> dict[str, str]:
        return {
            "redis_server": str(self.redis_server),
            "initdb": str(self.initdb),
            "postgres": str(self.postgres),
            "toxiproxy_server": str(self.toxiproxy_server),
        }
