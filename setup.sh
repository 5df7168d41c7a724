#!/usr/bin/env bash
# Installs what oversell needs and is missing, then runs one of:
#   ./setup.sh audit [oversell run options]   a real audit on the embedded default stack
#   ./setup.sh test  [pytest options]         ruff and the whole test suite
#   ./setup.sh       (no argument)            only install
# What it installs, and only when missing:
#   apt:  redis-server, postgresql, libfaketime (Debian packages; needs root or sudo), and for
#         `test` chromium (the HTML report is loaded in headless Chromium by one test)
#   go:   Toxiproxy v2.12.0 server, built from the Go module proxy into .tools/bin/toxiproxy-server
#   pip:  this project and its test tools, into .venv/ (so .venv/bin/oversell works)
#   cargo: checkers/native (the compiled stock linearizability sweep), pyo3 from crates.io,
#         built with maturin (from PyPI) into .venv/; rebuilt when its sources change
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$PWD
say() { printf '[setup] %s\n' "$*" >&2; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else say "need root for: $*"; return 1; fi; }

cmd=${1:-}
[ $# -gt 0 ] && shift

apt_missing=()
command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ] || apt_missing+=(redis-server redis-tools)
{ ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; } || apt_missing+=(postgresql)
{ ls /usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1 /usr/lib/*/faketime/libfaketime.so.1 >/dev/null 2>&1; } || apt_missing+=(libfaketime faketime)
if [ "$cmd" = test ]; then command -v chromium >/dev/null 2>&1 || apt_missing+=(chromium); fi
if [ ${#apt_missing[@]} -gt 0 ]; then
  say "installing Debian packages: ${apt_missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${apt_missing[@]}" >/dev/null
  # Debian's postgresql package starts a cluster of its own on 5432; oversell runs its own clusters.
  as_root service postgresql stop >/dev/null 2>&1 || true
  as_root service redis-server stop >/dev/null 2>&1 || true
fi

mkdir -p .tools/bin
if [ ! -x .tools/bin/toxiproxy-server ]; then
  command -v go >/dev/null || { say "go is missing: needed to build Toxiproxy"; exit 1; }
  say "building Toxiproxy v2.12.0 (go install, module proxy)"
  GOBIN="$ROOT/.tools/gobin" GOFLAGS=-mod=mod go install github.com/Shopify/toxiproxy/v2/cmd/server@v2.12.0
  mv "$ROOT/.tools/gobin/server" .tools/bin/toxiproxy-server
  rmdir "$ROOT/.tools/gobin" 2>/dev/null || true
fi

if [ ! -x .venv/bin/python ]; then
  say "creating .venv"
  python3 -m venv .venv
fi
stamp=.venv/.oversell-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  say "installing oversell into .venv (pip)"
  .venv/bin/pip install -q --disable-pip-version-check -e '.[test]'
  touch "$stamp"
fi
native_stamp=.venv/.oversell-native-installed
if [ ! -f "$native_stamp" ] || [ -n "$(find checkers/native/src checkers/native/Cargo.toml checkers/native/Cargo.lock checkers/native/pyproject.toml -newer "$native_stamp" 2>/dev/null)" ]; then
  command -v cargo >/dev/null || { say "cargo is missing: needed to build checkers/native (the stock sweep)"; exit 1; }
  say "building checkers/native, the compiled stock sweep (cargo, maturin; about a minute the first time)"
  .venv/bin/pip install -q --disable-pip-version-check ./checkers/native
  touch "$native_stamp"
fi

case "$cmd" in
  "") say "done: .venv/bin/oversell is ready" ;;
  audit) exec .venv/bin/oversell run "$@" ;;
  test)
    .venv/bin/ruff check .
    say "Rust tests of checkers/native (cargo test: the sweep without Python, no pyo3)"
    cargo test -q --manifest-path checkers/native/Cargo.toml
    set +e
    .venv/bin/python -m pytest "$@"
    rc=$?
    set -e
    [ "$rc" = 5 ] && { say "pytest collected no tests"; exit 1; }
    exit "$rc" ;;
  *) say "unknown command: $cmd (use audit or test)"; exit 2 ;;
esac
