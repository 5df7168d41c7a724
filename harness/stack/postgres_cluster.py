"""A throwaway PostgreSQL cluster inside the run folder, durable settings, trust auth on loopback only.

Postgres refuses to run as root, so when the harness is root, initdb and postgres run as Debian's
`postgres` user: the cluster folder is chowned to it and every parent directory of the run folder
is made traversable (execute bit only, nothing becomes readable). As a normal user they run as
that user and nothing is chowned.
"""

from __future__ import annotations

import os
import pwd
import stat
import subprocess
from pathlib import Path

from harness.stack.errors import StackError

SUPERUSER = "oversell"
DATABASE = "oversell"
POSTGRES_OS_USER = "postgres"
UNIX_SOCKET_PATH_MAX = 107  # sun_path is 108 bytes with the trailing NUL
# Durable on purpose: a strategy must not look correct only because commits were not on disk.
SETTINGS: dict[str, str] = {
    "listen_addresses": "127.0.0.1",
    "fsync": "on",
    "synchronous_commit": "on",
    "full_page_writes": "on",
    "max_connections": "200",
    "logging_collector": "off",  # stderr, i.e. logs/postgres.log
}
PG_HBA = """\
# oversell: password-less trust, only on the run's own unix socket and on 127.0.0.1
local all all trust
host  all all 127.0.0.1/32 trust
"""


def os_user() -> str | None:
    """The OS user to run Postgres as: `postgres` when we are root, else ourselves (None)."""
    return POSTGRES_OS_USER if os.geteuid() == 0 else None


def pg_env() -> dict[str, str]:
    """A clean environment: PG* variables of the caller must not redirect the cluster."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "LANG": "C"}


def _can_traverse(st: os.stat_result, uid: int, gids: set[int]) -> bool:
    """Unix rules: the owner bits apply to the owner even when group/other bits would allow more."""
    if st.st_uid == uid:
        return bool(st.st_mode & stat.S_IXUSR)
    if st.st_gid in gids:
        return bool(st.st_mode & stat.S_IXGRP)
    return bool(st.st_mode & stat.S_IXOTH)


def make_parents_traversable(path: Path, user: str) -> list[str]:
    """Add the one execute bit `user` needs on each parent of `path` that it cannot traverse.

    Returns the directories changed (recorded in run.json). Needed e.g. under pytest's 0700 tmp dirs.
    """
    entry = pwd.getpwnam(user)
    gids = set(os.getgrouplist(user, entry.pw_gid))
    changed: list[str] = []
    for parent in path.resolve().parents:
        st = parent.stat()
        if _can_traverse(st, entry.pw_uid, gids):
            continue
        if st.st_uid == entry.pw_uid:
            bit = stat.S_IXUSR
        elif st.st_gid in gids:
            bit = stat.S_IXGRP
        else:
            bit = stat.S_IXOTH
        os.chmod(parent, stat.S_IMODE(st.st_mode) | bit)
        changed.append(
            f"{parent} +x ({oct(stat.S_IMODE(st.st_mode))} -> {oct(stat.S_IMODE(st.st_mode) | bit)})"
        )
    return changed


def socket_dir_setting(socket_dir: Path, port: int) -> str:
    """The socket dir, or "" (no unix socket) when the path would exceed the kernel's limit."""
    if len(str(socket_dir / f".s.PGSQL.{port}")) > UNIX_SOCKET_PATH_MAX:
        return ""
    return str(socket_dir)


def init_cluster(
    initdb: Path, data_dir: Path, socket_dir: Path, log_path: Path, timeout: float = 60.0
) -> list[str]:
    """initdb into `data_dir` (must not exist yet) and write pg_hba.conf. Returns the chmods made."""
    user = os_user()
    if data_dir.exists() and any(data_dir.iterdir()):
        raise StackError(f"{data_dir} already holds a Postgres cluster: use a fresh run folder")
    pg_root = data_dir.parent
    pg_root.mkdir(parents=True, exist_ok=True)
    socket_dir.mkdir(parents=True, exist_ok=True)
    changed: list[str] = []
    popen_user: dict[str, object] = {}
    if user is not None:
        try:
            entry = pwd.getpwnam(user)
        except KeyError as exc:
            raise StackError(
                f"running as root needs the {user!r} OS user for Postgres (created by Debian's postgresql "
                "package): install it with ./setup.sh"
            ) from exc
        for d in (pg_root, socket_dir):
            os.chown(d, entry.pw_uid, entry.pw_gid)
            os.chmod(d, 0o700)
        changed = make_parents_traversable(pg_root, user)
        popen_user = {
            "user": entry.pw_uid,
            "group": entry.pw_gid,
            "extra_groups": os.getgrouplist(user, entry.pw_gid),
        }
    argv = [
        str(initdb),
        "-D", str(data_dir),
        "-U", SUPERUSER,
        "-E", "UTF8",
        "--locale=C",
        "--auth-local=trust",
        "--auth-host=trust",
        "--no-sync",  # the cluster is new and disposable; the server itself runs with fsync=on
    ]  # fmt: skip
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        try:
            done = subprocess.run(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=pg_env(),
                cwd=pg_root,
                timeout=timeout,
                check=False,
                **popen_user,  # type: ignore[arg-type]
            )
        except FileNotFoundError as exc:
            raise StackError(f"initdb not found at {initdb}: install it with ./setup.sh") from exc
        except subprocess.TimeoutExpired as exc:
            raise StackError(f"initdb did not finish within {timeout:g}s; log: {log_path}") from exc
    if done.returncode != 0:
        raise StackError(f"initdb failed (exit {done.returncode}); log: {log_path}")
    hba = data_dir / "pg_hba.conf"
    hba.write_text(PG_HBA)
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chown(hba, entry.pw_uid, entry.pw_gid)
    os.chmod(hba, 0o600)
    return changed


def postgres_argv(postgres: Path, data_dir: Path, port: int, socket_dirs: str) -> list[str]:
    """Settings on the command line, so the cluster's own config files stay initdb's defaults."""
    argv = [
        str(postgres),
        "-D",
        str(data_dir),
        "-c",
        f"port={port}",
        "-c",
        f"unix_socket_directories={socket_dirs}",
    ]
    for key, value in SETTINGS.items():
        argv += ["-c", f"{key}={value}"]
    return argv
