/*
 * invoice_ubl.c - an issued document as a UBL 2.1 Invoice or CreditNote
 * (Peppol BIS Billing 3.0, EN 16931; see invoice_ubl.h), written with
 * libxml2's text writer into memory, then through an outfile. Elements
 * are written in the order the UBL 2.1 schema requires, and an element
 * without a value is left out (Peppol forbids empty elements).
 */
#include "invoice_ubl.h"
#include "dec.h"
#include "err.h"
#include "invoice_words.h"
#include "outfile.h"

#include <libxml/xmlwriter.h>
#include <stdlib.h>
#include <string.h>

#define NS_INVOICE "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
#define NS_CREDIT "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
#define NS_CAC "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
#define NS_CBC "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"

#define MAX_BUCKETS 32

static const char *S(const char *s)
{
	return s ? s : "";
}

/* ---- units ---- */

static const struct {
	const char *word, *code;
} units[] = {
	{ "s", "SEC" },      { "sec", "SEC" },     { "second", "SEC" }, { "seconds", "SEC" },
	{ "min", "MIN" },    { "minute", "MIN" },  { "minutes", "MIN" }, { "h", "HUR" },
	{ "hour", "HUR" },   { "hours", "HUR" },   { "day", "DAY" },    { "days", "DAY" },
	{ "month", "MON" },  { "months", "MON" },  { "B", "AD" },       { "byte", "AD" },
	{ "bytes", "AD" },   { "kB", "2P" },       { "KB", "2P" },      { "MB", "4L" },
	{ "GB", "E34" },     { "TB", "E35" },      { "KiB", "2P" },     { "MiB", "4L" },
	{ "GiB", "E34" },    { "TiB", "E35" },     { "kWh", "KWH" },    { "MWh", "MWH" },
	{ "Wh", "WHR" },     { "km", "KMT" },      { "m", "MTR" },      { "kg", "KGM" },
	{ "g", "GRM" },      { "l", "LTR" },       { "GB-month", "E34" }, { "GB-h", "E34" },
};

const char *invoice_ubl_unit_code(const char *unit)
{
	for (size_t i = 0; unit && i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(units[i].word, unit) == 0)
			return units[i].code;
	return "C62";   /* one: calls, requests, messages, seats, ... */
}

/* ---- the writer ---- */

struct ubl {
	xmlTextWriterPtr w;
	int bad;                    /* a write failed */
	const struct invoice_doc *d;
	const char *currency;
	int credit;
};

static void start(struct ubl *u, const char *name)
{
	if (xmlTextWriterStartElement(u->w, BAD_CAST name) < 0)
		u->bad = 1;
}

static void end(struct ubl *u)
{
	if (xmlTextWriterEndElement(u->w) < 0)
		u->bad = 1;
}

static void attr(struct ubl *u, const char *name, const char *value)
{
	if (xmlTextWriterWriteAttribute(u->w, BAD_CAST name, BAD_CAST value) < 0)
		u->bad = 1;
}

/* <name>text</name>, nothing when text is empty. */
static void el(struct ubl *u, const char *name, const char *text)
{
	if (!text || !*text)
		return;
	if (xmlTextWriterWriteElement(u->w, BAD_CAST name, BAD_CAST text) < 0)
		u->bad = 1;
}

static void el_attr(struct ubl *u, const char *name, const char *an, const char *av, const char *text)
{
	if (!text || !*text)
		return;
	start(u, name);
	attr(u, an, av);
	if (xmlTextWriterWriteString(u->w, BAD_CAST text) < 0)
		u->bad = 1;
	end(u);
}

static void amount(struct ubl *u, const char *name, const char *value)
{
	el_attr(u, name, "currencyID", u->currency, value);
}

/* ---- decimals ---- */

static int parse(const char *s, struct dec *out)
{
	return s && *s ? dec_parse_cstr(out, s) : -1;
}

static void fmt(struct dec v, char *buf, size_t size)
{
	dec_format(v, buf, size);
}

/* A rate (0.19) as a percent with no trailing zeros ("19", "7.7"). */
static int percent(const char *rate, char *buf, size_t size)
{
	struct dec r, p;
	if (parse(rate, &r) || dec_mul(&p, r, dec_from_int(100)))
		return -1;
	fmt(dec_normalize(p), buf, size);
	return 0;
}

/* ---- VAT categories ---- */

/* A line's VAT category and percent: of the tax line of its tax group
 * (S above zero; zero: AE when the buyer accounts for the VAT, else Z);
 * O (not subject to VAT) when the document bills no tax. */
struct vat {
	char category[4];
	char percent[48];           /* "" for O */
};

static const struct invoice_doc_line *tax_line_of(const struct invoice_doc *d, const char *group)
{
	for (int i = 0; i < d->nlines; i++)
		if (strcmp(d->lines[i].kind, "tax") == 0 && strcmp(S(d->lines[i].tax_group), S(group)) == 0)
			return &d->lines[i];
	return NULL;
}

static int has_tax_lines(const struct invoice_doc *d)
{
	for (int i = 0; i < d->nlines; i++)
		if (strcmp(d->lines[i].kind, "tax") == 0)
			return 1;
	return 0;
}

static int vat_of_rate(const struct invoice_doc *d, const char *rate, struct vat *v)
{
	struct dec r;
	if (parse(rate, &r) || percent(rate, v->percent, sizeof(v->percent)))
		return -1;
	snprintf(v->category, sizeof(v->category), "%s", dec_sign(r) > 0 ? "S" : d->reverse_charge ? "AE" : "Z");
	return 0;
}

static int vat_of_line(const struct invoice_doc *d, const struct invoice_doc_line *l, struct vat *v)
{
	const struct invoice_doc_line *t = has_tax_lines(d) ? tax_line_of(d, l->tax_group) : NULL;
	if (!t) {
		snprintf(v->category, sizeof(v->category), "O");
		v->percent[0] = '\0';
		return 0;
	}
	return vat_of_rate(d, t->tax_rate, v);
}

/* The VAT breakdown: one bucket per category and percent that a line is
 * in. taxable: the tax lines' bases (O: the lines' amounts); tax: the tax
 * lines' amounts. */
struct bucket {
	struct vat vat;
	struct dec taxable, tax;
	int lines;
};

static struct bucket *bucket_of(struct bucket *b, int *n, const struct vat *v)
{
	for (int i = 0; i < *n; i++)
		if (strcmp(b[i].vat.category, v->category) == 0 && strcmp(b[i].vat.percent, v->percent) == 0)
			return &b[i];
	if (*n >= MAX_BUCKETS)
		return NULL;
	struct bucket *x = &b[(*n)++];
	x->vat = *v;
	x->taxable = dec_zero();
	x->tax = dec_zero();
	x->lines = 0;
	return x;
}

static int breakdown(const struct invoice_doc *d, struct bucket *b, int *n, struct err *e)
{
	*n = 0;
	for (int i = 0; i < d->nlines; i++) {
		const struct invoice_doc_line *l = &d->lines[i];
		struct vat v;
		struct bucket *x;
		struct dec a;
		if (strcmp(l->kind, "tax") == 0 || !invoice_line_shown(l))
			continue;
		if (vat_of_line(d, l, &v) || !(x = bucket_of(b, n, &v)) || parse(l->amount, &a))
			return err_set(e, ERR_INTERNAL, "document %s line %s: its VAT category could not be told",
				       d->number, l->line_no);
		x->lines++;
		if (strcmp(v.category, "O") == 0 && dec_add(&x->taxable, x->taxable, a))
			return err_set(e, ERR_INTERNAL, "document %s: the VAT breakdown overflows", d->number);
	}
	for (int i = 0; i < d->nlines; i++) {
		const struct invoice_doc_line *l = &d->lines[i];
		struct vat v;
		struct dec base, a;
		if (strcmp(l->kind, "tax") != 0)
			continue;
		if (vat_of_rate(d, l->tax_rate, &v) || parse(l->amount, &a) || parse(l->tax_base, &base))
			return err_set(e, ERR_INTERNAL, "document %s tax line %s: rate '%s', base '%s'", d->number,
				       l->line_no, l->tax_rate, l->tax_base);
		struct bucket *x = bucket_of(b, n, &v);
		if (!x)
			return err_set(e, ERR_INTERNAL, "document %s has more than %d VAT rates", d->number,
				       MAX_BUCKETS);
		if (dec_add(&x->taxable, x->taxable, base) || dec_add(&x->tax, x->tax, a))
			return err_set(e, ERR_INTERNAL, "document %s: the VAT breakdown overflows", d->number);
	}
	/* A rate no shown line is billed at (a tax line on nothing) is not a
	 * breakdown: EN 16931 asks for lines behind every rate. Its base and
	 * tax are zero then. */
	int k = 0;
	for (int i = 0; i < *n; i++) {
		/* No tax line (O): zero tax at the amounts' scale, "0.00". */
		if (dec_is_zero(b[i].tax) && b[i].tax.scale < b[i].taxable.scale)
			b[i].tax = (struct dec){ 0, b[i].taxable.scale };
		if (b[i].lines > 0)
			b[k++] = b[i];
	}
	*n = k;
	return 0;
}

static void tax_category(struct ubl *u, const char *element, const struct vat *v)
{
	start(u, element);
	el(u, "cbc:ID", v->category);
	el(u, "cbc:Percent", v->percent);
	if (strcmp(element, "cac:TaxCategory") == 0) {
		if (strcmp(v->category, "AE") == 0) {
			el(u, "cbc:TaxExemptionReasonCode", "VATEX-EU-AE");
			el(u, "cbc:TaxExemptionReason", "Reverse charge");
		} else if (strcmp(v->category, "O") == 0) {
			el(u, "cbc:TaxExemptionReasonCode", "VATEX-EU-O");
			el(u, "cbc:TaxExemptionReason", "Not subject to VAT");
		}
	}
	start(u, "cac:TaxScheme");
	el(u, "cbc:ID", "VAT");
	end(u);
	end(u);
}

/* ---- parties ---- */

/* The Peppol electronic address scheme (EAS) of a VAT identifier, by its
 * country prefix: the 99xx codes of the EAS list. NULL for a prefix the
 * list has no VAT scheme for. */
static const struct {
	const char *prefix, *eas;
} vat_eas[] = {
	{ "AD", "9922" }, { "AL", "9923" }, { "AT", "9914" }, { "BA", "9924" }, { "BE", "9925" }, { "BG", "9926" },
	{ "CH", "9927" }, { "CY", "9928" }, { "CZ", "9929" }, { "DE", "9930" }, { "EE", "9931" }, { "EL", "9933" },
	{ "ES", "9920" }, { "FR", "9957" }, { "GB", "9932" }, { "GR", "9933" }, { "HR", "9934" }, { "HU", "9910" },
	{ "IE", "9935" }, { "LI", "9936" }, { "LT", "9937" }, { "LU", "9938" }, { "LV", "9939" }, { "MC", "9940" },
	{ "ME", "9941" }, { "MK", "9942" }, { "MT", "9943" }, { "NL", "9944" }, { "PL", "9945" }, { "PT", "9946" },
	{ "RO", "9947" }, { "RS", "9948" }, { "SI", "9949" }, { "SK", "9950" }, { "SM", "9951" }, { "TR", "9952" },
	{ "VA", "9953" }, { "IT", "0211" }, { "FI", "0213" },
};

static const char *eas_of_vat(const char *vat_id)
{
	for (size_t i = 0; vat_id && strlen(vat_id) > 2 && i < sizeof(vat_eas) / sizeof(vat_eas[0]); i++)
		if (strncmp(vat_id, vat_eas[i].prefix, 2) == 0)
			return vat_eas[i].eas;
	return NULL;
}

/* EndpointID (BT-34, BT-49): the configured SCHEME:ID, else the VAT
 * identifier under its country's EAS VAT scheme (9930:DE123456789).
 * Nothing when there is neither: Peppol then refuses the file
 * (PEPPOL-EN16931-R010, R020); jobs/INVOICES.md says to set one. */
static void endpoint(struct ubl *u, const char *ep, const char *vat_id)
{
	const char *colon = ep ? strchr(ep, ':') : NULL;
	const char *eas = eas_of_vat(vat_id);
	if (colon && colon > ep && colon[1]) {
		char scheme[8];
		snprintf(scheme, sizeof(scheme), "%.*s", (int)(colon - ep < 7 ? colon - ep : 7), ep);
		el_attr(u, "cbc:EndpointID", "schemeID", scheme, colon + 1);
	} else if (eas) {
		/* Italy's and Finland's schemes take the number without the
		 * prefix. */
		el_attr(u, "cbc:EndpointID", "schemeID", eas, eas[0] == '0' ? vat_id + 2 : vat_id);
	}
}

static void address(struct ubl *u, const char *line1, const char *line2, const char *city, const char *postcode,
		    const char *country)
{
	/* None known: no element rather than an empty one (EN 16931 asks
	 * for the address, Peppol refuses empty elements; either way the
	 * file says what is missing). */
	if (!*S(line1) && !*S(line2) && !*S(city) && !*S(postcode) && !*S(country))
		return;
	start(u, "cac:PostalAddress");
	el(u, "cbc:StreetName", line1);
	el(u, "cbc:AdditionalStreetName", line2);
	el(u, "cbc:CityName", city);
	el(u, "cbc:PostalZone", postcode);
	if (country && *country) {
		start(u, "cac:Country");
		el(u, "cbc:IdentificationCode", country);
		end(u);
	}
	end(u);
}

static void party_tax(struct ubl *u, const char *vat_id)
{
	if (!vat_id || !*vat_id)
		return;
	start(u, "cac:PartyTaxScheme");
	el(u, "cbc:CompanyID", vat_id);
	start(u, "cac:TaxScheme");
	el(u, "cbc:ID", "VAT");
	end(u);
	end(u);
}

static void contact(struct ubl *u, const char *name, const char *phone, const char *email)
{
	if (!*S(name) && !*S(phone) && !*S(email))
		return;
	start(u, "cac:Contact");
	el(u, "cbc:Name", name);
	el(u, "cbc:Telephone", phone);
	el(u, "cbc:ElectronicMail", email);
	end(u);
}

/* The buyer's country: its account's, else its tax jurisdiction when
 * that is a country code (DE). */
static const char *buyer_country(const struct invoice_doc *d)
{
	const char *c = S(d->customer_country), *t = S(d->customer_tax);
	if (*c)
		return c;
	if (strlen(t) == 2 && t[0] >= 'A' && t[0] <= 'Z' && t[1] >= 'A' && t[1] <= 'Z')
		return t;
	return "";
}

static void parties(struct ubl *u, int untaxed)
{
	const struct invoice_doc *d = u->d;
	start(u, "cac:AccountingSupplierParty");
	start(u, "cac:Party");
	endpoint(u, d->seller_endpoint, d->seller_vat_id);
	address(u, d->seller_street, "", d->seller_city, d->seller_postcode, d->seller_country);
	/* Not subject to VAT: no VAT identifiers on the document (BR-O-02). */
	if (!untaxed)
		party_tax(u, d->seller_vat_id);
	start(u, "cac:PartyLegalEntity");
	el(u, "cbc:RegistrationName", d->seller_name);
	el(u, "cbc:CompanyID", d->seller_company_id);
	end(u);
	contact(u, d->seller_contact, d->seller_phone, d->seller_email);
	end(u);
	end(u);

	start(u, "cac:AccountingCustomerParty");
	start(u, "cac:Party");
	endpoint(u, d->customer_endpoint, d->customer_vat_id);
	start(u, "cac:PartyIdentification");
	el(u, "cbc:ID", d->account);
	end(u);
	address(u, d->customer_line1, d->customer_line2, d->customer_city, d->customer_postcode, buyer_country(d));
	if (!untaxed)
		party_tax(u, d->customer_vat_id);
	start(u, "cac:PartyLegalEntity");
	el(u, "cbc:RegistrationName", *S(d->customer_name) ? d->customer_name : d->account);
	end(u);
	contact(u, "", "", d->customer_email);
	end(u);
	end(u);
}

/* ---- lines ---- */

/* A line's quantity, price and base quantity such that quantity × price
 * / base is its amount exactly (PEPPOL-EN16931-R120), the price never
 * negative (BR-27): the unit price where the line has one that gives its
 * amount; else the amount as the price of the quantity (base = the
 * quantity); a line without a quantity (a fee) is one piece (C62). */
struct ubl_qty {
	char qty[80], price[80], base[80];
	const char *unit;
};

static int line_qty(const struct invoice_doc_line *l, struct ubl_qty *q)
{
	struct dec a, n;
	const char *qs = *S(l->billable) ? l->billable : S(l->quantity);
	q->base[0] = '\0';
	if (parse(l->amount, &a))
		return -1;
	struct dec abs_a = dec_abs(a);
	if (*qs && parse(qs, &n) == 0 && !dec_is_zero(n)) {
		q->unit = invoice_ubl_unit_code(l->unit);
		const char *up = invoice_line_unit_price(l);
		struct dec p, prod;
		if (up && *up && !*S(l->fx_rate) && parse(up, &p) == 0 && dec_sign(p) >= 0 && dec_mul(&prod, n, p) == 0 &&
		    dec_cmp(prod, a) == 0) {
			fmt(n, q->qty, sizeof(q->qty));
			fmt(p, q->price, sizeof(q->price));
			return 0;
		}
		struct dec abs_n = dec_abs(n);
		fmt(dec_sign(a) < 0 ? dec_neg(abs_n) : dec_sign(a) > 0 ? abs_n : n, q->qty, sizeof(q->qty));
		fmt(abs_a, q->price, sizeof(q->price));
		fmt(abs_n, q->base, sizeof(q->base));
		return 0;
	}
	q->unit = "C62";
	snprintf(q->qty, sizeof(q->qty), "%s", dec_sign(a) < 0 ? "-1" : "1");
	fmt(abs_a, q->price, sizeof(q->price));
	return 0;
}

static int line(struct ubl *u, const struct invoice_doc_line *l, struct err *e)
{
	struct ubl_qty q;
	struct vat v;
	if (line_qty(l, &q) || vat_of_line(u->d, l, &v))
		return err_set(e, ERR_INTERNAL, "document %s line %s: amount '%s' is not a decimal", u->d->number,
			       l->line_no, l->amount);
	start(u, u->credit ? "cac:CreditNoteLine" : "cac:InvoiceLine");
	el(u, "cbc:ID", l->line_no);
	if (l->adjustment) {
		char note[160];
		snprintf(note, sizeof(note), "adjusts the period starting %s", S(l->period_start));
		el(u, "cbc:Note", note);
	}
	start(u, u->credit ? "cbc:CreditedQuantity" : "cbc:InvoicedQuantity");
	attr(u, "unitCode", q.unit);
	if (xmlTextWriterWriteString(u->w, BAD_CAST q.qty) < 0)
		u->bad = 1;
	end(u);
	amount(u, "cbc:LineExtensionAmount", l->amount);
	start(u, "cac:Item");
	char pricing[512];
	invoice_line_pricing(l, pricing, sizeof(pricing));
	el(u, "cbc:Description", *pricing ? pricing : strcmp(S(l->description), S(l->label)) ? l->description : "");
	el(u, "cbc:Name", *S(l->label) ? l->label : *S(l->description) ? l->description : l->kind);
	if (*S(l->charge) || *S(l->meter)) {
		start(u, "cac:SellersItemIdentification");
		el(u, "cbc:ID", *S(l->charge) ? l->charge : l->meter);
		end(u);
	}
	tax_category(u, "cac:ClassifiedTaxCategory", &v);
	end(u);
	start(u, "cac:Price");
	amount(u, "cbc:PriceAmount", q.price);
	if (q.base[0])
		el_attr(u, "cbc:BaseQuantity", "unitCode", q.unit, q.base);
	end(u);
	end(u);
	return 0;
}

/* ---- the document ---- */

static int document(struct ubl *u, struct err *e)
{
	const struct invoice_doc *d = u->d;
	struct bucket b[MAX_BUCKETS];
	int nb;
	if (breakdown(d, b, &nb, e))
		return -1;
	int untaxed = !has_tax_lines(d);

	if (xmlTextWriterStartDocument(u->w, "1.0", "UTF-8", NULL) < 0)
		u->bad = 1;
	start(u, u->credit ? "CreditNote" : "Invoice");
	attr(u, "xmlns", u->credit ? NS_CREDIT : NS_INVOICE);
	attr(u, "xmlns:cac", NS_CAC);
	attr(u, "xmlns:cbc", NS_CBC);
	el(u, "cbc:CustomizationID", UBL_CUSTOMIZATION_ID);
	el(u, "cbc:ProfileID", UBL_PROFILE_ID);
	el(u, "cbc:ID", d->number);
	el(u, "cbc:IssueDate", d->issue_date);
	if (!u->credit) {
		el(u, "cbc:DueDate", d->due_date);
		el(u, "cbc:InvoiceTypeCode", "380");
	} else {
		el(u, "cbc:CreditNoteTypeCode", "381");
	}
	/* One note (PEPPOL-EN16931-R002): the reverse charge, the document
	 * referred to, a credit note's reason. */
	char note[512] = "";
	size_t len = 0;
	if (d->reverse_charge)
		len += (size_t)snprintf(note + len, sizeof(note) - len,
					"Reverse charge: the buyer accounts for the VAT (Council Directive "
					"2006/112/EC, article 196).");
	if (*S(d->ref_kind) && len < sizeof(note))
		len += (size_t)snprintf(note + len, sizeof(note) - len, "%s%s %s%s%s.", len ? " " : "",
					strcmp(d->ref_kind, "supplements") == 0 ? "Supplements"
					: strcmp(d->ref_kind, "replaces") == 0  ? "Replaces"
										: "Credits",
					S(d->ref_number), *S(d->reason) ? ", reason: " : "", S(d->reason));
	el(u, "cbc:Note", note);
	el(u, "cbc:DocumentCurrencyCode", d->currency);
	el(u, "cbc:AccountingCost", d->customer_cost_centre);
	el(u, "cbc:BuyerReference", d->account);
	start(u, "cac:InvoicePeriod");
	el(u, "cbc:StartDate", d->period_start);
	el(u, "cbc:EndDate", d->period_last);
	end(u);
	if (*S(d->ref_number)) {
		start(u, "cac:BillingReference");
		start(u, "cac:InvoiceDocumentReference");
		el(u, "cbc:ID", d->ref_number);
		end(u);
		end(u);
	}
	parties(u, untaxed);
	/* Payment instructions (BG-16): a SEPA credit transfer to the
	 * seller's IBAN, else "instrument not defined". */
	{
		start(u, "cac:PaymentMeans");
		el(u, "cbc:PaymentMeansCode", *S(d->seller_iban) ? "58" : "1");
		el(u, "cbc:PaymentID", d->number);
		if (*S(d->seller_iban)) {
			start(u, "cac:PayeeFinancialAccount");
			el(u, "cbc:ID", d->seller_iban);
			if (*S(d->seller_bic)) {
				start(u, "cac:FinancialInstitutionBranch");
				el(u, "cbc:ID", d->seller_bic);
				end(u);
			}
			end(u);
		}
		end(u);
	}
	/* Payment terms, always: a positive amount due needs them or a due
	 * date (BR-CO-25), and a credit note has no due date in UBL 2.1. */
	char terms[512];
	if (*S(d->seller_payment))
		snprintf(terms, sizeof(terms), "%s", d->seller_payment);
	else if (u->credit)
		snprintf(terms, sizeof(terms), "The amount credited is set off against the account.");
	else
		snprintf(terms, sizeof(terms), "Payable by %s, quoting %s.", S(d->due_date), d->number);
	start(u, "cac:PaymentTerms");
	el(u, "cbc:Note", terms);
	end(u);

	start(u, "cac:TaxTotal");
	amount(u, "cbc:TaxAmount", d->tax_total);
	for (int i = 0; i < nb; i++) {
		char taxable[64], tax[64];
		fmt(b[i].taxable, taxable, sizeof(taxable));
		fmt(b[i].tax, tax, sizeof(tax));
		start(u, "cac:TaxSubtotal");
		amount(u, "cbc:TaxableAmount", taxable);
		amount(u, "cbc:TaxAmount", tax);
		tax_category(u, "cac:TaxCategory", &b[i].vat);
		end(u);
	}
	end(u);

	start(u, "cac:LegalMonetaryTotal");
	amount(u, "cbc:LineExtensionAmount", d->subtotal);
	amount(u, "cbc:TaxExclusiveAmount", d->subtotal);
	amount(u, "cbc:TaxInclusiveAmount", d->total);
	amount(u, "cbc:PayableAmount", d->total);
	end(u);

	for (int i = 0; i < d->nlines; i++) {
		const struct invoice_doc_line *l = &d->lines[i];
		if (strcmp(l->kind, "tax") == 0 || !invoice_line_shown(l))
			continue;
		if (line(u, l, e))
			return -1;
	}
	end(u);
	if (xmlTextWriterEndDocument(u->w) < 0)
		u->bad = 1;
	return 0;
}

int invoice_ubl_build(const struct invoice_doc *d, char **out, size_t *len, struct err *e)
{
	*out = NULL;
	*len = 0;
	xmlBufferPtr buf = xmlBufferCreate();
	xmlTextWriterPtr w = buf ? xmlNewTextWriterMemory(buf, 0) : NULL;
	if (!w) {
		if (buf)
			xmlBufferFree(buf);
		return err_set(e, ERR_INTERNAL, "out of memory");
	}
	struct ubl u = { .w = w, .d = d, .currency = d->currency, .credit = strcmp(d->doc, "credit_note") == 0 };
	xmlTextWriterSetIndent(w, 1);
	xmlTextWriterSetIndentString(w, BAD_CAST "  ");
	int rc = document(&u, e);
	xmlFreeTextWriter(w);   /* flushes into buf */
	if (rc == 0 && u.bad)
		rc = err_set(e, ERR_INTERNAL, "could not write the e-invoice of %s (out of memory)", d->number);
	if (rc == 0) {
		*len = (size_t)xmlBufferLength(buf);
		*out = malloc(*len + 1);
		if (!*out) {
			rc = err_set(e, ERR_INTERNAL, "out of memory");
		} else {
			memcpy(*out, xmlBufferContent(buf), *len);
			(*out)[*len] = '\0';
		}
	}
	xmlBufferFree(buf);
	return rc;
}

int invoice_ubl_write(const struct invoice_doc *d, const char *path, struct outfile_sum *sum, struct err *e)
{
	char *xml;
	size_t len;
	if (invoice_ubl_build(d, &xml, &len, e))
		return -1;
	struct outfile of;
	if (outfile_open(&of, path, e)) {
		free(xml);
		return -1;
	}
	outfile_write(&of, xml, len);
	free(xml);
	return outfile_close(&of, sum, e);
}
