#!/usr/bin/env bash
# Build the Porcupine program and run every benchmark; figures go to stdout and bench/out/.
# Usage: bench/run_all.sh [--quick]   (--quick: scaling up to 100k ops only)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
SIZES=10000,100000,1000000
if [[ "${1:-}" == "--quick" ]]; then SIZES=10000,100000; fi
mkdir -p bench/out

echo "== machine: $(nproc) CPUs, $(free -g | awk '/^Mem:/{print $2}') GiB RAM," \
  "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(date -u +%Y-%m-%dT%H:%MZ)"
echo "== load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

echo "== building bench/porcupine/porcupine-bench ($(go version | cut -d' ' -f3))"
(cd bench/porcupine && go build -o porcupine-bench .)

echo "== compare: oversell vs Porcupine on Porcupine's etcd and kv histories"
status=0
"$PY" bench/compare_porcupine.py --json bench/out/compare.json | tee bench/out/compare.txt || status=1

echo "== scaling: generated flash-sale histories ($SIZES ops)"
"$PY" bench/scaling.py --sizes "$SIZES" --json bench/out/scaling.json | tee bench/out/scaling.txt

echo "== scaling at 5 processes (low concurrency, where Porcupine can still decide small histories)"
"$PY" bench/scaling.py --sizes "$SIZES" --processes 5 --json bench/out/scaling-p5.json | tee bench/out/scaling-p5.txt

echo "== audit throughput: oversell run against redis-lua vs the raw service vs redis-benchmark EVALSHA"
"$PY" bench/audit_throughput.py --json bench/out/audit_throughput.json | tee bench/out/audit_throughput.txt || status=1
echo "== load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
if [[ $status != 0 ]]; then echo "== a benchmark failed or verdicts disagree (see above)"; fi
exit $status
