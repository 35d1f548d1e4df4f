/*
 * pgpmime.c: PGP/MIME (RFC 3156) copies of a submitted message.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include <gpgme.h>

#include "pgp.h"
#include "pgpmime.h"
#include "rfc5322.h"
#include "xmalloc.h"

struct pgpmime_buf {
	char	*s;
	size_t	 len;
	size_t	 cap;
};

static void	pgpmime_buf_grow(struct pgpmime_buf *, size_t);
static void	pgpmime_add(struct pgpmime_buf *, const char *, size_t);
static void	pgpmime_adds(struct pgpmime_buf *, const char *);
static void	pgpmime_add_crlf(struct pgpmime_buf *, const char *, size_t);
static void	pgpmime_add_fields(struct pgpmime_buf *,
		    const struct rfc5322_header *, const char *const *);
static int	pgpmime_is_content_field(const char *);
static int	pgpmime_name_in(const char *, const char *const *);
static int	pgpmime_boundary(char *, size_t, const char *);
static gpgme_ctx_t pgpmime_ctx(const struct pgpmime_opts *, char *, size_t);
static int	pgpmime_fpr_valid(const char *);
static int	pgpmime_keys_get(const struct pgpmime_opts *,
		    const struct pgpmime_rcpt *, size_t, gpgme_key_t *, size_t *,
		    char *, size_t);
static const char *pgpmime_key_unusable(gpgme_key_t);
static int	pgpmime_encrypt(gpgme_ctx_t, const gpgme_key_t *, const char *,
		    size_t, const struct pgpmime_rcpt *, const size_t *,
		    size_t, char **, size_t *, size_t *, char *, size_t);

/*
 * What travels in clear: what relays need to route and clients need to
 * thread and reply.  RFC 5322 3.6.2 wants Sender with several From.
 */
static const char *const pgpmime_outer_fields[] = {
	"From", "Sender", "Reply-To", "To", "Cc", "Date", "Message-ID",
	"In-Reply-To", "References", NULL
};

/* The protected headers: the same and the Subject, never Bcc. */
static const char *const pgpmime_inner_fields[] = {
	"From", "Sender", "Reply-To", "To", "Cc", "Subject", "Date",
	"Message-ID", "In-Reply-To", "References", NULL
};

static const char *const pgpmime_subject_field[] = { "Subject", NULL };

static void
pgpmime_buf_grow(struct pgpmime_buf *b, size_t n)
{
	size_t	 want;

	if (b->cap - b->len > n)
		return;
	if (n > SIZE_MAX / 2 - b->len)
		fatalx("pgpmime: message too large");
	want = b->cap == 0 ? 4096 : b->cap;
	while (want - b->len <= n)
		want *= 2;
	b->s = xrealloc(b->s, want);
	b->cap = want;
}

static void
pgpmime_add(struct pgpmime_buf *b, const char *s, size_t n)
{
	pgpmime_buf_grow(b, n);
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void
pgpmime_adds(struct pgpmime_buf *b, const char *s)
{
	pgpmime_add(b, s, strlen(s));
}

/*
 * Appends with every line end made CRLF: submitted messages are CRLF
 * already (smtp-data refuses bare LF), gpg's armour is not.
 */
static void
pgpmime_add_crlf(struct pgpmime_buf *b, const char *s, size_t n)
{
	size_t	 i, start = 0;

	for (i = 0; i < n; i++) {
		if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r')) {
			pgpmime_add(b, s + start, i - start);
			pgpmime_add(b, "\r\n", 2);
			start = i + 1;
		} else if (s[i] == '\r' && (i + 1 == n || s[i + 1] != '\n')) {
			pgpmime_add(b, s + start, i - start);
			pgpmime_add(b, "\r\n", 2);
			start = i + 1;
		}
	}
	pgpmime_add(b, s + start, n - start);
}

static int
pgpmime_name_in(const char *name, const char *const *names)
{
	for (; *names != NULL; names++)
		if (strcasecmp(name, *names) == 0)
			return 1;
	return 0;
}

/* RFC 2045 9: the fields that describe the body part. */
static int
pgpmime_is_content_field(const char *name)
{
	return strncasecmp(name, "Content-", 8) == 0;
}

/*
 * The fields named (names NULL: the Content-* fields), as submitted, in
 * their order; each ends in CRLF.
 */
static void
pgpmime_add_fields(struct pgpmime_buf *b, const struct rfc5322_header *h,
    const char *const *names)
{
	const struct rfc5322_field	*f;
	size_t				 i;

	for (i = 0; i < h->nfields; i++) {
		f = &h->fields[i];
		if (names == NULL ? !pgpmime_is_content_field(f->name) :
		    !pgpmime_name_in(f->name, names))
			continue;
		pgpmime_add_crlf(b, f->raw, f->raw_len);
		/* The last field of a message without a body may lack it. */
		if (b->len < 2 || memcmp(b->s + b->len - 2, "\r\n", 2) != 0)
			pgpmime_add(b, "\r\n", 2);
	}
}

char *
pgpmime_payload(const struct rfc5322_header *h, int flags,
    const char *boundary, size_t *lenp)
{
	struct pgpmime_buf	 b = { NULL, 0, 0 };

	pgpmime_buf_grow(&b, h->body_len + 1024);
	if (flags & PGPMIME_PROTECT_SUBJECT) {
		pgpmime_adds(&b, "Content-Type: multipart/mixed; boundary=\"");
		pgpmime_adds(&b, boundary);
		pgpmime_adds(&b, "\";\r\n protected-headers=\"v1\"\r\n");
		pgpmime_add_fields(&b, h, pgpmime_inner_fields);
		pgpmime_adds(&b, "\r\n--");
		pgpmime_adds(&b, boundary);
		pgpmime_adds(&b, "\r\n");
	}
	pgpmime_add_fields(&b, h, NULL);
	pgpmime_adds(&b, "\r\n");
	pgpmime_add_crlf(&b, h->body, h->body_len);
	if (flags & PGPMIME_PROTECT_SUBJECT) {
		/* RFC 2046 5.1.1: the CRLF before "--" is the delimiter's. */
		pgpmime_adds(&b, "\r\n--");
		pgpmime_adds(&b, boundary);
		pgpmime_adds(&b, "--\r\n");
	}
	*lenp = b.len;
	return b.s;
}

char *
pgpmime_outer(const struct rfc5322_header *h, int flags, const char *boundary,
    const char *armor, size_t armorlen, size_t *lenp)
{
	struct pgpmime_buf	 b = { NULL, 0, 0 };

	pgpmime_buf_grow(&b, armorlen + armorlen / 32 + 2048);
	pgpmime_add_fields(&b, h, pgpmime_outer_fields);
	/*
	 * The protected-headers convention: clients that know it show the
	 * inner Subject; the others show this placeholder, which is what
	 * Thunderbird sends.
	 */
	if (flags & PGPMIME_PROTECT_SUBJECT)
		pgpmime_adds(&b, "Subject: ...\r\n");
	else
		pgpmime_add_fields(&b, h, pgpmime_subject_field);
	pgpmime_adds(&b, "MIME-Version: 1.0\r\n"
	    "Content-Type: multipart/encrypted;\r\n"
	    " protocol=\"application/pgp-encrypted\";\r\n"
	    " boundary=\"");
	pgpmime_adds(&b, boundary);
	/* RFC 3156 4: exactly two parts, the version and the data. */
	pgpmime_adds(&b, "\"\r\n\r\n"
	    "This is an OpenPGP/MIME encrypted message (RFC 4880 and 3156)\r\n"
	    "--");
	pgpmime_adds(&b, boundary);
	pgpmime_adds(&b, "\r\n"
	    "Content-Type: application/pgp-encrypted\r\n"
	    "Content-Description: PGP/MIME version identification\r\n"
	    "\r\n"
	    "Version: 1\r\n"
	    "\r\n"
	    "--");
	pgpmime_adds(&b, boundary);
	pgpmime_adds(&b, "\r\n"
	    "Content-Type: application/octet-stream; name=\"encrypted.asc\"\r\n"
	    "Content-Description: OpenPGP encrypted message\r\n"
	    "Content-Disposition: inline; filename=\"encrypted.asc\"\r\n"
	    "\r\n");
	pgpmime_add_crlf(&b, armor, armorlen);
	if (b.len < 2 || memcmp(b.s + b.len - 2, "\r\n", 2) != 0)
		pgpmime_adds(&b, "\r\n");
	pgpmime_adds(&b, "\r\n--");
	pgpmime_adds(&b, boundary);
	pgpmime_adds(&b, "--\r\n");
	*lenp = b.len;
	return b.s;
}

/*
 * A random boundary that is not in the text it will delimit.  The '.'
 * keeps it out of any base64 or armour line (RFC 2046 5.1.1 allows it).
 */
static int
pgpmime_boundary(char *out, size_t outlen, const char *kind)
{
	unsigned char	 rnd[12];
	size_t		 i, off;

	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return -1;
	off = (size_t)snprintf(out, outlen, "gbx.%s.", kind);
	for (i = 0; i < sizeof(rnd) && off + 2 < outlen; i++, off += 2)
		snprintf(out + off, outlen - off, "%02x", rnd[i]);
	return 0;
}

int
pgpmime_init(char *why, size_t whylen)
{
	gpgme_error_t	 err;

	/* GPGME requires this before the first context, in any thread. */
	if (gpgme_check_version(NULL) == NULL) {
		snprintf(why, whylen, "GPGME failed to initialise");
		return -1;
	}
	if ((err = gpgme_engine_check_version(GPGME_PROTOCOL_OpenPGP)) != 0) {
		snprintf(why, whylen, "GnuPG is not usable: %s (apt-get "
		    "install gnupg)", gpgme_strerror(err));
		return -1;
	}
	return 0;
}

int
pgpmime_classify(const struct rfc5322_header *h, struct pgpmime_rcpt *rcpts,
    size_t n, const char **whyp)
{
	struct rfc5322_addrlist	 list;
	size_t			 i;

	memset(&list, 0, sizeof(list));
	if (rfc5322_header_addrs(h, "To", RFC5322_ADDRS_MAX, &list,
	    whyp) == -1 ||
	    rfc5322_header_addrs(h, "Cc", RFC5322_ADDRS_MAX, &list,
	    whyp) == -1) {
		rfc5322_addrlist_clear(&list);
		return -1;
	}
	for (i = 0; i < n; i++)
		rcpts[i].bcc = !rfc5322_addrlist_has(&list, rcpts[i].addr);
	rfc5322_addrlist_clear(&list);
	return 0;
}

static gpgme_ctx_t
pgpmime_ctx(const struct pgpmime_opts *opts, char *why, size_t whylen)
{
	gpgme_ctx_t	 ctx;
	gpgme_error_t	 err;

	if ((err = gpgme_new(&ctx)) != 0) {
		snprintf(why, whylen, "GPGME: %s", gpgme_strerror(err));
		return NULL;
	}
	if ((err = gpgme_set_protocol(ctx, GPGME_PROTOCOL_OpenPGP)) != 0) {
		snprintf(why, whylen, "GPGME: %s", gpgme_strerror(err));
		gpgme_release(ctx);
		return NULL;
	}
	if (pgp_ctx_set_home(ctx, opts->gnupg_home, why, whylen) == -1) {
		gpgme_release(ctx);
		return NULL;
	}
	gpgme_set_armor(ctx, 1);
	/* Never reach out to key servers or WKD while we hold a client. */
	gpgme_set_offline(ctx, 1);
	return ctx;
}

static int
pgpmime_fpr_valid(const char *fpr)
{
	size_t	 n = strlen(fpr), i;

	if (n != 40 && n != 64)
		return 0;
	for (i = 0; i < n; i++)
		if (strchr("0123456789abcdefABCDEF", fpr[i]) == NULL)
			return 0;
	return 1;
}

/*
 * Why a key cannot encrypt now, or NULL if it can.  The key may come from
 * a snapshot listed a while ago (pgp_keys_find): the expiry times count
 * as well as gpg's flags.
 */
static const char *
pgpmime_key_unusable(gpgme_key_t key)
{
	gpgme_subkey_t	 sk;
	time_t		 now = time(NULL);

	if (key->revoked)
		return "has been revoked";
	/* The first subkey is the primary key. */
	if (key->expired || (key->subkeys != NULL &&
	    key->subkeys->expires > 0 && key->subkeys->expires <= now))
		return "has expired";
	if (key->disabled)
		return "is disabled";
	if (key->invalid)
		return "is invalid";
	for (sk = key->subkeys; sk != NULL; sk = sk->next)
		if (sk->can_encrypt && !sk->revoked && !sk->expired &&
		    !sk->disabled && !sk->invalid &&
		    (sk->expires <= 0 || sk->expires > now))
			return NULL;
	return "has no usable encryption subkey (expired or revoked)";
}

/*
 * The recipients' keys, from the process's snapshot of the keyring (no
 * gpg run unless the keyring changed); keys[i] gets recipient i's key
 * (a reference the caller releases).
 */
static int
pgpmime_keys_get(const struct pgpmime_opts *opts,
    const struct pgpmime_rcpt *rcpts, size_t n, gpgme_key_t *keys,
    size_t *badp, char *why, size_t whylen)
{
	const char	**fprs;
	const char	 *what;
	size_t		  i;
	int		  ret = -1;

	*badp = n;
	for (i = 0; i < n; i++) {
		keys[i] = NULL;
		if (rcpts[i].fpr == NULL || !pgpmime_fpr_valid(rcpts[i].fpr)) {
			*badp = i;
			snprintf(why, whylen, "no valid OpenPGP fingerprint "
			    "is on record for %s", rcpts[i].addr);
			return -1;
		}
	}
	fprs = xcalloc(n, sizeof(*fprs));
	for (i = 0; i < n; i++)
		fprs[i] = rcpts[i].fpr;
	if (pgp_keys_find(opts->gnupg_home, fprs, n, keys, why,
	    whylen) == -1)
		goto out;
	for (i = 0; i < n; i++) {
		if (keys[i] == NULL) {
			*badp = i;
			snprintf(why, whylen, "there is no OpenPGP key for %s "
			    "(%s) in the key store", rcpts[i].addr,
			    rcpts[i].fpr);
			goto out;
		}
		if ((what = pgpmime_key_unusable(keys[i])) != NULL) {
			*badp = i;
			snprintf(why, whylen, "the OpenPGP key of %s (%s) %s",
			    rcpts[i].addr, rcpts[i].fpr, what);
			goto out;
		}
	}
	ret = 0;
out:
	free(fprs);
	if (ret == -1)
		for (i = 0; i < n; i++)
			if (keys[i] != NULL) {
				gpgme_key_unref(keys[i]);
				keys[i] = NULL;
			}
	return ret;
}

int
pgpmime_keys_check(const struct pgpmime_opts *opts,
    const struct pgpmime_rcpt *rcpts, size_t n, size_t *badp, char *why,
    size_t whylen)
{
	gpgme_key_t	*keys;
	size_t		 i;
	int		 ret;

	*badp = n;
	if (n == 0)
		return 0;
	keys = xcalloc(n, sizeof(*keys));
	ret = pgpmime_keys_get(opts, rcpts, n, keys, badp, why, whylen);
	for (i = 0; i < n; i++)
		if (keys[i] != NULL)
			gpgme_key_unref(keys[i]);
	free(keys);
	return ret;
}

/*
 * Encrypts the payload to the recipients idx[0..m); the armour goes to
 * *outp (a new buffer).
 */
static int
pgpmime_encrypt(gpgme_ctx_t ctx, const gpgme_key_t *keys, const char *payload,
    size_t len, const struct pgpmime_rcpt *rcpts, const size_t *idx, size_t m,
    char **outp, size_t *outlenp, size_t *badp, char *why, size_t whylen)
{
	gpgme_key_t		*rset;
	gpgme_data_t		 in = NULL, out = NULL;
	gpgme_encrypt_result_t	 res;
	gpgme_invalid_key_t	 inv;
	gpgme_error_t		 err;
	char			*mem;
	size_t			 i, k, n = 0;
	int			 ret = -1;

	*outp = NULL;
	rset = xcalloc(m + 1, sizeof(*rset));
	for (i = 0; i < m; i++)
		rset[i] = keys[idx[i]];
	if ((err = gpgme_data_new_from_mem(&in, payload, len, 0)) != 0 ||
	    (err = gpgme_data_new(&out)) != 0) {
		snprintf(why, whylen, "GPGME: %s", gpgme_strerror(err));
		goto out;
	}
	/*
	 * Always trust: the keys came from the provisioning system, not a
	 * web of trust.  No encrypt-to: a default key in the home's
	 * gpg.conf must not become a hidden recipient of a Bcc copy.
	 */
	err = pgp_encrypt(ctx, rset, GPGME_ENCRYPT_ALWAYS_TRUST |
	    GPGME_ENCRYPT_NO_ENCRYPT_TO, in, out);
	if (err != 0) {
		res = gpgme_op_encrypt_result(ctx);
		inv = res != NULL ? res->invalid_recipients : NULL;
		for (k = 0; inv != NULL && k < m; k++)
			if (inv->fpr != NULL && rcpts[idx[k]].fpr != NULL &&
			    strcasecmp(inv->fpr, rcpts[idx[k]].fpr) == 0) {
				*badp = idx[k];
				snprintf(why, whylen, "gpg refuses the OpenPGP "
				    "key of %s (%s): %s", rcpts[idx[k]].addr,
				    rcpts[idx[k]].fpr,
				    gpgme_strerror(inv->reason));
				goto out;
			}
		snprintf(why, whylen, "encryption failed: %s",
		    gpgme_strerror(err));
		goto out;
	}
	mem = gpgme_data_release_and_get_mem(out, &n);
	out = NULL;
	if (mem == NULL || n == 0) {
		snprintf(why, whylen, "encryption produced no output");
		gpgme_free(mem);
		goto out;
	}
	*outp = xmalloc(n + 1);
	memcpy(*outp, mem, n);
	(*outp)[n] = '\0';
	*outlenp = n;
	gpgme_free(mem);
	ret = 0;
out:
	gpgme_data_release(in);
	gpgme_data_release(out);
	free(rset);
	return ret;
}

void
pgpmime_copies_free(struct pgpmime_copy **copiesp, size_t n)
{
	size_t	 i;

	if (*copiesp == NULL)
		return;
	for (i = 0; i < n; i++) {
		free((*copiesp)[i].msg);
		free((*copiesp)[i].rcpts);
	}
	free(*copiesp);
	*copiesp = NULL;
}

int
pgpmime_build(const struct pgpmime_opts *opts, const char *msg, size_t len,
    const struct pgpmime_rcpt *rcpts, size_t n, struct pgpmime_copy **copiesp,
    size_t *ncopiesp, size_t *badp, char *why, size_t whylen)
{
	struct rfc5322_header	*h = NULL;
	struct pgpmime_copy	*copies = NULL, *c;
	gpgme_ctx_t		 ctx = NULL;
	gpgme_key_t		*keys = NULL;
	const char		*reason;
	char			 outer_b[64], inner_b[64], delim[80];
	char			*payload = NULL, *armor = NULL;
	size_t			 plen = 0, alen = 0, ncopies = 0, nvisible = 0;
	size_t			 i, tries;
	int			 ret = -1;

	*copiesp = NULL;
	*ncopiesp = 0;
	*badp = n;
	if (n == 0) {
		snprintf(why, whylen, "no recipients");
		return -1;
	}
	if (rfc5322_header_parse(msg, len, &h, &reason) == -1) {
		snprintf(why, whylen, "the message header is malformed: %s",
		    reason);
		return -1;
	}
	if (pgpmime_boundary(outer_b, sizeof(outer_b), "enc") == -1)
		goto random_failed;
	/*
	 * The inner boundary must not occur in the body it delimits.  With
	 * 96 random bits a clash means the body quotes our boundary back at
	 * us; eight tries are plenty.
	 */
	for (tries = 0;; tries++) {
		if (tries == 8) {
			snprintf(why, whylen, "no MIME boundary found that "
			    "the message does not contain");
			goto out;
		}
		if (pgpmime_boundary(inner_b, sizeof(inner_b), "mix") == -1)
			goto random_failed;
		snprintf(delim, sizeof(delim), "--%s", inner_b);
		if (memmem(h->body, h->body_len, delim, strlen(delim)) == NULL)
			break;
	}
	keys = xcalloc(n, sizeof(*keys));
	if (pgpmime_keys_get(opts, rcpts, n, keys, badp, why, whylen) == -1)
		goto out;
	if ((ctx = pgpmime_ctx(opts, why, whylen)) == NULL)
		goto out;
	/* Bcc recipients are nowhere in it: the same payload for all. */
	payload = pgpmime_payload(h, opts->flags, inner_b, &plen);

	for (i = 0; i < n; i++)
		if (!rcpts[i].bcc)
			nvisible++;
	copies = xcalloc(n - nvisible + (nvisible > 0), sizeof(*copies));
	if (nvisible > 0) {
		c = &copies[ncopies++];
		c->rcpts = xcalloc(nvisible, sizeof(*c->rcpts));
		for (i = 0; i < n; i++)
			if (!rcpts[i].bcc)
				c->rcpts[c->nrcpts++] = i;
	}
	for (i = 0; i < n; i++)
		if (rcpts[i].bcc) {
			c = &copies[ncopies++];
			c->rcpts = xcalloc(1, sizeof(*c->rcpts));
			c->rcpts[c->nrcpts++] = i;
		}
	for (i = 0; i < ncopies; i++) {
		c = &copies[i];
		if (pgpmime_encrypt(ctx, keys, payload, plen, rcpts, c->rcpts,
		    c->nrcpts, &armor, &alen, badp, why, whylen) == -1)
			goto out;
		c->msg = pgpmime_outer(h, opts->flags, outer_b, armor, alen,
		    &c->len);
		free(armor);
		armor = NULL;
	}
	*copiesp = copies;
	*ncopiesp = ncopies;
	copies = NULL;
	ret = 0;
	goto out;

random_failed:
	snprintf(why, whylen, "getrandom: %s", strerror(errno));
out:
	if (payload != NULL) {
		/* The cleartext of a message only its recipients may read. */
		explicit_bzero(payload, plen);
		free(payload);
	}
	pgpmime_copies_free(&copies, ncopies);
	if (keys != NULL) {
		for (i = 0; i < n; i++)
			if (keys[i] != NULL)
				gpgme_key_unref(keys[i]);
		free(keys);
	}
	if (ctx != NULL)
		gpgme_release(ctx);
	rfc5322_header_free(&h);
	return ret;
}
