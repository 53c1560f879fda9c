#!/bin/sh
# fuzz.sh - run libFuzzer targets for FUZZ_SECONDS each (default 60).
# Seeds: tests/fuzz/corpus/TARGET/ (kept in the repository); new inputs go
# to a temporary corpus, so the repository is never written to. Exits
# non-zero if any target found a crash, leak or sanitizer report; the
# reproducer is kept in build-fuzz/crashes/.
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
secs=${FUZZ_SECONDS:-60}
export LSAN_OPTIONS="suppressions=$here/tests/lsan.supp:print_suppressions=0"
fails=0
mkdir -p "$here/build-fuzz/crashes"
for bin in "$@"; do
	name=$(basename "$bin")
	seeds="$here/tests/fuzz/corpus/$name"
	work=$(mktemp -d /tmp/billrun-fuzz.XXXXXX)
	mkdir -p "$seeds"
	log="$work/log"
	if "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$here/build-fuzz/crashes/$name-" "$work" "$seeds" >"$log" 2>&1; then
		runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
		echo "fuzz $name: ok, ${runs:-?} inputs in ${secs}s"
	else
		echo "fuzz $name: FAILED" >&2
		tail -n 40 "$log" >&2
		fails=$((fails + 1))
	fi
	rm -rf "$work"
done
[ $fails = 0 ]
