#!/bin/sh
# run.sh - `make test-faults`: billing survives a runner killed at random
# moments and a PostgreSQL restart in the middle of a step.
#
# On generated data (tests/faults/gen_data.sh: a month of daily usage
# files with late, duplicate and bad records), the nightly DAG runs every
# third day and on the last, then the month-end close (ingest to invoices,
# chargeback, XBRL and the signed archive), three times, each into its own
# database of one throwaway cluster:
#   A  uninterrupted: the reference, and its timeline;
#   B  the runner is killed with SIGKILL at FAULT_KILLS (default 50) random
#      moments of A's timeline, each time either the runner alone (its
#      running step becomes an orphan that the resume must kill) or the
#      runner with its steps' process groups (a whole service killed); after
#      each kill it is continued as an operator would, by `billrun run` or
#      `billrun resume RUN` in turn, until the run completes;
#   C  PostgreSQL is restarted in immediate mode while a step runs (twice):
#      the runner must survive, the step's attempt fail as retryable, a
#      retry succeed, and the run complete;
#   D  the outputs and archives are on a small tmpfs that fills at a random
#      write (its size drawn from the seed below what A wrote); the failure
#      must name the full disk, and once the disk has grown, running the
#      DAG again must complete the month (root only: skipped, and said so,
#      where no tmpfs can be mounted).
# N (the nightly DAG every night) and E (every file of the month read by
# a nightly run of the next month, then the month-end run) must report
# the same XBRL facts as A.
# B, C and D must then equal A: tests/faults/facts.sql says what is compared
# and why; the output files are compared below (outputs). Prints the seed;
# FAULT_SEED=N replays the same kill moments. FAULT_ACCOUNTS and
# FAULT_RECORDS (a day) size the data; FAULT_KEEP=1 keeps the work folder.
# Exit status 0 when B and C equal A, 1 with what differs.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
B=${BILLRUN_BIN:-$src/billrun}
MONTH=2026-10
KILLS=${FAULT_KILLS:-50}
SEED=${FAULT_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
ACCOUNTS=${FAULT_ACCOUNTS:-300}
RECORDS=${FAULT_RECORDS:-4000}
bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)

work=$(mktemp -d /tmp/billrun-faults.XXXXXX)
chmod 755 "$work"
cleanup() {
	if [ "${FAULT_KEEP:-0}" = 1 ]; then
		echo "faults: kept $work; its cluster runs on; 'sh tests/pg.sh stop $work/pg' stops it"
	else
		sh "$src/tests/pg.sh" stop "$work/pg" >/dev/null 2>&1 || true
		umount "$work/fd/state" 2>/dev/null || true
		rm -rf "$work"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { echo "faults: [$(elapsed "$t_start")s] $*"; }
# fd 3: the real stderr (B silences the shell's "Killed" notices on fd 2).
exec 3>&2
fail() { echo "faults: FAILED: $*" >&3; exit 1; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

t_start=$(now)
say "seed $SEED (FAULT_SEED=$SEED reproduces the kill moments), $KILLS kills"
say "work folder $work"

# ---- the cluster, the data and one database per scenario ----

# Production's durability for commits (a PostgreSQL crash must not lose a
# step's committed done mark); fsync stays off, as only the server process
# crashes here, never the machine.
dsn=$(PG_OPTS="-c synchronous_commit=on" sh "$src/tests/pg.sh" start "$work/pg")
psql() { "$bindir/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }
sh "$src/tools/demo_keys.sh" "$work/keys" >/dev/null
say "generating $ACCOUNTS accounts and $RECORDS usage records a day for $MONTH"
sh "$here/gen_data.sh" "$work/data" "$MONTH" "$ACCOUNTS" "$RECORDS"
days=$(ls "$work/data/arrivals")

# The nightly steps, which month_end runs first too.
nightly_steps='      { name = "ingest"; job = "ingest"; retries = 3; retry_delay = "1s"; },
      { name = "aggregate"; job = "aggregate"; after = ["ingest"]; retries = 3; retry_delay = "1s"; },
      { name = "rate"; job = "rate"; after = ["aggregate"]; retries = 3; retry_delay = "1s"; },
      { name = "reconcile"; job = "reconcile"; after = ["rate"]; retries = 3; retry_delay = "1s"; },
      { name = "quarantine"; job = "quarantine"; after = ["reconcile"]; retries = 3; retry_delay = "1s"; }'

# setup_db NAME: database NAME with its own config, spool and outputs.
setup_db() {
	name=$1
	psql "$dsn" -c "CREATE DATABASE $name"
	mkdir -p "$work/$name/spool"
	cat >"$work/$name/billrun.conf" <<EOF
state_dir = "$work/$name/state";
database = { dsn = "$dsn dbname=$name"; };
rules = { file = "$src/conf/rates.conf"; };
spool = { dir = "$work/$name/spool"; };
ingest = { settle_time = "0s"; };   # the files arrive just before a run
sources = ( { name = "usage"; format = "usage-csv"; pattern = "usage-*.csv"; } );
runner = { kill_grace = "1s"; };
archive = { dir = "$(archdir "$name")"; sign_key = "$work/keys/demo-sign.key"; sign_cert = "$work/keys/demo-sign.pem"; };
invoice = {
  render_workers = 2;
  seller = { name = "Fault Test Billing GmbH"; address = ["Teststrasse 1", "10115 Berlin"]; vat_id = "DE000000000";
             email = "billing@faults.example"; payment = "IBAN DE00 0000 0000 0000 0000 00"; };
};
dags = {
  nightly = {
    period = "day";
    max_parallel = 2;
    steps = (
$nightly_steps
    );
  };
  month_end = {
    period = "month";
    max_parallel = 2;
    steps = (
$nightly_steps,
      { name = "invoice"; job = "invoice"; after = ["quarantine"]; retries = 3; retry_delay = "1s"; },
      { name = "chargeback"; job = "chargeback"; after = ["invoice"]; retries = 3; retry_delay = "1s"; },
      { name = "xbrl"; job = "xbrl"; after = ["invoice"]; retries = 3; retry_delay = "1s"; },
      { name = "archive"; job = "archive"; after = ["xbrl", "chargeback"]; retries = 3; retry_delay = "1s"; }
    );
  };
};
EOF
	br "$name" db migrate >/dev/null
	br "$name" accounts import "$work/data/accounts.csv" >/dev/null
	br "$name" subscriptions import "$work/data/subscriptions.csv" >/dev/null
	br "$name" fx import "$src/conf/demo/fx.csv" >/dev/null
}

# archdir NAME: where NAME's archives go (D's are on its small disk).
archdir() { if [ "$1" = fd ]; then echo "$work/fd/state/archive"; else echo "$work/$1/archive"; fi; }

# br NAME ARGS...: billrun against database NAME.
br() { n=$1; shift; "$B" -c "$work/$n/billrun.conf" "$@"; }
q() { psql -At "$dsn dbname=$1" -c "$2" 2>&3; }

# The runs of the test, in order: "DAG PERIOD ARRIVALS", ARRIVALS being
# the days (comma-separated) whose files land in the spool just before, or
# -. The nightly DAG runs every third day and on the last (as after two
# days of outage), so that each of its runs has a few days of files; then
# the month-end close.
runs_list() {
	pending=""
	for d in $days; do
		pending="${pending:+$pending,}$d"
		if [ $((${d#0} % 3)) = 0 ] || [ "$d" = "$(echo "$days" | tail -n 1)" ]; then
			echo "nightly $MONTH-$d $pending"
			pending=""
		fi
	done
	echo "month_end $MONTH -"
}

# arrive NAME DAYS: the days' files land in NAME's spool (copied under a
# hidden name, then renamed, as senders should).
arrive() {
	[ "$2" = - ] && return 0
	for d in $(echo "$2" | tr , ' '); do
		for f in "$work/data/arrivals/$d"/*; do
			b=$(basename "$f")
			cp "$f" "$work/$1/spool/.$b"
			mv "$work/$1/spool/.$b" "$work/$1/spool/$b"
		done
	done
}

# alive PID: is the process there and not a zombie?
alive() { [ -r "/proc/$1/status" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status"; }

# unfinished NAME DAG PERIOD: the unfinished run of DAG for PERIOD in
# database NAME (none when the runner was killed after it finished).
unfinished() { q "$1" "SELECT id FROM runs WHERE dag = '$2' AND period_start = '$3' AND status = 'running'"; }

# pstart DAG PERIOD: the period's first day as runs.period_start has it.
pstart() { case $1 in month_end) echo "$2-01" ;; *) echo "$2" ;; esac; }

# happened NAME DAG PSTART KIND STEP: has the event of A's timeline
# happened in NAME? KIND: run (the run exists), start (an attempt of STEP
# started), end (STEP succeeded).
happened() {
	case $4 in
	run) n=$(q "$1" "SELECT count(*) FROM runs WHERE dag = '$2' AND period_start = '$3'") ;;
	start) n=$(q "$1" "SELECT count(*) FROM step_attempts a JOIN runs r ON r.id = a.run_id
	                   WHERE r.dag = '$2' AND r.period_start = '$3' AND a.step = '$5'") ;;
	end) n=$(q "$1" "SELECT count(*) FROM run_steps s JOIN runs r ON r.id = s.run_id
	                 WHERE r.dag = '$2' AND r.period_start = '$3' AND s.step = '$5' AND s.status = 'success'") ;;
	esac
	[ "${n:-0}" -gt 0 ]
}

# ---- A: the reference ----

setup_db fa
say "A: reference run (no faults)"
t0=$(now)
runs_list | while read -r dag period arrivals; do
	arrive fa "$arrivals"
	br fa run "$dag" --period "$period" >>"$work/fa/run.log" 2>&1 ||
		{ tail -n 30 "$work/fa/run.log"; fail "A: $dag $period failed (log: $work/fa/run.log)"; }
done
a_secs=$(elapsed "$t0")
say "A: done in $a_secs s; time per step (count, total s, longest s):"
q fa "SELECT r.dag, a.step, count(*), round(sum(extract(epoch FROM a.ended_at - a.started_at))::numeric, 1),
        round(max(extract(epoch FROM a.ended_at - a.started_at))::numeric, 2)
      FROM step_attempts a JOIN runs r ON r.id = a.run_id GROUP BY 1, 2 ORDER BY 4 DESC" |
	awk -F'|' '{ printf "  %-9s %-10s %3d %7s %6s\n", $1, $2, $3, $4, $5 }'

# A's timeline: every run's start and every attempt's start and end, as
# seconds from the first run's start, with the run's place in the sequence.
q fa "WITH r AS (SELECT id, dag, period_start, started_at, ended_at, rank() OVER (ORDER BY id) AS n FROM runs),
      e AS (SELECT r.started_at AS t, r.n, r.dag, r.period_start, 'run' AS kind, '-' AS step FROM r
            UNION ALL SELECT a.started_at, r.n, r.dag, r.period_start, 'start', a.step
                      FROM step_attempts a JOIN r ON r.id = a.run_id
            UNION ALL SELECT a.ended_at, r.n, r.dag, r.period_start, 'end', a.step
                      FROM step_attempts a JOIN r ON r.id = a.run_id
            UNION ALL SELECT r.ended_at, r.n, r.dag, r.period_start, 'finished', '-' FROM r)
      SELECT round(extract(epoch FROM t - min(t) OVER ())::numeric, 3), n, dag, period_start, kind, step
      FROM e ORDER BY t" | tr '|' ' ' >"$work/timeline"

# ---- B: SIGKILL of the runner at random moments of A's timeline ----

# Each kill is a moment drawn uniformly over A's timeline, told as the last
# event of A before it plus a delay: in B the kill waits for the same event
# (the same step of the same run starting or ending), then the delay. So
# the kills fall into the steps in proportion to their time, wherever B is
# slower. Half of them (drawn) kill the runner alone, the others the runner
# and its steps' process groups. A kill whose runner ended before its
# moment fires in the next run, the same delay after its runner started.
awk -v seed="$SEED" -v kills="$KILLS" '
function rnd() { s = (s * 48271) % 2147483647; return s / 2147483647 }
{ t[NR] = $1; line[NR] = $0 }
END {
	s = seed % 2147483646 + 1
	for (i = 1; i <= 5; i++) rnd()
	span = t[NR]
	for (i = 1; i <= kills; i++) { p[i] = rnd() * span; mode[i] = rnd() < 0.5 ? "runner" : "tree" }
	# insertion sort: 50 numbers
	for (i = 2; i <= kills; i++)
		for (j = i; j > 1 && p[j] < p[j - 1]; j--) {
			x = p[j]; p[j] = p[j - 1]; p[j - 1] = x; x = mode[j]; mode[j] = mode[j - 1]; mode[j - 1] = x
		}
	e = 1
	for (i = 1; i <= kills; i++) {
		while (e < NR && t[e + 1] <= p[i]) e++
		split(line[e], f, " ")
		kind = f[5] == "finished" ? "end" : f[5]
		printf "%d %s %s %s %s %.3f %s\n", f[2], f[3], f[4], kind, f[6], p[i] - t[e], mode[i]
	}
}' "$work/timeline" >"$work/kills"

# ---- N and E: the month billed night by night, and in one catch-up run ----

# The XBRL report counts the period's data, never what the runs dated in
# it happened to process (reports/README.md, "Facts of the period's
# data"). Billed every night (N), or with every file of the month landing
# after it and read by the first nightly run of the next month, then the
# month-end run (E, a catch-up after an outage of the feed), the
# month-end report's facts must equal A's, whose nightly DAG ran every
# third day. RunIdentifier names the run that wrote the report and is
# left out. N's 31 nightly runs take a minute: FAULT_NIGHTLY=0 (the small
# profile of `make test`) leaves N out.
xbrl_facts() {
	d=$(q "$1" "SELECT output_dir FROM runs WHERE dag = 'month_end' AND status = 'success' ORDER BY id DESC LIMIT 1")
	grep '<billrun:' "$d/xbrl/billrun-month_end-$MONTH-01.xbrl" | grep -v 'billrun:RunIdentifier' | sed 's/^ *//' \
		>"$work/$1/xbrl-facts.txt"
}
t0=$(now)
checked="fe"
if [ "${FAULT_NIGHTLY:-1}" = 1 ]; then
checked="fn fe"
setup_db fn
for d in $days; do
	arrive fn "$d"
	br fn run nightly --period "$MONTH-$d" >>"$work/fn/run.log" 2>&1 ||
		{ tail -n 30 "$work/fn/run.log"; fail "N: nightly $MONTH-$d failed (log: $work/fn/run.log)"; }
done
br fn run month_end --period "$MONTH" >>"$work/fn/run.log" 2>&1 ||
	{ tail -n 30 "$work/fn/run.log"; fail "N: month_end failed (log: $work/fn/run.log)"; }
fi
setup_db fe
arrive fe "$(echo $days | tr ' ' ,)"
next=$(date -d "$MONTH-01 +1 month" +%Y-%m-%d)
{ br fe run nightly --period "$next" && br fe run month_end --period "$MONTH"; } >>"$work/fe/run.log" 2>&1 ||
	{ tail -n 30 "$work/fe/run.log"; fail "E: the catch-up failed (log: $work/fe/run.log)"; }
for n in fa $checked; do xbrl_facts $n; done
for n in $checked; do
	diff -u "$work/fa/xbrl-facts.txt" "$work/$n/xbrl-facts.txt" >"$work/$n/xbrl-facts.diff" ||
		{ head -n 40 "$work/$n/xbrl-facts.diff"; fail "$n: the month-end XBRL facts differ from A's (- A, + $n)"; }
done
say "$(echo "$checked" | sed 's/fn/N/; s/fe/E/; s/ /, /'): the month's XBRL facts ($(wc -l <"$work/fa/xbrl-facts.txt") facts)" \
	"equal A's ($(elapsed "$t0") s)"

setup_db fb
say "B: $KILLS kills of the runner (kill moments in $work/kills)"
t0=$(now)
k=1
idx=0
: >"$work/fb/run.log"
runs_list >"$work/runs"
while read -r dag period arrivals; do
	idx=$((idx + 1))
	arrive fb "$arrivals"
	launches=0
	while :; do
		# First `run`; after a kill, `run` and `resume RUN` in turn.
		if [ $((launches % 2)) = 1 ] && id=$(unfinished fb "$dag" "$(pstart "$dag" "$period")") && [ -n "$id" ]; then
			"$B" -c "$work/fb/billrun.conf" resume "$id" >>"$work/fb/run.log" 2>&1 &
		else
			"$B" -c "$work/fb/billrun.conf" run "$dag" --period "$period" >>"$work/fb/run.log" 2>&1 &
		fi
		pid=$!
		launches=$((launches + 1))
		killed=0
		if [ $k -le "$KILLS" ]; then
			set -- $(sed -n "${k}p" "$work/kills")
			kn=$1 kdag=$2 kp=$3 kkind=$4 kstep=$5 kd=$6 kmode=$7
			if [ "$kn" -le "$idx" ]; then
				# Wait for the kill's event (at once for an earlier run's kill).
				while alive "$pid"; do
					[ "$kn" -lt "$idx" ] && break
					happened fb "$kdag" "$kp" "$kkind" "$kstep" && break
					sleep 0.05
				done
				alive "$pid" && sleep "$kd"
				if alive "$pid"; then
					children=$(pgrep -P "$pid" || true)
					running=$(q fb "SELECT string_agg(s.step, '+' ORDER BY s.step) FROM run_steps s JOIN runs r ON r.id = s.run_id
					                WHERE r.dag = '$dag' AND r.period_start = '$(pstart "$dag" "$period")' AND s.status = 'running'")
					# It may have ended since: then the kill waits for the next one.
					kill -9 "$pid" 2>/dev/null || continue_kill=no
					if [ "${continue_kill:-yes}" = no ]; then
						continue_kill=yes
					else
					if [ "$kmode" = tree ]; then
						for c in $children; do kill -9 -- "-$c" 2>/dev/null || true; done
					fi
					echo "kill $k/$KILLS: $dag $period, ${kd}s after $kkind $kstep, running: ${running:-nothing}, killed: $kmode" |
						tee -a "$work/fb/kills.log" | sed 's/^/faults: B: /'
					echo "--- kill $k ($kmode)" >>"$work/fb/run.log"
					k=$((k + 1))
					killed=1
					fi
				fi
			fi
		fi
		rc=0
		wait "$pid" || rc=$?
		[ $killed = 1 ] && continue
		case $rc in
		0) break ;;
		75) sleep 0.3 ;; # the dead runner's session had not ended yet: try again
		*) tail -n 30 "$work/fb/run.log"; fail "B: $dag $period exited $rc (log: $work/fb/run.log)" ;;
		esac
	done
done <"$work/runs" 2>/dev/null # the shell's notices of the killed runners
say "B: done in $(elapsed "$t0") s, $((k - 1)) kills"

# ---- comparing a database and its outputs with A's ----

# facts NAME: write NAME's facts (facts.sql) and usage rows into its folder.
facts() {
	psql -At "$dsn dbname=$1" -f "$here/facts.sql" >"$work/$1/facts.txt"
	q "$1" "SELECT u.source, u.event_key, f.file_name, u.line_no, u.account_ext, u.meter, u.event_time, u.quantity,
	               u.cost, u.currency, u.attributes, u.billable
	        FROM usage u JOIN ingest_files f ON f.id = u.file_id ORDER BY u.source, u.event_key" >"$work/$1/usage.txt"
}

# outputs NAME: the month-end close's files (names, from its last
# successful run's folder) and its documents, normalised: what
# legitimately differs (database ids, the issuing time) is blanked;
# everything else must be equal. The documents are read from where the
# invoice step recorded them (invoice_document_files): after a full disk
# (D), a later run's folder holds the documents of the run that issued
# them. Each must be on disk exactly once, in one run's folder.
outputs() {
	out=$(q "$1" "SELECT output_dir FROM runs WHERE dag = 'month_end' AND status = 'success' ORDER BY id DESC LIMIT 1")
	norm="$work/$1/outputs"
	rm -rf "$norm"
	mkdir -p "$norm"
	(cd "$out" && find . -type f ! -path './invoices/*' | LC_ALL=C sort) | grep -v '^./rules-' >"$norm/files.txt"
	q "$1" "SELECT w.output_dir || '/' || f.file FROM invoice_document_files f JOIN runs w ON w.id = f.run_id
	        ORDER BY f.number, f.format" >"$work/$1/documents.txt"
	sed 's#.*/##' "$work/$1/documents.txt" >"$norm/documents.txt"
	q "$1" "SELECT output_dir FROM runs WHERE dag = 'month_end'" | while read -r d; do
		[ -d "$d/invoices" ] && ls "$d/invoices"; done | sort | uniq -d >"$norm/written-twice.txt"
	while read -r f; do
		case $f in
		*.json) sed -E 's/"(issued_at|run|rating|rated_line)": [^,]*/"\1": _/g' "$f" >"$norm/$(basename "$f")" ;;
		# A PDF's text, as pdftotext reads it (its bytes hold the creation
		# time and, in its metadata, the run: run ids jump after a server
		# crash, as sequences do; its footer the issuing time).
		*.pdf) pdftotext -layout "$f" - | sed -E 's/issued [0-9T:-]+Z/issued _/' >"$norm/$(basename "$f").txt" ;;
		# The FOCUS export holds no ids or times of its own: as written.
		*.focus.csv) cp "$f" "$norm/$(basename "$f")" ;;
		esac
	done <"$work/$1/documents.txt"
}

# facts_seen NAME: NAME's facts as compared with A's. D has, by design,
# the month-end run that failed on the full disk (the next `billrun run`
# makes a new run, and a later archive step makes the failed run's
# archive too): its runs that failed and the archive entries are left out
# here and checked in compare (each month-end run has its archive, which
# verifies against the documents that run issued).
facts_seen() {
	if [ "$2" = fd ]; then
		sed -e '/^[a-z_]*|[0-9-]*|failed|[0-9]*$/d' -e '/^archive\.created|/d' "$work/$1/facts.txt"
	else
		cat "$work/$1/facts.txt"
	fi
}

# compare NAME: NAME's facts and outputs against A's; prints what differs.
compare() {
	ok=0
	if ! br "$1" audit verify >"$work/$1/audit.txt" 2>&1; then
		echo "faults: $1: the audit chain does not verify:"; cat "$work/$1/audit.txt"; ok=1
	fi
	facts "$1"
	facts_seen fa "$1" >"$work/$1/facts.ref"
	facts_seen "$1" "$1" >"$work/$1/facts.seen"
	if ! diff -u "$work/$1/facts.ref" "$work/$1/facts.seen" >"$work/$1/facts.diff"; then
		echo "faults: $1: facts differ from A's (- A, + $1; first 40 lines of $work/$1/facts.diff):"
		head -n 40 "$work/$1/facts.diff"; ok=1
	fi
	if ! diff -u "$work/fa/usage.txt" "$work/$1/usage.txt" >"$work/$1/usage.diff"; then
		echo "faults: $1: usage rows differ from A's (first 20 lines of $work/$1/usage.diff):"
		head -n 20 "$work/$1/usage.diff"; ok=1
	fi
	outputs "$1"
	if ! diff -r "$work/fa/outputs" "$work/$1/outputs" >"$work/$1/outputs.diff"; then
		echo "faults: $1: month-end outputs differ from A's (first 20 lines of $work/$1/outputs.diff):"
		head -n 20 "$work/$1/outputs.diff"; ok=1
	fi
	noreport=$(q "$1" "SELECT output_dir FROM runs ORDER BY id" | while read -r d; do
		[ -s "$d/run-report.html" ] || echo "$d"; done)
	if [ -n "$noreport" ]; then
		echo "faults: $1: runs without their run report:"; echo "$noreport"; ok=1
	fi
	leftover=$(find "$work/$1/state/output" -name '*.tmp' | head -n 5)
	if [ -n "$leftover" ]; then
		echo "faults: $1: temporary files left in the outputs:"; echo "$leftover"; ok=1
	fi
	if [ -s "$work/$1/outputs/written-twice.txt" ]; then
		echo "faults: $1: documents written into two runs' folders:"; head -n 5 "$work/$1/outputs/written-twice.txt"; ok=1
	fi
	archives=$(find "$(archdir "$1")" -name '*.tar.gz' | wc -l)
	want=$(q "$1" "SELECT count(*) FROM runs WHERE dag = 'month_end'")
	if [ "$archives" != "$want" ]; then
		echo "faults: $1: $archives archives, expected $want (one per month-end run)"; ok=1
	else
		for a in $(find "$(archdir "$1")" -name '*.tar.gz' | sort); do
			br "$1" archive verify "$a" --ca "$work/keys/demo-ca.pem" >"$work/$1/archive.txt" 2>&1 ||
				{ echo "faults: $1: the archive $a does not verify:"; cat "$work/$1/archive.txt"; ok=1; }
		done
	fi
	if grep -q 'NOT CONSERVED' "$work/$1/facts.txt"; then
		echo "faults: $1: conservation broken:"; grep 'NOT CONSERVED' "$work/$1/facts.txt"; ok=1
	fi
	return $ok
}

facts fa
outputs fa
grep -q 'NOT CONSERVED' "$work/fa/facts.txt" && fail "A: conservation broken"
sed -n '/^== usage billed/,/^==/p' "$work/fa/facts.txt" | awk -F'|' 'NF == 3 && $3 != 0 { bad = 1 } END { exit bad }' ||
	fail "A: invoice lines do not bill their usage exactly once (see $work/fa/facts.txt)"
failed=0
compare fb || failed=1
[ $failed = 0 ] && say "B: equal to A: invoices ($(grep -c '\.pdf$' "$work/fa/outputs/documents.txt" || true) PDF documents), lines, totals, files, usage, quarantine, holds, audit facts; audit chain verifies"

# ---- C: PostgreSQL restarted (immediate mode) in the middle of steps ----

# Two restarts: in the nightly step that ran longest in A, and in the
# month-end invoice step. So that the restart surely falls inside the step
# (on any machine, however fast), a session holds a SHARE lock on the
# table only that step writes, taken when the run starts: the step does
# its work up to its first write there and waits, in the middle of its
# transaction; PostgreSQL is restarted then, which also ends the blocking
# session. (A step without such a table is hit 40 % into its duration in
# A instead.) The runner must survive, the step's attempt fail as
# retryable, a later attempt succeed within the step's retries, and the
# results equal A's.
set -- $(q fa "SELECT r.dag, r.period_start, a.step, round(extract(epoch FROM a.ended_at - a.started_at)::numeric * 0.4, 3)
               FROM step_attempts a JOIN runs r ON r.id = a.run_id WHERE r.dag = 'nightly'
               ORDER BY a.ended_at - a.started_at DESC LIMIT 1" | tr '|' ' ')
r1_dag=$1 r1_p=$2 r1_step=$3 r1_d=$4
set -- $(q fa "SELECT round(extract(epoch FROM a.ended_at - a.started_at)::numeric * 0.4, 3)
               FROM step_attempts a JOIN runs r ON r.id = a.run_id WHERE r.dag = 'month_end' AND a.step = 'invoice'")
r2_dag=month_end r2_p=$MONTH-01 r2_step=invoice r2_d=$1

# The table only this step writes (a SHARE lock stops its writes and
# nobody's reads); empty when there is none.
step_table() {
	case $1 in
	ingest) echo ingest_files ;;
	aggregate) echo agg_snapshots ;;
	rate) echo ratings ;;
	reconcile) echo reconciliation_checks ;;
	invoice) echo invoices ;;
	esac
}

setup_db fc
say "C: PostgreSQL restarted during $r1_dag $r1_p $r1_step (${r1_d}s in) and $r2_dag $r2_p $r2_step (${r2_d}s in)"
t0=$(now)
: >"$work/fc/run.log"
while read -r dag period arrivals; do
	arrive fc "$arrivals"
	"$B" -c "$work/fc/billrun.conf" run "$dag" --period "$period" >>"$work/fc/run.log" 2>&1 &
	pid=$!
	p=$(pstart "$dag" "$period")
	for target in "$r1_dag $r1_p $r1_step $r1_d" "$r2_dag $r2_p $r2_step $r2_d"; do
		set -- $target
		[ "$1 $2" = "$dag $p" ] || continue
		table=$(step_table "$3")
		blocker=""
		if [ -n "$table" ]; then
			psql -Atq "$dsn dbname=fc" -c "BEGIN" -c "LOCK TABLE $table IN SHARE MODE" \
				-c "SELECT pg_sleep(600)" >/dev/null 2>&1 &
			blocker=$!
		fi
		while alive "$pid" && ! happened fc "$dag" "$p" start "$3"; do sleep 0.05; done
		if [ -n "$table" ]; then
			# until the step waits for the lock
			n=0
			while [ "$(q fc "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = '$table'::regclass")" = 0 ]; do
				alive "$pid" || break
				n=$((n + 1))
				[ $n -lt 2400 ] || fail "C: $dag $p $3 never reached its write to $table"
				sleep 0.05
			done
		else
			sleep "$4"
		fi
		state=$(q fc "SELECT s.status FROM run_steps s JOIN runs r ON r.id = s.run_id
		              WHERE r.dag = '$dag' AND r.period_start = '$p' AND s.step = '$3'")
		[ "$state" = running ] || fail "C: $dag $p $3 is $state, not running, when PostgreSQL should restart"
		echo "--- restart during $3" >>"$work/fc/run.log"
		runuser -u postgres -- "$bindir/pg_ctl" -D "$work/pg/data" -m immediate -w -t 60 restart >/dev/null ||
			fail "C: PostgreSQL did not restart (see $work/pg/server.log)"
		say "C: restarted PostgreSQL while $dag $p $3 ran${table:+ (waiting to write to $table)}"
		[ -z "$blocker" ] || wait "$blocker" 2>/dev/null || true
	done
	rc=0
	wait "$pid" || rc=$?
	[ $rc = 0 ] || { tail -n 30 "$work/fc/run.log"; fail "C: $dag $period exited $rc (log: $work/fc/run.log)"; }
done <"$work/runs"
say "C: done in $(elapsed "$t0") s"
for target in "$r1_dag $r1_p $r1_step" "$r2_dag $r2_p $r2_step"; do
	set -- $target
	attempts=$(q fc "SELECT string_agg(a.attempt || ':' || a.status, ' ' ORDER BY a.attempt) FROM step_attempts a
	                 JOIN runs r ON r.id = a.run_id WHERE r.dag = '$1' AND r.period_start = '$2' AND a.step = '$3'")
	say "C: $1 $2 $3 attempts: $attempts"
	case $attempts in
	"1:retryable "*:success) ;;
	*) echo "faults: C: $1 $2 $3: expected a retryable first attempt, then success within its retries (3)"; failed=1 ;;
	esac
	n=$(echo "$attempts" | wc -w)
	[ "$n" -le 4 ] || { echo "faults: C: $1 $2 $3: $n attempts, more than 1 + retries (3)"; failed=1; }
done
compare fc || failed=1

# ---- D: the disk fills at a random write ----

# D's state folder (its outputs: run reports, invoices, chargeback, XBRL,
# metrics) and its archives are on a tmpfs of a size drawn from the seed
# between a tenth and nine tenths of what A wrote there, so the disk fills
# at a random write of a random run and step. The step that hits it fails
# (its retries too, the disk being still full); the operator then makes
# room (the tmpfs grows) and runs the DAG again, and again after every
# other failure, as many as it takes. The results must equal A's: every
# issued invoice with its documents once, the archive complete, no
# temporary file left; and the failure must have named the full disk.
a_kb=$(du -sk "$work/fa/state" "$work/fa/archive" | awk '{ s += $1 } END { print s }')
d_kb=$(awk -v seed="$SEED" -v a="$a_kb" 'BEGIN { s = (seed * 7 + 11) % 2147483646 + 1
	for (i = 0; i < 3; i++) s = (s * 48271) % 2147483647
	printf "%d", a * (0.1 + 0.8 * s / 2147483647) }')
mkdir -p "$work/fd/state"
if ! mount -t tmpfs -o "size=${d_kb}k,mode=755" tmpfs "$work/fd/state" 2>"$work/fd.mount"; then
	say "D: skipped: cannot mount a tmpfs here ($(cat "$work/fd.mount"))"
else
setup_db fd
say "D: the disk fills after ${d_kb} kB of the ${a_kb} kB that A wrote"
t0=$(now)
: >"$work/fd/run.log"
filled=0
while read -r dag period arrivals; do
	arrive fd "$arrivals"
	tries=0
	until br fd run "$dag" --period "$period" >>"$work/fd/run.log" 2>&1; do
		tries=$((tries + 1))
		[ $tries -le 3 ] || { tail -n 30 "$work/fd/run.log"; fail "D: $dag $period still fails after the disk grew"; }
		if [ $filled = 0 ]; then
			filled=1
			grep -q 'No space left on device' "$work/fd/run.log" ||
				{ tail -n 30 "$work/fd/run.log"; fail "D: $dag $period failed without naming the full disk"; }
			step=$(q fd "SELECT string_agg(DISTINCT a.step, '+') FROM step_attempts a JOIN runs r ON r.id = a.run_id
			             WHERE a.status <> 'success'")
			say "D: the disk filled during $dag $period (failed: ${step:-no step: the runner itself}); it grows"
			echo "--- the disk grows" >>"$work/fd/run.log"
			mount -o "remount,size=$((a_kb * 4 + 4096))k" "$work/fd/state" || fail "D: could not grow the tmpfs"
		fi
	done
done <"$work/runs"
[ $filled = 1 ] || fail "D: the disk never filled (${d_kb} kB of ${a_kb} kB)"
say "D: done in $(elapsed "$t0") s"
compare fd || failed=1
fi

say "total $(elapsed "$t_start") s, load average $(cut -d' ' -f1-3 /proc/loadavg)"
[ $failed = 0 ] || fail "see above (seed $SEED)"
say "passed (seed $SEED)"
