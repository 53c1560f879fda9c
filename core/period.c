/*
 * period.c - run periods (days and months) and civil-date arithmetic.
 */
#include "period.h"
#include "err.h"

#include <stdio.h>
#include <string.h>

/* Howard Hinnant's days_from_civil / civil_from_days. */
long period_days_from_civil(int y, int m, int d)
{
	y -= m <= 2;
	long era = (y >= 0 ? y : y - 399) / 400;
	long yoe = y - era * 400;
	long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(long z, int *y, int *m, int *d)
{
	z += 719468;
	long era = (z >= 0 ? z : z - 146096) / 146097;
	long doe = z - era * 146097;
	long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	long yy = yoe + era * 400;
	long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	long mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yy + (*m <= 2));
}

static int days_in_month(int y, int m)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return days[m - 1];
}

static void fill(struct period *p)
{
	int ey, em, ed;
	if (p->month_kind) {
		ey = p->m == 12 ? p->y + 1 : p->y;
		em = p->m == 12 ? 1 : p->m + 1;
		ed = 1;
	} else {
		civil_from_days(period_days_from_civil(p->y, p->m, p->d) + 1, &ey, &em, &ed);
	}
	snprintf(p->start, sizeof(p->start), "%04d-%02d-%02d", p->y, p->m, p->d);
	snprintf(p->end, sizeof(p->end), "%04d-%02d-%02d", ey, em, ed);
}

int period_parse(struct period *p, const char *kind, const char *text, struct err *e)
{
	int y = 0, m = 0, d = 1, n = 0;
	memset(p, 0, sizeof(*p));
	p->month_kind = strcmp(kind, "month") == 0;
	size_t len = strlen(text);
	/* sscanf's %d would take a sign or leading blanks: only digits and
	 * the dashes at 4 and 7 are a date. */
	for (size_t i = 0; i < len; i++)
		if (i == 4 || i == 7 ? text[i] != '-' : (text[i] < '0' || text[i] > '9'))
			len = 0;
	if (len == 10 && sscanf(text, "%4d-%2d-%2d%n", &y, &m, &d, &n) == 3 && n == 10) {
		/* ok */
	} else if (len == 7 && p->month_kind && sscanf(text, "%4d-%2d%n", &y, &m, &n) == 2 && n == 7) {
		d = 1;
	} else {
		err_set(e, ERR_USAGE, "'%s' is not a %s period", text, kind);
		return err_hint(e, p->month_kind ? "write a month as YYYY-MM" : "write a day as YYYY-MM-DD");
	}
	if (y < 1970 || y > 9998 || m < 1 || m > 12 || d < 1 || d > days_in_month(y, m))
		return err_set(e, ERR_USAGE, "'%s' is not a valid date", text);
	if (p->month_kind && d != 1)
		return err_set(e, ERR_USAGE, "a month period starts on day 01, not '%s'", text);
	p->y = y;
	p->m = m;
	p->d = d;
	fill(p);
	return 0;
}

void period_due(struct period *p, const char *kind, time_t now)
{
	struct tm tm;
	localtime_r(&now, &tm);
	memset(p, 0, sizeof(*p));
	p->month_kind = strcmp(kind, "month") == 0;
	if (p->month_kind) {
		p->y = tm.tm_mon == 0 ? tm.tm_year + 1900 - 1 : tm.tm_year + 1900;
		p->m = tm.tm_mon == 0 ? 12 : tm.tm_mon;
		p->d = 1;
	} else {
		civil_from_days(period_days_from_civil(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday) - 1, &p->y,
				&p->m, &p->d);
	}
	fill(p);
}

void period_next(struct period *p)
{
	if (p->month_kind) {
		p->y += p->m == 12;
		p->m = p->m == 12 ? 1 : p->m + 1;
	} else {
		civil_from_days(period_days_from_civil(p->y, p->m, p->d) + 1, &p->y, &p->m, &p->d);
	}
	fill(p);
}

int period_cmp(const struct period *a, const struct period *b)
{
	return strcmp(a->start, b->start);
}
