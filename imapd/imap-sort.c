/*
 * imap-sort.c: the keys of SORT and THREAD (imap-sort.h).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sodium.h>

#include "imap-sort-cache.h"
#include "imap-sort.h"
#include "imapd.h"
#include "message-subject.h"
#include "mime-cache.h"
#include "mime-decode.h"
#include "mime.h"
#include "pack.h"
#include "rfc5322.h"
#include "xmalloc.h"

/* References ids kept per message; a longer list falls back to In-Reply-To. */
#define SORT_REFS_MAX	1000

static char	*sort_casemap(char *);
static const struct message_address *sort_first_addr(
		    const struct message_addrlist *);
static char	*sort_addr_mailbox(const struct message_addrlist *);
static char	*sort_addr_display(const struct message_addrlist *);
static void	 sort_msg_ids(struct imap_sort_msg *,
		    const struct message_envelope *, const char *references);

static const struct {
	const char		*name;
	enum imap_sort_key	 key;
	unsigned int		 want;
} sort_keys[] = {
	{ "ARRIVAL", IMAP_SORT_ARRIVAL, 0 },
	{ "CC", IMAP_SORT_CC, IMAP_SORT_WANT_ADDRS },
	{ "DATE", IMAP_SORT_DATE, IMAP_SORT_WANT_DATE },
	{ "FROM", IMAP_SORT_FROM, IMAP_SORT_WANT_ADDRS },
	{ "SIZE", IMAP_SORT_SIZE, 0 },
	{ "SUBJECT", IMAP_SORT_SUBJECT, IMAP_SORT_WANT_SUBJECT },
	{ "TO", IMAP_SORT_TO, IMAP_SORT_WANT_ADDRS },
	{ "DISPLAYFROM", IMAP_SORT_DISPLAYFROM, IMAP_SORT_WANT_ADDRS },
	{ "DISPLAYTO", IMAP_SORT_DISPLAYTO, IMAP_SORT_WANT_ADDRS },
};

/* i;ascii-casemap (RFC 4790 9.2): a-z as A-Z; in place. */
static char *
sort_casemap(char *s)
{
	char	*p;

	for (p = s; *p != '\0'; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
	return s;
}

/*
 * The first address as ENVELOPE lists them: a group's start entry
 * (its name as the mailbox, no domain) counts, as with Dovecot.
 */
static const struct message_address *
sort_first_addr(const struct message_addrlist *l)
{
	return l->n > 0 && l->v[0].mailbox != NULL ? &l->v[0] : NULL;
}

/* RFC 5256 3: "the addr-mailbox of the first ... address". */
static char *
sort_addr_mailbox(const struct message_addrlist *l)
{
	const struct message_address	*a = sort_first_addr(l);

	return sort_casemap(xstrdup(a != NULL ? a->mailbox : ""));
}

/*
 * RFC 5957 3: the display name of the first address, RFC 2047 words
 * decoded; without one, the addr-spec.
 */
static char *
sort_addr_display(const struct message_addrlist *l)
{
	const struct message_address	*a = sort_first_addr(l);
	struct pack			 pk;
	char				*s;

	if (a == NULL)
		return xstrdup("");
	if (a->name != NULL && a->name[0] != '\0') {
		pack_init(&pk);
		mime_decode_words(&pk, (const uint8_t *)a->name,
		    strlen(a->name));
		s = xstrndup((const char *)pk.buf, pk.len);
		pack_free(&pk);
		if (s[0] != '\0')
			return sort_casemap(s);
		free(s);
	}
	if (a->domain == NULL)
		return sort_casemap(xstrdup(a->mailbox));
	xasprintf(&s, "%s@%s", a->mailbox, a->domain);
	return sort_casemap(s);
}

/*
 * RFC 5256 3 step 1: the message's references are those of References,
 * or if it holds no valid Message ID, the first valid one of In-Reply-To.
 */
static void
sort_msg_ids(struct imap_sort_msg *sm, const struct message_envelope *env,
    const char *references)
{
	char	**ids = NULL;
	size_t	 n = 0;

	if (env->message_id != NULL)
		sm->message_id = rfc5322_msgid_parse(env->message_id);
	if (references != NULL &&
	    rfc5322_msgids_parse(references, SORT_REFS_MAX, &ids, &n) == 0 &&
	    n > 0) {
		sm->refs = ids;
		sm->nrefs = n;
		return;
	}
	if (ids != NULL)
		rfc5322_msgids_free(&ids, n);
	n = 0;
	if (env->in_reply_to != NULL &&
	    rfc5322_msgids_parse(env->in_reply_to, SORT_REFS_MAX, &ids,
	    &n) == 0 && n > 0) {
		sm->refs = xcalloc(1, sizeof(*sm->refs));
		sm->refs[0] = ids[0];
		ids[0] = NULL;
		sm->nrefs = 1;
	}
	if (ids != NULL)
		rfc5322_msgids_free(&ids, n);
}

int
imap_sort_msg_read(struct store_txn *txn, struct imap_session *s,
    const struct store_msg *m, uint32_t seq, unsigned int want,
    struct imap_sort_msg *sm)
{
	struct message_envelope	 own;
	const struct message_envelope *env = NULL;
	struct mime_msg		*mime = NULL;
	uint8_t			*aux = NULL, *text = NULL;
	size_t			 auxlen = 0, textlen = 0;
	uint64_t		 hlen;
	char			*refs = NULL;
	time_t			 t;
	int			 ret;

	imap_sort_msg_clear(sm);
	sm->seq = seq;
	sm->uid = m->uid;
	sm->arrival = m->internaldate;
	sm->size = m->size;
	sm->modseq = m->modseq;
	sm->date = m->internaldate;
	if (want == 0)
		return 0;
	memset(&own, 0, sizeof(own));
	if ((ret = store_blob_aux_get(txn, s->key, m->blob_id, &aux,
	    &auxlen)) != 0)
		return ret;
	if (aux != NULL) {
		mime = mime_cache_decode(aux, auxlen, m->size);
		free(aux);
		if (mime != NULL)
			env = mime->parts[0].envelope;
	}
	/*
	 * Without a usable cache (none yet, damaged, or version 1's
	 * strings), or for References from a cache that did not keep them
	 * (version 2), the header is read from the message itself.
	 */
	if (env == NULL || ((want & IMAP_SORT_WANT_IDS) &&
	    mime->references_unknown)) {
		if ((ret = store_msg_read(txn, s->key, m->blob_id, &text,
		    &textlen)) != 0) {
			mime_msg_free(&mime);
			return ret;
		}
		if (mime_header_end(text, textlen, &hlen) == -1)
			hlen = textlen;
		if (env == NULL) {
			message_envelope_parse(&own, text, (size_t)hlen);
			env = &own;
		} else
			refs = mime_header_get(text, (size_t)hlen,
			    "References", NULL);
		sodium_memzero(text, textlen);
		free(text);
	}
	if (want & IMAP_SORT_WANT_SUBJECT) {
		sm->subject = message_subject_base(env->subject,
		    env->subject != NULL ? strlen(env->subject) : 0, &sm->refwd);
		sort_casemap(sm->subject);
	}
	/* RFC 5256 2.2: no usable Date: the INTERNALDATE. */
	if ((want & IMAP_SORT_WANT_DATE) && env->date != NULL &&
	    rfc5322_date_parse(env->date, &t) == 0)
		sm->date = (int64_t)t;
	if (want & IMAP_SORT_WANT_ADDRS) {
		sm->from = sort_addr_mailbox(&env->from);
		sm->to = sort_addr_mailbox(&env->to);
		sm->cc = sort_addr_mailbox(&env->cc);
		sm->dfrom = sort_addr_display(&env->from);
		sm->dto = sort_addr_display(&env->to);
	}
	if (want & IMAP_SORT_WANT_IDS)
		sort_msg_ids(sm, env, refs != NULL ? refs : env->references);
	free(refs);
	message_envelope_clear(&own);
	mime_msg_free(&mime);
	return 0;
}

void
imap_sort_msg_clear(struct imap_sort_msg *sm)
{
	if (sm->ent != NULL)
		imap_sort_ent_release(&sm->ent);
	else
		imap_sort_keys_free(sm);
	memset(sm, 0, sizeof(*sm));
}

int
imap_sort_msgs_read(struct store_txn *txn, struct imap_session *s,
    struct imap_sort_msgs *l, size_t idx, uint32_t seq,
    const struct store_msg *m, unsigned int want)
{
	struct imap_sort_msg	*sm;
	unsigned int		 have;
	int			 ret;

	while (l->n > idx)
		imap_sort_msg_clear(&l->v[--l->n]);
	if (l->n == l->cap) {
		l->cap = l->cap == 0 ? 64 : l->cap * 2;
		l->v = xreallocarray(l->v, l->cap, sizeof(*l->v));
	}
	sm = &l->v[l->n++];
	memset(sm, 0, sizeof(*sm));
	if (want == 0)
		return imap_sort_msg_read(txn, s, m, seq, want, sm);
	if (!imap_sort_cache_is(s->sort_cache, s->account_id,
	    s->view.mailbox_id, s->view.uidvalidity)) {
		imap_sort_cache_put_back(&s->sort_cache);
		s->sort_cache = imap_sort_cache_get(s->account_id,
		    s->view.mailbox_id, s->view.uidvalidity);
	}
	sm->seq = seq;
	sm->uid = m->uid;
	sm->arrival = m->internaldate;
	sm->size = m->size;
	sm->modseq = m->modseq;
	if (imap_sort_cache_lend(s->sort_cache, m->uid, m->blob_id, want, sm))
		return 0;
	/* The decryption is the cost: every key it gives is kept. */
	have = want | IMAP_SORT_WANT_SUBJECT | IMAP_SORT_WANT_DATE |
	    IMAP_SORT_WANT_ADDRS;
	if ((ret = imap_sort_msg_read(txn, s, m, seq, have, sm)) != 0)
		return ret;
	imap_sort_cache_put(s->sort_cache, m->blob_id, have, sm);
	return 0;
}

void
imap_sort_msgs_clear(struct imap_sort_msgs *l)
{
	while (l->n > 0)
		imap_sort_msg_clear(&l->v[--l->n]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

int
imap_sort_criteria_parse(const struct imap_arg *arg,
    struct imap_sort_criteria *c, unsigned int *wantp, const char **whyp)
{
	const struct imap_arg	*a;
	size_t			 i;
	int			 reverse = 0;

	memset(c, 0, sizeof(*c));
	*wantp = 0;
	if (!imap_arg_get_list(arg, &a, NULL)) {
		*whyp = "Missing sort criteria";
		return -1;
	}
	for (; a->type != IMAP_ARG_EOL; a++) {
		if (imap_arg_atom_equals(a, "REVERSE")) {
			/* RFC 5256: REVERSE goes with the key after it. */
			if (reverse) {
				*whyp = "REVERSE REVERSE";
				return -1;
			}
			reverse = 1;
			continue;
		}
		for (i = 0; i < sizeof(sort_keys) / sizeof(sort_keys[0]); i++)
			if (imap_arg_atom_equals(a, sort_keys[i].name))
				break;
		if (i == sizeof(sort_keys) / sizeof(sort_keys[0])) {
			*whyp = "Unknown sort key";
			return -1;
		}
		if (c->n == IMAP_SORT_CRITERIA_MAX) {
			*whyp = "Too many sort criteria";
			return -1;
		}
		c->v[c->n].key = sort_keys[i].key;
		c->v[c->n].reverse = reverse;
		c->n++;
		*wantp |= sort_keys[i].want;
		reverse = 0;
	}
	if (reverse || c->n == 0) {
		*whyp = reverse ? "REVERSE without a sort key" :
		    "Empty sort criteria";
		return -1;
	}
	return 0;
}

#define SORT_CMP(a, b)	((a) < (b) ? -1 : (a) > (b) ? 1 : 0)

int
imap_sort_compare(const struct imap_sort_criteria *c,
    const struct imap_sort_msg *a, const struct imap_sort_msg *b)
{
	size_t	 i;
	int	 r = 0;

	for (i = 0; i < c->n && r == 0; i++) {
		switch (c->v[i].key) {
		case IMAP_SORT_ARRIVAL:
			r = SORT_CMP(a->arrival, b->arrival);
			break;
		case IMAP_SORT_CC:
			r = strcmp(a->cc, b->cc);
			break;
		case IMAP_SORT_DATE:
			r = SORT_CMP(a->date, b->date);
			break;
		case IMAP_SORT_FROM:
			r = strcmp(a->from, b->from);
			break;
		case IMAP_SORT_SIZE:
			r = SORT_CMP(a->size, b->size);
			break;
		case IMAP_SORT_SUBJECT:
			r = strcmp(a->subject, b->subject);
			break;
		case IMAP_SORT_TO:
			r = strcmp(a->to, b->to);
			break;
		case IMAP_SORT_DISPLAYFROM:
			r = strcmp(a->dfrom, b->dfrom);
			break;
		case IMAP_SORT_DISPLAYTO:
			r = strcmp(a->dto, b->dto);
			break;
		}
		if (c->v[i].reverse)
			r = -r;
	}
	/* RFC 5256 3: exactly equal keys go by sequence number. */
	return r != 0 ? r : SORT_CMP(a->seq, b->seq);
}
