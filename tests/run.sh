#!/bin/sh
# run.sh - the test driver behind `make test`.
# Runs the unit test programs, then (after `--`) the integration test
# programs against TEST_PG_DSN, or against a cluster it starts itself,
# then (after a second `--`) a short run of each fuzz target.
# Prints each program's cmocka summary and a closing "N passed, N failed".
set -u
here=$(cd "$(dirname "$0")" && pwd)
unit="" integ="" fuzz="" seen=0
for a in "$@"; do
	if [ "$a" = "--" ]; then seen=$((seen + 1)); continue; fi
	case $seen in
	0) unit="$unit $a" ;;
	1) integ="$integ $a" ;;
	*) fuzz="$fuzz $a" ;;
	esac
done
passed=0 failed=0 pgdir=""
cleanup() { [ -n "$pgdir" ] && sh "$here/pg.sh" stop "$pgdir"; }
trap cleanup EXIT INT TERM

run_one() {
	out=$(mktemp)
	"$1" >"$out" 2>&1
	rc=$?
	cat "$out"
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$out" | awk '{s+=$1} END {print s+0}')
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$out" | awk '{s+=$1} END {print s+0}')
	rm -f "$out"
	if [ $rc -ne 0 ] && [ "$f" = 0 ]; then
		echo "run.sh: $1 exited $rc" >&2
		f=1
	fi
	passed=$((passed + p)); failed=$((failed + f))
}

export BILLRUN_SRC="$(cd "$here/.." && pwd)"
# Sanitizer builds: known leaks inside libraries are suppressed (see the file).
export LSAN_OPTIONS="suppressions=$here/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
case ${BUILD:-build} in
/*) export BILLRUN_BIN="$BUILD/billrun" ;;
*) export BILLRUN_BIN="$BILLRUN_SRC/${BUILD:-build}/billrun" ;;
esac
for t in $unit; do run_one "$t"; done
if [ -n "$integ" ]; then
	if [ -z "${TEST_PG_DSN:-}" ]; then
		pgdir=$(mktemp -d /tmp/billrun-testpg.XXXXXX)
		TEST_PG_DSN=$(sh "$here/pg.sh" start "$pgdir") || exit 69
		export TEST_PG_DSN
	fi
	for t in $integ; do run_one "$t"; done
fi
# A short run of each fuzz target (FUZZ_SECONDS each) counts as one test.
for t in $fuzz; do
	if FUZZ_SECONDS=${FUZZ_SECONDS:-5} sh "$here/../tools/fuzz.sh" "$t"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
	fi
done
echo "$passed passed, $failed failed"
[ $failed = 0 ]
