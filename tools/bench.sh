#!/bin/sh
# bench.sh - `make bench`: every benchmark, each printing its own figures.
#   make bench                        the data path at 2,000,000 and 20,000,000 records
#   make bench BENCH_ARGS="200000"    a quick look: 200,000 and 2,000,000
#   BENCH_GROWTH=0                    only the given size, not also ten times it
#   BENCH_DATA_ONLY=1                 only the data path (not the scheduler, month-end)
#   BENCH_WAL_LEVELS="minimal"        the wal_level settings to run (default
#                                     "minimal replica": the embedded cluster's, then a
#                                     server with standbys); fsync is on in both
# The data path (tools/bench_ingest.sh) runs at the given size and at ten
# times it, to show how cost grows; the larger run is the one the speed
# targets are printed as "target: ... reached/missed", never failing the
# bench (nightly within 2.0x the bare \copy, hand-written SQL at least 3x
# the nightly, ten times the records in at most 10.5x the time, peak RSS
# under 256 MB). Speed targets live here, never in timed tests.
set -eu
cd "$(dirname "$0")/.."
rows=${1:-2000000}
echo "== billrun benchmarks on $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(date -u +%Y-%m-%dT%H:%MZ)"
if [ -f tools/bench_ingest.sh ]; then
	sizes=$rows
	[ "${BENCH_GROWTH:-1}" = 1 ] && sizes="$rows $((rows * 10))"
	out=$(mktemp /tmp/billrun-bench.XXXXXX)
	trap 'rm -f "$out" "$out.one"' EXIT INT TERM
	for wal in ${BENCH_WAL_LEVELS:-minimal replica}; do
	: >"$out"
	for n in $sizes; do
		echo "== data path (fsync on, wal_level $wal): ingest, then ingest+aggregate+rate+reconcile, of $n usage records"
		BENCH_WAL_LEVEL=$wal sh tools/bench_ingest.sh "$n" >"$out.one" || { cat "$out.one"; exit 1; }
		grep -v '^bench_data ' "$out.one" || true
		cat "$out.one" >>"$out"
	done
	if [ "${BENCH_GROWTH:-1}" = 1 ]; then
		# the growth targets: at ten times the size, at most 10.5x the time, peak RSS under 256 MB
		awk '/^bench_data / { n[++k] = $2; p[k] = $5; r[k] = $7 }
		     END { if (k == 2 && p[1] > 0) {
		             printf "    target: nightly at %d records at most 10.5x the time of %d: x%.1f: %s\n", n[2], n[1], p[2] / p[1], p[2] <= 10.5 * p[1] ? "reached" : "missed"
		             printf "    target: peak RSS under 256 MB at %d records: %d MB: %s\n", n[2], r[2] / 1024, r[2] < 256 * 1024 ? "reached" : "missed" } }' "$out"
		# "bench_data N bare ingest nightly hand" per size: the ratios of the larger to the smaller
		awk '/^bench_data / { n[++k] = $2; for (i = 3; i <= 6; i++) v[k, i] = $i }
		     END { if (k == 2 && v[1, 5] > 0 && v[1, 6] > 0)
		             printf "== growth from %d to %d records (x%.0f): bare \\copy x%.1f, ingest x%.1f, billrun nightly x%.1f, hand-written SQL x%.1f\n",
		               n[1], n[2], n[2] / n[1], v[2, 3] / v[1, 3], v[2, 4] / v[1, 4], v[2, 5] / v[1, 5], v[2, 6] / v[1, 6] }' "$out"
	fi
	done
fi
[ "${BENCH_DATA_ONLY:-0}" = 1 ] && exit 0
echo "== scheduler: 1,000 exec steps"
sh tools/bench_scheduler.sh 1000
if [ -f tools/bench_month_end.sh ]; then
	echo "== month-end close"
	sh tools/bench_month_end.sh
fi
