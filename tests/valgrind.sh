#!/bin/sh
# valgrind.sh - what BILLRUN_BIN points at under `make test VALGRIND=1`:
# the real binary ($TEST_VALGRIND_BIN) under memcheck with the options
# tests/run.sh chose ($TEST_VALGRIND_OPTS), one log per process (forked step
# children included) in $TEST_VALGRIND_LOGS. `exec` keeps the pid, so tests
# that signal or wait for billrun reach the program itself.
# shellcheck disable=SC2086
exec valgrind $TEST_VALGRIND_OPTS --log-file="$TEST_VALGRIND_LOGS/billrun.%p.log" "$TEST_VALGRIND_BIN" "$@"
