/*
 * mask.c - HMAC-SHA256 tokens for personal data, and a small JSON
 * rewriter that puts them in place of personal attributes (see mask.h).
 */
#include "mask.h"
#include "err.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Attribute names that hold personal data, normalised (lowercase, '_'). */
static const char *const personal_exact[] = {
	/* calling and called parties: generic usage, Asterisk CDRs, telecom */
	"calling", "called", "caller", "callee", "calling_number", "called_number", "caller_number",
	"callee_number", "caller_id", "callerid", "clid", "src", "dst", "source_number",
	"destination_number", "from", "to", "ani", "dnis", "msisdn", "imsi", "imei", "number", "phone",
	"telephone", "mobile",
	/* names */
	"name", "first_name", "last_name", "full_name", "display_name", "user_name", "username",
	"customer_name", "contact_name", "account_name", "given_name", "family_name", "surname", "names",
	/* e-mail */
	"email", "e_mail", "mail", "email_address", "mail_address", "emails", "numbers", "phones",
	NULL,
};

/* Parts that make any name personal ("billing_email", "home_phone", and
 * camelCase "CallerNumber" once lowercased). */
static const char *const personal_part[] = { "email", "e_mail", "phone", "msisdn", "calling", "called", "caller",
					      "callee", NULL };

int mask_init(struct mask *m, const char *key, struct err *e)
{
	size_t len = key ? strlen(key) : 0;

	memset(m, 0, sizeof(*m));
	if (len == 0) {
		err_set(e, ERR_CONFIG, "export.hmac_key is not set");
		return err_hint(e, "set it to a long random secret, e.g. the output of 'openssl rand -hex 32'");
	}
	if (len < MASK_KEY_MIN) {
		err_set(e, ERR_CONFIG, "export.hmac_key is too short (%zu bytes; at least %d)", len, MASK_KEY_MIN);
		return err_hint(e, "use a long random secret, e.g. the output of 'openssl rand -hex 32'");
	}
	if (len > MASK_KEY_MAX)
		return err_set(e, ERR_CONFIG, "export.hmac_key is too long (%zu bytes; at most %d)", len, MASK_KEY_MAX);
	memcpy(m->key, key, len);
	m->keylen = len;
	return 0;
}

void mask_release(struct mask *m)
{
	OPENSSL_cleanse(m->key, sizeof(m->key));
	m->keylen = 0;
}

void mask_token(const struct mask *m, const char *value, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned n = 0;

	HMAC(EVP_sha256(), m->key, (int)m->keylen, (const unsigned char *)value, len, md, &n);
	memcpy(out, "tok_", 4);
	for (int i = 0; i < 16; i++) {
		out[4 + 2 * i] = digits[md[i] >> 4];
		out[4 + 2 * i + 1] = digits[md[i] & 15];
	}
	out[MASK_TOKEN_LEN] = '\0';
	OPENSSL_cleanse(md, sizeof(md));
}

int mask_is_personal_key(const char *name, size_t len)
{
	char norm[128];

	if (len == 0 || len >= sizeof(norm))
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		else if (c == '-' || c == ' ' || c == '.')
			c = '_';
		norm[i] = c;
	}
	norm[len] = '\0';
	for (const char *const *p = personal_exact; *p; p++)
		if (strcmp(norm, *p) == 0)
			return 1;
	for (const char *const *p = personal_part; *p; p++)
		if (strstr(norm, *p))
			return 1;
	return 0;
}

int mask_looks_like_email(const char *s, size_t len)
{
	const char *at = memchr(s, '@', len);
	if (!at || at == s)
		return 0;
	const char *domain = at + 1;
	size_t dlen = len - (size_t)(domain - s);
	if (dlen < 3 || memchr(domain, '@', dlen))
		return 0;
	const char *dot = memchr(domain, '.', dlen);
	if (!dot || dot == domain || dot == s + len - 1)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '<' || s[i] == '>')
			return 0;
	return 1;
}

/* ---- the rewriter ---- */

struct out {
	char *data;
	size_t len, cap;
	int oom;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->oom)
		return;
	if (o->len + n + 1 > o->cap) {
		size_t cap = o->cap ? o->cap : 256;
		while (cap < o->len + n + 1)
			cap *= 2;
		char *p = realloc(o->data, cap);
		if (!p) {
			o->oom = 1;
			return;
		}
		o->data = p;
		o->cap = cap;
	}
	memcpy(o->data + o->len, s, n);
	o->len += n;
	o->data[o->len] = '\0';
}

struct parser {
	const struct mask *m;
	const char *s;
	size_t len, pos;
	struct out out;
	int bad;
	int depth;
};

/* Whitespace between tokens is copied as it is. */
static void skip_ws(struct parser *p)
{
	size_t start = p->pos;
	while (p->pos < p->len && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' || p->s[p->pos] == '\n' ||
				   p->s[p->pos] == '\r'))
		p->pos++;
	put(&p->out, p->s + start, p->pos - start);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void put_utf8(struct out *o, unsigned cp)
{
	char b[4];
	size_t n;
	if (cp < 0x80) {
		b[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (char)(0xc0 | (cp >> 6));
		b[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (char)(0xe0 | (cp >> 12));
		b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		b[0] = (char)(0xf0 | (cp >> 18));
		b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	put(o, b, n);
}

/*
 * Read a string at p->pos (on its opening quote). Its raw text (with the
 * quotes) is s[*raw_start..p->pos); its decoded value goes to *value (the
 * caller frees it). Returns 0 or -1 (p->bad set).
 */
static int read_string(struct parser *p, size_t *raw_start, struct out *value)
{
	*raw_start = p->pos;
	p->pos++; /* the quote */
	while (p->pos < p->len) {
		char c = p->s[p->pos];
		if (c == '"') {
			p->pos++;
			if (value->len == 0)
				put(value, "", 0);
			return 0;
		}
		if ((unsigned char)c < 0x20)
			break;
		if (c != '\\') {
			put(value, &c, 1);
			p->pos++;
			continue;
		}
		if (p->pos + 1 >= p->len)
			break;
		char esc = p->s[p->pos + 1];
		p->pos += 2;
		switch (esc) {
		case '"': put(value, "\"", 1); break;
		case '\\': put(value, "\\", 1); break;
		case '/': put(value, "/", 1); break;
		case 'b': put(value, "\b", 1); break;
		case 'f': put(value, "\f", 1); break;
		case 'n': put(value, "\n", 1); break;
		case 'r': put(value, "\r", 1); break;
		case 't': put(value, "\t", 1); break;
		case 'u': {
			unsigned cp = 0;
			if (p->pos + 4 > p->len)
				goto bad;
			for (int i = 0; i < 4; i++) {
				int h = hexval(p->s[p->pos + (size_t)i]);
				if (h < 0)
					goto bad;
				cp = cp * 16 + (unsigned)h;
			}
			p->pos += 4;
			if (cp >= 0xd800 && cp < 0xdc00 && p->pos + 6 <= p->len && p->s[p->pos] == '\\' &&
			    p->s[p->pos + 1] == 'u') {
				unsigned lo = 0;
				int ok = 1;
				for (int i = 0; i < 4; i++) {
					int h = hexval(p->s[p->pos + 2 + (size_t)i]);
					ok &= h >= 0;
					lo = lo * 16 + (unsigned)(h < 0 ? 0 : h);
				}
				if (ok && lo >= 0xdc00 && lo < 0xe000) {
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
					p->pos += 6;
				}
			}
			put_utf8(value, cp);
			break;
		}
		default:
			goto bad;
		}
	}
bad:
	p->bad = 1;
	return -1;
}

static int email_char(char c, int domain)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
	       c == '-' || (!domain && (c == '_' || c == '+' || c == '%'));
}

/* Write s[0..len) as a JSON string. */
static void put_json_string(struct out *o, const char *s, size_t len)
{
	put(o, "\"", 1);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			char b[2] = { '\\', (char)c };
			put(o, b, 2);
		} else if (c < 0x20) {
			char b[8];
			snprintf(b, sizeof(b), "\\u%04x", c);
			put(o, b, 6);
		} else {
			put(o, (const char *)&c, 1);
		}
	}
	put(o, "\"", 1);
}

/*
 * A string with e-mail addresses inside ("mail bob@example.com today"):
 * each address becomes its token, the rest stays. Returns 1 when it wrote
 * the string, 0 when there was no address in it.
 */
static int put_with_emails(struct parser *p, const char *s, size_t len)
{
	struct out o = { 0 };
	size_t done = 0, found = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] != '@')
			continue;
		size_t a = i, b = i + 1;
		while (a > done && email_char(s[a - 1], 0))
			a--;
		while (b < len && email_char(s[b], 1))
			b++;
		while (b > i + 1 && (s[b - 1] == '.' || s[b - 1] == '-'))
			b--; /* "write to bob@example.com." */
		if (a == i || !mask_looks_like_email(s + a, b - a))
			continue;
		char tok[MASK_TOKEN_LEN + 1];
		mask_token(p->m, s + a, b - a, tok);
		put(&o, s + done, a - done);
		put(&o, tok, MASK_TOKEN_LEN);
		done = b;
		i = b - 1;
		found++;
	}
	if (found) {
		put(&o, s + done, len - done);
		if (o.oom)
			p->out.oom = 1;
		else
			put_json_string(&p->out, o.data, o.len);
	}
	OPENSSL_cleanse(o.data, o.cap);
	free(o.data);
	return found > 0;
}

static void put_token(struct parser *p, const char *value, size_t len)
{
	char tok[MASK_TOKEN_LEN + 1];
	mask_token(p->m, value, len, tok);
	put(&p->out, "\"", 1);
	put(&p->out, tok, MASK_TOKEN_LEN);
	put(&p->out, "\"", 1);
}

static int value(struct parser *p, int personal);

static int literal(struct parser *p, const char *word)
{
	size_t n = strlen(word);
	if (p->pos + n > p->len || memcmp(p->s + p->pos, word, n) != 0) {
		p->bad = 1;
		return -1;
	}
	put(&p->out, word, n);
	p->pos += n;
	return 0;
}

static int number(struct parser *p, int personal)
{
	size_t start = p->pos;
	if (p->pos < p->len && p->s[p->pos] == '-')
		p->pos++;
	size_t digits = p->pos;
	while (p->pos < p->len && ((p->s[p->pos] >= '0' && p->s[p->pos] <= '9') || p->s[p->pos] == '.' ||
				   p->s[p->pos] == 'e' || p->s[p->pos] == 'E' || p->s[p->pos] == '+' ||
				   p->s[p->pos] == '-'))
		p->pos++;
	if (p->pos == digits || p->s[digits] < '0' || p->s[digits] > '9') {
		p->bad = 1;
		return -1;
	}
	if (personal)
		put_token(p, p->s + start, p->pos - start);
	else
		put(&p->out, p->s + start, p->pos - start);
	return 0;
}

static int container(struct parser *p, int personal, char open, char close)
{
	if (++p->depth > 64) {
		p->bad = 1;
		return -1;
	}
	put(&p->out, &open, 1);
	p->pos++;
	skip_ws(p);
	if (p->pos < p->len && p->s[p->pos] == close) {
		put(&p->out, &close, 1);
		p->pos++;
		p->depth--;
		return 0;
	}
	for (;;) {
		skip_ws(p);
		int member_personal = personal;
		if (open == '{') {
			struct out key = { 0 };
			size_t raw;
			if (p->pos >= p->len || p->s[p->pos] != '"' || read_string(p, &raw, &key)) {
				free(key.data);
				p->bad = 1;
				return -1;
			}
			member_personal = personal || mask_is_personal_key(key.data, key.len);
			free(key.data);
			put(&p->out, p->s + raw, p->pos - raw);
			skip_ws(p);
			if (p->pos >= p->len || p->s[p->pos] != ':') {
				p->bad = 1;
				return -1;
			}
			put(&p->out, ":", 1);
			p->pos++;
		}
		if (value(p, member_personal))
			return -1;
		skip_ws(p);
		if (p->pos < p->len && p->s[p->pos] == ',') {
			put(&p->out, ",", 1);
			p->pos++;
			continue;
		}
		if (p->pos < p->len && p->s[p->pos] == close) {
			put(&p->out, &close, 1);
			p->pos++;
			p->depth--;
			return 0;
		}
		p->bad = 1;
		return -1;
	}
}

static int value(struct parser *p, int personal)
{
	skip_ws(p);
	if (p->pos >= p->len) {
		p->bad = 1;
		return -1;
	}
	char c = p->s[p->pos];
	if (c == '{')
		return container(p, personal, '{', '}');
	if (c == '[')
		return container(p, personal, '[', ']');
	if (c == '"') {
		struct out v = { 0 };
		size_t raw;
		if (read_string(p, &raw, &v)) {
			free(v.data);
			return -1;
		}
		if (v.oom) {
			p->out.oom = 1;
		} else if (personal || mask_looks_like_email(v.data, v.len)) {
			put_token(p, v.data, v.len);
		} else if (!memchr(v.data, '@', v.len) || !put_with_emails(p, v.data, v.len)) {
			put(&p->out, p->s + raw, p->pos - raw);
		}
		OPENSSL_cleanse(v.data, v.cap);
		free(v.data);
		return 0;
	}
	if (c == 't')
		return literal(p, "true");
	if (c == 'f')
		return literal(p, "false");
	if (c == 'n')
		return literal(p, "null");
	return number(p, personal);
}

char *mask_json(const struct mask *m, const char *json, size_t len, size_t *outlen, struct err *e)
{
	struct parser p = { .m = m, .s = json, .len = len };

	if (value(&p, 0) == 0) {
		skip_ws(&p);
		if (p.pos != p.len)
			p.bad = 1;
	}
	if (p.bad || p.out.oom) {
		free(p.out.data);
		if (p.out.oom && !p.bad)
			err_set(e, ERR_INTERNAL, "out of memory");
		else
			err_set(e, ERR_INPUT, "attributes are not valid JSON (at byte %zu)", p.pos);
		return NULL;
	}
	if (!p.out.data)
		put(&p.out, "", 0);
	if (outlen)
		*outlen = p.out.len;
	return p.out.data;
}
