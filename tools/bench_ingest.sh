#!/bin/sh
# bench_ingest.sh - the nightly data path against a bare psql \copy of the
# same file and against a hand-written SQL pipeline.
#
#   sh tools/bench_ingest.sh [RECORDS [ACCOUNTS]]     (default 2000000 10000)
#
# Starts a throwaway cluster (tests/pg.sh with PG_DURABLE=1: fsync and
# synchronous commit on, as in production) with BENCH_WAL_LEVEL (default
# minimal with max_wal_senders = 0, the embedded cluster's settings from
# core/cluster.c; "replica" for a server with standbys, where the WAL skip
# for tables created in the loading transaction cannot apply),
# generates RECORDS usage-csv records over ACCOUNTS known accounts
# (tools/gen_usage.c, deterministic: one day, 2026-01-15), each account
# subscribed to plan "bench" (api_calls on graduated tiers, voice_seconds
# per unit after rounding each call up to a minute), then times, on the
# same cluster:
#   1. a bare `psql \copy` of the file into an unlogged table without
#      indexes (the floor: no types, no key, no WAL);
#   2. billrun's ingest of the same file (tools/bench_ingest.c calls the job);
#   3. billrun's nightly path, ingest+aggregate+rate+reconcile, on a fresh
#      database: the rate step must rate every account period (none held),
#      else the bench fails (BENCH_PIPELINE=0 skips 3 and 4; it is stopped
#      after BENCH_PIPELINE_TIMEOUT seconds, default 900);
#   4. a hand-written SQL pipeline on a fresh database: \copy into a
#      temporary text table, INSERT into a logged typed table with the same
#      UNIQUE (event_key, source) key ON CONFLICT DO NOTHING, GROUP BY
#      account and meter with the per-record rounding, and the same tiers
#      rated in SQL. It has none of billrun's guarantees besides the key
#      (no quarantine, no conservation counts, no billing periods, no
#      queue, no reconciliation); its charges must equal billrun's to the
#      cent, else the bench fails.
# Prints the times, their ratios to the bare \copy (and the hand-written
# pipeline's to billrun's nightly), records per second and the peak RSS of
# the ingest process and of the nightly process (getrusage; also
# /usr/bin/time when there). The last line, "bench_data N bare ingest
# nightly hand", is for tools/bench.sh's growth summary.
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
wal=${BENCH_WAL_LEVEL:-minimal}
walopts="-c wal_level=$wal"
[ "$wal" = minimal ] && walopts="$walopts -c max_wal_senders=0"
DSN=$(PG_DURABLE=1 PG_OPTS="$walopts" sh "$here/tests/pg.sh" start "$pgdir")
psql_q() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }
now() { date +%s.%N; }

mkdir -p "$work/spool" "$work/empty"
"$here/$BUILD/tools/gen_usage" -n "$N" -a "$A" "$work/usage-bench.csv" "$work/accounts.csv"
size=$(stat -c %s "$work/usage-bench.csv")
# The tiers and prices here and in the hand-written pipeline (step 4) are
# the same: keep them so.
cat >"$work/rates.conf" <<'RULES'
meters = (
  { name = "api_calls"; aggregation = "sum"; unit = "call"; },
  { name = "voice_seconds"; aggregation = "sum"; round_increment = "60"; unit = "s"; }
);
plans = (
  { id = "bench"; name = "Bench"; currency = "EUR"; effective_from = "2024-01-01";
    charges = ( { meter = "api_calls"; model = "graduated";
                  tiers = ( { up_to = "1000"; price = "0.002"; }, { up_to = "10000"; price = "0.0015"; },
                            { price = "0.001"; } ); },
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

# 1b. the floor for any loader that keeps the deduplication key: the same
# \copy into a logged table of typed columns, without and with billrun's
# UNIQUE (event_key, source) under the "C" collation.
floor_copy() { # CONSTRAINT
	psql_q "$DSN" -c "CREATE TABLE floor_copy (event_key text COLLATE \"C\" NOT NULL, account_ext text NOT NULL,
		meter text NOT NULL, event_time timestamptz NOT NULL, quantity numeric NOT NULL,
		source text COLLATE \"C\" NOT NULL DEFAULT 'bench' $1)" -c "CHECKPOINT"
	t0=$(now)
	psql_q "$DSN" -c "\\copy floor_copy (event_key, account_ext, meter, event_time, quantity) FROM '$work/usage-bench.csv' WITH (FORMAT csv, HEADER true)"
	t1=$(now)
	psql_q "$DSN" -c "DROP TABLE floor_copy" -c "CHECKPOINT"
	echo "$t1 - $t0" | bc
}
typed=$(floor_copy "")
keyed=$(floor_copy ", UNIQUE (event_key, source)")

# A database with the schema, the accounts and their subscriptions, then
# the file in its spool.
setup_db() { # NAME
	psql_q "$DSN" -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1"
	db="$DSN dbname=$1"
	cat >"$work/$1.conf" <<CONF
spool = { dir = "$work/empty"; };
ingest = { settle_time = "0s"; };
sources = ( { name = "bench"; format = "usage-csv"; pattern = "usage-*.csv"; } );
CONF
	"$here/$BUILD/tools/bench_ingest" -c "$work/$1.conf" -d "$db" -r "$work/rates.conf" >/dev/null 2>&1
	psql_q "$db" -c "\\copy accounts (external_id, valid_from, time_zone, anchor_day, currency) FROM '$work/accounts.csv' WITH (FORMAT csv, HEADER true)" \
		-c "INSERT INTO subscriptions (account_ext, plan, valid_from) SELECT external_id, 'bench', '2025-12-01' FROM accounts"
	rm -rf "$work/spool" && mkdir -p "$work/spool"
	cp "$work/usage-bench.csv" "$work/spool/usage-bench.csv"
	cat >"$work/$1.conf" <<CONF
spool = { dir = "$work/spool"; keep_in_place = true; };
ingest = { time_min = "2026-01-01T00:00:00Z"; time_max = "2026-02-01T00:00:00Z"; settle_time = "0s"; };
sources = ( { name = "bench"; format = "usage-csv"; pattern = "usage-*.csv"; } );
CONF
	psql_q "$db" -c "VACUUM ANALYZE" -c "CHECKPOINT"
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
psql_q "$DSN" -c "DROP DATABASE bench_ingest" -c "CHECKPOINT"

# 3. the nightly path
pipeline=""
if [ "${BENCH_PIPELINE:-1}" = 1 ]; then
	steps=ingest,aggregate,rate,reconcile
	setup_db bench_pipeline
	pdb="$DSN dbname=bench_pipeline"
	if timeout "${BENCH_PIPELINE_TIMEOUT:-900}" $TIME "$here/$BUILD/tools/bench_ingest" -c "$work/bench_pipeline.conf" \
		-d "$pdb" -r "$work/rates.conf" -p 2026-01-15 -s "$steps" >"$work/pout.txt" 2>"$work/plog.txt"; then
		pipeline=$(awk -F= '/_seconds=/ { s += $2 } END { printf "%.3f", s }' "$work/pout.txt")
		pdetail=$(awk -F'[= ]' '/_seconds=/ { sub(/_seconds/, "", $1); t[$1] = $2 }
			/_cpu / { sub(/_cpu/, "", $1); printf "%s%s %s s (server CPU %s s)", sep, $1, t[$1], $5; sep = ", " }' \
			"$work/pout.txt")
		prss=$(sed -n 's/.*peak_rss_kb=//p' "$work/pout.txt")
		[ -f "$timef" ] && prss_time=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$timef") || prss_time=""
		rated=$(psql -X -A -t -F ' ' "$pdb" -c "SELECT count(*) FILTER (WHERE status = 'rated'),
			count(*) FILTER (WHERE status = 'held'), coalesce(sum(subtotal), 0),
			(SELECT count(*) FROM rated_lines), (SELECT count(*) FROM agg_snapshots) FROM ratings")
		set -- $rated
		rated_n=$1 held_n=$2 billrun_total=$3 lines_n=$4 snaps_n=$5
		checks=$(grep -o 'reconcile: .*' "$work/plog.txt" | head -n 1)
		if [ "$held_n" != 0 ] || [ "$rated_n" != "$snaps_n" ] || [ "$rated_n" = 0 ]; then
			echo "bench_ingest: the rate step rated $rated_n of $snaps_n account periods ($held_n held): not a real nightly run" >&2
			exit 1
		fi
	else
		pipeline="failed"
		pdetail="$(sed -n 's/_seconds=\(.*\)/ \1 s/p' "$work/pout.txt" | tr '\n' ' ')then: $(grep -v INFO "$work/plog.txt" | tail -n 2 | tr '\n' ' ')"
		[ -s "$work/plog.txt" ] || pdetail="$pdetail stopped after ${BENCH_PIPELINE_TIMEOUT:-900} s"
	fi
	psql_q "$DSN" -c "DROP DATABASE bench_pipeline" -c "CHECKPOINT"
fi

# 4. the hand-written SQL pipeline
hand=""
if [ -n "$pipeline" ] && [ "$pipeline" != failed ]; then
	psql_q "$DSN" -c "CREATE DATABASE bench_sql"
	hdb="$DSN dbname=bench_sql"
	psql_q "$hdb" <<'SQL'
CREATE TABLE h_usage (
  source       text COLLATE "C" NOT NULL,
  event_key    text COLLATE "C" NOT NULL,
  account_ext  text NOT NULL,
  meter        text NOT NULL,
  event_time   timestamptz NOT NULL,
  quantity     numeric NOT NULL,
  UNIQUE (event_key, source)
);
CREATE TABLE h_tiers (meter text, above numeric, up_to numeric, price numeric, round_increment numeric);
INSERT INTO h_tiers VALUES ('api_calls', 0, 1000, 0.002, NULL), ('api_calls', 1000, 10000, 0.0015, NULL),
  ('api_calls', 10000, NULL, 0.001, NULL), ('voice_seconds', 0, NULL, 0.0002, 60);
CHECKPOINT;
SQL
	t0=$(now)
	psql_q "$hdb" <<SQL
CREATE TEMPORARY TABLE h_stage (event_id text, account_id text, meter text, ts text, quantity text);
\\copy h_stage FROM '$work/usage-bench.csv' WITH (FORMAT csv, HEADER true)
INSERT INTO h_usage SELECT 'bench', event_id, account_id, meter, ts::timestamptz, quantity::numeric FROM h_stage
ON CONFLICT DO NOTHING;
CREATE TABLE h_agg AS
SELECT u.account_ext, u.meter,
       sum(CASE WHEN r.inc IS NULL THEN u.quantity ELSE ceil(u.quantity / r.inc) * r.inc END) AS quantity
FROM h_usage u LEFT JOIN (SELECT DISTINCT meter, round_increment AS inc FROM h_tiers) r ON r.meter = u.meter
GROUP BY u.account_ext, u.meter;
CREATE TABLE h_rated AS
SELECT a.account_ext, a.meter,
       round(sum((least(a.quantity, coalesce(t.up_to, a.quantity)) - t.above) * t.price), 2) AS amount
FROM h_agg a JOIN h_tiers t ON t.meter = a.meter AND a.quantity > t.above
GROUP BY a.account_ext, a.meter;
SQL
	t1=$(now)
	hand=$(echo "$t1 - $t0" | bc)
	hand_total=$(psql -X -A -t "$hdb" -c "SELECT coalesce(sum(amount), 0) FROM h_rated")
	if [ "$(echo "$hand_total == $billrun_total" | bc)" != 1 ]; then
		echo "bench_ingest: the hand-written pipeline charges $hand_total, billrun $billrun_total: they must agree" >&2
		exit 1
	fi
fi

# target: reached/missed, printed, never failing the bench
target() { # TEXT CONDITION(bc)
	if [ "$(echo "$2" | bc -l)" = 1 ]; then r=reached; else r=missed; fi
	printf '    target: %s: %s\n' "$1" "$r"
}
echo "bench ingest: fsync on, wal_level $wal, $N usage-csv records over $A accounts, $size bytes ($(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg))"
printf '  bare psql \\copy (unlogged, no index): %8.3f s\n' "$bare"
printf '  \\copy into a logged typed table:       %8.3f s   %.2fx the bare \\copy\n' "$typed" "$(echo "$typed / $bare" | bc -l)"
printf '    the same with UNIQUE (event_key, source): %8.3f s   %.2fx (the floor with the deduplication key)\n' \
	"$keyed" "$(echo "$keyed / $bare" | bc -l)"
printf '  billrun ingest:                         %8.3f s   %.2fx the bare \\copy   %.0f records/s\n' \
	"$ingest" "$(echo "$ingest / $bare" | bc -l)" "$(echo "$records / $ingest" | bc -l)"
echo "  conservation: $counts"
printf '  ingest CPU seconds: %s (client = the ingest process, server = its backend)\n' "$cpu"
echo "  ingest peak RSS: $((rss / 1024)) MB (getrusage)${rss_time:+, $((rss_time / 1024)) MB (/usr/bin/time)}"
if [ -n "$pipeline" ] && [ "$pipeline" != failed ]; then
	printf '  billrun nightly (ingest+aggregate+rate+reconcile): %8.3f s   %.2fx the bare \\copy   %.0f records/s\n' \
		"$pipeline" "$(echo "$pipeline / $bare" | bc -l)" "$(echo "$records / $pipeline" | bc -l)"
	echo "    steps: $pdetail"
	echo "    $rated_n account periods rated ($lines_n lines, $billrun_total EUR), $held_n held; $checks"
	echo "    peak RSS: $((prss / 1024)) MB (getrusage)${prss_time:+, $((prss_time / 1024)) MB (/usr/bin/time)}"
	target "nightly within 2.0x the bare \\copy (at 2,000,000 records)" "$pipeline <= 2.0 * $bare"
	printf '  hand-written SQL (copy, ON CONFLICT, GROUP BY, tiers): %8.3f s   %.2fx billrun'"'"'s nightly   %.2fx the bare \\copy   same charges (%s EUR)\n' \
		"$hand" "$(echo "$hand / $pipeline" | bc -l)" "$(echo "$hand / $bare" | bc -l)" "$hand_total"
	target "hand-written pipeline at least 3x billrun's nightly" "$hand >= 3 * $pipeline"
elif [ "$pipeline" = failed ]; then
	echo "  pipeline ($steps): failed: $pdetail"
fi
echo "bench_data $N $bare $ingest ${pipeline:-0} ${hand:-0} ${prss:-$rss}"
