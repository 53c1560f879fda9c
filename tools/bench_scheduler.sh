#!/bin/sh
# bench_scheduler.sh - `make bench-scheduler`: the runner's own overhead.
# Two DAGs of N exec steps running `true` (default 1,000): a fan-out/fan-in
# (one root, N-2 parallel steps, one join) and a chain; every attempt's
# state persisted in a durable PostgreSQL (fsync on). Prints wall time and
# the overhead per step. Target: 1,000 steps in under 2 s on 2 cores.
set -eu
cd "$(dirname "$0")/.."
N=${1:-1000}
work=$(mktemp -d /tmp/billrun-bench-sched.XXXXXX)
chmod 755 "$work"
trap 'sh tests/pg.sh stop "$work/pg" >/dev/null 2>&1; rm -rf "$work"' EXIT INT TERM
dsn=$(PG_DURABLE=1 sh tests/pg.sh start "$work/pg")
conf="$work/bench.conf"
{
	echo "state_dir = \"$work/state\";"
	echo "database = { dsn = \"$dsn\"; };"
	echo "rules = { file = \"$work/none.conf\"; };"
	echo "log = { level = \"warn\"; };"
	echo "dags = {"
	echo "  fan = { max_parallel = 16; steps = ("
	echo "    { name = \"root\"; exec = \"true\"; },"
	i=1
	while [ $i -le $((N - 2)) ]; do
		echo "    { name = \"s$i\"; exec = \"true\"; after = [\"root\"]; },"
		i=$((i + 1))
	done
	printf '    { name = "join"; exec = "true"; after = ['
	i=1
	while [ $i -le $((N - 2)) ]; do
		printf '"s%d"%s' $i "$([ $i -lt $((N - 2)) ] && echo ,)"
		i=$((i + 1))
	done
	echo '] } ); };'
	echo "  chain = { max_parallel = 1; steps = ("
	echo "    { name = \"c1\"; exec = \"true\"; },"
	i=2
	while [ $i -le "$N" ]; do
		echo "    { name = \"c$i\"; exec = \"true\"; after = [\"c$((i - 1))\"] }$([ $i -lt "$N" ] && echo ,)"
		i=$((i + 1))
	done
	echo "  ); };"
	echo "};"
} > "$conf"
./billrun -c "$conf" db migrate >/dev/null
echo "bench-scheduler: $N exec steps per DAG, state in PostgreSQL (fsync on), $(nproc) cores"
for dag in fan chain; do
	t0=$(date +%s.%N)
	./billrun -c "$conf" run "$dag" --period 2026-01-01 >/dev/null
	t1=$(date +%s.%N)
	# The floor: the same number of fork+exec of `true` from a shell loop.
	awk -v a="$t0" -v b="$t1" -v n="$N" -v d="$dag" 'BEGIN {
		w = b - a; printf "  %-6s wall %.3f s, %.3f ms per step (target: %d steps < 2 s: %s)\n",
		d, w, 1000 * w / n, n, (w < 2 ? "met" : "MISSED") }'
done
t0=$(date +%s.%N)
i=0
while [ $i -lt "$N" ]; do sh -c true; i=$((i + 1)); done
t1=$(date +%s.%N)
awk -v a="$t0" -v b="$t1" -v n="$N" 'BEGIN { w = b - a;
	printf "  floor  %d x `sh -c true` alone: %.3f s, %.3f ms each\n", n, w, 1000 * w / n }'
./billrun -c "$conf" history --limit 2
