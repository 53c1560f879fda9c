#!/bin/sh
# bench_ingest.sh - ingest speed against a bare psql \copy of the same file.
#
#   sh tools/bench_ingest.sh [RECORDS [ACCOUNTS]]     (default 2000000 10000)
#
# Starts a throwaway cluster (tests/pg.sh), generates RECORDS usage-csv
# records over ACCOUNTS known accounts (tools/gen_usage.c, deterministic),
# then times, on the same cluster:
#   1. a bare `psql \copy` of the file into an unlogged table without indexes;
#   2. billrun's ingest of the same file (tools/bench_ingest.c calls the job);
#   3. ingest+aggregate+rate+reconcile, for the steps that exist, on a fresh
#      database (BENCH_PIPELINE=0 skips it; it is stopped after
#      BENCH_PIPELINE_TIMEOUT seconds, default 900; BENCH_ACCOUNT_INDEX=1
#      first adds a b-tree on usage (account_ext, event_time), which the
#      aggregate step's per-account queries want, to show its cost).
# Prints the times, their ratios to the bare \copy, records per second and
# the ingest process's peak RSS (getrusage; also /usr/bin/time when there).
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
N=${1:-2000000}
A=${2:-10000}
BUILD=${BUILD:-build}
cd "$here"
make -s --no-print-directory "$BUILD/tools/gen_usage" "$BUILD/tools/bench_ingest" >/dev/null
export PGOPTIONS="-c client_min_messages=warning"

work=$(mktemp -d /tmp/billrun-bench-ingest.XXXXXX)
pgdir=$(mktemp -d /tmp/billrun-bench-pg.XXXXXX)
cleanup() { sh "$here/tests/pg.sh" stop "$pgdir" >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT INT TERM
DSN=$(sh "$here/tests/pg.sh" start "$pgdir")
psql_q() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }
now() { date +%s.%N; }

mkdir -p "$work/spool" "$work/empty"
"$here/$BUILD/tools/gen_usage" -n "$N" -a "$A" "$work/usage-bench.csv" "$work/accounts.csv"
size=$(stat -c %s "$work/usage-bench.csv")
cat >"$work/rates.conf" <<'RULES'
meters = (
  { name = "api_calls"; aggregation = "sum"; unit = "call"; },
  { name = "voice_seconds"; aggregation = "sum"; round_increment = "60"; unit = "s"; }
);
plans = (
  { id = "bench"; name = "Bench"; currency = "EUR"; effective_from = "2024-01-01";
    charges = ( { meter = "api_calls"; model = "per_unit"; price = "0.001"; },
                { meter = "voice_seconds"; model = "per_unit"; price = "0.0002"; } ); }
);
RULES

# 1. bare \copy
psql_q "$DSN" -c "CREATE UNLOGGED TABLE bare_copy (event_id text, account_id text, meter text, ts text, quantity text)"
psql_q "$DSN" -c "CHECKPOINT"
t0=$(now)
psql_q "$DSN" -c "\\copy bare_copy FROM '$work/usage-bench.csv' WITH (FORMAT csv, HEADER true)"
t1=$(now)
bare=$(echo "$t1 - $t0" | bc)
psql_q "$DSN" -c "DROP TABLE bare_copy" -c "CHECKPOINT"

# A database with the schema and the accounts, then the file in its spool.
setup_db() { # NAME
	psql_q "$DSN" -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1"
	db="$DSN dbname=$1"
	cat >"$work/$1.conf" <<CONF
spool = { dir = "$work/empty"; };
sources = ( { name = "bench"; format = "usage-csv"; pattern = "usage-*.csv"; } );
CONF
	"$here/$BUILD/tools/bench_ingest" -c "$work/$1.conf" -d "$db" -r "$work/rates.conf" >/dev/null 2>&1
	psql_q "$db" -c "\\copy accounts (external_id, valid_from, time_zone, anchor_day, currency) FROM '$work/accounts.csv' WITH (FORMAT csv, HEADER true)"
	rm -rf "$work/spool" && mkdir -p "$work/spool"
	cp "$work/usage-bench.csv" "$work/spool/usage-bench.csv"
	cat >"$work/$1.conf" <<CONF
spool = { dir = "$work/spool"; keep_in_place = true; };
ingest = { time_min = "2026-01-01T00:00:00Z"; time_max = "2026-02-01T00:00:00Z"; };
sources = ( { name = "bench"; format = "usage-csv"; pattern = "usage-*.csv"; } );
CONF
	psql_q "$db" -c "CHECKPOINT"
}

# 2. ingest alone
setup_db bench_ingest
timef="$work/time.txt"
if [ -x /usr/bin/time ]; then TIME="/usr/bin/time -v -o $timef"; else TIME=""; fi
$TIME "$here/$BUILD/tools/bench_ingest" -c "$work/bench_ingest.conf" -d "$DSN dbname=bench_ingest" \
	-r "$work/rates.conf" -p 2026-01-15 -s ingest >"$work/out.txt" 2>"$work/log.txt" ||
	{ cat "$work/log.txt" >&2; exit 1; }
ingest=$(sed -n 's/^ingest_seconds=//p' "$work/out.txt")
cpu=$(sed -n 's/^ingest_cpu //p' "$work/out.txt")
records=$(sed -n 's/^records=\([0-9]*\).*/\1/p' "$work/out.txt")
rss=$(sed -n 's/.*peak_rss_kb=//p' "$work/out.txt")
[ -f "$timef" ] && rss_time=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$timef") || rss_time=""
counts=$(psql -X -A -t "$DSN dbname=bench_ingest" -c \
	"SELECT records_read || ' read = ' || accepted || ' accepted + ' || quarantined || ' quarantined + ' || duplicates || ' duplicates' FROM ingest_files")

# 3. the pipeline, for the steps that exist
pipeline=""
if [ "${BENCH_PIPELINE:-1}" = 1 ]; then
	steps=ingest
	for s in aggregate rate reconcile; do
		"$here/$BUILD/tools/bench_ingest" -l | grep -qx "$s" && steps="$steps,$s"
	done
	setup_db bench_pipeline
	[ "${BENCH_ACCOUNT_INDEX:-0}" = 1 ] &&
		psql_q "$DSN dbname=bench_pipeline" -c "CREATE INDEX usage_account_time ON usage (account_ext, event_time)"
	if timeout "${BENCH_PIPELINE_TIMEOUT:-900}" "$here/$BUILD/tools/bench_ingest" -c "$work/bench_pipeline.conf" \
		-d "$DSN dbname=bench_pipeline" -r "$work/rates.conf" -p 2026-01-15 -s "$steps" \
		>"$work/pout.txt" 2>"$work/plog.txt"; then
		pipeline=$(awk -F= '/_seconds=/ { s += $2 } END { printf "%.3f", s }' "$work/pout.txt")
		pdetail=$(sed -n 's/_seconds=\(.*\)/ \1 s/p' "$work/pout.txt" | tr '\n' ' ')
	else
		pipeline="failed"
		pdetail="$(sed -n 's/_seconds=\(.*\)/ \1 s/p' "$work/pout.txt" | tr '\n' ' ')then: $(grep -v INFO "$work/plog.txt" | tail -n 2 | tr '\n' ' ')"
		[ -s "$work/plog.txt" ] || pdetail="$pdetail stopped after ${BENCH_PIPELINE_TIMEOUT:-900} s"
	fi
fi

echo "bench ingest: $N usage-csv records over $A accounts, $size bytes ($(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg))"
printf '  bare psql \\copy (unlogged, no index): %8.3f s\n' "$bare"
printf '  billrun ingest:                         %8.3f s   %.2fx the bare \\copy   %.0f records/s\n' \
	"$ingest" "$(echo "$ingest / $bare" | bc -l)" "$(echo "$records / $ingest" | bc -l)"
echo "  conservation: $counts"
printf '  ingest CPU seconds: %s (client = the ingest process, server = its backend)\n' "$cpu"
echo "  ingest peak RSS: $((rss / 1024)) MB (getrusage)${rss_time:+, $((rss_time / 1024)) MB (/usr/bin/time)}"
if [ -n "$pipeline" ] && [ "$pipeline" != failed ]; then
	printf '  ingest+%s: %8.3f s   %.2fx the bare \\copy   (%s)\n' "$(echo "$steps" | cut -d, -f2- | tr , +)" \
		"$pipeline" "$(echo "$pipeline / $bare" | bc -l)" "$pdetail"
elif [ "$pipeline" = failed ]; then
	echo "  pipeline ($steps): failed: $pdetail"
fi
