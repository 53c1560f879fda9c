#!/bin/sh
# pg.sh - start or stop a throwaway PostgreSQL cluster for the tests.
#   pg.sh start DIR   initdb + start on a unix socket in DIR; prints the DSN
#   pg.sh stop DIR    stop it (immediate) and remove DIR
# As root the cluster runs as the unprivileged user $PG_USER (default postgres).
# PG_DURABLE=1 keeps fsync on (benchmarks); PG_OPTS adds server options.
set -eu
cmd=$1 dir=$2
PG_USER=${PG_USER:-postgres}
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -x "$bindir/initdb" ] || { echo "pg.sh: no PostgreSQL server binaries under /usr/lib/postgresql" >&2; exit 69; }
as_pg() {
	if [ "$(id -u)" = 0 ]; then runuser -u "$PG_USER" -- "$@"; else "$@"; fi
}
case $cmd in
start)
	mkdir -p "$dir"
	[ "$(id -u)" = 0 ] && chown "$PG_USER" "$dir"
	# The socket's folder is open to all (as /var/run/postgresql is), so
	# that a test may run billrun without root's file-access override.
	chmod 755 "$dir"
	as_pg "$bindir/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
		{ cat "$dir/initdb.log" >&2; exit 69; }
	# Everyone is trusted but the role billrun_pw_test, which must give its
	# password (test_bad_input: a wrong password).
	as_pg sh -c "{ echo 'local all billrun_pw_test scram-sha-256'; cat '$dir/data/pg_hba.conf'; } >'$dir/data/pg_hba.tmp' &&
		mv '$dir/data/pg_hba.tmp' '$dir/data/pg_hba.conf'"
	# Tests trade durability for speed; benchmarks (PG_DURABLE=1) keep the
	# server's defaults so their figures mean something.
	fast="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
	[ "${PG_DURABLE:-0}" = 1 ] && fast=""
	as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
		-o "-k $dir -c listen_addresses= $fast -c max_connections=200 ${PG_OPTS:-}" \
		start >/dev/null || { cat "$dir/server.log" >&2; exit 69; }
	echo "host=$dir port=5432 user=postgres dbname=postgres"
	;;
stop)
	as_pg "$bindir/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
	rm -rf "$dir"
	;;
esac
