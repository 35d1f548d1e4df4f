/*
 * mutf7.c: modified UTF-7 (RFC 3501 5.1.3): printable ASCII but "&"
 * stands for itself; "&" starts a modified base64 run of UTF-16 that
 * "-" ends; "&-" is "&".
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mutf7.h"
#include "xmalloc.h"

static const char mutf7_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

/* Next code point of UTF-8, or -1 for invalid UTF-8. */
static int32_t
mutf7_utf8_next(const unsigned char **pp)
{
	const unsigned char	*p = *pp;
	int32_t			 c;
	int			 n, i;

	if (p[0] < 0x80) {
		*pp = p + 1;
		return p[0];
	}
	if ((p[0] & 0xe0) == 0xc0) {
		c = p[0] & 0x1f;
		n = 1;
	} else if ((p[0] & 0xf0) == 0xe0) {
		c = p[0] & 0x0f;
		n = 2;
	} else if ((p[0] & 0xf8) == 0xf0) {
		c = p[0] & 0x07;
		n = 3;
	} else
		return -1;
	for (i = 1; i <= n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return -1;
		c = (c << 6) | (p[i] & 0x3f);
	}
	/* Overlong forms, surrogates and values past Unicode are invalid. */
	if ((n == 1 && c < 0x80) || (n == 2 && c < 0x800) ||
	    (n == 3 && c < 0x10000) || c > 0x10ffff ||
	    (c >= 0xd800 && c <= 0xdfff))
		return -1;
	*pp = p + n + 1;
	return c;
}

char *
mutf7_encode(const char *utf8)
{
	const unsigned char	*p = (const unsigned char *)utf8;
	size_t			 cap = strlen(utf8) * 4 + 4, o = 0;
	char			*out = xmalloc(cap);
	uint32_t		 bits = 0;
	int			 nbits = 0, inb64 = 0;
	int32_t			 c;
	uint16_t		 units[2];
	int			 nunits, i;

	while (*p != '\0') {
		if (*p >= 0x20 && *p < 0x7f) {
			if (inb64) {
				if (nbits > 0)
					out[o++] = mutf7_b64[(bits << (6 - nbits)) & 0x3f];
				out[o++] = '-';
				inb64 = 0;
				nbits = 0;
				bits = 0;
			}
			out[o++] = (char)*p;
			if (*p == '&')
				out[o++] = '-';
			p++;
			continue;
		}
		if ((c = mutf7_utf8_next(&p)) == -1) {
			/* Names come from the store, which holds valid UTF-8. */
			c = 0xfffd;
			p++;
		}
		if (c >= 0x10000) {
			c -= 0x10000;
			units[0] = (uint16_t)(0xd800 + (c >> 10));
			units[1] = (uint16_t)(0xdc00 + (c & 0x3ff));
			nunits = 2;
		} else {
			units[0] = (uint16_t)c;
			nunits = 1;
		}
		if (!inb64) {
			out[o++] = '&';
			inb64 = 1;
		}
		for (i = 0; i < nunits; i++) {
			bits = (bits << 16) | units[i];
			nbits += 16;
			while (nbits >= 6) {
				nbits -= 6;
				out[o++] = mutf7_b64[(bits >> nbits) & 0x3f];
			}
			bits &= (1U << nbits) - 1;
		}
		if (o + 16 > cap) {
			cap *= 2;
			out = xrealloc(out, cap);
		}
	}
	if (inb64) {
		if (nbits > 0)
			out[o++] = mutf7_b64[(bits << (6 - nbits)) & 0x3f];
		out[o++] = '-';
	}
	out[o] = '\0';
	return out;
}

static int
mutf7_b64_value(char c)
{
	const char	*p;

	if (c == '\0' || (p = strchr(mutf7_b64, c)) == NULL)
		return -1;
	return (int)(p - mutf7_b64);
}

static void
mutf7_put_utf8(char *out, size_t *o, uint32_t c)
{
	if (c < 0x80)
		out[(*o)++] = (char)c;
	else if (c < 0x800) {
		out[(*o)++] = (char)(0xc0 | (c >> 6));
		out[(*o)++] = (char)(0x80 | (c & 0x3f));
	} else if (c < 0x10000) {
		out[(*o)++] = (char)(0xe0 | (c >> 12));
		out[(*o)++] = (char)(0x80 | ((c >> 6) & 0x3f));
		out[(*o)++] = (char)(0x80 | (c & 0x3f));
	} else {
		out[(*o)++] = (char)(0xf0 | (c >> 18));
		out[(*o)++] = (char)(0x80 | ((c >> 12) & 0x3f));
		out[(*o)++] = (char)(0x80 | ((c >> 6) & 0x3f));
		out[(*o)++] = (char)(0x80 | (c & 0x3f));
	}
}

char *
mutf7_decode(const char *wire, const char **whyp)
{
	const char	*p = wire;
	char		*out = xmalloc(strlen(wire) * 2 + 1);
	size_t		 o = 0;
	uint32_t	 bits, hi;
	int		 nbits, v, units;
	uint16_t	 u;

	*whyp = "Invalid modified UTF-7 in the mailbox name";
	while (*p != '\0') {
		if ((unsigned char)*p >= 0x80) {
			*whyp = "8-bit mailbox names must be sent in modified "
			    "UTF-7";
			goto fail;
		}
		if (*p != '&') {
			out[o++] = *p++;
			continue;
		}
		p++;
		if (*p == '-') {
			out[o++] = '&';
			p++;
			continue;
		}
		bits = 0;
		nbits = 0;
		hi = 0;
		units = 0;
		while (*p != '-') {
			if ((v = mutf7_b64_value(*p)) == -1)
				goto fail;
			bits = (bits << 6) | (uint32_t)v;
			nbits += 6;
			p++;
			if (nbits < 16)
				continue;
			nbits -= 16;
			u = (uint16_t)(bits >> nbits);
			bits &= (1U << nbits) - 1;
			units++;
			if (hi != 0) {
				if (u < 0xdc00 || u > 0xdfff)
					goto fail;
				mutf7_put_utf8(out, &o, 0x10000 +
				    ((hi - 0xd800) << 10) + (u - 0xdc00));
				hi = 0;
			} else if (u >= 0xd800 && u <= 0xdbff)
				hi = u;
			else if (u >= 0xdc00 && u <= 0xdfff)
				goto fail;
			else if (u >= 0x20 && u < 0x7f)
				goto fail;	/* must have been plain ASCII */
			else
				mutf7_put_utf8(out, &o, u);
		}
		/* Canonical: no empty run, at most 5 zero bits left over. */
		if (units == 0 || hi != 0 || nbits >= 6 || bits != 0)
			goto fail;
		p++;
		/*
		 * Nor two runs side by side ("&AOk-&AOk-" is "&AOkA6Q-"):
		 * one name, one spelling on the wire, as Dovecot insists.
		 */
		if (p[0] == '&' && p[1] != '-')
			goto fail;
	}
	out[o] = '\0';
	*whyp = NULL;
	return out;
fail:
	free(out);
	return NULL;
}
