/*
 * test_invoice_ubl.c - the UBL e-invoice of a document built here
 * (reports/invoice_ubl.c): the same document gives the same bytes; a
 * line's quantity, unit code and price multiply to its amount (the unit
 * price where it does exactly, else the amount over a base quantity), a
 * negative line has a negative quantity and a positive price, a fee is
 * one piece; the VAT breakdown per rate with the tax lines' bases and
 * amounts; reverse charge (AE) and untaxed (O, no VAT ids) documents;
 * no empty element; the endpoint from the VAT id; a full disk named.
 * The rules themselves are checked by test_einvoice with the official
 * artefacts.
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
#include "invoice_ubl.h"
#include "outfile.h"
#include "support.h"

static struct invoice_doc_line line(const char *no, const char *kind, const char *label, const char *qty,
				    const char *amount, const char *group)
{
	struct invoice_doc_line l = {
		.line_no = no, .kind = kind, .period_start = "2026-03-01", .description = label, .quantity = qty,
		.billable = qty, .amount = amount, .tax_rate = "", .tax_base = "", .meter = "", .charge = "", .plan = "",
		.fx_rate = "", .price_currency = "", .price_amount = "", .fx_as_of = "", .rating_id = "7",
		.rated_line_id = "", .label = label, .unit = "", .model = "", .free = "", .package_size = "",
		.packages = "", .tax_group = group,
	};
	return l;
}

static struct invoice_doc doc(const char *type, const struct invoice_doc_line *lines, int n)
{
	struct invoice_doc d = {
		.doc = type, .id = "1", .number = "INV-2026-000042", .series = "", .issue_date = "2026-04-02",
		.due_date = "2026-05-02", .issued_at = "2026-04-02T03:00:00Z", .account = "acme",
		.period_start = "2026-03-01", .period_last = "2026-03-31", .currency = "EUR", .subtotal = "110.00",
		.tax_total = "19.70", .total = "129.70", .run_id = "12", .rule_version = "3", .rule_sha256 = "",
		.ref_kind = "", .ref_number = "", .reason = "", .seller_name = "Billrun Telecom GmbH",
		.seller_address = "", .seller_vat_id = "DE123456789", .seller_email = "billing@billrun.example",
		.seller_payment = "", .customer_name = "ACME GmbH", .customer_email = "", .customer_tax = "DE",
		.customer_cost_centre = "", .seller_json = "{}", .customer_json = "{}", .rating_id = "7",
		.output_dir = "", .seller_street = "Musterstrasse 1", .seller_city = "Berlin", .seller_postcode = "10115",
		.seller_country = "DE", .seller_company_id = "", .seller_contact = "", .seller_phone = "",
		.seller_endpoint = "", .seller_iban = "", .seller_bic = "", .customer_line1 = "Hauptstrasse 5",
		.customer_line2 = "", .customer_city = "Hamburg", .customer_postcode = "20095", .customer_country = "DE",
		.customer_vat_id = "DE987654321", .customer_endpoint = "", .lines = lines, .nlines = n,
	};
	return d;
}

static char *build(const struct invoice_doc *d)
{
	char *xml;
	size_t len;
	struct err e;
	err_clear(&e);
	assert_int_equal(invoice_ubl_build(d, &xml, &len, &e), 0);
	assert_int_equal(strlen(xml), len);
	return xml;
}

static void contains(const char *xml, const char *needle)
{
	if (!strstr(xml, needle)) {
		fprintf(stderr, "missing '%s' in:\n%s\n", needle, xml);
		fail();
	}
}

static void lines_multiply_to_their_amounts(void **state)
{
	struct invoice_doc_line l[6] = {
		line("1", "recurring", "Pro plan", "", "49.00", "standard"),
		line("2", "usage", "Voice calls", "3720", "0.56", "standard"),
		line("3", "usage", "Storage", "250.5", "20.04", "standard"),
		line("4", "usage", "Credit", "10", "-1.50", "reduced"),
		line("5", "tax", "USt", "", "19.00", "standard"),
		line("6", "tax", "USt reduced", "", "0.70", "reduced"),
	};
	l[1].unit = "s";
	l[2].unit = "GB";
	l[2].model = "per_unit";
	struct invoice_doc_step step = { "0", "0", "", "250.5", "0.08", "0", "20.04" };
	l[2].steps = &step;
	l[2].nsteps = 1;
	l[4].tax_rate = "0.19";
	l[4].tax_base = "100.00";
	l[5].tax_rate = "0.07";
	l[5].tax_base = "10.00";
	struct invoice_doc d = doc("invoice", l, 6);
	char *xml = build(&d);
	/* A fee: one piece at its amount. */
	contains(xml, "<cbc:InvoicedQuantity unitCode=\"C62\">1</cbc:InvoicedQuantity>\n"
		      "    <cbc:LineExtensionAmount currencyID=\"EUR\">49.00</cbc:LineExtensionAmount>");
	/* Tiers (no single price): the amount over the quantity. */
	contains(xml, "<cbc:InvoicedQuantity unitCode=\"SEC\">3720</cbc:InvoicedQuantity>");
	contains(xml, "<cbc:PriceAmount currencyID=\"EUR\">0.56</cbc:PriceAmount>\n"
		      "      <cbc:BaseQuantity unitCode=\"SEC\">3720</cbc:BaseQuantity>");
	/* One unit price giving the amount exactly: that price, no base. */
	contains(xml, "<cbc:InvoicedQuantity unitCode=\"E34\">250.5</cbc:InvoicedQuantity>");
	contains(xml, "<cbc:PriceAmount currencyID=\"EUR\">0.08</cbc:PriceAmount>\n    </cac:Price>");
	/* Negative: the quantity carries the sign, the price never. */
	contains(xml, "<cbc:InvoicedQuantity unitCode=\"C62\">-10</cbc:InvoicedQuantity>");
	contains(xml, "<cbc:PriceAmount currencyID=\"EUR\">1.50</cbc:PriceAmount>");
	/* The breakdown: per rate, the tax lines' bases and amounts. */
	contains(xml, "<cbc:TaxableAmount currencyID=\"EUR\">100.00</cbc:TaxableAmount>\n"
		      "      <cbc:TaxAmount currencyID=\"EUR\">19.00</cbc:TaxAmount>\n"
		      "      <cac:TaxCategory>\n        <cbc:ID>S</cbc:ID>\n        <cbc:Percent>19</cbc:Percent>");
	contains(xml, "<cbc:Percent>7</cbc:Percent>");
	contains(xml, "<cbc:PayableAmount currencyID=\"EUR\">129.70</cbc:PayableAmount>");
	/* Tax lines are not invoice lines; the endpoint is the VAT id. */
	assert_null(strstr(xml, "<cbc:ID>5</cbc:ID>"));
	contains(xml, "<cbc:EndpointID schemeID=\"9930\">DE123456789</cbc:EndpointID>");
	/* No empty element (Peppol R008): nothing like <x></x> or <x/>. */
	assert_null(strstr(xml, "></cbc:"));
	assert_null(strstr(xml, "/>"));
	/* The same document, the same bytes. */
	char *again = build(&d);
	assert_string_equal(xml, again);
	free(again);
	free(xml);
}

static void reverse_charge_and_untaxed_documents(void **state)
{
	struct invoice_doc_line l[2] = {
		line("1", "recurring", "Pro plan", "", "49.00", "standard"),
		line("2", "tax", "VAT", "", "0.00", "standard"),
	};
	l[1].tax_rate = "0";
	l[1].tax_base = "49.00";
	struct invoice_doc d = doc("credit_note", l, 2);
	d.subtotal = d.total = "49.00";
	d.tax_total = "0.00";
	d.customer_country = "FR";
	d.customer_vat_id = "FR12345678901";
	d.reverse_charge = 1;
	d.ref_kind = "credits";
	d.ref_number = "INV-2026-000001";
	char *xml = build(&d);
	contains(xml, "<CreditNote xmlns=\"urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2\"");
	contains(xml, "<cbc:CreditNoteTypeCode>381</cbc:CreditNoteTypeCode>");
	contains(xml, "<cbc:CreditedQuantity unitCode=\"C62\">1</cbc:CreditedQuantity>");
	contains(xml, "<cbc:ID>AE</cbc:ID>\n        <cbc:Percent>0</cbc:Percent>\n"
		      "        <cbc:TaxExemptionReasonCode>VATEX-EU-AE</cbc:TaxExemptionReasonCode>");
	contains(xml, "Reverse charge: the buyer accounts for the VAT");
	contains(xml, "<cac:BillingReference>\n    <cac:InvoiceDocumentReference>\n      <cbc:ID>INV-2026-000001</cbc:ID>");
	assert_null(strstr(xml, "<cbc:DueDate>"));
	/* No payment details configured: the terms say what happens. */
	contains(xml, "<cbc:Note>The amount credited is set off against the account.</cbc:Note>");
	free(xml);

	/* No tax lines: not subject to VAT, and then no VAT ids at all. */
	struct invoice_doc u = doc("invoice", l, 1);
	u.subtotal = u.total = "49.00";
	u.tax_total = "0.00";
	xml = build(&u);
	contains(xml, "<cbc:TaxableAmount currencyID=\"EUR\">49.00</cbc:TaxableAmount>\n"
		      "      <cbc:TaxAmount currencyID=\"EUR\">0.00</cbc:TaxAmount>\n"
		      "      <cac:TaxCategory>\n        <cbc:ID>O</cbc:ID>\n"
		      "        <cbc:TaxExemptionReasonCode>VATEX-EU-O</cbc:TaxExemptionReasonCode>");
	assert_null(strstr(xml, "PartyTaxScheme"));
	free(xml);
}

static void unit_codes_are_rec20(void **state)
{
	assert_string_equal(invoice_ubl_unit_code("s"), "SEC");
	assert_string_equal(invoice_ubl_unit_code("GB"), "E34");
	assert_string_equal(invoice_ubl_unit_code("h"), "HUR");
	assert_string_equal(invoice_ubl_unit_code("kWh"), "KWH");
	assert_string_equal(invoice_ubl_unit_code("calls"), "C62");
	assert_string_equal(invoice_ubl_unit_code(""), "C62");
	assert_string_equal(invoice_ubl_unit_code(NULL), "C62");
}

/* A full disk (a link to /dev/full: every write fails with ENOSPC) is
 * named with the file, and no file is left; written, the sum is the
 * bytes on disk. */
static void a_full_disk_is_named_and_leaves_no_file(void **state)
{
	char out[1024], dir[256], path[512], cmd[1200], hex[SHA256_HEX_LEN + 1];
	assert_int_equal(test_tmpdir(dir, sizeof(dir)), 0);
	struct invoice_doc_line l[1] = { line("1", "recurring", "Pro plan", "", "49.00", "standard") };
	struct invoice_doc d = doc("invoice", l, 1);
	d.subtotal = d.total = "49.00";
	d.tax_total = "0.00";
	struct err e;
	err_clear(&e);
	snprintf(path, sizeof(path), "%s/INV-1.xml", dir);
	snprintf(cmd, sizeof(cmd), "ln -sf /dev/full '%s'", path);
	assert_int_equal(test_sh(out, sizeof(out), cmd), 0);
	assert_int_equal(invoice_ubl_write(&d, path, NULL, &e), -1);
	assert_int_equal(e.kind, ERR_IO);
	assert_non_null(strstr(e.message, path));
	assert_non_null(strstr(e.message, "No space left on device (ENOSPC)"));
	assert_int_not_equal(access(path, F_OK), 0);
	struct outfile_sum sum;
	err_clear(&e);
	assert_int_equal(invoice_ubl_write(&d, path, &sum, &e), 0);
	assert_int_equal(hash_sha256_file(path, hex, &e), 0);
	assert_string_equal(sum.sha256, hex);
	assert_true(sum.bytes > 1000);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(lines_multiply_to_their_amounts),
		cmocka_unit_test(reverse_charge_and_untaxed_documents),
		cmocka_unit_test(unit_codes_are_rec20),
		cmocka_unit_test(a_full_disk_is_named_and_leaves_no_file),
	};
	return cmocka_run_group_tests_name("invoice_ubl", tests, NULL, NULL);
}
