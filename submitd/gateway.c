/*
 * gateway.c: the home system's gateway, an after-queue content filter
 * (Postfix content_filter; any MTA that hands mail to an SMTP filter and
 * takes it back on a second port).  See guestbox-submitd(8), guestbox(7).
 *
 * For each message, on the work queue, before the home MTA gets an
 * answer:
 *
 *   unmarked, or already OpenPGP (RFC 3156 multipart/encrypted):
 *	re-injected byte for byte to every recipient;
 *   marked (gateway_header, gateway_subject_tags, gateway_encrypt_from):
 *	the sender needs a key (else 550: a guest could never answer);
 *	the trigger is removed, then per recipient:
 *	internal (gateway_domains)	re-injected as it is;
 *	a key in the GnuPG home		PGP/MIME to it and the sender's key;
 *	(or in the web key directory,	imported first: gateway_wkd)
 *	no key				its temporary mailbox (one per
 *					address) is made or reused, the
 *					message delivered into it, and once
 *					per mailbox an invitation to the
 *					address and a PIN notice, encrypted,
 *					to the sender.
 *
 * Fail closed: 250 only when every copy was taken by the home MTA or
 * committed into its mailbox; whatever may pass later is 451, so the MTA
 * keeps the message and tries again.  Every step may run again after a
 * crash or a 451: the mailbox is found by address, the delivery is
 * de-duplicated by Message-ID, and the invitation is marked in the
 * account (invite_unsent) until it went out.  A crash between sending
 * the invitation and clearing that mark sends a new one on the retry
 * (the token of the first was only in memory): never none, and the
 * newest link is the one that works.
 *
 * The jobs that make mailboxes and send invitations hold one lock, so
 * that two messages to one new address cannot both invite it.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sodium.h>

#include "doorbell.h"
#include "invite.h"
#include "log.h"
#include "mime-content.h"
#include "mime-decode.h"
#include "mime-encode.h"
#include "mime-seal.h"
#include "pack.h"
#include "pgp.h"
#include "pgpmime.h"
#include "pubkeys.h"
#include "rfc5322.h"
#include "smtp-client.h"
#include "submitd.h"
#include "util.h"
#include "xmalloc.h"

/* The name of gateway_header, and so of every field name, at most. */
#define GATEWAY_NAME_MAX	76

static pthread_mutex_t gateway_lock = PTHREAD_MUTEX_INITIALIZER;

enum gateway_kind {
	GW_INTERNAL,		/* a home domain: as it is */
	GW_KEYED,		/* encrypted to its key */
	GW_KEYLESS,		/* its temporary mailbox */
};

struct gateway_rcpt {
	char			*addr;		/* normalized, or "" */
	char			*path;		/* as the home MTA sent it */
	enum gateway_kind	 kind;
	char			 fpr[PGP_FPR_MAX];
	struct pgpmime_copy	*copy;		/* GW_KEYED */
	size_t			 ncopies;
	uint64_t		 account_id;	/* GW_KEYLESS */
	uint8_t			 pk[32];
};

struct gateway_job {
	struct smtp_job		 base;		/* first: see smtp_job */
	const struct conf	*cf;
	struct store		*st;
	char			*msg;
	size_t			 len;
	char			 from[ADDR_MAX + 1];	/* normalized, or "" */
	char			 from_path[ADDR_MAX + 1];	/* as sent */
	int			 smtputf8;	/* RFC 6531: passed on */
	char			 peer[64];
	char			 helo[SMTP_DOMAIN_MAX + 1];
	struct gateway_rcpt	*rcpts;
	size_t			 nrcpts;
	/* The answer to the home MTA. */
	int			 code;
	const char		*enhanced;
	char			 text[600];
};

static void	gateway_answer(struct gateway_job *, int, const char *,
		    const char *, ...) printflike(4, 5);

static void
gateway_answer(struct gateway_job *j, int code, const char *enhanced,
    const char *fmt, ...)
{
	va_list	 ap;

	j->code = code;
	j->enhanced = enhanced;
	va_start(ap, fmt);
	vsnprintf(j->text, sizeof(j->text), fmt, ap);
	va_end(ap);
}

/* ---- configuration ---- */

/* The next blank-separated word of *lp, or NULL; *np gets its length. */
static const char *
gateway_word(const char **lp, size_t *np)
{
	const char	*p = *lp;

	if (p == NULL)
		return NULL;
	p += strspn(p, " \t,");
	if (*p == '\0')
		return NULL;
	*np = strcspn(p, " \t,");
	*lp = p + *np;
	return p;
}

static int
gateway_in_list(const char *list, const char *s, size_t n)
{
	const char	*w;
	size_t		 wn;

	while ((w = gateway_word(&list, &wn)) != NULL)
		if (wn == n && strncasecmp(w, s, n) == 0)
			return 1;
	return 0;
}

static const char *
gateway_domain(const char *addr)
{
	const char	*at = strrchr(addr, '@');

	return at != NULL ? at + 1 : "";
}

static int
gateway_internal(const struct conf *cf, const char *addr)
{
	const char	*d = gateway_domain(addr);

	return gateway_in_list(cf->gateway_domains, d, strlen(d));
}

/* What a recipient's key is looked up by: its plain form, if it has one. */
static const char *
gateway_rcpt_name(const struct gateway_rcpt *r)
{
	return r->addr[0] != '\0' ? r->addr : r->path;
}

/* gateway_encrypt_from: "user@domain", "@domain" or "domain". */
static int
gateway_policy_sender(const struct conf *cf, const char *from)
{
	const char	*list = cf->gateway_encrypt_from, *w, *d;
	size_t		 wn;

	d = gateway_domain(from);
	while ((w = gateway_word(&list, &wn)) != NULL) {
		if (w[0] == '@' && wn - 1 == strlen(d) &&
		    strncasecmp(w + 1, d, wn - 1) == 0)
			return 1;
		if (memchr(w, '@', wn) == NULL && wn == strlen(d) &&
		    strncasecmp(w, d, wn) == 0)
			return 1;
		if (w[0] != '@' && wn == strlen(from) &&
		    strncasecmp(w, from, wn) == 0)
			return 1;
	}
	return 0;
}

/* gateway_header "Name: value": the name (into name) and the value. */
static const char *
gateway_header_split(const struct conf *cf, char name[GATEWAY_NAME_MAX + 1])
{
	const char	*h = cf->gateway_header, *colon, *v;
	size_t		 n;

	if (h == NULL || strcmp(h, "none") == 0 ||
	    (colon = strchr(h, ':')) == NULL)
		return NULL;
	n = (size_t)(colon - h);
	while (n > 0 && (h[n - 1] == ' ' || h[n - 1] == '\t'))
		n--;
	if (n == 0 || n > GATEWAY_NAME_MAX)
		return NULL;
	memcpy(name, h, n);
	name[n] = '\0';
	v = colon + 1;
	return v + strspn(v, " \t");
}

int
gateway_check(const struct conf *cf, char *why, size_t whylen)
{
	char		 host[256], port[8], name[GATEWAY_NAME_MAX + 1];
	const char	*p, *w;
	size_t		 n;

	if (cf->gateway_reinject == NULL || smtp_client_smarthost(
	    cf->gateway_reinject, SMARTHOST_STARTTLS, host, sizeof(host), port,
	    sizeof(port)) == -1) {
		snprintf(why, whylen, "gateway_listen needs gateway_reinject, "
		    "the HOST:PORT where the home MTA takes filtered mail back");
		return -1;
	}
	p = cf->gateway_domains;
	if (gateway_word(&p, &n) == NULL) {
		snprintf(why, whylen, "gateway_listen needs gateway_domains, "
		    "the home domains whose recipients are internal");
		return -1;
	}
	if (cf->gateway_header != NULL && strcmp(cf->gateway_header,
	    "none") != 0 && gateway_header_split(cf, name) == NULL) {
		snprintf(why, whylen, "gateway_header must be \"Name: value\" "
		    "or none");
		return -1;
	}
	if (strcmp(cf->gateway_wkd, "none") != 0 && strcmp(cf->gateway_wkd,
	    "direct") != 0 && strncmp(cf->gateway_wkd, "https://", 8) != 0) {
		snprintf(why, whylen, "gateway_wkd must be none, direct or an "
		    "https:// URL");
		return -1;
	}
	p = cf->gateway_encrypt_from;
	while ((w = gateway_word(&p, &n)) != NULL)
		if (n == 1 && w[0] == '@') {
			snprintf(why, whylen, "gateway_encrypt_from: \"@\" "
			    "names no domain");
			return -1;
		}
	return 0;
}

int
gateway_init(const struct conf *cf, struct store *st, char *why, size_t whylen)
{
	char	 fpr[PGP_FPR_MAX], *buf;
	size_t	 len;
	int	 ret;

	if (cf->gateway_keyring == NULL)
		return 0;
	if (file_read_all(cf->gateway_keyring, PGP_KEYFILE_MAX, &buf,
	    &len) == -1) {
		snprintf(why, whylen, "%s: %s", cf->gateway_keyring,
		    strerror(errno));
		return -1;
	}
	/*
	 * The home users' keys join the GnuPG home (one gpg run encrypts)
	 * and the store, as an admin's: no delete of a mailbox removes them
	 * (daemon/pubkeys.c).
	 */
	ret = pubkeys_pin(st, cf->gateway_keyring, buf, len, fpr, sizeof(fpr),
	    NULL, why, whylen);
	free(buf);
	return ret;
}

/* ---- the message ---- */

/* RFC 3156 4: multipart/encrypted; protocol="application/pgp-encrypted". */
static int
gateway_is_openpgp(const struct rfc5322_header *h)
{
	struct mime_content	 mc;
	const char		*v;
	char			*proto;
	int			 yes;

	if ((v = rfc5322_header_value(h, "Content-Type")) == NULL)
		return 0;
	memset(&mc, 0, sizeof(mc));
	mime_content_parse_type(&mc, (const uint8_t *)v, strlen(v));
	proto = mc.nparams > 0 ? mime_param_get(mc.params, mc.nparams,
	    "protocol", NULL, NULL) : NULL;
	yes = mc.type != NULL && mc.subtype != NULL &&
	    strcasecmp(mc.type, "multipart") == 0 &&
	    strcasecmp(mc.subtype, "encrypted") == 0 && proto != NULL &&
	    strcasecmp(proto, "application/pgp-encrypted") == 0;
	free(proto);
	mime_content_clear(&mc);
	return yes;
}

/* Where in the Subject value a tag of gateway_subject_tags is; or NULL. */
static const char *
gateway_tag_find(const struct conf *cf, const char *subject, size_t *np)
{
	const char	*list = cf->gateway_subject_tags, *w, *p;
	size_t		 wn;

	if (subject == NULL || list == NULL || strcmp(list, "none") == 0)
		return NULL;
	while ((w = gateway_word(&list, &wn)) != NULL)
		for (p = subject; *p != '\0'; p++)
			if (strncasecmp(p, w, wn) == 0) {
				*np = wn;
				return p;
			}
	return NULL;
}

/*
 * The Subject value as a reader sees it: RFC 2047 encoded-words decoded
 * to UTF-8, controls as blanks.  A tag may stand inside an encoded-word
 * ("=?UTF-8?Q?=5Bvertraulich=5D_Gr=C3=BC=C3=9Fe?=" is how several
 * clients write "[vertraulich] Grüße"): missing it would send the
 * message in clear.  A new string.
 */
static char *
gateway_subject_decoded(const char *value)
{
	struct pack	 p;
	char		*s;
	size_t		 i;

	pack_init(&p);
	mime_decode_words(&p, (const uint8_t *)value, strlen(value));
	s = xmalloc(p.len + 1);
	memcpy(s, p.buf, p.len);
	s[p.len] = '\0';
	pack_free(&p);
	for (i = 0; s[i] != '\0'; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			s[i] = ' ';
	return s;
}

/* Whether a Subject value holds a tag, in its raw or its decoded form. */
static int
gateway_subject_marked(const struct conf *cf, const char *value)
{
	char	*dec;
	size_t	 n;
	int	 yes;

	if (gateway_tag_find(cf, value, &n) != NULL)
		return 1;
	if (strstr(value, "=?") == NULL)
		return 0;
	dec = gateway_subject_decoded(value);
	yes = gateway_tag_find(cf, dec, &n) != NULL;
	free(dec);
	return yes;
}

/* Cuts every tag out of subj, with one blank next to it. */
static void
gateway_tags_cut(const struct conf *cf, char *subj)
{
	const char	*tag, *end;
	char		*p;
	size_t		 n;

	while ((tag = gateway_tag_find(cf, subj, &n)) != NULL) {
		p = subj + (tag - subj);
		end = p + n;
		if (*end == ' ')
			end++;
		else if (p > subj && p[-1] == ' ')
			p--;
		memmove(p, end, strlen(end) + 1);
	}
}

static int
gateway_header_marked(const struct conf *cf, const struct rfc5322_field *f)
{
	char		 name[GATEWAY_NAME_MAX + 1];
	const char	*want;

	if ((want = gateway_header_split(cf, name)) == NULL)
		return 0;
	return strcasecmp(f->name, name) == 0 && strcasecmp(f->value,
	    want) == 0;
}

static int
gateway_marked(const struct gateway_job *j, const struct rfc5322_header *h)
{
	size_t	 i;

	for (i = 0; i < h->nfields; i++)
		if (gateway_header_marked(j->cf, &h->fields[i]) ||
		    (strcasecmp(h->fields[i].name, "Subject") == 0 &&
		    gateway_subject_marked(j->cf, h->fields[i].value)))
			return 1;
	if (!gateway_policy_sender(j->cf, j->from))
		return 0;
	/* The policy is for mail that leaves the home domains. */
	for (i = 0; i < j->nrcpts; i++)
		if (!gateway_internal(j->cf, j->rcpts[i].path))
			return 1;
	return 0;
}

/*
 * The message without its trigger: no gateway_header field, every tag
 * out of the Subject (with one blank next to it).  A tag in plain text
 * is cut from the unfolded value, the rest left as written; one inside
 * an encoded-word is cut from the decoded text, which is then encoded
 * again (RFC 2047) unless it is plain ASCII.  A new buffer.
 */
static char *
gateway_strip(const struct gateway_job *j, const struct rfc5322_header *h,
    size_t *lenp)
{
	const struct rfc5322_field	*f;
	struct pack			 out;
	char				*subj, *msg;
	size_t				 i, n, hdr_end = 0;
	int				 raw;

	/*
	 * The header is built apart, in a buffer big enough that it never
	 * moves (encoded-words at most double the Subject): no copy of
	 * the plaintext is left behind unzeroed.
	 */
	if (h->nfields > 0)
		hdr_end = (size_t)(h->fields[h->nfields - 1].raw +
		    h->fields[h->nfields - 1].raw_len - j->msg);
	pack_init(&out);
	out.cap = 3 * hdr_end + 64;
	out.buf = xmalloc(out.cap);
	for (i = 0; i < h->nfields; i++) {
		f = &h->fields[i];
		hdr_end = (size_t)(f->raw + f->raw_len - j->msg);
		if (gateway_header_marked(j->cf, f))
			continue;
		if (strcasecmp(f->name, "Subject") != 0 ||
		    !gateway_subject_marked(j->cf, f->value)) {
			pack_raw(&out, f->raw, f->raw_len);
			continue;
		}
		/* The unfolded value, written again. */
		raw = gateway_tag_find(j->cf, f->value, &n) != NULL;
		subj = raw ? xstrdup(f->value) :
		    gateway_subject_decoded(f->value);
		gateway_tags_cut(j->cf, subj);
		pack_raw(&out, f->name, strlen(f->name));
		pack_raw(&out, ": ", 2);
		if (raw || mime_text_is_plain(subj))
			pack_raw(&out, subj, strlen(subj));
		else
			mime_encode_words(&out, subj);
		pack_raw(&out, "\r\n", 2);
		free(subj);
	}
	*lenp = out.len + j->len - hdr_end;
	msg = xmalloc(*lenp + 1);
	memcpy(msg, out.buf, out.len);
	memcpy(msg + out.len, j->msg + hdr_end, j->len - hdr_end);
	msg[*lenp] = '\0';
	sodium_memzero(out.buf, out.cap);
	pack_free(&out);
	return msg;
}

/* ---- re-injection ---- */

/* Sends; 0, or -1 with the answer set (451 or 554 as the MTA said). */
static int
gateway_reinject(struct gateway_job *j, struct smtp_client_msg *m, size_t n,
    const char *what)
{
	struct smtp_client_outcome	*o;
	size_t				 i;
	int				 ret = 0;

	if (n == 0)
		return 0;
	o = xcalloc(n, sizeof(*o));
	if (smtp_client_send_list_wait(j->cf, j->cf->gateway_reinject, m, o,
	    n) == -1) {
		for (i = 0; i < n && o[i].status == SMTP_CLIENT_SENT; i++)
			;
		log_warnx("%s: %s from <%s> not re-injected: %s", j->peer,
		    what, j->from_path, o[i].error);
		if (o[i].status == SMTP_CLIENT_PERMFAIL)
			gateway_answer(j, 554, "5.3.0", "The home MTA refused "
			    "%s: %s", what, o[i].error);
		else
			gateway_answer(j, 451, "4.4.1", "Could not hand %s "
			    "back to the home MTA; try again later", what);
		ret = -1;
	}
	free(o);
	return ret;
}

/* The whole message, as it came, to every recipient. */
static void
gateway_pass(struct gateway_job *j, const char *why)
{
	struct smtp_client_msg	 m;
	const char		**rcpts;
	size_t			 i;

	rcpts = xcalloc(j->nrcpts, sizeof(*rcpts));
	for (i = 0; i < j->nrcpts; i++)
		rcpts[i] = j->rcpts[i].path;
	memset(&m, 0, sizeof(m));
	m.from = j->from_path;
	m.smtputf8 = j->smtputf8;
	m.rcpts = rcpts;
	m.nrcpts = j->nrcpts;
	m.data = j->msg;
	m.len = j->len;
	if (gateway_reinject(j, &m, 1, "the message") == 0) {
		log_info("%s: <%s> %s: passed unchanged to %zu recipient%s",
		    j->peer, j->from_path, why, j->nrcpts,
		    j->nrcpts == 1 ? "" : "s");
		gateway_answer(j, 250, "2.0.0", "Ok: passed on unchanged");
	}
	free(rcpts);
}

/* ---- the temporary mailbox ---- */

struct gateway_acct {
	const struct conf	*cf;
	const char		*rcpt;
	const char		*sender;
	const char		*fpr;
	char			*keydata;	/* the sender's key, exported */
	size_t			 keylen;
	const struct invite	*inv;		/* a new invitation, or NULL */
	struct store_account	 acct;
	int			 created;
	int			 rekeyed;
};

static void
gateway_mailbox_names(const struct conf *cf, struct store_mailbox_names *n)
{
	n->sent = cf->mailbox_sent;
	n->drafts = cf->mailbox_drafts;
	n->trash = cf->mailbox_trash;
	n->archive = cf->mailbox_archive;
	n->junk = cf->mailbox_junk;
}

/*
 * SPEC 1: one mailbox per address.  Found: the sender joins it, and if
 * its invitation never went out (inv set), it gets this one instead.
 * Not found (and inv set): made, with the invitation not sent yet.
 */
static int
gateway_acct_txn(struct store_txn *txn, void *arg)
{
	struct gateway_acct		*ga = arg;
	struct store_mailbox_names	 names;
	int				 ret;

	ga->created = ga->rekeyed = 0;
	store_account_clear(&ga->acct);
	ret = store_account_find(txn, ga->rcpt, &ga->acct);
	if (ret == 0) {
		if (ga->acct.state == STORE_ACCT_DELETING ||
		    ga->acct.state == STORE_ACCT_DISABLED)
			return STORE_ESTATE;
		if (ga->inv != NULL && ga->acct.invite_unsent &&
		    ga->acct.state == STORE_ACCT_PENDING) {
			/* Nothing was delivered yet: a new key costs nothing. */
			free(ga->acct.inviter);
			ga->acct.inviter = xstrdup(ga->sender);
			store_account_rekey(&ga->acct, ga->inv->token, NULL);
			invite_apply(ga->cf, ga->inv, &ga->acct,
			    store_txn_now(txn));
			if ((ret = store_account_update(txn, &ga->acct)) != 0)
				return ret;
			ga->rekeyed = 1;
		}
		return store_corr_put(txn, ga->acct.id, ga->sender, ga->fpr,
		    ga->keydata, ga->keylen);
	}
	if (ret != STORE_ENOTFOUND || ga->inv == NULL)
		return ret;
	store_account_clear(&ga->acct);
	ga->acct.address = xstrdup(ga->rcpt);
	ga->acct.inviter = xstrdup(ga->sender);
	ga->acct.state = STORE_ACCT_PENDING;
	ga->acct.invite_unsent = 1;
	invite_apply(ga->cf, ga->inv, &ga->acct, store_txn_now(txn));
	gateway_mailbox_names(ga->cf, &names);
	if ((ret = store_account_create(txn, &ga->acct, ga->inv->token, &names,
	    NULL)) != 0)
		return ret;
	ga->created = 1;
	return store_corr_put(txn, ga->acct.id, ga->sender, ga->fpr,
	    ga->keydata, ga->keylen);
}

struct gateway_sent {
	uint64_t	 id;
	const uint8_t	*pk;
};

static int
gateway_sent_txn(struct store_txn *txn, void *arg)
{
	struct gateway_sent	*gs = arg;
	struct store_account	 a;
	int			 ret;

	memset(&a, 0, sizeof(a));
	if ((ret = store_account_get(txn, gs->id, &a)) != 0)
		return ret;
	/* Only the invitation that went: a newer one is its own run's. */
	if (memcmp(a.pk, gs->pk, sizeof(a.pk)) == 0 && a.invite_unsent) {
		a.invite_unsent = 0;
		ret = store_account_update(txn, &a);
	}
	store_account_clear(&a);
	return ret;
}

/* The sender's "check the assigned PIN", encrypted to the sender alone. */
static int
gateway_pin_notice(struct gateway_job *j, const char *sender_fpr,
    const struct store_account *a, const struct invite *inv,
    char **msgp, size_t *lenp)
{
	struct pgpmime_opts	 opts = { pgp_home_dir(), PGPMIME_PROTECT_SUBJECT };
	struct pgpmime_rcpt	 r = { j->from, sender_fpr, 0 };
	struct pgpmime_copy	*copies = NULL;
	size_t			 ncopies = 0, bad;
	char			*msg, date[RFC5322_DATE_MAX], exp[32], id[33];
	char			 why[256];
	struct tm		 tm;
	time_t			 e = a->invite_expires;
	int			 n;

	rfc5322_date_format(time(NULL), 1, date, sizeof(date));
	gmtime_r(&e, &tm);
	strftime(exp, sizeof(exp), "%Y-%m-%d %H:%M UTC", &tm);
	rfc5322_random_id(id, sizeof(id));
	n = xasprintf(&msg, "From: guestbox <%s>\r\nTo: <%s>\r\n"
	    "Subject: PIN for %s\r\nDate: %s\r\n"
	    "Message-ID: <%s.pin@%s>\r\nAuto-Submitted: auto-generated\r\n"
	    "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: 8bit\r\n\r\n"
	    "Your encrypted message to %s went to a temporary mailbox,\r\n"
	    "as there is no OpenPGP key for that address.  The recipient\r\n"
	    "got an invitation by mail; to open it they need this PIN:\r\n"
	    "\r\n    Recipient: %s\r\n    PIN:       %s\r\n"
	    "    Expires:   %s\r\n\r\n"
	    "Tell them the PIN by another way than e-mail (by phone, in\r\n"
	    "person).  Their answers come back encrypted to you.\r\n\r\n"
	    "Ihre verschluesselte Nachricht an %s liegt in einem\r\n"
	    "temporaeren Postfach.  Nennen Sie dem Empfaenger die PIN %s\r\n"
	    "nicht per E-Mail, sondern z. B. am Telefon.\r\n",
	    j->cf->invite_from, j->from, a->address, date, id,
	    j->cf->hostname, a->address, a->address,
	    inv->pin[0] != '\0' ? inv->pin : "(none)", exp, a->address,
	    inv->pin[0] != '\0' ? inv->pin : "-");
	if (pgpmime_build(&opts, msg, (size_t)n, &r, 1, &copies, &ncopies,
	    &bad, why, sizeof(why)) == -1 || ncopies != 1) {
		log_warnx("%s: the PIN notice to <%s>: %s", j->peer, j->from,
		    why);
		sodium_memzero(msg, (size_t)n);
		free(msg);
		pgpmime_copies_free(&copies, ncopies);
		return -1;
	}
	sodium_memzero(msg, (size_t)n);
	free(msg);
	*msgp = copies[0].msg;
	*lenp = copies[0].len;
	copies[0].msg = NULL;
	pgpmime_copies_free(&copies, ncopies);
	return 0;
}

/* The invitation and the PIN notice, then the mark cleared. */
static int
gateway_invite_send(struct gateway_job *j, const char *sender_fpr,
    struct gateway_acct *ga, const struct invite *inv)
{
	struct invite_mail	 im;
	struct smtp_client_msg	 m[2];
	struct gateway_sent	 gs;
	const char		*to_rcpt = ga->acct.address, *to_sender = j->from;
	char			*imsg = NULL, *pmsg = NULL, why[512];
	size_t			 ilen = 0, plen = 0;
	int			 ret = -1;

	if (invite_mail_load(j->cf, &im, why, sizeof(why)) == -1) {
		log_warnx("%s: %s", j->peer, why);
		gateway_answer(j, 451, "4.3.5", "The invitation templates are "
		    "missing; try again later");
		return -1;
	}
	invite_mail_build(j->cf, &im, &ga->acct, inv, j->from, NULL, &imsg,
	    &ilen);
	invite_mail_clear(&im);
	if (gateway_pin_notice(j, sender_fpr, &ga->acct, inv, &pmsg,
	    &plen) == -1) {
		gateway_answer(j, 451, "4.3.0", "Encrypting the PIN notice "
		    "failed; try again later");
		goto out;
	}
	memset(m, 0, sizeof(m));
	m[0].from = j->cf->invite_from;
	m[0].rcpts = &to_sender;
	m[0].nrcpts = 1;
	m[0].data = pmsg;
	m[0].len = plen;
	m[1].from = j->cf->invite_from;
	m[1].rcpts = &to_rcpt;
	m[1].nrcpts = 1;
	m[1].data = imsg;
	m[1].len = ilen;
	if (gateway_reinject(j, m, 2, "the invitation") == -1)
		goto out;
	gs.id = ga->acct.id;
	gs.pk = ga->acct.pk;
	if ((ret = store_txn_run(j->st, gateway_sent_txn, &gs)) != 0) {
		log_warnx("%s: %s: invitation sent, but not marked: %s",
		    j->peer, ga->acct.address, store_strerror(ret));
		gateway_answer(j, 451, "4.3.0", "Temporary storage problem; "
		    "try again");
		ret = -1;
		goto out;
	}
	log_info("%s: %s: invited (mailbox %llu) for <%s>; PIN notice sent",
	    j->peer, ga->acct.address, (unsigned long long)ga->acct.id,
	    j->from);
	ret = 0;
out:
	if (imsg != NULL)
		sodium_memzero(imsg, ilen);
	free(imsg);
	if (pmsg != NULL)
		sodium_memzero(pmsg, plen);
	free(pmsg);
	return ret;
}

/*
 * The sender's key as gpg exports it, for the correspondent record
 * (store.h, struct store_corr): one gpg run, so the last one is kept
 * for a while, under gateway_lock.  Borrowed until the next call.
 */
#define GATEWAY_KEY_CACHE_SECS	300

static int
gateway_sender_key(const char *fpr, char **datap, size_t *lenp, char *why,
    size_t whylen)
{
	static char	 cfpr[PGP_FPR_MAX];
	static char	*cdata;
	static size_t	 clen;
	static time_t	 cwhen;
	time_t		 now = time(NULL);
	int		 ret;

	if (cdata == NULL || strcmp(cfpr, fpr) != 0 || now < cwhen ||
	    now - cwhen >= GATEWAY_KEY_CACHE_SECS) {
		free(cdata);
		cdata = NULL;
		why[0] = '\0';
		if ((ret = pgp_export_key(fpr, &cdata, &clen, why,
		    whylen)) != 0) {
			if (ret == 1)
				snprintf(why, whylen, "not in the GnuPG home");
			return -1;
		}
		snprintf(cfpr, sizeof(cfpr), "%s", fpr);
		cwhen = now;
	}
	*datap = cdata;
	*lenp = clen;
	return 0;
}

/* Makes or finds the recipient's mailbox and invites it once. */
static int
gateway_provision(struct gateway_job *j, struct gateway_rcpt *r,
    const char *sender_fpr)
{
	struct gateway_acct	 ga;
	struct invite		 inv;
	char			 why[512];
	int			 ret, need;

	memset(&ga, 0, sizeof(ga));
	ga.cf = j->cf;
	ga.rcpt = r->addr;
	ga.sender = j->from;
	ga.fpr = sender_fpr;
	pthread_mutex_lock(&gateway_lock);
	/* The sender's key goes with the correspondent record. */
	if (gateway_sender_key(sender_fpr, &ga.keydata, &ga.keylen, why,
	    sizeof(why)) == -1) {
		log_warnx("%s: key %s of <%s>: %s", j->peer, sender_fpr,
		    j->from, why);
		gateway_answer(j, 451, "4.3.0", "Temporary problem looking up "
		    "keys; try again");
		ret = -1;
		goto out;
	}
	/* First without an invitation: most messages find their mailbox. */
	ret = store_txn_run(j->st, gateway_acct_txn, &ga);
	need = ret == STORE_ENOTFOUND || (ret == 0 && ga.acct.invite_unsent &&
	    ga.acct.state == STORE_ACCT_PENDING);
	if (need) {
		if (invite_prepare(j->cf, "auto", sender_fpr, &inv, why,
		    sizeof(why)) != INVITE_OK) {
			log_warnx("%s: invitation for %s: %s", j->peer, r->addr,
			    why);
			gateway_answer(j, 451, "4.3.0", "Preparing the invitation "
			    "for <%s> failed; try again later", r->addr);
			ret = -1;
			goto out;
		}
		ga.inv = &inv;
		ret = store_txn_run(j->st, gateway_acct_txn, &ga);
	}
	if (ret == STORE_ESTATE) {
		gateway_answer(j, 550, "5.7.1", "<%s> has a temporary mailbox "
		    "that is disabled or being deleted; nothing was sent",
		    r->addr);
		ret = -1;
	} else if (ret != 0) {
		log_warnx("%s: mailbox for %s: %s", j->peer, r->addr,
		    store_strerror(ret));
		gateway_answer(j, 451, "4.3.0", "Temporary storage problem; try "
		    "again");
		ret = -1;
	} else if (need && (ga.created || ga.rekeyed) &&
	    gateway_invite_send(j, sender_fpr, &ga, &inv) == -1)
		ret = -1;
	if (ret == 0) {
		r->account_id = ga.acct.id;
		memcpy(r->pk, ga.acct.pk, sizeof(r->pk));
	}
	if (need)
		invite_clear(&inv);
out:
	pthread_mutex_unlock(&gateway_lock);
	store_account_clear(&ga.acct);
	return ret;
}

/* ---- delivery into the mailbox, once per Message-ID ---- */

struct gateway_deliver {
	struct store_delivery	 d;
	const char		*msgid;
	int			 duplicate;
};

static int
gateway_deliver_txn(struct store_txn *txn, void *arg)
{
	struct gateway_deliver	*gd = arg;
	struct store_msg	 m;
	uint8_t			 hash[STORE_MSGID_HASHBYTES];
	uint32_t		 mbox, uid;
	int64_t			 when;
	int			 ret;

	gd->duplicate = 0;
	if (gd->msgid != NULL) {
		store_msgid_hash(gd->msgid, strlen(gd->msgid), hash);
		ret = store_msgid_get(txn, gd->d.account_id, hash, &mbox, &uid,
		    &when);
		if (ret == 0) {
			memset(&m, 0, sizeof(m));
			ret = store_msg_get(txn, gd->d.account_id, mbox, uid, &m);
			if (ret == 0) {
				/* A retry of the home MTA: it is there. */
				gd->duplicate = 1;
				return 0;
			}
		}
		if (ret != 0 && ret != STORE_ENOTFOUND)
			return ret;
	}
	if ((ret = store_deliver(txn, &gd->d)) != 0 || gd->d.ap.replayed)
		return ret;
	if (gd->msgid == NULL)
		return 0;
	return store_msgid_put(txn, gd->d.account_id, hash,
	    gd->d.ap.mailbox_id, gd->d.ap.msg.uid);
}

static int
gateway_deliver(struct gateway_job *j, const struct gateway_rcpt *r,
    const char *msg, size_t len, const char *msgid)
{
	struct gateway_deliver	 gd;
	struct store_blob	*blob;
	char			*full;
	size_t			 n, flen;
	int			 ret;

	full = rfc5322_trace_final(j->from, r->addr, j->helo, j->peer,
	    j->cf->hostname, "guestbox gateway", NULL, &n);
	flen = n + len;
	full = xrealloc(full, flen);
	memcpy(full + n, msg, len);
	memset(&gd, 0, sizeof(gd));
	gd.d.account_id = r->account_id;
	gd.d.pk = r->pk;
	gd.d.filed = doorbell_filed;
	gd.d.filed_arg = j->cf;
	gd.msgid = msgid;
	blob = mime_seal(r->account_id, r->pk, full, flen);
	gd.d.ap.blob = blob;
	ret = store_append_run(j->st, &gd.d.ap, gateway_deliver_txn, &gd);
	store_blob_free(&blob);
	sodium_memzero(full, flen);
	free(full);
	if (ret != 0) {
		log_warnx("%s: delivery to the mailbox of %s: %s", j->peer,
		    r->addr, store_strerror(ret));
		if (ret == STORE_ELIMIT)
			gateway_answer(j, 552, "5.2.2", "The temporary mailbox "
			    "of <%s> is full; nothing was sent", r->addr);
		else
			gateway_answer(j, 451, "4.3.0", "Temporary storage "
			    "problem delivering to <%s>; try again", r->addr);
		return -1;
	}
	log_info("%s: <%s> -> %s: %s mailbox %llu", j->peer, j->from, r->addr,
	    gd.duplicate || gd.d.ap.replayed ? "already in" : "delivered into",
	    (unsigned long long)r->account_id);
	return 0;
}

/* ---- the marked message ---- */

static void
gateway_encrypt(struct gateway_job *j, const struct rfc5322_header *h)
{
	struct pgpmime_opts	 opts;
	struct pgpmime_rcpt	 pr[2];
	struct smtp_client_msg	*m;
	struct gateway_rcpt	*r;
	const char		**internal, **one;
	char			 sfpr[PGP_FPR_MAX], why[256], *clean, *msgid = NULL;
	const char		*v;
	size_t			 i, k, nm = 0, nint = 0, nkeyed = 0, nkeyless = 0;
	size_t			 clen, bad;
	int			 ret;

	ret = pgp_lookup(j->from, sfpr, why, sizeof(why));
	if (ret == 0) {
		log_info("%s: <%s>: marked for encryption, but the sender has "
		    "no key: refused", j->peer, j->from_path);
		gateway_answer(j, 550, "5.7.1", "Marked for encryption, but "
		    "there is no OpenPGP key for the sender <%s> (%s): the "
		    "recipients could never answer; add the key to "
		    "gateway_keyring. Nothing was sent", j->from_path,
		    why[0] != '\0' ? why : j->from[0] == '\0' &&
		    j->from_path[0] != '\0' ? "not a plain address" :
		    "none in the gateway's keyring");
		return;
	}
	if (ret == -1) {
		log_warnx("%s: key lookup for <%s>: %s", j->peer, j->from, why);
		gateway_answer(j, 451, "4.3.0", "Temporary problem looking up "
		    "keys; try again");
		return;
	}
	/* Who is who: any doubt is a 451, and nothing has left yet. */
	for (i = 0; i < j->nrcpts; i++) {
		r = &j->rcpts[i];
		if (gateway_internal(j->cf, r->path)) {
			r->kind = GW_INTERNAL;
			nint++;
			continue;
		}
		ret = pgp_lookup(gateway_rcpt_name(r), r->fpr, why,
		    sizeof(why));
		if (ret == 0 && r->addr[0] != '\0' &&
		    strcmp(j->cf->gateway_wkd, "none") != 0 &&
		    (ret = wkd_lookup(j->cf, r->addr, r->fpr, why,
		    sizeof(why))) == 1)
			log_info("%s: <%s>: key %s from the web key directory",
			    j->peer, r->addr, r->fpr);
		if (ret == -1) {
			log_warnx("%s: key lookup for <%s>: %s", j->peer,
			    r->path, why);
			gateway_answer(j, 451, "4.3.0", "Temporary problem "
			    "looking up keys; try again");
			return;
		}
		if (ret == 0 && r->addr[0] == '\0') {
			/* A mailbox here is a dot-atom at a domain name. */
			log_info("%s: <%s> -> <%s>: marked, no key, and no "
			    "plain address for a mailbox: refused", j->peer,
			    j->from, r->path);
			gateway_answer(j, 550, "5.1.3", "Marked for encryption, "
			    "but <%s> has no OpenPGP key and cannot have a "
			    "temporary mailbox (it needs an address without "
			    "quotes, address literal or non-ASCII). Nothing "
			    "was sent", r->path);
			return;
		}
		j->rcpts[i].kind = ret == 1 ? GW_KEYED : GW_KEYLESS;
		if (ret == 1)
			nkeyed++;
		else
			nkeyless++;
	}
	clean = gateway_strip(j, h, &clen);
	if ((v = rfc5322_header_value(h, "Message-ID")) != NULL)
		msgid = rfc5322_msgid_parse(v);
	/* Every copy encrypted before anything goes anywhere. */
	opts.gnupg_home = pgp_home_dir();
	opts.flags = j->cf->protect_subject ? PGPMIME_PROTECT_SUBJECT : 0;
	for (i = 0; i < j->nrcpts; i++) {
		if (j->rcpts[i].kind != GW_KEYED)
			continue;
		pr[0].addr = gateway_rcpt_name(&j->rcpts[i]);
		pr[0].fpr = j->rcpts[i].fpr;
		pr[0].bcc = 0;
		/* And to the sender, who can then read their own mail. */
		pr[1].addr = j->from;
		pr[1].fpr = sfpr;
		pr[1].bcc = 0;
		if (pgpmime_build(&opts, clean, clen, pr, 2, &j->rcpts[i].copy,
		    &j->rcpts[i].ncopies, &bad, why, sizeof(why)) == -1 ||
		    j->rcpts[i].ncopies != 1) {
			log_warnx("%s: <%s> -> <%s>: encryption failed: %s",
			    j->peer, j->from, j->rcpts[i].path, why);
			gateway_answer(j, 451, "4.3.0", "Encryption for <%s> "
			    "failed; try again later", j->rcpts[i].path);
			goto out;
		}
	}
	/* The mailboxes, the invitations, the deliveries. */
	for (i = 0; i < j->nrcpts; i++) {
		if (j->rcpts[i].kind != GW_KEYLESS)
			continue;
		if (gateway_provision(j, &j->rcpts[i], sfpr) == -1 ||
		    gateway_deliver(j, &j->rcpts[i], clean, clen, msgid) == -1)
			goto out;
	}
	/* Last, what goes back to the home MTA. */
	m = xcalloc(nkeyed + 1, sizeof(*m));
	internal = xcalloc(nint + 1, sizeof(*internal));
	one = xcalloc(nkeyed + 1, sizeof(*one));
	for (i = 0, k = 0; i < j->nrcpts; i++) {
		if (j->rcpts[i].kind == GW_INTERNAL)
			internal[k++] = j->rcpts[i].path;
		else if (j->rcpts[i].kind == GW_KEYED) {
			one[nm] = j->rcpts[i].path;
			m[nm].from = j->from_path;
			m[nm].smtputf8 = j->smtputf8;
			m[nm].rcpts = &one[nm];
			m[nm].nrcpts = 1;
			m[nm].data = j->rcpts[i].copy[0].msg;
			m[nm].len = j->rcpts[i].copy[0].len;
			nm++;
		}
	}
	if (nint > 0) {
		m[nm].from = j->from_path;
		m[nm].smtputf8 = j->smtputf8;
		m[nm].rcpts = internal;
		m[nm].nrcpts = nint;
		m[nm].data = clean;
		m[nm].len = clen;
		nm++;
	}
	if (gateway_reinject(j, m, nm, "the message") == 0) {
		log_info("%s: <%s>: marked: %zu encrypted, %zu into temporary "
		    "mailboxes, %zu internal", j->peer, j->from, nkeyed,
		    nkeyless, nint);
		gateway_answer(j, 250, "2.0.0", "Ok: %zu encrypted, %zu into "
		    "temporary mailboxes, %zu internal", nkeyed, nkeyless, nint);
	}
	free(one);
	free(internal);
	free(m);
out:
	free(msgid);
	sodium_memzero(clean, clen);
	free(clean);
}

static void
gateway_job_work(void *arg)
{
	struct gateway_job	*j = arg;
	struct rfc5322_header	*h = NULL;
	const char		*why;

	if (rfc5322_header_parse(j->msg, j->len, &h, &why) == -1) {
		/* Whether it was marked cannot be told: never in clear. */
		gateway_answer(j, 554, "5.6.0", "Message header: %s; not passed "
		    "on", why);
		return;
	}
	if (gateway_is_openpgp(h))
		gateway_pass(j, "OpenPGP already");
	else if (!gateway_marked(j, h))
		gateway_pass(j, "not marked");
	else
		gateway_encrypt(j, h);
	rfc5322_header_free(&h);
}

static void
gateway_job_free(struct gateway_job *j)
{
	size_t	 i;

	for (i = 0; i < j->nrcpts; i++) {
		pgpmime_copies_free(&j->rcpts[i].copy, j->rcpts[i].ncopies);
		free(j->rcpts[i].addr);
		free(j->rcpts[i].path);
	}
	free(j->rcpts);
	if (j->msg != NULL)
		sodium_memzero(j->msg, j->len);
	free(j->msg);
	free(j);
}

static void
gateway_job_done(void *arg)
{
	struct gateway_job	*j = arg;
	struct smtp_session	*s = j->base.session;

	if (s == NULL) {
		/* The MTA hung up: it got no 250 and will try again. */
		gateway_job_free(j);
		return;
	}
	s->job = NULL;
	if (j->code / 100 != 2)
		log_info("%s: <%s>: %d %s %s", s->conn->peer, j->from, j->code,
		    j->enhanced, j->text);
	smtp_reply(s, j->code, j->enhanced, "%s", j->text);
	gateway_job_free(j);
	smtp_session_reset(s);
	smtp_session_enter_state(s, S_READY);
	smtp_session_resume(s);
}

void
gateway_message(struct smtp_session *s)
{
	struct gateway_job	*j;
	size_t			 i;

	j = xcalloc(1, sizeof(*j));
	j->base.session = s;
	j->cf = s->sd->daemon.conf;
	j->st = s->sd->daemon.store;
	snprintf(j->from, sizeof(j->from), "%s", s->mail_from);
	snprintf(j->from_path, sizeof(j->from_path), "%s", s->mail_path);
	j->smtputf8 = s->mail_smtputf8;
	snprintf(j->peer, sizeof(j->peer), "%s", s->conn->peer);
	snprintf(j->helo, sizeof(j->helo), "%s", s->helo);
	j->nrcpts = s->nrcpts;
	j->rcpts = xcalloc(s->nrcpts, sizeof(*j->rcpts));
	for (i = 0; i < s->nrcpts; i++) {
		j->rcpts[i].addr = xstrdup(s->rcpts[i].addr);
		j->rcpts[i].path = xstrdup(s->rcpts[i].path);
	}
	/* The message moves into the job. */
	j->msg = (char *)s->msg;
	j->len = s->msglen;
	s->msg = NULL;
	s->msglen = s->msgcap = 0;
	gateway_answer(j, 451, "4.3.0", "Temporary problem; try again");
	if (workq_submit(s->sd->work, gateway_job_work, gateway_job_done,
	    j) == -1) {
		gateway_job_free(j);
		smtp_reply(s, 451, "4.3.2", "Server busy; try again");
		smtp_session_reset(s);
		smtp_session_enter_state(s, S_READY);
		smtp_session_resume(s);
		return;
	}
	s->job = &j->base;
	conn_pause(s->conn, 1);
}
