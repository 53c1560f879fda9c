/*
 * test_invoice_render.c - the two forms of an issued document
 * (reports/invoice_json.c, reports/invoice_pdf.c) from a document built
 * here: JSON escaping and shape, amounts with thousands separators, and a
 * long credit note that runs over several pages, read back with pdftotext;
 * which font a document is drawn in (the built-in DejaVu Sans for
 * Windows-1252 text, in a PDF/A-3b file with its e-invoice attached; else
 * a subset of DejaVu Sans that cairo makes), read back with pdffonts,
 * pdfinfo, pdfdetach and qpdf;
 * a full disk named by each writer, with no file left behind; the lines
 * in the rate card's words (label, unit, unit price or tiers, amount) in
 * the JSON and on the page, zero lines left out unless asked for, the run
 * and rule version in the PDF's metadata and not on its page.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "err.h"
#include "hash.h"
#include "invoice_json.h"
#include "invoice_pdf.h"
#include "invoice_words.h"
#include "outfile.h"
#include "support.h"

static struct invoice_doc_line line(const char *no, const char *kind, const char *desc, const char *qty,
				    const char *amount)
{
	struct invoice_doc_line l = {
		.line_no = no, .kind = kind, .period_start = "2026-03-01", .description = desc, .quantity = qty,
		.billable = qty, .amount = amount, .tax_rate = "", .tax_base = "", .meter = "", .charge = "", .plan = "",
		.fx_rate = "", .price_currency = "", .price_amount = "", .fx_as_of = "", .rating_id = "7",
		.rated_line_id = "",
	};
	return l;
}

static struct invoice_doc doc(const char *type, const struct invoice_doc_line *lines, int n)
{
	struct invoice_doc d = {
		.doc = type, .id = "1", .number = "CN-2026-000042", .series = "CN-2026-{SEQ:6}",
		.issue_date = "2026-04-02", .due_date = "", .issued_at = "2026-04-02T03:00:00Z", .account = "acme",
		.period_start = "2026-03-01", .period_last = "2026-03-31", .currency = "EUR", .subtotal = "1234567.50",
		.tax_total = "234567.83", .total = "1469135.33", .run_id = "12", .rule_version = "3",
		.rule_sha256 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		.ref_kind = "credits", .ref_number = "INV-2026-000001", .reason = "correction",
		.seller_name = "Billrun \"Telecom\" GmbH", .seller_address = "Musterstrasse 1\n10115 Berlin",
		.seller_vat_id = "DE123456789", .seller_email = "billing@billrun.example",
		.seller_payment = "IBAN DE89 3704 0044 0532 0130 00", .customer_name = "ACME, Inc.",
		.customer_email = "ap@acme.example", .customer_tax = "DE", .customer_cost_centre = "CC-100",
		.seller_json = "{\"name\": \"Billrun \\\"Telecom\\\" GmbH\"}", .customer_json = "{\"name\": \"ACME, Inc.\"}",
		.rating_id = "7", .output_dir = "", .lines = lines, .nlines = n,
	};
	return d;
}

static void digits_are_grouped_for_people(void **state)
{
	char buf[64];
	static const char *const cases[][2] = {
		{ "0.00", "0.00" },           { "999", "999" },         { "1000", "1,000" },
		{ "1234567.891", "1,234,567.891" }, { "-1502.5", "-1,502.5" }, { "-0.01", "-0.01" },
		{ "123456", "123,456" },      { "n/a", "n/a" },         { "1.2.3", "1.2.3" },
		{ "", "" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		invoice_pdf_group_digits(cases[i][0], buf, sizeof(buf));
		assert_string_equal(buf, cases[i][1]);
	}
}

static void json_is_escaped_and_complete(void **state)
{
	struct invoice_doc_line lines[2] = {
		line("1", "usage", "voice \"calls\"\tover\\ 60 s\n(new)", "3840", "0.58"),
		line("2", "tax", "USt 19% on 0.58 EUR (DE)", "", "0.11"),
	};
	lines[0].fx_rate = "150.25";
	lines[0].price_currency = "USD";
	lines[0].price_amount = "10.00";
	lines[0].fx_as_of = "2026-03-31";
	struct invoice_doc d = doc("credit_note", lines, 2);
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	assert_int_equal(invoice_json_print(&d, f), 0);
	fclose(f);
	assert_non_null(strstr(text, "\"format\": \"billrun-invoice/1\""));
	assert_non_null(strstr(text, "\"type\": \"credit_note\""));
	assert_non_null(strstr(text, "\"description\": \"voice \\\"calls\\\"\\tover\\\\ 60 s\\n(new)\""));
	assert_non_null(strstr(text, "\"fx\": {\"price_currency\": \"USD\", \"price_amount\": \"10.00\", \"rate\": \"150.25\""));
	assert_non_null(strstr(text, "\"due_date\": null"));
	assert_non_null(strstr(text, "\"reference\": {\"relation\": \"credits\", \"number\": \"INV-2026-000001\"}"));
	assert_non_null(strstr(text, "\"seller\": {\"name\": \"Billrun \\\"Telecom\\\" GmbH\"}"));
	assert_non_null(strstr(text, "\"total\": \"1469135.33\"\n}"));
	assert_non_null(strstr(text, "\"rule_version\": {\"id\": 3, \"sha256\": \"0123"));
	/* Braces and brackets balance outside strings. */
	int depth = 0, in_string = 0;
	for (const char *p = text; *p; p++) {
		if (in_string) {
			if (*p == '\\')
				p++;
			else if (*p == '"')
				in_string = 0;
			continue;
		}
		if (*p == '"')
			in_string = 1;
		else if (*p == '{' || *p == '[')
			depth++;
		else if (*p == '}' || *p == ']')
			assert_true(--depth >= 0);
	}
	assert_int_equal(depth, 0);
	assert_int_equal(in_string, 0);
	free(text);
}

/* A credit note of 150 lines: three pages, the table header on each, the
 * totals on the last, every line readable back. */
static void long_documents_continue_on_further_pages(void **state)
{
	char out[1 << 16], dir[256], path[512], cmd[1024];
	if (test_sh(out, sizeof(out), "command -v pdftotext") != 0)
		skip();
	enum { N = 150 };
	static struct invoice_doc_line lines[N];
	static char descs[N][160], nos[N][8];
	for (int i = 0; i < N; i++) {
		snprintf(nos[i], sizeof(nos[i]), "%d", i + 1);
		snprintf(descs[i], sizeof(descs[i]), "meter_%03d (per_unit, plan enterprise) %s", i + 1,
			 i == 7 ? "with a description long enough that it has to be wrapped onto a second line of the table"
				: "");
		lines[i] = line(nos[i], i == N - 1 ? "tax" : "usage", descs[i], "1000", "8230.45");
	}
	struct invoice_doc d = doc("credit_note", lines, N);
	struct err e;
	assert_int_equal(test_tmpdir(dir, sizeof(dir)), 0);
	snprintf(path, sizeof(path), "%s/CN-2026-000042.pdf", dir);
	err_clear(&e);
	assert_int_equal(invoice_pdf_write(&d, path, NULL, NULL, &e), 0);
	snprintf(cmd, sizeof(cmd), "pdftotext -layout '%s' -", path);
	assert_int_equal(test_sh(out, sizeof(out), cmd), 0);
	assert_non_null(strstr(out, "CREDIT NOTE"));
	assert_non_null(strstr(out, "CREDIT TO"));
	assert_non_null(strstr(out, "credits invoice INV-2026-000001 in full"));
	assert_non_null(strstr(out, "CREDIT NOTE CN-2026-000042 (continued)"));
	assert_non_null(strstr(out, "Total credited"));
	assert_non_null(strstr(out, "EUR 1,469,135.33"));
	assert_non_null(strstr(out, "8,230.45"));
	assert_non_null(strstr(out, "meter_149 (per_unit"));
	assert_non_null(strstr(out, "Billrun \"Telecom\" GmbH"));
	assert_non_null(strstr(out, "of the table"));
	/* Rows of 16 pt: about 30 fit on page 1, 40 on each further page. */
	assert_non_null(strstr(out, "page 1 of 5"));
	assert_non_null(strstr(out, "page 5 of 5"));
	assert_null(strstr(out, "page 6 of"));
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	test_sh(out, sizeof(out), cmd);

	/* An unwritable path is an I/O error naming it. */
	err_clear(&e);
	assert_int_equal(invoice_pdf_write(&d, "/nonexistent/dir/x.pdf", NULL, NULL, &e), -1);
	assert_int_equal(e.kind, ERR_IO);
	assert_non_null(strstr(e.message, "/nonexistent/dir/x.pdf"));
	err_clear(&e);
	assert_int_equal(invoice_json_write(&d, "/nonexistent/dir/x.json", NULL, &e), -1);
	assert_int_equal(e.kind, ERR_IO);
}

/* Write d as dir/name.pdf; its text (pdftotext -layout) into out, and the
 * fonts it uses (pdffonts) into fonts. */
static void write_and_read(const struct invoice_doc *d, const char *dir, const char *name, char *out, size_t outsize,
			   char *fonts, size_t fontsize)
{
	char path[512], cmd[1024];
	struct err e;
	snprintf(path, sizeof(path), "%s/%s.pdf", dir, name);
	err_clear(&e);
	assert_int_equal(invoice_pdf_write(d, path, NULL, NULL, &e), 0);
	snprintf(cmd, sizeof(cmd), "pdftotext -layout '%s' -", path);
	assert_int_equal(test_sh(out, outsize, cmd), 0);
	snprintf(cmd, sizeof(cmd), "pdffonts '%s'", path);
	assert_int_equal(test_sh(fonts, fontsize, cmd), 0);
}

/* Western European text, the euro sign and typographic quotes are
 * Windows-1252: the document is drawn by libharu in the built-in DejaVu
 * Sans cut to Windows-1252, embedded (PDF/A). A name in Polish or
 * Cyrillic letters is not: the whole document is drawn by cairo in a
 * subset of DejaVu Sans made for it, embedded, and reads back the same. A word longer
 * than the description column is cut between characters, never inside
 * one. */
static void text_outside_windows_1252_is_drawn_in_an_embedded_font(void **state)
{
	char out[1 << 15], fonts[4096], dir[256], cmd[600];
	if (test_sh(out, sizeof(out), "command -v pdftotext && command -v pdffonts") != 0)
		skip();
	assert_int_equal(test_tmpdir(dir, sizeof(dir)), 0);
	struct invoice_doc_line lines[2] = {
		line("1", "usage", "Gespräche ins Ausland „Festnetz“", "1000", "8230.45"),
		line("2", "tax", "Umsatzsteuer 19 %", "", "1563.79"),
	};
	struct invoice_doc d = doc("invoice", lines, 2);
	d.customer_name = "Müller & Söhne €-Konto";
	write_and_read(&d, dir, "latin", out, sizeof(out), fonts, sizeof(fonts));
	assert_non_null(strstr(out, "Müller & Söhne €-Konto"));
	assert_non_null(strstr(out, "Gespräche ins Ausland „Festnetz“"));
	assert_non_null(strstr(fonts, "DejaVuSans,Book"));
	assert_null(strstr(fonts, "+DejaVuSans")); /* the built-in font, not a subset made for the file */
	assert_null(strstr(fonts, "Helvetica"));
	assert_non_null(strstr(fonts, " yes ")); /* embedded (the PDF/A test checks every font) */

	d.customer_name = "Łódź Telekom / ООО Связь";
	char word20[20 * 12 + 1] = "";
	for (int i = 0; i < 20; i++)
		strcat(word20, "Звонки");
	lines[0].description = word20;
	write_and_read(&d, dir, "unicode", out, sizeof(out), fonts, sizeof(fonts));
	assert_non_null(strstr(out, "Łódź Telekom / ООО Связь"));
	assert_non_null(strstr(fonts, "+DejaVuSans"));
	assert_non_null(strstr(fonts, " yes "));
	assert_null(strstr(fonts, "Helvetica"));
	/* The 120-letter word, twice as wide as the column, is cut between
	 * letters: all 20 capitals are read back, no byte sequence was
	 * broken (pdftotext would show U+FFFD), and it is not on one line. */
	int capitals = 0;
	for (const char *p = out; (p = strstr(p, "З")); p++)
		capitals++;
	assert_int_equal(capitals, 20);
	assert_null(strstr(out, word20));
	assert_null(strstr(out, "�"));

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	test_sh(out, sizeof(out), cmd);
}

/* A full disk (a link to /dev/full, which answers every write with
 * ENOSPC) is named by each writer, the JSON, the PDF/A drawn by libharu
 * and the PDF drawn by cairo, with the file; no file is left. What a writer
 * reports of a file it wrote is the SHA-256 and size of the bytes on
 * disk. */
static void each_writer_names_a_full_disk_and_leaves_no_file(void **state)
{
	char out[4096], dir[256], path[512], cmd[1200], hex[SHA256_HEX_LEN + 1];
	assert_int_equal(test_tmpdir(dir, sizeof(dir)), 0);
	struct invoice_doc_line lines[1] = { line("1", "usage", "calls", "10", "1.00") };
	struct invoice_doc d = doc("invoice", lines, 1);
	for (int k = 0; k < 3; k++) {
		struct err e;
		err_clear(&e);
		if (k == 2)
			d.customer_name = "ООО Связь";
		snprintf(path, sizeof(path), "%s/INV-1.%s", dir, k == 0 ? "json" : "pdf");
		snprintf(cmd, sizeof(cmd), "ln -sf /dev/full '%s'", path);
		assert_int_equal(test_sh(out, sizeof(out), cmd), 0);
		int rc = k == 0 ? invoice_json_write(&d, path, NULL, &e) : invoice_pdf_write(&d, path, NULL, NULL, &e);
		assert_int_equal(rc, -1);
		assert_int_equal(e.kind, ERR_IO);
		assert_non_null(strstr(e.message, path));
		assert_non_null(strstr(e.message, "No space left on device (ENOSPC)"));
		assert_int_not_equal(access(path, F_OK), 0);

		struct outfile_sum sum;
		err_clear(&e);
		rc = k == 0 ? invoice_json_write(&d, path, &sum, &e) : invoice_pdf_write(&d, path, NULL, &sum, &e);
		assert_int_equal(rc, 0);
		assert_int_equal(hash_sha256_file(path, hex, &e), 0);
		assert_string_equal(sum.sha256, hex);
		assert_true(sum.bytes > 100);
		unlink(path);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	test_sh(out, sizeof(out), cmd);
}

/* Usage lines as the rating left them: a graduated one with free units, a
 * package one, a volume one with a tier's flat fee, a zero one that is left
 * out and a zero one whose charge asks for it. */
static const struct invoice_doc_step graduated_steps[2] = {
	{ .tier = "1", .from = "0", .to = "1000", .units = "1000", .price = "0.002", .flat = "0", .amount = "2.000" },
	{ .tier = "2", .from = "1000", .to = "", .units = "9000", .price = "0.0015", .flat = "0", .amount = "13.5000" },
};
static const struct invoice_doc_step package_steps[1] = {
	{ .tier = "0", .from = "0", .to = "", .units = "3", .price = "5.00", .flat = "0", .amount = "15.00" },
};
static const struct invoice_doc_step volume_steps[1] = {
	{ .tier = "3", .from = "1000", .to = "", .units = "1500", .price = "0.05", .flat = "10.00", .amount = "85.00" },
};
static const struct invoice_doc_step per_unit_zero[1] = {
	{ .tier = "0", .from = "0", .to = "", .units = "0", .price = "4.00", .flat = "0", .amount = "0" },
};

static void words_lines(struct invoice_doc_line *lines)
{
	lines[0] = line("1", "usage", "API calls", "10500", "15.50");
	lines[0].label = "API calls";
	lines[0].unit = "calls";
	lines[0].model = "graduated";
	lines[0].free = "500";
	lines[0].steps = graduated_steps;
	lines[0].nsteps = 2;
	lines[1] = line("2", "usage", "Text messages", "250", "15.00");
	lines[1].label = "Text messages";
	lines[1].unit = "messages";
	lines[1].model = "package";
	lines[1].package_size = "100";
	lines[1].packages = "3";
	lines[1].steps = package_steps;
	lines[1].nsteps = 1;
	lines[2] = line("3", "usage", "Storage", "1500", "85.00");
	lines[2].label = "Storage";
	lines[2].unit = "GB";
	lines[2].model = "volume";
	lines[2].steps = volume_steps;
	lines[2].nsteps = 1;
	lines[3] = line("4", "usage", "active_users", "0", "0.00");
	lines[3].label = "active_users";
	lines[3].model = "per_unit";
	lines[3].steps = per_unit_zero;
	lines[3].nsteps = 1;
	lines[4] = line("5", "usage", "Seats", "0", "0.00");
	lines[4].label = "Seats";
	lines[4].unit = "seats";
	lines[4].model = "per_unit";
	lines[4].show_zero = 1;
	lines[4].steps = per_unit_zero;
	lines[4].nsteps = 1;
}

static void lines_are_in_the_customers_words(void **state)
{
	char out[1 << 15], dir[256], path[512], cmd[1024];
	struct invoice_doc_line lines[5];
	words_lines(lines);

	/* The words themselves. */
	char buf[512];
	invoice_line_pricing(&lines[0], buf, sizeof(buf));
	assert_string_equal(buf, "500 calls free; first 1,000 calls at 0.002; next 9,000 calls at 0.0015");
	invoice_line_pricing(&lines[1], buf, sizeof(buf));
	assert_string_equal(buf, "3 packages of 100 messages at 5.00 per package");
	invoice_line_pricing(&lines[2], buf, sizeof(buf));
	assert_string_equal(buf, "1,500 GB at 0.05 (the tier above 1,000 GB) plus 10.00");
	invoice_line_quantity(&lines[0], buf, sizeof(buf));
	assert_string_equal(buf, "10,500 calls");
	invoice_line_quantity(&lines[3], buf, sizeof(buf));
	assert_string_equal(buf, "0");
	assert_true(invoice_line_shown(&lines[0]));
	assert_false(invoice_line_shown(&lines[3]));
	assert_true(invoice_line_shown(&lines[4]));
	struct invoice_doc_line tax = line("6", "tax", "USt", "", "0.00");
	assert_true(invoice_line_shown(&tax));
	assert_true(invoice_words_is_zero("0.000"));
	assert_false(invoice_words_is_zero("0.001"));
	assert_false(invoice_words_is_zero(""));
	/* A converted line's prices name their currency; a difference says
	 * whose pricing it shows. */
	struct invoice_doc_line fx = lines[0];
	fx.fx_rate = "150.25";
	fx.price_currency = "USD";
	fx.difference = 1;
	invoice_line_pricing(&fx, buf, sizeof(buf));
	assert_string_equal(buf, "re-rated period: 500 calls free; first 1,000 calls at 0.002 USD; next 9,000 calls at "
				 "0.0015 USD");

	struct invoice_doc d = doc("invoice", lines, 5);
	d.ref_kind = "";
	d.due_date = "2026-05-02";
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	assert_int_equal(invoice_json_print(&d, f), 0);
	fclose(f);
	assert_non_null(strstr(text, "\"label\": \"API calls\",\n      \"quantity\": \"10500\",\n      \"unit\": \"calls\""));
	assert_non_null(strstr(text, "\"text\": \"500 calls free; first 1,000 calls at 0.002; next 9,000 calls at 0.0015\""));
	assert_non_null(strstr(text, "{\"tier\": 2, \"from\": \"1000\", \"to\": null, \"units\": \"9000\", "
				     "\"price\": \"0.0015\", \"flat\": \"0\", \"amount\": \"13.5000\"}"));
	assert_non_null(strstr(text, "\"unit_price\": \"5.00\""));
	assert_non_null(strstr(text, "\"amount\": \"15.50\""));
	assert_null(strstr(text, "active_users"));         /* zero: left out */
	assert_non_null(strstr(text, "\"label\": \"Seats\"")); /* zero, show_zero */
	assert_non_null(strstr(text, "\"run\": 12,"));
	assert_non_null(strstr(text, "\"rule_version\": {\"id\": 3, \"sha256\": \"0123456789abcdef"));
	free(text);

	if (test_sh(out, sizeof(out), "command -v pdftotext && command -v pdfinfo") != 0)
		skip();
	assert_int_equal(test_tmpdir(dir, sizeof(dir)), 0);
	/* Both canvases: libharu (PDF/A), and cairo for a name outside
	 * Windows-1252. */
	for (int k = 0; k < 2; k++) {
		if (k == 1)
			d.customer_name = "ООО Связь";
		snprintf(path, sizeof(path), "%s/INV-%d.pdf", dir, k);
		struct err e;
		err_clear(&e);
		assert_int_equal(invoice_pdf_write(&d, path, NULL, NULL, &e), 0);
		snprintf(cmd, sizeof(cmd), "pdftotext -layout '%s' -", path);
		assert_int_equal(test_sh(out, sizeof(out), cmd), 0);
		assert_non_null(strstr(out, "API calls"));
		assert_non_null(strstr(out, "10,500 calls"));
		assert_non_null(strstr(out, "first 1,000 calls at 0.002; next 9,000 calls at 0.0015"));
		assert_non_null(strstr(out, "15.50"));
		assert_non_null(strstr(out, "3 packages of 100 messages at 5.00 per package"));
		assert_non_null(strstr(out, "1,500 GB"));
		assert_null(strstr(out, "active_users"));
		assert_non_null(strstr(out, "Seats"));
		assert_non_null(strstr(out, "0 seats"));
		assert_null(strstr(out, "Rule version"));
		assert_null(strstr(out, "Run"));
		assert_null(strstr(out, "run 12"));
		assert_null(strstr(out, "0123456789ab"));
		snprintf(cmd, sizeof(cmd), "pdfinfo '%s'", path);
		assert_int_equal(test_sh(out, sizeof(out), cmd), 0);
		assert_non_null(strstr(out, "billrun run 12, rule version 3 (sha256 0123456789abcdef"));
		assert_non_null(strstr(out, "billrun-run=12 billrun-rule-version=3 billrun-rule-sha256="
					    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"));
		assert_non_null(strstr(out, k == 0 ? "libharu" : "cairo"));
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	test_sh(out, sizeof(out), cmd);
}

/* A Windows-1252 document is PDF/A-3b with its e-invoice attached, as
 * far as the tools at hand can tell (veraPDF is not packaged in Debian):
 * every font embedded, PDF 1.7, XMP metadata declaring part 3 and
 * conformance B with the same title, producer and dates as the document
 * information, uncompressed, an sRGB output intent, a file identifier,
 * and the attachment as an associated file ("Alternative", text/xml,
 * with its date) that pdfdetach gives back byte for byte; qpdf finds the
 * structure sound. The same document drawn twice gives the same bytes. */
static void a_windows_1252_document_is_pdf_a_3b_with_its_e_invoice_attached(void **state)
{
	char out[1 << 15], dir[256], path[512], path2[512], cmd[1200];
	if (test_sh(out, sizeof(out), "command -v pdfinfo && command -v pdfdetach && command -v pdffonts && "
					  "command -v qpdf") != 0)
		skip();
	assert_int_equal(test_tmpdir(dir, sizeof(dir)), 0);
	struct invoice_doc_line lines[2] = {
		line("1", "usage", "Gespräche ins Ausland", "1000", "8230.45"),
		line("2", "tax", "Umsatzsteuer 19 %", "", "1563.79"),
	};
	struct invoice_doc d = doc("invoice", lines, 2);
	static const char xml[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Invoice>ü &amp; €</Invoice>\n";
	const struct canvas_attachment ubl = { "INV-2026-000001.xml", "text/xml", "UBL 2.1 e-invoice (EN 16931)",
					       "Alternative", xml, sizeof(xml) - 1 };
	snprintf(path, sizeof(path), "%s/a.pdf", dir);
	snprintf(path2, sizeof(path2), "%s/b.pdf", dir);
	struct err e;
	err_clear(&e);
	assert_int_equal(invoice_pdf_write(&d, path, &ubl, NULL, &e), 0);
	assert_int_equal(invoice_pdf_write(&d, path2, &ubl, NULL, &e), 0);
	snprintf(cmd, sizeof(cmd), "cmp '%s' '%s' && qpdf --check '%s'", path, path2, path);
	if (test_sh(out, sizeof(out), cmd) != 0)
		fail_msg("not the same bytes twice, or qpdf finds a fault: %s", out);

	/* every font embedded: the column emb (fifth from the end) says yes */
	snprintf(cmd, sizeof(cmd), "pdffonts '%s' | awk 'NR > 2 { n++; if ($(NF - 4) != \"yes\") bad = 1 } "
		 "END { exit bad || !n }' && pdffonts '%s'", path, path);
	if (test_sh(out, sizeof(out), cmd) != 0)
		fail_msg("a font is not embedded: %s", out);
	assert_non_null(strstr(out, "DejaVuSans"));

	snprintf(cmd, sizeof(cmd), "pdfinfo '%s'", path);
	assert_int_equal(test_sh(out, sizeof(out), cmd), 0);
	char title[256], want[320];
	snprintf(title, sizeof(title), "%s %s", invoice_doc_title(&d), d.number);
	assert_non_null(strstr(out, "PDF version:     1.7"));
	snprintf(want, sizeof(want), "Title:           %s\n", title);
	assert_non_null(strstr(out, want));
	assert_non_null(strstr(out, "Producer:        billrun with libharu"));
	assert_non_null(strstr(out, "CreationDate:    Thu Apr  2 03:00:00 2026 UTC"));
	snprintf(cmd, sizeof(cmd), "pdfinfo -meta '%s'", path);
	assert_int_equal(test_sh(out, sizeof(out), cmd), 0);
	assert_non_null(strstr(out, "<pdfaid:part>3</pdfaid:part>"));
	assert_non_null(strstr(out, "<pdfaid:conformance>B</pdfaid:conformance>"));
	snprintf(want, sizeof(want), "<rdf:li xml:lang=\"x-default\">%s</rdf:li>", title);
	assert_non_null(strstr(out, want));
	assert_non_null(strstr(out, "<pdf:Producer>billrun with libharu"));
	assert_non_null(strstr(out, "<xmp:CreateDate>2026-04-02T03:00:00Z</xmp:CreateDate>"));
	assert_non_null(strstr(out, "billrun-run=12"));

	/* What PDF/A asks of the file's structure, read from its bytes (the
	 * catalog and the metadata stream are not compressed). */
	snprintf(cmd, sizeof(cmd),
		 "f='%s'; grep -a -A3 '/Type /Metadata' $f | grep -a -q '/Subtype /XML' "
		 "&& ! grep -a -B1 -A4 '/Type /Metadata' $f | grep -a -q '/Filter' "
		 "&& grep -a -q '/OutputIntents' $f && grep -a -q '/S /GTS_PDFA1' $f "
		 "&& grep -a -q '/OutputConditionIdentifier (sRGB IEC61966-2.1)' $f && grep -a -q '^/ID \\[ <' $f "
		 "&& grep -a -q '/AF ' $f && grep -a -q '/AFRelationship /Alternative' $f "
		 "&& grep -a -q '/Subtype /text#2Fxml' $f && grep -a -q '/ModDate (D:20260402030000Z)' $f "
		 "&& grep -a -q '/UF (INV-2026-000001.xml)' $f && head -c 9 $f | grep -q '%%PDF-1.7' && echo ok",
		 path);
	if (test_sh(out, sizeof(out), cmd) != 0)
		fail_msg("the PDF/A structure is not all there: %s", out);

	snprintf(cmd, sizeof(cmd), "pdfdetach -list '%s'", path);
	assert_int_equal(test_sh(out, sizeof(out), cmd), 0);
	assert_non_null(strstr(out, "1 embedded files"));
	assert_non_null(strstr(out, "1: INV-2026-000001.xml"));
	snprintf(cmd, sizeof(cmd), "cd '%s' && pdfdetach -save 1 -o got.xml a.pdf && cat got.xml", dir);
	assert_int_equal(test_sh(out, sizeof(out), cmd), 0);
	assert_string_equal(out, xml);

	/* Without an attachment there is no /AF, and the file is still PDF/A. */
	assert_int_equal(invoice_pdf_write(&d, path, NULL, NULL, &e), 0);
	snprintf(cmd, sizeof(cmd), "! grep -a -q '/AF ' '%s' && pdfinfo -meta '%s' | grep -q '<pdfaid:part>3'", path, path);
	assert_int_equal(test_sh(out, sizeof(out), cmd), 0);
	if (!getenv("KEEP_PDF")) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		test_sh(out, sizeof(out), cmd);
	} else {
		fprintf(stderr, "kept %s\n", dir);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(digits_are_grouped_for_people),
		cmocka_unit_test(json_is_escaped_and_complete),
		cmocka_unit_test(long_documents_continue_on_further_pages),
		cmocka_unit_test(each_writer_names_a_full_disk_and_leaves_no_file),
		cmocka_unit_test(text_outside_windows_1252_is_drawn_in_an_embedded_font),
		cmocka_unit_test(a_windows_1252_document_is_pdf_a_3b_with_its_e_invoice_attached),
		cmocka_unit_test(lines_are_in_the_customers_words),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	invoice_pdf_cleanup(); /* so that the sanitizer build sees no library caches as leaks */
	return rc;
}
