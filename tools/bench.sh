#!/bin/sh
# bench.sh - `make bench`: every benchmark, each printing its own figures.
#   make bench                        defaults (2,000,000 usage records)
#   make bench BENCH_ARGS="500000"    another data size for the data path
# Speed targets live here, never in timed tests.
set -eu
cd "$(dirname "$0")/.."
rows=${1:-2000000}
echo "== billrun benchmarks on $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(date -u +%Y-%m-%dT%H:%MZ)"
if [ -f tools/bench_ingest.sh ]; then
	echo "== data path: ingest (+aggregate, rate, reconcile) of $rows usage records"
	sh tools/bench_ingest.sh "$rows"
fi
echo "== scheduler: 1,000 exec steps"
sh tools/bench_scheduler.sh 1000
if [ -f tools/bench_month_end.sh ]; then
	echo "== month-end close"
	sh tools/bench_month_end.sh
fi
