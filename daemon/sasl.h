/*
 * sasl.h: SASL client responses (RFC 4422) as guestbox-imapd's
 * AUTHENTICATE and guestbox-submitd's AUTH read them: strict base64 and
 * the PLAIN message (RFC 4616).  Pure: the protocol's reply to each
 * status is the caller's.
 */
#ifndef GUESTBOX_SASL_H
#define GUESTBOX_SASL_H

#include <stddef.h>

#include "util.h"

#define SASL_USER_MAX	ADDR_MAX	/* an authcid is an address */
#define SASL_PASS_MAX	1024
/* The longest PLAIN message: authzid NUL authcid NUL passwd. */
#define SASL_PLAIN_MAX	(SASL_USER_MAX * 2 + SASL_PASS_MAX + 3)

enum sasl_status {
	SASL_OK,
	SASL_CANCELLED,		/* the client sent "*" */
	SASL_TOO_LONG,		/* decodes to more than outmax bytes */
	SASL_BAD_BASE64,
	SASL_MALFORMED,		/* not [authzid] NUL authcid NUL passwd */
	SASL_INVALID,		/* an empty or overlong identity or password */
};

/*
 * Strict base64 (RFC 4648 4): the standard alphabet, padding required, no
 * white space, zero trailing bits.  Writes at most outmax bytes to out.
 * Returns 0, or -1 if the input is not canonical base64 or decodes to
 * more than outmax bytes.
 */
int	sasl_b64_decode(const char *in, size_t inlen, void *out, size_t outmax,
	    size_t *outlenp);
/*
 * One client response: an initial response ("=" is the empty one) or a
 * continuation line, decoded into out (secret memory, xsecret_alloc, of
 * outmax bytes).
 */
enum sasl_status sasl_response_decode(const char *line, size_t len,
	    void *out, size_t outmax, size_t *outlenp);

/* RFC 4616 2: message = [authzid] NUL authcid NUL passwd */
struct sasl_plain {
	const char	*authzid;	/* NUL-free, may be empty */
	size_t		 authzid_len;
	const char	*authcid;	/* 1 to SASL_USER_MAX octets */
	size_t		 authcid_len;
	const char	*passwd;	/* 1 to SASL_PASS_MAX octets */
	size_t		 passwd_len;
};

/*
 * Splits a decoded PLAIN message; the pointers borrow from msg (each
 * followed by the NUL that ends it in msg, except passwd).  SASL_OK,
 * SASL_MALFORMED or SASL_INVALID.
 */
enum sasl_status sasl_plain_split(const void *msg, size_t len,
	    struct sasl_plain *);

#endif
