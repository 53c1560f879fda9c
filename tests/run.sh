#!/bin/sh
# run.sh - the test driver behind `make test`.
# Runs the unit test programs, then (after `--`) the integration test
# programs against TEST_PG_DSN, or against a cluster it starts itself,
# then (after a second `--`) a short run of each fuzz target, then (with
# RUN_FAULTS=1) a small profile of the fault tests.
# Prints each program's cmocka summary and a closing "N passed, N failed".
# VALGRIND=1 runs each program, and every billrun process the integration
# tests start, under valgrind's memcheck (see "Valgrind" below).
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
vglogs=""
cleanup() {
	[ -n "$pgdir" ] && sh "$here/pg.sh" stop "$pgdir"
	[ -n "$vglogs" ] && rmdir "$vglogs" 2>/dev/null
	return 0
}
trap cleanup EXIT INT TERM

run_one() {
	out=$(mktemp)
	started=$(date +%s)
	if [ "${VALGRIND:-0}" = 1 ]; then
		TEST_VALGRIND_LOGS=$(mktemp -d "$vglogs/$(basename "$1").XXXXXX")
		export TEST_VALGRIND_LOGS
		# shellcheck disable=SC2086
		valgrind $TEST_VALGRIND_OPTS --log-file="$TEST_VALGRIND_LOGS/test.%p.log" "$1" >"$out" 2>&1
	else
		"$1" >"$out" 2>&1
	fi
	rc=$?
	cat "$out"
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$out" | awk '{s+=$1} END {print s+0}')
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$out" | awk '{s+=$1} END {print s+0}')
	rm -f "$out"
	if [ $rc -ne 0 ] && [ "$f" = 0 ]; then
		echo "run.sh: $1 exited $rc" >&2
		[ $rc = 97 ] && [ "${VALGRIND:-0}" = 1 ] && echo "run.sh: (97: valgrind found errors, see below)" >&2
		f=1
	fi
	if [ "${VALGRIND:-0}" = 1 ]; then
		# A process that reported anything fails the program, whatever its
		# exit status (background runners, forked steps, workers included).
		bad=$(grep -l 'ERROR SUMMARY: [1-9]' "$TEST_VALGRIND_LOGS"/*.log 2>/dev/null)
		if [ -n "$bad" ]; then
			for l in $bad; do
				echo "run.sh: valgrind reported errors in $(sed -n 's/^==[0-9]*== Command: //p' "$l" | head -n 1) ($l):" >&2
				cat "$l" >&2
			done
			[ "$f" = 0 ] && f=1
		else
			rm -rf "$TEST_VALGRIND_LOGS"
		fi
		echo "run.sh: $(basename "$1") took $(($(date +%s) - started)) s under valgrind" >&2
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
# Valgrind: memcheck. A report (an invalid access, a use of an
# uninitialised value, a definite or indirect leak) makes valgrind exit 97
# (a code neither billrun nor the tests use) and, read from the
# per-process logs, fails the program. Reports inside
# third-party libraries are suppressed in tests/valgrind.supp (each one
# says why). billrun runs through tests/valgrind.sh, so wherever a test
# starts it (directly, from sh, in the background) it is checked too; the
# programs it runs itself (sh for exec steps, psql, pg_ctl) are not traced.
# TEST_TIME_SCALE stretches the tests' own waits (see support.h).
if [ "${VALGRIND:-0}" = 1 ]; then
	command -v valgrind >/dev/null || { echo "run.sh: VALGRIND=1 needs valgrind (make deps)" >&2; exit 69; }
	vglogs=$(mktemp -d /tmp/billrun-valgrind.XXXXXX)
	export TEST_VALGRIND_OPTS="--tool=memcheck --leak-check=full --show-leak-kinds=definite,indirect \
--errors-for-leak-kinds=definite,indirect --error-exitcode=97 --num-callers=30 \
--suppressions=$here/valgrind.supp"
	export TEST_VALGRIND_BIN="$BILLRUN_BIN"
	export BILLRUN_BIN="$here/valgrind.sh"
	export TEST_TIME_SCALE=${TEST_TIME_SCALE:-30}
	echo "run.sh: under valgrind (memcheck); logs of failing programs kept in $vglogs" >&2
fi
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
# RUN_FAULTS=1 (make test): a small profile of `make test-faults` (10
# kills on 100 accounts, 1,000 records a day, the catch-up month but not
# the every-night one; about a minute) counts as one test. The full one (50 kills) is `make test-faults`.
if [ "${RUN_FAULTS:-0}" = 1 ]; then
	if FAULT_KILLS=${FAULT_KILLS:-10} FAULT_ACCOUNTS=${FAULT_ACCOUNTS:-100} FAULT_RECORDS=${FAULT_RECORDS:-1000} \
		FAULT_NIGHTLY=${FAULT_NIGHTLY:-0} \
		sh "$here/faults/run.sh"; then
		passed=$((passed + 1))
	else
		echo "run.sh: tests/faults/run.sh failed (FAULT_SEED above replays it)" >&2
		failed=$((failed + 1))
	fi
fi
echo "$passed passed, $failed failed"
[ $failed = 0 ]
