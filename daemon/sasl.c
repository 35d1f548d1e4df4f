/*
 * sasl.c: the client side of SASL as the daemons read it: strict base64
 * (RFC 4648) and the PLAIN message (RFC 4616), one decoder for IMAP
 * AUTHENTICATE and SMTP AUTH.
 */
#include "config.h"

#include <string.h>

#include "sasl.h"
#include "util.h"

int
sasl_b64_decode(const char *in, size_t inlen, void *out, size_t outmax,
    size_t *outlenp)
{
	unsigned char	*o = out;
	size_t		 i, n = 0;
	int		 v[4], k, pad;

	*outlenp = 0;
	if (inlen % 4 != 0)
		return -1;
	for (i = 0; i < inlen; i += 4) {
		pad = 0;
		for (k = 0; k < 4; k++) {
			if (in[i + k] == '=' && i + 4 == inlen && k >= 2) {
				/* "x=" must be followed by "=" too. */
				if (k == 2 && in[i + 3] != '=')
					return -1;
				pad = 4 - k;
				break;
			}
			if ((v[k] = b64_value((unsigned char)in[i + k]))
			    == -1)
				return -1;
		}
		if (n + 3 - (size_t)pad > outmax)
			return -1;
		o[n++] = (unsigned char)(v[0] << 2 | v[1] >> 4);
		if (pad == 2) {
			/* RFC 4648 3.5: the unused bits must be zero. */
			if (v[1] & 0x0f)
				return -1;
			break;
		}
		o[n++] = (unsigned char)((v[1] & 0x0f) << 4 | v[2] >> 2);
		if (pad == 1) {
			if (v[2] & 0x03)
				return -1;
			break;
		}
		o[n++] = (unsigned char)((v[2] & 0x03) << 6 | v[3]);
	}
	*outlenp = n;
	return 0;
}

enum sasl_status
sasl_response_decode(const char *line, size_t len, void *out, size_t outmax,
    size_t *outlenp)
{
	*outlenp = 0;
	/* RFC 4422 3.5, RFC 3501 6.2.2, RFC 4954 4: "*" cancels. */
	if (len == 1 && line[0] == '*')
		return SASL_CANCELLED;
	/* RFC 4954 4, RFC 4959: "=" is an empty initial response. */
	if (len == 0 || (len == 1 && line[0] == '='))
		return SASL_OK;
	if (len / 4 * 3 > outmax + 2)
		return SASL_TOO_LONG;
	if (sasl_b64_decode(line, len, out, outmax, outlenp) == -1)
		return SASL_BAD_BASE64;
	return SASL_OK;
}

enum sasl_status
sasl_plain_split(const void *msg, size_t len, struct sasl_plain *sp)
{
	const char	*m = msg, *nul1, *nul2;

	memset(sp, 0, sizeof(*sp));
	/* RFC 4616 2: message = [authzid] NUL authcid NUL passwd */
	if ((nul1 = memchr(m, '\0', len)) == NULL ||
	    (nul2 = memchr(nul1 + 1, '\0', len - (size_t)(nul1 + 1 - m))) ==
	    NULL || memchr(nul2 + 1, '\0', len - (size_t)(nul2 + 1 - m)) !=
	    NULL)
		return SASL_MALFORMED;
	sp->authzid = m;
	sp->authzid_len = (size_t)(nul1 - m);
	sp->authcid = nul1 + 1;
	sp->authcid_len = (size_t)(nul2 - sp->authcid);
	sp->passwd = nul2 + 1;
	sp->passwd_len = len - (size_t)(sp->passwd - m);
	if (sp->authcid_len == 0 || sp->authcid_len > SASL_USER_MAX ||
	    sp->authzid_len > SASL_USER_MAX ||
	    sp->passwd_len == 0 || sp->passwd_len > SASL_PASS_MAX)
		return SASL_INVALID;
	return SASL_OK;
}
