#!/bin/sh
# demo.sh - `make demo`: billrun on sample data with an embedded
# PostgreSQL under ./var. Five accounts (conf/demo/), last month's usage
# generated into var/spool, a nightly run for yesterday, then the
# month-end close of last month: invoices (PDF, JSON, FOCUS export and the
# UBL 2.1 e-invoice, each checked against the EN 16931 and Peppol rules),
# XBRL report and a signed BagIt archive, and where to find them.
set -eu
cd "$(dirname "$0")/.."
B=./billrun
C=conf/demo.conf
state=$(pwd)/var
# As root, PostgreSQL runs as the postgres user, which must be able to
# reach the cluster's folder. A clone in a private folder (/root, a
# mktemp -d) is not reachable: keep the cluster's state in /var/tmp then.
if [ "$(id -u)" = 0 ] && ! runuser -u postgres -- test -x "$(pwd)" 2>/dev/null; then
	state=/var/tmp/billrun-demo-$(echo "$(pwd)" | cksum | cut -d' ' -f1)
	mkdir -p var "$state"
	chmod 755 "$state"
	sed "s|^state_dir = \"var\";|state_dir = \"$state\";|" conf/demo.conf >var/demo.conf
	C=var/demo.conf
	echo "demo: the postgres user cannot enter $(pwd); the cluster and outputs go to $state"
fi
month=$(date -d "$(date +%Y-%m-01) -1 day" +%Y-%m)
yesterday=$(date -d yesterday +%Y-%m-%d)
mkdir -p var/spool
sh tools/demo_keys.sh var >/dev/null
$B -c $C db start >/dev/null
$B -c $C db migrate
$B -c $C check-config >var/effective.conf
$B -c $C accounts import conf/demo/accounts.csv
$B -c $C subscriptions import conf/demo/subscriptions.csv
$B -c $C fx import conf/demo/fx.csv
# A month of usage: calls, SMS and API calls for each account, one file.
usage="var/spool/usage-$month.csv"
if [ ! -e "$usage" ] && ! ls var/spool/processed/usage-"$month".csv >/dev/null 2>&1; then
	days=$(date -d "$month-01 +1 month -1 day" +%d)
	awk -v month="$month" -v days="$days" 'BEGIN {
		srand(42); n = 0
		print "event_id,account_id,meter,timestamp,quantity"
		# Meters as the plan of each account prices them (conf/rates.conf).
		plan["ACME-1"] = "voice_seconds storage_gb"; plan["BOLT-2"] = "voice_seconds sms"
		plan["CORV-3"] = "api_calls storage_gb"; plan["DUNE-4"] = "voice_seconds sms"
		plan["EMBR-5"] = "api_calls storage_gb"
		for (d = 1; d <= days; d++)
			for (a in plan) {
				split(plan[a], m, " ")
				for (i = 1; i <= 2; i++)
					for (k = 0; k < 4; k++) {
						q = m[i] == "voice_seconds" ? 20 + int(rand() * 400) : m[i] == "sms" ? 1 : \
						    m[i] == "storage_gb" ? 10 + int(rand() * 90) : int(rand() * 2000)
						printf "ev-%06d,%s,%s,%s-%02dT%02d:%02d:00Z,%d\n", ++n, a, m[i], month, d, 8 + k * 2, (7 * k) % 60, q
					}
			}
		# Two bad records, to show quarantine at work: an unknown account,
		# and a negative quantity that holds DUNE-4 back from invoicing.
		printf "ev-%06d,NOSUCH-9,sms,%s-10T12:00:00Z,1\n", ++n, month
		printf "ev-%06d,DUNE-4,sms,%s-10T12:00:00Z,-3\n", ++n, month
	}' >"$usage"
fi
status=0
$B -c $C run nightly --period "$yesterday" || status=$?
$B -c $C run month_end --period "$month" || status=$?
run=$($B -c $C --json history month_end --limit 1 | sed -n 's/.*"run":"\([0-9]*\)".*/\1/p' | head -n 1)
$B -c $C status "$run"
out=$(ls -d "$state"/output/month_end/"$month"-01/run-"$run" 2>/dev/null || true)
echo
echo "demo: month-end run $run for $month; its outputs are in $out"
if [ -n "$out" ]; then
	pdfs=$(find "$out" -name '*.pdf' | sort)
	echo "demo: invoices (PDF):"
	for p in $pdfs; do echo "  $p"; done
	xmls=$(find "$out" -path '*/invoices/*.xml' | sort)
	echo "demo: e-invoices (UBL 2.1, Peppol BIS Billing 3.0), checked with tests/einvoice/check.sh:"
	for x in $xmls; do echo "  $x"; done
	# The same check as test_einvoice: the UBL 2.1 schema, the EN 16931
	# and the Peppol rules (exit 2: Saxon-HE or Java is not installed).
	# shellcheck disable=SC2086
	if check=$(sh tests/einvoice/check.sh $xmls 2>&1); then
		echo "demo:   all valid (UBL 2.1 schema, EN 16931, Peppol BIS 3)"
	else
		echo "$check" | sed 's/^/demo:   /'
		status=1
	fi
	find "$out" -name '*.xbrl' ! -name '*-gl.xbrl' | sed 's/^/demo: XBRL report: /'
	for j in $(find "$out" -name '*-gl.xbrl'); do
		echo "demo: journal (XBRL GL): $j"
		$B xbrl validate --catalog reports/xbrl-gl-catalog.xml "$j" | sed 's/^/demo:   /'
	done
	find "$out" -name '*-journal.csv' | sed 's/^/demo: journal (CSV): /'
	[ -f "$out/run-report.html" ] && echo "demo: run report: $out/run-report.html"
fi
for a in $(find "$(pwd)/var/archive" -name '*.tar.gz' 2>/dev/null | sort); do
	echo "demo: signed archive: $a"
	$B -c $C archive verify "$a" --ca var/demo-ca.pem | sed 's/^/demo:   /'
done
echo "demo: the embedded cluster keeps running; '$B -c $C db stop' stops it"
exit $status
