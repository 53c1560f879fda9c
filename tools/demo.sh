#!/bin/sh
# demo.sh - `make demo`: run billrun on sample data with an embedded
# PostgreSQL under ./var, and say where the results are.
set -eu
cd "$(dirname "$0")/.."
B=./billrun
C=conf/demo.conf
mkdir -p var/spool
# Sample usage: yesterday's records for the demo accounts.
day=$(date -d yesterday +%Y-%m-%d)
if [ -x build/gen_usage ] && [ ! -e "var/spool/usage-$day.csv" ]; then
	build/gen_usage --rows 5000 --accounts 20 --day "$day" > "var/spool/usage-$day.csv" || true
fi
$B -c $C db start
$B -c $C db migrate
$B -c $C check-config > var/effective.conf
$B -c $C run nightly --period "$day" || status=$?
$B -c $C status
echo
echo "demo: the embedded cluster keeps running; 'billrun -c $C db stop' stops it"
echo "demo: run outputs are under $(pwd)/var/output, metrics under $(pwd)/var/metrics"
exit ${status:-0}
