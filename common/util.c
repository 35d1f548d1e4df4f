/*
 * util.c: addresses, whole-file I/O, encodings, numbers and times.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "util.h"
#include "xmalloc.h"

/* RFC 5322 3.2.3 atext, the characters of a dot-atom. */
static int
addr_is_atext(int c)
{
	return isalnum(c) || (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/*
 * A DNS name of letters, digits and hyphens (RFC 5321 4.1.2, RFC 1123
 * 2.1): labels of 1 to 63, not beginning or ending with a hyphen, 253 in
 * all, no trailing dot.
 */
int
host_name_is_valid(const char *s)
{
	const char	*p, *label = s;

	if (strlen(s) > ADDR_DOMAIN_MAX)
		return 0;
	for (p = s;; p++) {
		if (*p == '.' || *p == '\0') {
			if (p == label || p - label > 63 || *label == '-' ||
			    p[-1] == '-')
				return 0;
			if (*p == '\0')
				return 1;
			label = p + 1;
		} else if (!isalnum((unsigned char)*p) && *p != '-')
			return 0;
	}
}

int
addr_normalize(const char *in, char *out, const char **whyp)
{
	const char	*at, *p;
	size_t		 llen, dlen;

	*whyp = NULL;
	if ((at = strrchr(in, '@')) == NULL) {
		*whyp = "an address needs a local part, '@' and a domain";
		return -1;
	}
	llen = (size_t)(at - in);
	dlen = strlen(at + 1);
	if (llen == 0 || llen > ADDR_LOCAL_MAX) {
		*whyp = "the local part must have 1 to 64 characters";
		return -1;
	}
	if (dlen == 0 || dlen > ADDR_DOMAIN_MAX) {
		*whyp = "the domain must have 1 to 253 characters";
		return -1;
	}
	/* Dot-atom: atext runs separated by single dots (RFC 5322 3.4.1). */
	if (in[0] == '.' || in[llen - 1] == '.') {
		*whyp = "the local part may not begin or end with a dot";
		return -1;
	}
	for (p = in; p < at; p++) {
		if (*p == '.' && p[1] == '.') {
			*whyp = "the local part may not hold two dots in a row";
			return -1;
		}
		if (*p != '.' && !addr_is_atext((unsigned char)*p)) {
			*whyp = "the local part holds a character that needs quoting";
			return -1;
		}
	}
	if (!host_name_is_valid(at + 1)) {
		*whyp = "the domain is not a valid host name";
		return -1;
	}
	if (strchr(at + 1, '.') == NULL) {
		*whyp = "the domain must be fully qualified";
		return -1;
	}
	/*
	 * Lower-case all of it: the domain is case-insensitive by RFC 5321
	 * 2.4, and every provider a recipient knows treats the local part so
	 * too; two mailboxes differing only in case would be a trap.
	 */
	for (p = in; *p != '\0'; p++)
		*out++ = (char)tolower((unsigned char)*p);
	*out = '\0';
	return 0;
}

const char *
addr_domain(const char *addr)
{
	const char	*at = strrchr(addr, '@');

	return at == NULL ? "" : at + 1;
}

int
fd_read_all(int fd, size_t max, char **bufp, size_t *lenp)
{
	char		*buf = NULL;
	size_t		 len = 0, cap = 0;
	ssize_t		 n;
	int		 saved;

	*bufp = NULL;
	*lenp = 0;
	for (;;) {
		if (cap - len < 4096 + 1) {
			cap = cap == 0 ? 8192 : cap * 2;
			buf = xrealloc(buf, cap);
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max) {
			errno = EFBIG;
			goto fail;
		}
	}
	if (buf == NULL)
		buf = xmalloc(1);
	buf[len] = '\0';
	*bufp = buf;
	*lenp = len;
	return 0;
fail:
	saved = errno;
	free(buf);
	errno = saved;
	return -1;
}

int
file_read_all(const char *path, size_t max, char **bufp, size_t *lenp)
{
	int	 fd, ret, saved;

	*bufp = NULL;
	*lenp = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	ret = fd_read_all(fd, max, bufp, lenp);
	saved = errno;
	close(fd);
	errno = saved;
	return ret;
}

int
file_write_atomic(const char *path, const void *data, size_t len, int mode)
{
	char		*tmp;
	const char	*p = data;
	ssize_t		 n;
	int		 fd, saved;

	xasprintf(&tmp, "%s.tmp%ld", path, (long)getpid());
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)) == -1)
		goto fail_free;
	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			goto fail_close;
		}
		p += n;
		len -= (size_t)n;
	}
	if (fsync(fd) == -1 || close(fd) == -1) {
		fd = -1;
		goto fail_close;
	}
	if (rename(tmp, path) == -1)
		goto fail_unlink;
	free(tmp);
	return 0;
fail_close:
	saved = errno;
	if (fd != -1)
		close(fd);
	errno = saved;
fail_unlink:
	saved = errno;
	unlink(tmp);
	errno = saved;
fail_free:
	saved = errno;
	free(tmp);
	errno = saved;
	return -1;
}

char *
b64url_encode(const void *src, size_t n)
{
	size_t	 outlen;
	char	*out;

	outlen = sodium_base64_encoded_len(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	out = xmalloc(outlen);
	sodium_bin2base64(out, outlen, src, n,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return out;
}

int
b64url_decode(const char *s, void *dst, size_t n)
{
	size_t	 got;

	if (sodium_base642bin(dst, n, s, strlen(s), NULL, &got, NULL,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 || got != n)
		return -1;
	return 0;
}

int
b64_value(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

char *
hex_encode(const void *src, size_t n)
{
	char	*out = xmalloc(n * 2 + 1);

	sodium_bin2hex(out, n * 2 + 1, src, n);
	return out;
}

/*
 * Dovecot stores a message with LF line ends (CRLF becomes LF) and serves
 * it with CRLF (an LF gets a CR unless one is before it).  So a bare LF
 * becomes CRLF, a bare CR stays, and a CR just before a CRLF is lost
 * ("\r\r\n" is "\r\n").  This does both steps at once; *outp gets the
 * byte, or the length is counted when out is NULL.
 */
static size_t
crlf_convert(const char *in, size_t len, char *out)
{
	size_t	 i, n = 0;
	char	 prev = '\0';		/* the last byte of the LF form */

	for (i = 0; i < len; i++) {
		if (in[i] == '\r' && i + 1 < len && in[i + 1] == '\n')
			continue;
		if (in[i] == '\n' && prev != '\r') {
			if (out != NULL)
				out[n] = '\r';
			n++;
		}
		if (out != NULL)
			out[n] = in[i];
		n++;
		prev = in[i];
	}
	return n;
}

char *
crlf_normalize(const char *in, size_t len, size_t *outlenp)
{
	char	*out;
	size_t	 n;

	n = crlf_convert(in, len, NULL);
	if (n + 1 < n)
		fatalx("crlf_normalize: overflow");
	out = xmalloc(n + 1);
	(void)crlf_convert(in, len, out);
	out[n] = '\0';
	*outlenp = n;
	return out;
}

int
crlf_is_normal(const char *in, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++)
		if (in[i] == '\n' && (i == 0 || in[i - 1] != '\r' ||
		    (i > 1 && in[i - 2] == '\r')))
			return 0;
	return 1;
}

int
parse_u64(const char *s, uint64_t max, uint64_t *vp)
{
	uint64_t	 v = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (v > max)
		return -1;
	*vp = v;
	return 0;
}

char *
time_iso8601(time_t t, char *buf, size_t len)
{
	struct tm	 tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "%lld", (long long)t);
	return buf;
}

int
time_parse(const char *s, time_t now, time_t *tp)
{
	struct tm	 tm;
	const char	*end;
	uint64_t	 v;
	char		 num[32];
	size_t		 n;

	if (s[0] == '+') {
		n = strlen(s + 1);
		if (n < 2 || n >= sizeof(num))
			return -1;
		memcpy(num, s + 1, n - 1);
		num[n - 1] = '\0';
		if (parse_u64(num, 100 * 365 * 86400ULL, &v) == -1)
			return -1;
		switch (s[n]) {
		case 'd':
			v *= 86400;
			break;
		case 'h':
			v *= 3600;
			break;
		case 's':
			break;
		default:
			return -1;
		}
		*tp = now + (time_t)v;
		return 0;
	}
	if (parse_u64(s, INT64_MAX / 2, &v) == 0) {
		*tp = (time_t)v;
		return 0;
	}
	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (end == NULL || *end != '\0') {
		memset(&tm, 0, sizeof(tm));
		end = strptime(s, "%Y-%m-%d", &tm);
		if (end == NULL || *end != '\0')
			return -1;
	}
	*tp = timegm(&tm);
	return 0;
}

uint64_t
time_mono_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int
utf8_decode(const unsigned char *s, size_t len, size_t *ip, uint32_t *cp)
{
	size_t		 i = *ip, n, k;
	uint32_t	 c, min;

	c = s[i];
	if (c < 0x80) {
		n = 0;
		min = 0;
	} else if ((c & 0xe0) == 0xc0) {
		n = 1;
		c &= 0x1f;
		min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		n = 2;
		c &= 0x0f;
		min = 0x800;
	} else if ((c & 0xf8) == 0xf0) {
		n = 3;
		c &= 0x07;
		min = 0x10000;
	} else
		return -1;
	if (len - i - 1 < n)
		return -1;
	for (k = 1; k <= n; k++) {
		if ((s[i + k] & 0xc0) != 0x80)
			return -1;
		c = (c << 6) | (s[i + k] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return -1;
	*ip = i + n + 1;
	*cp = c;
	return 0;
}

int
utf8_is_valid(const char *s, size_t len)
{
	const unsigned char	*u = (const unsigned char *)s;
	size_t			 i = 0;
	uint32_t		 c;

	while (i < len)
		if (utf8_decode(u, len, &i, &c) == -1 || c == 0)
			return 0;
	return 1;
}
