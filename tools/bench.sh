#!/bin/sh
# bench.sh - `make bench`: every benchmark, each printing its own figures.
#   make bench                        the data path at 200,000 and 2,000,000 records
#   make bench BENCH_ARGS="500000"    the data path at 500,000 and 5,000,000
#   BENCH_GROWTH=0                    only the given size, not also ten times it
#   BENCH_DATA_ONLY=1                 only the data path (not the scheduler, month-end)
# The data path (tools/bench_ingest.sh) runs at the given size and at ten
# times it, to show how cost grows; the larger run is the one the speed
# target is about (ingest+aggregate+rate+reconcile within 1.5x the bare
# \copy, peak RSS under 256 MB). Speed targets live here, never in timed
# tests.
set -eu
cd "$(dirname "$0")/.."
rows=${1:-200000}
echo "== billrun benchmarks on $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(date -u +%Y-%m-%dT%H:%MZ)"
if [ -f tools/bench_ingest.sh ]; then
	sizes=$rows
	[ "${BENCH_GROWTH:-1}" = 1 ] && sizes="$rows $((rows * 10))"
	out=$(mktemp /tmp/billrun-bench.XXXXXX)
	trap 'rm -f "$out" "$out.one"' EXIT INT TERM
	for n in $sizes; do
		echo "== data path: ingest, then ingest+aggregate+rate+reconcile, of $n usage records"
		sh tools/bench_ingest.sh "$n" >"$out.one" || { cat "$out.one"; exit 1; }
		grep -v '^bench_data ' "$out.one" || true
		cat "$out.one" >>"$out"
	done
	if [ "${BENCH_GROWTH:-1}" = 1 ]; then
		# "bench_data N bare ingest nightly hand" per size: the ratios of the larger to the smaller
		awk '/^bench_data / { n[++k] = $2; for (i = 3; i <= 6; i++) v[k, i] = $i }
		     END { if (k == 2 && v[1, 5] > 0 && v[1, 6] > 0)
		             printf "== growth from %d to %d records (x%.0f): bare \\copy x%.1f, ingest x%.1f, billrun nightly x%.1f, hand-written SQL x%.1f\n",
		               n[1], n[2], n[2] / n[1], v[2, 3] / v[1, 3], v[2, 4] / v[1, 4], v[2, 5] / v[1, 5], v[2, 6] / v[1, 6] }' "$out"
	fi
fi
[ "${BENCH_DATA_ONLY:-0}" = 1 ] && exit 0
echo "== scheduler: 1,000 exec steps"
sh tools/bench_scheduler.sh 1000
if [ -f tools/bench_month_end.sh ]; then
	echo "== month-end close"
	sh tools/bench_month_end.sh
fi
