#!/bin/sh
# bench_month_end.sh - the month-end close at scale: N accounts (default
# 100,000) with usage and a closed, rated March 2026 (made directly with
# SQL by tools/bench_month_end.sql: no ingest or rating here), then one
# `billrun run month_end` of invoice (numbers, lines, PDF and JSON per
# invoice) followed by the xbrl and archive steps when billrun has those
# jobs. PostgreSQL keeps fsync on (PG_DURABLE=1). Prints the data size,
# each step's time, invoices per second and the whole close's time.
# Target: 100,000 accounts closed in under 120 s on 2 cores.
#   BENCH_KEEP=1  keep the work folder (its path is printed)
#   BENCH_WORKERS=N  invoice.render_workers (default: one per CPU)
set -eu
cd "$(dirname "$0")/.."
N=${1:-100000}
B=${BILLRUN_BIN:-./billrun}
work=$(mktemp -d /tmp/billrun-bench-month.XXXXXX)
chmod 755 "$work"
cleanup() {
	sh tests/pg.sh stop "$work/pg" >/dev/null 2>&1 || true
	if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "bench-month-end: kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT INT TERM
bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
dsn=$(PG_DURABLE=1 PG_OPTS="-c shared_buffers=512MB -c max_wal_size=4GB -c checkpoint_timeout=30min" \
	sh tests/pg.sh start "$work/pg")
conf="$work/bench.conf"
: > "$work/rates.conf"

# The DAG: invoice, then xbrl and archive if this billrun has them.
steps='{ name = "invoice"; job = "invoice"; }'
prev=invoice
for job in xbrl archive; do
	printf 'state_dir = "%s/state";\ndags = { t = { steps = ( { name = "x"; job = "%s"; } ); }; };\n' "$work" "$job" \
		> "$work/probe.conf"
	if "$B" -c "$work/probe.conf" dag show t >/dev/null 2>&1; then
		trig=""
		[ "$job" = archive ] && trig=' trigger = "all_done";'
		steps="$steps,
      { name = \"$job\"; job = \"$job\"; after = [\"$prev\"];$trig }"
		prev=$job
	else
		echo "bench-month-end: billrun has no '$job' job yet; the close runs without it"
	fi
done
cat > "$conf" <<EOF
state_dir = "$work/state";
database = { dsn = "$dsn"; };
rules = { file = "$work/rates.conf"; };
log = { level = "info"; };
invoice = {
  render_workers = ${BENCH_WORKERS:-0};
  seller = { name = "Billrun Bench GmbH"; address = ["Benchstrasse 1", "10115 Berlin"]; vat_id = "DE000000000";
             email = "billing@bench.example"; payment = "IBAN DE00 0000 0000 0000 0000 00"; };
};
dags = {
  month_end = { period = "month"; max_parallel = 2; steps = (
      $steps ); };
};
EOF
"$B" -c "$conf" db migrate >/dev/null
echo "bench-month-end: generating $N accounts with usage and rated periods (SQL)"
t0=$(date +%s.%N)
runuser_psql() { "$bindir/psql" -X -q "$dsn" "$@"; }
runuser_psql -v n="$N" -f tools/bench_month_end.sql
t1=$(date +%s.%N)
awk -v a="$t0" -v b="$t1" 'BEGIN { printf "bench-month-end: data generated in %.1f s\n", b - a }'

# CPU seconds, to tell the close's own cost from other load on the machine:
# this shell's reaped children (billrun, its steps, render workers, pigz) and
# the PostgreSQL server (the postmaster and the backends it reaped).
tck=$(getconf CLK_TCK)
cpu_children() { awk -v t="$tck" '{ sub(/^.*\) /, ""); print ($14 + $15) / t }' "/proc/$1/stat"; }
cpu_all() { awk -v t="$tck" '{ sub(/^.*\) /, ""); print ($12 + $13 + $14 + $15) / t }' "/proc/$1/stat"; }
pm=$(head -n 1 "$work/pg/data/postmaster.pid")
echo "bench-month-end: month-end close, $(nproc) cores, load average $(cut -d' ' -f1 /proc/loadavg) before," \
	"PostgreSQL with fsync on"
sleep 1 # let the backend of the data's session exit and be reaped first
c0=$(cpu_children $$)
p0=$(cpu_all "$pm")
t0=$(date +%s.%N)
"$B" -c "$conf" run month_end --period 2026-03 > "$work/run.log" 2>&1 || { tail -30 "$work/run.log"; exit 1; }
t1=$(date +%s.%N)
sleep 1 # let the backends of the run exit and be reaped
c1=$(cpu_children $$)
p1=$(cpu_all "$pm")
out=$(ls -d "$work"/state/output/month_end/2026-03-01/run-* | tail -n 1)
pdfs=$(find "$out/invoices" -name '*.pdf' | wc -l)
jsons=$(find "$out/invoices" -name '*.json' | wc -l)
size=$(du -sh "$out/invoices" | cut -f1)
invoices=$("$bindir/psql" -X -At "$dsn" -c "SELECT count(*) FROM invoices")
gaps=$("$bindir/psql" -X -At "$dsn" -c "SELECT count(*) - (max(seq) - min(seq) + 1) FROM invoices")
billed=$("$bindir/psql" -X -At "$dsn" -c "SELECT (SELECT sum(total) FROM invoices) = (SELECT sum(total) FROM ratings)")
"$bindir/psql" -X -At -F ' ' "$dsn" -c "SELECT step, round(extract(epoch FROM ended_at - started_at)::numeric, 1)
  FROM step_attempts WHERE status = 'success' ORDER BY started_at" |
	while read -r step secs; do printf '  step %-10s %8s s\n' "$step" "$secs"; done
inv_s=$("$bindir/psql" -X -At "$dsn" -c "SELECT extract(epoch FROM ended_at - started_at) FROM step_attempts
  WHERE step = 'invoice' AND status = 'success'")
awk -v a="$t0" -v b="$t1" -v n="$invoices" -v s="$inv_s" -v p="$pdfs" -v j="$jsons" -v z="$size" -v g="$gaps" \
	-v ok="$billed" -v acc="$N" -v c0="$c0" -v c1="$c1" -v p0="$p0" -v p1="$p1" -v cores="$(nproc)" \
	-v load="$(cut -d' ' -f1 /proc/loadavg)" 'BEGIN {
	w = b - a
	cb = c1 - c0; cp = p1 - p0
	printf "  CPU used: billrun %.1f s (steps, PDF workers, pigz), PostgreSQL %.1f s: %.2f ms per invoice;\n", cb, cp,
		1000 * (cb + cp) / n
	printf "    on %d idle cores the close needs at least %.1f s (load average now %s)\n", cores, (cb + cp) / cores, load
	printf "  data: %d accounts, %d invoices issued (number gaps: %d, totals equal the ratings: %s)\n", acc, n, g, ok
	printf "  output: %d PDF + %d JSON files, %s\n", p, j, z
	printf "  invoice step: %.1f s, %.0f invoices/s (numbered, stored, PDF and JSON written)\n", s, n / s
	printf "  whole close: %.1f s, %.0f invoices/s (target: %d accounts < 120 s: %s)\n", w, n / w, acc,
		(w < 120 ? "met" : "MISSED") }'
