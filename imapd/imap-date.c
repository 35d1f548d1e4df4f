/*
 * imap-date.c: RFC 3501 9 date-time.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "imap-date.h"

static const char *const imap_months[] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

static int
imap_digits(const char *p, int n, int *vp)
{
	int	 v = 0, i;

	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	*vp = v;
	return 0;
}

int
imap_datetime_parse(const char *s, time_t *tp)
{
	struct tm	 tm;
	int		 day, mon, year, hh, mm, ss, zh, zm, sign;
	time_t		 t;

	/* date-day-fixed = (SP DIGIT) / 2DIGIT */
	if (strlen(s) != IMAP_DATETIME_LEN)
		return -1;
	if (s[0] == ' ') {
		if (imap_digits(s + 1, 1, &day) == -1)
			return -1;
	} else if (imap_digits(s, 2, &day) == -1)
		return -1;
	if (s[2] != '-' || s[6] != '-' || s[11] != ' ' || s[14] != ':' ||
	    s[17] != ':' || s[20] != ' ' || (s[21] != '+' && s[21] != '-'))
		return -1;
	for (mon = 0; mon < 12; mon++)
		if (strncasecmp(s + 3, imap_months[mon], 3) == 0)
			break;
	if (mon == 12 || imap_digits(s + 7, 4, &year) == -1 ||
	    imap_digits(s + 12, 2, &hh) == -1 ||
	    imap_digits(s + 15, 2, &mm) == -1 ||
	    imap_digits(s + 18, 2, &ss) == -1 ||
	    imap_digits(s + 22, 2, &zh) == -1 ||
	    imap_digits(s + 24, 2, &zm) == -1)
		return -1;
	if (day < 1 || day > 31 || year < 1900 || hh > 23 || mm > 59 ||
	    ss > 60 || zm > 59)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_mday = day;
	tm.tm_mon = mon;
	tm.tm_year = year - 1900;
	tm.tm_hour = hh;
	tm.tm_min = mm;
	tm.tm_sec = ss;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return -1;
	sign = s[21] == '-' ? 1 : -1;
	*tp = t + sign * (zh * 3600 + zm * 60);
	return 0;
}

char *
imap_datetime_format(time_t t, char *buf, size_t len)
{
	struct tm	 tm;

	if (gmtime_r(&t, &tm) == NULL)
		memset(&tm, 0, sizeof(tm));
	snprintf(buf, len, "%02d-%s-%04d %02d:%02d:%02d +0000", tm.tm_mday,
	    imap_months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour,
	    tm.tm_min, tm.tm_sec);
	return buf;
}
