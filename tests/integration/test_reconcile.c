/*
 * test_reconcile.c - the reconcile step against a real PostgreSQL: for each
 * check a fixture that passes and one that fails (control files: records,
 * quantities, cost, unusable; conservation; accepted vs aggregated;
 * aggregated vs rated; FOCUS BilledCost vs chargeback), the tolerances,
 * the holds a failing check writes (and only for the accounts it
 * concerns), drift against recent nights, and the settings' checks.
 *
 * Files go through the real ingest step from tests/fixtures/reconcile/;
 * where a failure cannot be produced with honest inputs (a file whose rows
 * went missing, a rating that disagrees), the test forges the rows as the
 * owner and says so.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "reconcile_env.h"

static int setup(void **state)
{
	return env_setup("test_reconcile");
}

static int teardown(void **state)
{
	return env_teardown();
}

/* ---- control files ---- */

static void control_file_that_agrees_passes(void **state)
{
	NEED_PG();
	spool_put("usage-ok.csv");
	long long run = night("2026-03-10");

	assert_string_equal(verdict(run, "control_records", NULL), "pass");
	assert_string_equal(verdict(run, "control_quantity", "meter = 'calls'"), "pass");
	assert_string_equal(q_text("SELECT expected || '/' || actual || '/' || difference FROM reconciliation_checks "
				   "WHERE run_id = %lld AND check_name = 'control_quantity'", run),
			    "180/180/0");
	assert_string_equal(verdict(run, "conservation", NULL), "pass");
	assert_int_equal(q_int("SELECT count(*) FROM reconciliation_checks WHERE run_id = %lld AND verdict <> 'pass'",
			       run),
			 0);
	assert_int_equal(q_int("SELECT count(*) FROM account_holds"), 0);
	assert_string_equal(q_text("SELECT files || ' ' || failed || ' ' || holds FROM reconcile_runs WHERE run_id = %lld",
				   run),
			    "1 0 0");
}

/* ---- a cut file ---- */

static void spool_write(const char *name, const char *text)
{
	char path[600];
	snprintf(path, sizeof(path), "%s/%s", env_spool, name);
	assert_int_equal(test_write_file(path, text), 0);
}

#define CUT_HEAD "event_id,account_id,meter,timestamp,quantity\n" \
	"cut-1,alpha,calls,2026-03-10T10:00:00Z,100\n"

static void a_cut_file_is_billed_once_when_whole(void **state)
{
	NEED_PG();
	/* The last record cut: ...,3127 arrived as ...,31, no line end. */
	spool_write("usage-cut.csv", CUT_HEAD "cut-2,alpha,calls,2026-03-10T11:00:00Z,31");
	spool_write("usage-ok.csv", "event_id,account_id,meter,timestamp,quantity\n"
				    "b-1,beta,calls,2026-03-10T12:00:00Z,30\n");
	long long run = night("2026-03-10");
	/* nothing of the cut file is billed; the rest of the night is */
	assert_int_equal(q_int("SELECT count(*) FROM ingest_files WHERE file_name = 'usage-cut.csv'"), 0);
	assert_int_equal(q_int("SELECT count(*) FROM usage WHERE event_key LIKE 'cut-%%'"), 0);
	assert_int_equal(q_int("SELECT count(*) FROM ratings_current WHERE account_ext = 'alpha' AND subtotal <> 0"), 0);
	assert_string_equal(q_text("SELECT subtotal FROM ratings_current WHERE account_ext = 'beta' AND "
				   "period_local_start = '2026-03-01'"), "0.30");
	assert_string_equal(verdict(run, "conservation", NULL), "pass");
	/* the sender completes it: the record is billed once, with 3127 */
	spool_write("usage-cut.csv", CUT_HEAD "cut-2,alpha,calls,2026-03-10T11:00:00Z,3127\n");
	run = night("2026-03-11");
	assert_string_equal(q_text("SELECT string_agg(quantity::text, ',') FROM usage WHERE event_key = 'cut-2'"), "3127");
	assert_string_equal(q_text("SELECT subtotal FROM ratings_current WHERE account_ext = 'alpha' AND "
				   "period_local_start = '2026-03-01'"), "32.27");
	assert_string_equal(verdict(run, "conservation", NULL), "pass");
}

static void a_cut_file_its_control_file_counts_bills_the_rest(void **state)
{
	NEED_PG();
	spool_write("usage-cut.csv", CUT_HEAD "cut-2,alpha,calls,2026-03-10T11:00:00Z,31");
	spool_write("usage-cut.csv.ctl", "records 2\n");
	long long run = night("2026-03-10");
	assert_string_equal(q_text("SELECT records_read || '=' || accepted || '+' || quarantined || '+' || duplicates "
				   "FROM ingest_files WHERE file_name = 'usage-cut.csv'"), "2=1+1+0");
	assert_string_equal(q_text("SELECT reason || ' ' || line_no FROM quarantine_records WHERE file_name = "
				   "'usage-cut.csv'"), "truncated 3");
	assert_string_equal(verdict(run, "conservation", NULL), "pass");
	assert_string_equal(verdict(run, "control_records", NULL), "pass");
	/* the cut 31 is never billed */
	assert_int_equal(q_int("SELECT count(*) FROM usage WHERE event_key = 'cut-2'"), 0);
}

static void control_file_that_disagrees_holds_the_files_accounts(void **state)
{
	NEED_PG();
	spool_put("usage-ctl-mismatch.csv");
	long long run = night("2026-03-10");

	/* The file states 4 records and 200 calls; 3 and 180 were read. */
	assert_string_equal(verdict(run, "control_records", NULL), "fail");
	assert_string_equal(q_text("SELECT expected || '/' || actual || '/' || difference || '/' || tolerance "
				   "FROM reconciliation_checks WHERE run_id = %lld AND check_name = 'control_records'", run),
			    "4/3/-1/0");
	assert_string_equal(verdict(run, "control_quantity", NULL), "fail");
	/* Both accounts of the file are held for March, once per reason. */
	assert_string_equal(holds_of("alpha"), "control_quantity,control_records");
	assert_string_equal(holds_of("beta"), "control_quantity,control_records");
	assert_string_equal(q_text("SELECT billrun_is_held('alpha', '2026-03-01')"), "t");
	assert_string_equal(q_text("SELECT billrun_is_held('alpha', '2026-04-01')"), "f");
	assert_int_equal(q_int("SELECT count(*) FROM account_holds WHERE run_id = %lld", run), 4);
	assert_true(strstr(q_text("SELECT detail FROM account_holds WHERE account_ext = 'alpha' AND reason = "
				  "'control_records'"),
			   "control file states 4 records, 3 were read") != NULL);
	/* The rest of the run went on: the data itself is rated. */
	assert_string_equal(verdict(run, "rate_quantity", "account_ext = 'alpha'"), "pass");
}

static void control_quantity_within_tolerance_passes(void **state)
{
	NEED_PG();
	spool_put("usage-ctl-near.csv");
	long long run = night("2026-03-10");

	/* 180.1 stated, 180 read: 0.056 %, inside the default 0.1 %
	 * (tolerance 0.001 x 180.1 = 0.1801). */
	assert_string_equal(verdict(run, "control_quantity", NULL), "pass");
	assert_string_equal(q_text("SELECT tolerance FROM reconciliation_checks WHERE run_id = %lld AND "
				   "check_name = 'control_quantity'", run),
			    "0.1801");
	assert_string_equal(holds_of("alpha"), "none");
}

static void control_quantity_beyond_a_tighter_tolerance_fails(void **state)
{
	NEED_PG();
	assert_int_equal(env_config("quantity_relative = \"0.0001\";"), 0);
	spool_put("usage-ctl-near.csv");
	long long run = night("2026-03-10");

	assert_string_equal(verdict(run, "control_quantity", NULL), "fail");
	assert_string_equal(holds_of("alpha"), "control_quantity");
}

static void absolute_tolerance_applies_when_larger(void **state)
{
	NEED_PG();
	assert_int_equal(env_config("quantity_relative = \"0\"; quantity_absolute = \"0.5\";"), 0);
	spool_put("usage-ctl-near.csv");
	long long run = night("2026-03-10");

	assert_string_equal(q_text("SELECT verdict || ' ' || tolerance FROM reconciliation_checks WHERE run_id = %lld "
				   "AND check_name = 'control_quantity'", run),
			    "pass 0.5");
}

static void unusable_control_file_fails(void **state)
{
	NEED_PG();
	spool_put("usage-ctl-invalid.csv");
	long long run = night("2026-03-10");

	assert_string_equal(verdict(run, "control_file", NULL), "fail");
	assert_string_equal(holds_of("beta"), "control_file");
}

static void control_sha256_pass_and_fail(void **state)
{
	NEED_PG();
	spool_put("usage-ctl-sha.csv");       /* states its own SHA-256 */
	spool_put("usage-ctl-sha-wrong.csv"); /* states usage-ok.csv's */
	long long run = night("2026-03-10");

	assert_string_equal(q_text("SELECT string_agg(f.file_name || ' ' || c.verdict, ', ' ORDER BY f.file_name) "
				   "FROM reconciliation_checks c JOIN ingest_files f ON f.id = c.file_id "
				   "WHERE c.run_id = %lld AND c.check_name = 'control_sha256'", run),
			    "usage-ctl-sha-wrong.csv fail, usage-ctl-sha.csv pass");
	/* Only the wrong file's accounts are held (both files have alpha and beta). */
	assert_int_equal(q_int("SELECT count(*) FROM account_holds WHERE reason = 'control_sha256'"), 2);
	assert_non_null(strstr(q_text("SELECT detail FROM account_holds WHERE account_ext = 'alpha'"),
			       "usage-ctl-sha-wrong.csv"));
}

static void control_cost_of_a_focus_file(void **state)
{
	NEED_PG();
	spool_put("focus-march.csv");
	spool_put("focus-cost-off.csv");
	long long run = night("2026-03-10");

	/* focus-march states 37.84567890124, exactly the BilledCost read (11
	 * decimals); focus-cost-off states one more. */
	assert_string_equal(q_text("SELECT string_agg(f.file_name || ' ' || c.verdict || ' ' || c.expected || ' ' || "
				   "c.actual, ', ' ORDER BY f.file_name) FROM reconciliation_checks c JOIN ingest_files f "
				   "ON f.id = c.file_id WHERE c.run_id = %lld AND c.check_name = 'control_cost'", run),
			    "focus-cost-off.csv fail 38.84567890124 37.84567890124, "
			    "focus-march.csv pass 37.84567890124 37.84567890124");
	assert_string_equal(verdict(run, "control_records", NULL), "pass,pass");
	/* A file's cost is in its one BillingCurrency. */
	assert_string_equal(q_text("SELECT string_agg(DISTINCT currency, ',') FROM reconciliation_checks "
				   "WHERE run_id = %lld AND check_name = 'control_cost'", run),
			    "EUR");
}

/* ---- conservation ---- */

static void conservation_holds_for_every_ingested_file(void **state)
{
	NEED_PG();
	spool_put("usage-ok.csv");
	spool_put("usage-bad-records.csv");
	long long run = night("2026-03-10");

	/* usage-bad-records: 4 read = 2 usage rows + 2 quarantined + 0 duplicates. */
	assert_string_equal(verdict(run, "conservation", NULL), "pass,pass");
	assert_string_equal(q_text("SELECT c.expected || '=' || c.actual FROM reconciliation_checks c JOIN ingest_files f "
				   "ON f.id = c.file_id WHERE c.run_id = %lld AND c.check_name = 'conservation' AND "
				   "f.file_name = 'usage-bad-records.csv'", run),
			    "4=4");
}

static void conservation_fails_when_stored_rows_are_missing(void **state)
{
	NEED_PG();
	/* Forged: a file record claiming 3 accepted records of which only 2
	 * reached usage (what a loader bug would leave behind). */
	long long run = new_run("nightly", "day", "2026-03-10", "2026-03-11");
	run_job("ingest", run); /* an empty spool: it stores the rate card's meters */
	sql("INSERT INTO ingest_files (id, run_id, source, format, file_name, sha256, size_bytes, records_read, accepted, "
	    "quarantined, duplicates, started_at) VALUES (900, %lld, 'usage', 'usage-csv', 'usage-forged.csv', "
	    "repeat('a', 64), 100, 3, 3, 0, 0, now())",
	    run);
	sql("SET ROLE billrun_app; INSERT INTO usage (source, event_key, file_id, line_no, run_id, account_ext, meter, "
	    "event_time, quantity) VALUES ('usage', 'f1', 900, 2, %lld, 'alpha', 'calls', '2026-03-10T10:00:00Z', 5), "
	    "('usage', 'f2', 900, 3, %lld, 'beta', 'calls', '2026-03-10T10:00:00Z', 6); RESET ROLE",
	    run, run);
	run_job("aggregate", run);
	run_job("rate", run);
	run_job("reconcile", run);

	assert_string_equal(q_text("SELECT verdict || ' ' || expected || ' ' || actual FROM reconciliation_checks "
				   "WHERE run_id = %lld AND check_name = 'conservation'", run),
			    "fail 3 2");
	assert_string_equal(holds_of("alpha"), "conservation");
	assert_string_equal(holds_of("beta"), "conservation");
	assert_string_equal(holds_of("cloud1"), "none");
}

/* ---- accepted vs aggregated ---- */

static void accepted_equals_aggregated_passes(void **state)
{
	NEED_PG();
	spool_put("usage-ok.csv");
	long long run = night("2026-03-10");

	assert_string_equal(q_text("SELECT string_agg(account_ext || ' ' || meter || ' ' || verdict || ' ' || expected, "
				   "', ' ORDER BY account_ext) FROM reconciliation_checks WHERE run_id = %lld AND "
				   "check_name = 'aggregate_quantity'", run),
			    "alpha calls pass 150, beta calls pass 30");
	assert_string_equal(verdict(run, "aggregate_records", NULL), "pass,pass");
}

static void usage_not_aggregated_fails(void **state)
{
	NEED_PG();
	spool_put("usage-ok.csv");
	static const char *const before[] = { "ingest", "aggregate", "rate", NULL };
	long long run = night_steps("2026-03-10", before);
	/* A record of alpha's March that arrives after the aggregate step
	 * (forged, from no file of this run, with its partial sums as ingest
	 * writes them): the snapshot no longer holds all of the period's
	 * usage. */
	sql("SET ROLE billrun_app; INSERT INTO usage (source, event_key, file_id, line_no, run_id, account_ext, meter, "
	    "event_time, quantity) VALUES ('usage', 'late-1', 0, 9, 0, 'alpha', 'calls', '2026-03-12T10:00:00Z', "
	    "5); SELECT billrun_partials_catch_up(); RESET ROLE");
	run_job("reconcile", run);

	assert_string_equal(q_text("SELECT verdict || ' ' || expected || ' ' || actual || ' ' || difference FROM "
				   "reconciliation_checks WHERE run_id = %lld AND check_name = 'aggregate_quantity' AND "
				   "account_ext = 'alpha'", run),
			    "fail 155 150 -5");
	assert_string_equal(verdict(run, "aggregate_records", "account_ext = 'alpha'"), "fail");
	assert_string_equal(verdict(run, "aggregate_records", "account_ext = 'beta'"), "pass");
	assert_string_equal(holds_of("alpha"), "aggregate_quantity,aggregate_records");
	assert_string_equal(holds_of("beta"), "none");
}

/* ---- aggregated vs rated ---- */

static void aggregated_equals_rated_passes(void **state)
{
	NEED_PG();
	spool_put("usage-ok.csv");
	long long run = night("2026-03-10");

	assert_string_equal(q_text("SELECT string_agg(account_ext || ' ' || verdict || ' ' || expected || '=' || actual, "
				   "', ' ORDER BY account_ext) FROM reconciliation_checks WHERE run_id = %lld AND "
				   "check_name = 'rate_quantity'", run),
			    "alpha pass 150=150, beta pass 30=30");
}

static void aggregated_but_not_rated_fails(void **state)
{
	NEED_PG();
	spool_put("usage-ok.csv");
	static const char *const no_rate[] = { "ingest", "aggregate", "reconcile", NULL };
	long long run = night_steps("2026-03-10", no_rate);

	assert_string_equal(verdict(run, "rate_quantity", NULL), "fail,fail");
	assert_true(strstr(q_text("SELECT detail FROM reconciliation_checks WHERE run_id = %lld AND "
				  "check_name = 'rate_quantity' AND account_ext = 'alpha'", run),
			   "was not rated") != NULL);
	assert_string_equal(holds_of("alpha"), "rate_quantity");
}

static void rated_quantity_that_differs_fails(void **state)
{
	NEED_PG();
	spool_put("usage-ok.csv");
	static const char *const before[] = { "ingest", "aggregate", "rate", NULL };
	long long run = night_steps("2026-03-10", before);
	/* Forged: a newer rating of alpha's snapshot whose usage line priced
	 * 140 calls where 150 were aggregated. */
	sql("INSERT INTO ratings (id, run_id, rule_version, snapshot_id, account_ext, account_id, period_local_start, "
	    "period_local_end, closed, currency, rounding, status, subtotal, total) "
	    "SELECT 9000, run_id, rule_version, snapshot_id, account_ext, account_id, period_local_start, "
	    "period_local_end, closed, currency, rounding, 'rated', 1.40, 1.40 FROM ratings WHERE account_ext = 'alpha'");
	sql("INSERT INTO rated_lines (rating_id, run_id, line_no, kind, account_ext, period_local_start, meter, quantity, "
	    "currency, amount_unrounded, amount) SELECT 9000, %lld, 1, 'usage', 'alpha', '2026-03-01', 'calls', 140, "
	    "'EUR', 1.40, 1.40",
	    run);
	run_job("reconcile", run);

	assert_string_equal(q_text("SELECT verdict || ' ' || expected || ' ' || actual FROM reconciliation_checks WHERE "
				   "run_id = %lld AND check_name = 'rate_quantity' AND account_ext = 'alpha'", run),
			    "fail 150 140");
	assert_string_equal(verdict(run, "rate_quantity", "account_ext = 'beta'"), "pass");
	assert_string_equal(holds_of("alpha"), "rate_quantity");
	assert_string_equal(holds_of("beta"), "none");
}

/* ---- FOCUS BilledCost vs chargeback ---- */

static void focus_cost_against_chargeback(void **state)
{
	NEED_PG();
	spool_put("focus-march.csv");
	long long run = night("2026-03-10");

	/* cloud1: BilledCost 12.34567890124; its plan passes the cost through
	 * at 1:1, rounded once to the cent: 12.35 (0.035 %, inside 0.1 %).
	 * cloud2: BilledCost 25.5, charged 10 x 1 = 10.00: fails. */
	assert_string_equal(q_text("SELECT string_agg(account_ext || ' ' || verdict || ' ' || expected || ' ' || actual "
				   "|| ' ' || currency, ', ' ORDER BY account_ext) FROM reconciliation_checks WHERE "
				   "run_id = %lld AND check_name = 'focus_cost'", run),
			    "cloud1 pass 12.34567890124 12.35 EUR, cloud2 fail 25.5 10.00 EUR");
	assert_string_equal(holds_of("cloud1"), "none");
	assert_string_equal(holds_of("cloud2"), "focus_cost");

	/* The chargeback of March reports the same charges the check compared:
	 * each account row's `charged` is the check's actual, next to the
	 * account's BilledCost (its expected); the total charges are their
	 * sum, also in chargeback_reports. */
	long long month = new_run("month_end", "month", "2026-03-01", "2026-04-01");
	run_job("chargeback", month);
	char cmd[1024];
	snprintf(cmd, sizeof(cmd),
		 "awk -F, '$1 != \"item\" { print $1, $5, $9, $10, $(NF-1), $NF }' '%s/chargeback/chargeback-CC-3-2026-03-01.csv' "
		 "| tr -d '\\r'",
		 env_outdir);
	assert_int_equal(test_sh(env_out, sizeof(env_out), cmd), 0);
	assert_string_equal(env_out, "row account currency records billed_cost charged\n"
				     "account cloud1 EUR 2 12.34567890124 12.35\n"
				     "account cloud2 EUR 1 25.5 10.00\n"
				     "total  EUR 3 37.84567890124 22.35\n");
	assert_string_equal(q_text("SELECT charged || ' ' || billed_cost FROM chargeback_reports WHERE run_id = %lld", month),
			    "22.35 37.84567890124");
}

/* FOCUS credits and adjustments keep their BilledCost in the chargeback
 * and in the check's expected side, the cloud bill; their quantity enters
 * only a meter whose charge_categories lists them. Both files: 12 usage
 * rows of 1.25 (15.00), 3 credits of -2.00 and an adjustment of -0.50:
 * BilledCost 8.50. cloud1's meter (cloud_cost) counts Usage only, so
 * the chargeback charges 15.00 and the check fails and holds it, as it
 * should: the charge is not the cloud bill. cloud3's (cloud_net) counts
 * all three categories and its credits carry the cost as quantity: 8.50. */
static void focus_credits_in_chargeback_and_meters(void **state)
{
	NEED_PG();
	spool_put("focus-credits.csv");
	spool_put("focusnet-credits.csv");
	long long run = night("2026-03-10");

	/* Every row is accepted: conservation holds for both files. */
	assert_string_equal(q_text("SELECT string_agg(file_name || ' ' || records_read || '=' || accepted || '+' || "
				   "quarantined || '+' || duplicates, ', ' ORDER BY file_name) FROM ingest_files"),
			    "focus-credits.csv 16=16+0+0, focusnet-credits.csv 16=16+0+0");
	assert_string_equal(verdict(run, "conservation", NULL), "pass,pass");
	/* The meters' values, and the recount agrees with them. */
	assert_string_equal(q_text("SELECT string_agg(s.account_ext || ' ' || v.meter || ' ' || v.value || ' in ' || "
				   "v.records, ', ' ORDER BY s.account_ext) FROM agg_values v JOIN agg_snapshots s "
				   "ON s.id = v.snapshot_id WHERE s.run_id = %lld", run),
			    "cloud1 cloud_cost 15.00 in 12, cloud3 cloud_net 8.50 in 16");
	assert_string_equal(q_text("SELECT string_agg(account_ext || ' ' || verdict || ' ' || expected || ' ' || actual, "
				   "', ' ORDER BY account_ext) FROM reconciliation_checks WHERE run_id = %lld "
				   "AND check_name = 'aggregate_quantity'", run),
			    "cloud1 pass 15.00 15.00, cloud3 pass 8.50 8.50");
	assert_string_equal(q_text("SELECT string_agg(account_ext || ' ' || verdict || ' ' || expected || ' ' || actual, "
				   "', ' ORDER BY account_ext) FROM reconciliation_checks WHERE run_id = %lld "
				   "AND check_name = 'focus_cost'", run),
			    "cloud1 fail 8.50 15.00, cloud3 pass 8.50 8.50");
	assert_string_equal(holds_of("cloud1"), "focus_cost");
	assert_string_equal(holds_of("cloud3"), "none");

	/* The chargeback lists every category with its cost, and charges what
	 * the check compared. */
	long long month = new_run("month_end", "month", "2026-03-01", "2026-04-01");
	run_job("chargeback", month);
	char cmd[1024];
	snprintf(cmd, sizeof(cmd),
		 "awk -F, '$1 != \"row\" { print $1, $5, $8, $10, $(NF-1), $NF }' "
		 "'%s/chargeback/chargeback-CC-3-2026-03-01.csv' | tr -d '\\r'",
		 env_outdir);
	assert_int_equal(test_sh(env_out, sizeof(env_out), cmd), 0);
	assert_string_equal(env_out, "item cloud1 Adjustment 1 -0.50 \n"
				     "item cloud1 Credit 3 -6.00 \n"
				     "item cloud1 Usage 12 15.00 \n"
				     "account cloud1  16 8.50 15.00\n"
				     "item cloud3 Adjustment 1 -0.50 \n"
				     "item cloud3 Credit 3 -6.00 \n"
				     "item cloud3 Usage 12 15.00 \n"
				     "account cloud3  16 8.50 8.50\n"
				     "total   32 17.00 23.50\n");
}

static void focus_check_can_be_switched_off(void **state)
{
	NEED_PG();
	assert_int_equal(env_config("focus_cost = false;"), 0);
	spool_put("focus-march.csv");
	long long run = night("2026-03-10");

	assert_string_equal(verdict(run, "focus_cost", NULL), "none");
	assert_string_equal(holds_of("cloud2"), "none");
}

/* ---- drift ---- */

static void quantity_inside_the_band_is_not_flagged(void **state)
{
	NEED_PG();
	drift_history("alpha", 10, 149); /* 149..151, mean 150 */
	spool_put("usage-ok.csv");       /* alpha: 150 tonight */
	long long run = night("2026-03-10");

	assert_string_equal(verdict(run, "drift", NULL), "none");
	assert_string_equal(holds_of("alpha"), "none");
}

static void quantity_outside_the_band_is_a_warning(void **state)
{
	NEED_PG();
	drift_history("alpha", 10, 9);  /* 9..11: mean 10, sd ~0.8 */
	spool_put("usage-ok.csv");      /* alpha: 150 tonight */
	long long run = night("2026-03-10");

	assert_string_equal(q_text("SELECT verdict || ' ' || actual || ' ' || expected FROM reconciliation_checks "
				   "WHERE run_id = %lld AND check_name = 'drift' AND account_ext = 'alpha'", run),
			    "warn 150 10.000000");
	assert_string_equal(holds_of("alpha"), "none");
	/* beta has no history: not judged. */
	assert_string_equal(verdict(run, "drift", "account_ext = 'beta'"), "none");
	/* The warning is in the quarantine report. */
	char path[600], text[8192];
	snprintf(path, sizeof(path), "%s/quarantine.csv", env_outdir);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	size_t n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	fclose(f);
	assert_non_null(strstr(text, "warning,"));
	assert_non_null(strstr(text, ",alpha,,drift,"));
}

static void drift_holds_when_configured(void **state)
{
	NEED_PG();
	assert_int_equal(env_config("drift_hold = true;"), 0);
	drift_history("alpha", 10, 9);
	spool_put("usage-ok.csv");
	long long run = night("2026-03-10");

	assert_string_equal(verdict(run, "drift", "account_ext = 'alpha'"), "fail");
	assert_string_equal(holds_of("alpha"), "drift");
	assert_string_equal(q_text("SELECT period_start FROM account_holds WHERE reason = 'drift'"), "2026-03-01");
}

static void too_little_history_is_not_judged(void **state)
{
	NEED_PG();
	drift_history("alpha", 5, 9); /* fewer than drift_min_nights (7) */
	spool_put("usage-ok.csv");
	long long run = night("2026-03-10");

	assert_string_equal(verdict(run, "drift", NULL), "none");
}

/* ---- the step itself ---- */

static void reconciling_a_run_twice_stores_nothing_new(void **state)
{
	NEED_PG();
	spool_put("usage-ctl-mismatch.csv");
	long long run = night("2026-03-10");
	long long checks = q_int("SELECT count(*) FROM reconciliation_checks");
	long long holds = q_int("SELECT count(*) FROM account_holds");
	sql("UPDATE run_steps SET status = 'pending' WHERE run_id = %lld AND step = 'reconcile'", run);
	run_job("reconcile", run);

	assert_int_equal(q_int("SELECT count(*) FROM reconciliation_checks"), checks);
	assert_int_equal(q_int("SELECT count(*) FROM account_holds"), holds);
}

static void a_dispute_rerun_reconciles_its_one_account(void **state)
{
	NEED_PG();
	spool_put("usage-ok.csv");
	long long run = night("2026-03-10");
	long long rerun = new_run("nightly", "day", "2026-03-10", "2026-03-11");
	sql("UPDATE runs SET rerun_of = %lld, rerun_from = 'aggregate', rerun_account = 'alpha' WHERE id = %lld", run,
	    rerun);
	run_job("aggregate", rerun);
	run_job("rate", rerun);
	run_job("reconcile", rerun);

	/* alpha's period only, no files (the original run checked them), no
	 * drift; everything agrees. */
	assert_string_equal(q_text("SELECT string_agg(DISTINCT coalesce(account_ext, '-'), ',') FROM "
				   "reconciliation_checks WHERE run_id = %lld", rerun),
			    "alpha");
	assert_string_equal(q_text("SELECT string_agg(DISTINCT check_name, ',') FROM reconciliation_checks "
				   "WHERE run_id = %lld", rerun),
			    "aggregate_quantity,aggregate_records,rate_quantity");
	assert_int_equal(q_int("SELECT count(*) FROM reconciliation_checks WHERE run_id = %lld AND verdict <> 'pass'",
			       rerun),
			 0);
}

static void checks_and_holds_cannot_be_rewritten(void **state)
{
	NEED_PG();
	spool_put("usage-ctl-mismatch.csv");
	night("2026-03-10");
	struct err e;
	err_clear(&e);
	assert_int_equal(db_exec(app, &e, "UPDATE reconciliation_checks SET verdict = 'pass'", 0, NULL), -1);
	assert_int_equal(db_exec(app, &e, "DELETE FROM account_holds", 0, NULL), -1);
	/* Each hold is in the audit log. */
	assert_int_equal(q_int("SELECT count(*) FROM audit_log WHERE kind = 'hold.created'"),
			 q_int("SELECT count(*) FROM account_holds"));
}

static void bad_settings_are_config_errors(void **state)
{
	struct config cfg;
	struct reconcile_settings s;
	struct err e;

	memset(&cfg, 0, sizeof(cfg));
	err_clear(&e);
	assert_int_equal(reconcile_settings_load(NULL, &s, &e), 0);
	assert_string_equal(s.quantity_relative, "0.001");
	assert_string_equal(s.drift_sigmas, "4");
	assert_int_equal(s.focus_cost, 1);
	assert_int_equal(s.drift_nights, 30);

	cfg.reconcile_amount_relative = "1%";
	assert_int_equal(reconcile_settings_load(&cfg, &s, &e), -1);
	assert_int_equal(e.kind, ERR_CONFIG);
	assert_non_null(strstr(e.message, "reconcile.amount_relative"));

	cfg.reconcile_amount_relative = "0.002";
	cfg.reconcile_quantity_absolute = "-1";
	assert_int_equal(reconcile_settings_load(&cfg, &s, &e), -1);
	assert_non_null(strstr(e.message, "reconcile.quantity_absolute"));

	cfg.reconcile_quantity_absolute = "0.50";
	cfg.reconcile_drift_sigmas = "0";
	assert_int_equal(reconcile_settings_load(&cfg, &s, &e), -1);
	assert_non_null(strstr(e.message, "reconcile.drift_sigmas"));

	cfg.reconcile_drift_sigmas = "3.5";
	cfg.reconcile_drift_nights = 5;
	cfg.reconcile_drift_min_nights = 6;
	assert_int_equal(reconcile_settings_load(&cfg, &s, &e), -1);
	assert_non_null(strstr(e.message, "reconcile.drift_min_nights"));

	cfg.reconcile_drift_min_nights = 5;
	assert_int_equal(reconcile_settings_load(&cfg, &s, &e), 0);
	assert_string_equal(s.amount_relative, "0.002");
	assert_string_equal(s.quantity_absolute, "0.5");
}

/* A usage row written behind ingest's back, without partial sums: the
 * recount from partials (the default) cannot see it; reconcile.source =
 * "usage" recounts the rows themselves and finds the snapshot short. */
static void usage_without_partials_is_found_by_the_usage_recount(void **state)
{
	NEED_PG();
	spool_put("usage-ok.csv");
	static const char *const before[] = { "ingest", "aggregate", "rate", NULL };
	long long run = night_steps("2026-03-10", before);
	sql("SET ROLE billrun_app; INSERT INTO usage (source, event_key, file_id, line_no, run_id, account_ext, meter, "
	    "event_time, quantity) VALUES ('usage', 'late-2', 0, 9, 0, 'alpha', 'calls', '2026-03-12T10:00:00Z', "
	    "5); RESET ROLE");
	env_cfg.reconcile_source = "usage";
	run_job("reconcile", run);
	env_cfg.reconcile_source = "partials";
	assert_string_equal(q_text("SELECT verdict || ' ' || expected || ' ' || actual FROM reconciliation_checks "
				   "WHERE run_id = %lld AND check_name = 'aggregate_quantity' AND account_ext = 'alpha'",
				   run),
			    "fail 155 150");
	assert_string_equal(verdict(run, "aggregate_records", "account_ext = 'beta'"), "pass");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(control_file_that_agrees_passes, setup, teardown),
		cmocka_unit_test_setup_teardown(a_cut_file_is_billed_once_when_whole, setup, teardown),
		cmocka_unit_test_setup_teardown(a_cut_file_its_control_file_counts_bills_the_rest, setup, teardown),
		cmocka_unit_test_setup_teardown(control_file_that_disagrees_holds_the_files_accounts, setup, teardown),
		cmocka_unit_test_setup_teardown(control_quantity_within_tolerance_passes, setup, teardown),
		cmocka_unit_test_setup_teardown(control_quantity_beyond_a_tighter_tolerance_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(absolute_tolerance_applies_when_larger, setup, teardown),
		cmocka_unit_test_setup_teardown(unusable_control_file_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(control_sha256_pass_and_fail, setup, teardown),
		cmocka_unit_test_setup_teardown(control_cost_of_a_focus_file, setup, teardown),
		cmocka_unit_test_setup_teardown(conservation_holds_for_every_ingested_file, setup, teardown),
		cmocka_unit_test_setup_teardown(conservation_fails_when_stored_rows_are_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(accepted_equals_aggregated_passes, setup, teardown),
		cmocka_unit_test_setup_teardown(usage_not_aggregated_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(usage_without_partials_is_found_by_the_usage_recount, setup, teardown),
		cmocka_unit_test_setup_teardown(aggregated_equals_rated_passes, setup, teardown),
		cmocka_unit_test_setup_teardown(aggregated_but_not_rated_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(rated_quantity_that_differs_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(focus_cost_against_chargeback, setup, teardown),
		cmocka_unit_test_setup_teardown(focus_credits_in_chargeback_and_meters, setup, teardown),
		cmocka_unit_test_setup_teardown(focus_check_can_be_switched_off, setup, teardown),
		cmocka_unit_test_setup_teardown(quantity_inside_the_band_is_not_flagged, setup, teardown),
		cmocka_unit_test_setup_teardown(quantity_outside_the_band_is_a_warning, setup, teardown),
		cmocka_unit_test_setup_teardown(drift_holds_when_configured, setup, teardown),
		cmocka_unit_test_setup_teardown(too_little_history_is_not_judged, setup, teardown),
		cmocka_unit_test_setup_teardown(reconciling_a_run_twice_stores_nothing_new, setup, teardown),
		cmocka_unit_test_setup_teardown(a_dispute_rerun_reconciles_its_one_account, setup, teardown),
		cmocka_unit_test_setup_teardown(checks_and_holds_cannot_be_rewritten, setup, teardown),
		cmocka_unit_test(bad_settings_are_config_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
