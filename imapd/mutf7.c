/*
 * mutf7.c: modified UTF-7 (RFC 3501 5.1.3) to and from UTF-8.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mutf7.h"
#include "util.h"
#include "xmalloc.h"

struct outbuf {
	char	*p;
	size_t	 len;
	size_t	 cap;
};

static void	out_add(struct outbuf *, char);
static void	out_utf8(struct outbuf *, uint32_t);
static void	encode_run(struct outbuf *, const uint32_t *, size_t);
static int	mutf7_b64_value(unsigned char);

/* RFC 3501 5.1.3: RFC 2045 base64 with "," in place of "/". */
static const char mutf7_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

static void
out_add(struct outbuf *o, char c)
{
	if (o->len + 1 >= o->cap) {
		o->cap = o->cap == 0 ? 64 : o->cap * 2;
		o->p = xrealloc(o->p, o->cap);
	}
	o->p[o->len++] = c;
	o->p[o->len] = '\0';
}

static void
out_utf8(struct outbuf *o, uint32_t c)
{
	if (c < 0x80)
		out_add(o, (char)c);
	else if (c < 0x800) {
		out_add(o, (char)(0xc0 | (c >> 6)));
		out_add(o, (char)(0x80 | (c & 0x3f)));
	} else if (c < 0x10000) {
		out_add(o, (char)(0xe0 | (c >> 12)));
		out_add(o, (char)(0x80 | ((c >> 6) & 0x3f)));
		out_add(o, (char)(0x80 | (c & 0x3f)));
	} else {
		out_add(o, (char)(0xf0 | (c >> 18)));
		out_add(o, (char)(0x80 | ((c >> 12) & 0x3f)));
		out_add(o, (char)(0x80 | ((c >> 6) & 0x3f)));
		out_add(o, (char)(0x80 | (c & 0x3f)));
	}
}

/* Writes "&" base64(UTF-16BE of the run) "-". */
static void
encode_run(struct outbuf *o, const uint32_t *cps, size_t n)
{
	uint32_t	 bits = 0, c, u[2];
	size_t		 i, k, nu;
	int		 nbits = 0;

	out_add(o, '&');
	for (i = 0; i < n; i++) {
		c = cps[i];
		if (c >= 0x10000) {
			c -= 0x10000;
			u[0] = 0xd800 | (c >> 10);
			u[1] = 0xdc00 | (c & 0x3ff);
			nu = 2;
		} else {
			u[0] = c;
			nu = 1;
		}
		for (k = 0; k < nu; k++) {
			bits = (bits << 16) | u[k];
			nbits += 16;
			while (nbits >= 6) {
				nbits -= 6;
				out_add(o, mutf7_b64[(bits >> nbits) & 0x3f]);
			}
			bits &= (1u << nbits) - 1;
		}
	}
	if (nbits > 0)
		out_add(o, mutf7_b64[(bits << (6 - nbits)) & 0x3f]);
	out_add(o, '-');
}

int
mutf7_encode(const char *utf8, size_t len, char **out_r, const char **error_r)
{
	const unsigned char	*s = (const unsigned char *)utf8;
	struct outbuf		 o = { NULL, 0, 0 };
	uint32_t		*run = NULL, c;
	size_t			 i = 0, nrun = 0;

	out_add(&o, 'x');		/* allocates; taken back below */
	o.len = 0;
	o.p[0] = '\0';
	if (len > 0)
		run = xreallocarray(NULL, len, sizeof(*run));
	while (i < len) {
		if (utf8_decode(s, len, &i, &c) == -1) {
			*error_r = "Invalid UTF-8 in mailbox name";
			goto fail;
		}
		if (c == 0) {
			*error_r = "NUL in mailbox name";
			goto fail;
		}
		/* RFC 3501 5.1.3: printable US-ASCII stands for itself. */
		if (c >= 0x20 && c <= 0x7e) {
			if (nrun > 0) {
				encode_run(&o, run, nrun);
				nrun = 0;
			}
			out_add(&o, (char)c);
			if (c == '&')
				out_add(&o, '-');
		} else
			run[nrun++] = c;
	}
	if (nrun > 0)
		encode_run(&o, run, nrun);
	free(run);
	*out_r = o.p;
	return 0;

fail:
	free(run);
	free(o.p);
	return -1;
}

/* RFC 3501 5.1.3: modified base64 has "," where RFC 4648 has "/". */
static int
mutf7_b64_value(unsigned char c)
{
	if (c == ',')
		return 63;
	return c == '/' ? -1 : b64_value(c);
}

int
mutf7_decode(const char *mutf7, size_t len, char **out_r, const char **error_r)
{
	const unsigned char	*s = (const unsigned char *)mutf7;
	struct outbuf		 o = { NULL, 0, 0 };
	size_t			 i = 0;
	uint32_t		 bits, u, high;
	int			 nbits, v, after_shift = 0, units;

	out_add(&o, 'x');
	o.len = 0;
	o.p[0] = '\0';
	while (i < len) {
		if (s[i] < 0x20 || s[i] > 0x7e) {
			*error_r = s[i] >= 0x80 ?
			    "8-bit character in mailbox name (use modified UTF-7)" :
			    "Control character in mailbox name";
			goto fail;
		}
		if (s[i] != '&') {
			out_add(&o, (char)s[i++]);
			after_shift = 0;
			continue;
		}
		i++;
		if (i < len && s[i] == '-') {
			out_add(&o, '&');
			i++;
			after_shift = 0;
			continue;
		}
		if (after_shift) {
			/* Two shifts in a row: one would have done. */
			*error_r = "Invalid modified UTF-7: adjacent shifts";
			goto fail;
		}
		bits = 0;
		nbits = 0;
		high = 0;
		units = 0;
		for (;;) {
			if (i >= len) {
				*error_r = "Invalid modified UTF-7: "
				    "unterminated shift";
				goto fail;
			}
			if (s[i] == '-')
				break;
			if ((v = mutf7_b64_value(s[i])) == -1) {
				*error_r = "Invalid modified UTF-7: "
				    "bad base64";
				goto fail;
			}
			i++;
			bits = (bits << 6) | (uint32_t)v;
			nbits += 6;
			if (nbits < 16)
				continue;
			nbits -= 16;
			u = (bits >> nbits) & 0xffff;
			bits &= (1u << nbits) - 1;
			units++;
			if (high != 0) {
				if (u < 0xdc00 || u > 0xdfff) {
					*error_r = "Invalid modified UTF-7: "
					    "lone surrogate";
					goto fail;
				}
				out_utf8(&o, 0x10000 +
				    ((high - 0xd800) << 10) + (u - 0xdc00));
				high = 0;
			} else if (u >= 0xd800 && u <= 0xdbff)
				high = u;
			else if (u >= 0xdc00 && u <= 0xdfff) {
				*error_r = "Invalid modified UTF-7: "
				    "lone surrogate";
				goto fail;
			} else if (u >= 0x20 && u <= 0x7e) {
				/* RFC 3501 5.1.3: MUST NOT be encoded. */
				*error_r = "Invalid modified UTF-7: "
				    "encoded ASCII";
				goto fail;
			} else if (u == 0) {
				*error_r = "Invalid modified UTF-7: NUL";
				goto fail;
			} else
				out_utf8(&o, u);
		}
		i++;			/* the "-" */
		if (units == 0 || high != 0 || nbits >= 6 || bits != 0) {
			*error_r = high != 0 ?
			    "Invalid modified UTF-7: lone surrogate" :
			    "Invalid modified UTF-7: bad base64 padding";
			goto fail;
		}
		after_shift = 1;
	}
	*out_r = o.p;
	return 0;

fail:
	free(o.p);
	return -1;
}

int
mutf7_is_valid(const char *mutf7, size_t len)
{
	char		*out;
	const char	*error;

	if (mutf7_decode(mutf7, len, &out, &error) == -1)
		return 0;
	free(out);
	return 1;
}
