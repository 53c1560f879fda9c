#!/bin/sh
# gen_data.sh - the data of `make test-faults`: accounts, plans and a
# month of daily usage files, the same bytes for the same arguments.
#   gen_data.sh DIR MONTH ACCOUNTS RECORDS_PER_DAY
# Writes DIR/accounts.csv, DIR/subscriptions.csv and DIR/arrivals/DD/*,
# the files that land in the spool before the nightly run of day DD:
#   usage-MONTH-DD.csv   the day's usage, over every account, meters as
#                        each account's plan prices them (conf/rates.conf)
#   plus, to exercise what billing must survive:
#   - late records: from day 3 on, each file also holds records of two
#     days earlier (a day already aggregated and rated);
#   - duplicate records: from day 2 on, each file repeats records of the
#     previous day's file verbatim (same event ids);
#   - a file sent twice: day 10's file arrives again on day 11 under
#     another name (skipped by its SHA-256);
#   - bad records on days 5, 12, 19 and 26: an unknown account, an unknown
#     meter, a bad timestamp, a wrong column count and a negative quantity
#     (the last holds its account's month back from invoicing);
#   - a control file (FILE.ctl) stating the record count, on day 7.
set -eu
dir=$1 month=$2 accounts=$3 per_day=$4
days=$(date -d "$month-01 +1 month -1 day" +%d)
mkdir -p "$dir/arrivals"

awk -v dir="$dir" -v month="$month" -v days="$days" -v accounts="$accounts" -v per_day="$per_day" '
# Park-Miller: integer arithmetic exact in doubles, the same sequence in
# every awk (rand() is not).
function rnd(n) { seed = (seed * 48271) % 2147483647; return seed % n }
function acct(i) { return sprintf("ACC-%05d", i) }
BEGIN {
	seed = 20261022
	split("Europe/Berlin Europe/Paris Asia/Tokyo UTC", tz, " ")
	split("DE FR JP DE", jur, " ")
	split("basic pro cloud", plans, " ")
	a = dir "/accounts.csv"; s = dir "/subscriptions.csv"
	print "external_id,name,time_zone,anchor_day,currency,tax_jurisdiction,cost_centre,email,valid_from" > a
	print "account,plan,valid_from" > s
	for (i = 1; i <= accounts; i++) {
		k = (i - 1) % 4 + 1
		plan[i] = plans[(i - 1) % 3 + 1]
		printf "%s,Customer %d GmbH,%s,1,EUR,%s,CC-%d,billing%d@example.test,2024-01-01\n", acct(i), i, tz[k],
			jur[k], 100 * ((i - 1) % 5 + 1), i > a
		printf "%s,%s,2024-01-01\n", acct(i), plan[i] > s
	}
	meters["basic"] = "voice_seconds sms"; meters["pro"] = "voice_seconds storage_gb"
	meters["cloud"] = "api_calls storage_gb"
	hdr = "event_id,account_id,meter,timestamp,quantity"
	for (d = 1; d <= days; d++) {
		dd = sprintf("%02d", d)
		system("mkdir -p " dir "/arrivals/" dd)
		f = dir "/arrivals/" dd "/usage-" month "-" dd ".csv"
		print hdr > f
		n = 0
		for (r = 0; r < per_day; r++) {
			i = rnd(accounts) + 1
			split(meters[plan[i]], m, " ")
			mt = m[rnd(2) + 1]
			q = mt == "voice_seconds" ? 1 + rnd(900) : mt == "sms" ? 1 : mt == "storage_gb" ? 1 + rnd(400) : rnd(5000)
			ms = int(r * 86400000 / per_day)
			line = sprintf("ev-%s-%07d,%s,%s,%s-%sT%02d:%02d:%02d.%03dZ,%d", dd, r, acct(i), mt, month, dd,
				int(ms / 3600000), int(ms / 60000) % 60, int(ms / 1000) % 60, ms % 1000, q)
			print line > f
			n++
			# Keep a few of each day for the next days: duplicates and late copies.
			if (r % int(per_day / 10) == 7) dup[d, ++ndup[d]] = line
			if (r % int(per_day / 20) == 3) late[d, ++nlate[d]] = sprintf("%s,%s,%s,%s-%sT%02d:%02d:00Z,%d", \
				"late-" dd "-" r, acct(i), mt, month, dd, int(ms / 3600000), int(ms / 60000) % 60, q)
		}
		if (d >= 2) for (k = 1; k <= ndup[d - 1]; k++) { print dup[d - 1, k] > f; n++ }
		if (d >= 3) for (k = 1; k <= nlate[d - 2]; k++) { print late[d - 2, k] > f; n++ }
		if (d % 7 == 5) {
			printf "bad-%s-1,NOSUCH-%d,sms,%s-%sT10:00:00Z,1\n", dd, d, month, dd > f
			printf "bad-%s-2,%s,teleport_minutes,%s-%sT10:00:00Z,5\n", dd, acct(d), month, dd > f
			printf "bad-%s-3,%s,sms,%s-%sT25:61:00Z,1\n", dd, acct(d + 1), month, dd > f
			printf "bad-%s-4,%s,sms\n", dd, acct(d + 2) > f
			# Account 3d + 1 has plan basic, which does not allow credits on
			# sms: the negative count is quarantined and holds its month.
			printf "bad-%s-5,%s,sms,%s-%sT11:00:00Z,-3\n", dd, acct(3 * d + 1), month, dd > f
			n += 5
		}
		close(f)
		if (d == 7) {
			c = f ".ctl"
			printf "# what the sender counted\nrecords %d\n", n > c
			close(c)
		}
	}
}'
# Day 10's file, sent again on day 11 under another name.
cp "$dir/arrivals/10/usage-$month-10.csv" "$dir/arrivals/11/usage-$month-10-resent.csv"
