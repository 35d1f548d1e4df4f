/*
 * store-codec.c: encoding and decoding of store records.
 *
 * The decoders read bytes from disk that a crash, a bug or an attacker
 * with file access may have damaged: every length is checked, every
 * string is NUL-free, and a record must be consumed exactly.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "store-private.h"
#include "xmalloc.h"

#define REC_ACCOUNT_V1	1
/* issue 11: V1 and invite_unsent; written only while that is set. */
#define REC_ACCOUNT_V2	2
/* V2 and the new-mail notice's fields (written only when one is set). */
#define REC_ACCOUNT_V3	3
/* V3 and the device passwords (written when there is or was one). */
#define REC_ACCOUNT_V4	4
/* V4 and the lost-password mail's time (written once one went). */
#define REC_ACCOUNT_V5	5
#define REC_ACCOUNT_F_NOTICES_OFF	0x01
#define REC_ACCOUNT_F_LOCKED		0x02
#define REC_MAILBOX_V1	1
#define REC_MAILBOX_V2	2	/* V1 and recent_uid */
#define REC_MSG_V1	1
#define REC_CORR_V1	1
#define REC_CORR_V2	2	/* with the key data */
#define REC_BLOB_V1	1
#define REC_QUEUE_V1	1
#define REC_QUEUE_V2	2	/* V1 and flags (written when set) */

void
store_account_encode(const struct store_account *a, struct pack *pk)
{
	int	 v5 = a->lost_sent != 0;
	int	 v4 = v5 || a->next_device_id != 0 || a->ndevices != 0;
	int	 v3 = v4 || a->client_seen != 0 || a->notice_sent != 0 ||
		    a->notices_off || a->locked;
	uint32_t i;

	pack_u8(pk, v5 ? REC_ACCOUNT_V5 : v4 ? REC_ACCOUNT_V4 : v3 ? REC_ACCOUNT_V3 :
	    a->invite_unsent ? REC_ACCOUNT_V2 : REC_ACCOUNT_V1);
	pack_u64(pk, a->id);
	pack_str(pk, a->address);
	pack_u8(pk, a->state);
	pack_i64(pk, a->created);
	pack_i64(pk, a->activated);
	pack_i64(pk, a->last_activity);
	pack_i64(pk, a->warned);
	pack_str(pk, a->inviter);
	pack_raw(pk, a->pk, sizeof(a->pk));
	pack_u8(pk, a->kek_kind);
	pack_raw(pk, a->wrapped_sk, sizeof(a->wrapped_sk));
	pack_u8(pk, a->kdf.alg);
	pack_u64(pk, a->kdf.opslimit);
	pack_u64(pk, a->kdf.memlimit);
	pack_raw(pk, a->kdf.salt, sizeof(a->kdf.salt));
	pack_raw(pk, a->pw_verifier, sizeof(a->pw_verifier));
	pack_raw(pk, a->token_id, sizeof(a->token_id));
	pack_i64(pk, a->invite_created);
	pack_i64(pk, a->invite_expires);
	pack_u32(pk, a->pin_failures);
	pack_str(pk, a->pin_verifier);
	pack_str(pk, a->pin_armored);
	pack_u32(pk, a->next_mailbox_id);
	pack_u32(pk, a->last_uidvalidity);
	if (v3) {
		pack_u8(pk, a->invite_unsent ? 1 : 0);
		pack_i64(pk, a->client_seen);
		pack_i64(pk, a->notice_sent);
		pack_u8(pk, (a->notices_off ? REC_ACCOUNT_F_NOTICES_OFF : 0) |
		    (a->locked ? REC_ACCOUNT_F_LOCKED : 0));
	}
	if (v4) {
		pack_u32(pk, a->next_device_id);
		pack_u32(pk, a->ndevices);
		for (i = 0; i < a->ndevices && i < STORE_MAX_DEVICES; i++) {
			const struct store_device *dv = &a->devices[i];

			pack_u32(pk, dv->id);
			pack_str(pk, dv->name);
			pack_i64(pk, dv->created);
			pack_u8(pk, dv->kdf.alg);
			pack_u64(pk, dv->kdf.opslimit);
			pack_u64(pk, dv->kdf.memlimit);
			pack_raw(pk, dv->kdf.salt, sizeof(dv->kdf.salt));
			pack_raw(pk, dv->wrapped_sk, sizeof(dv->wrapped_sk));
			pack_raw(pk, dv->verifier, sizeof(dv->verifier));
		}
	}
	if (v5)
		pack_i64(pk, a->lost_sent);
	if (!v3 && a->invite_unsent)
		pack_u8(pk, 1);
}

int
store_account_decode(const void *buf, size_t len, struct store_account *a)
{
	struct unpack	 up;
	uint8_t		 version, flags;
	uint32_t	 i, n;

	store_account_clear(a);
	unpack_init(&up, buf, len);
	version = unpack_u8(&up);
	if (version < REC_ACCOUNT_V1 || version > REC_ACCOUNT_V5)
		return STORE_ECORRUPT;
	a->id = unpack_u64(&up);
	a->address = unpack_str(&up);
	a->state = unpack_u8(&up);
	a->created = unpack_i64(&up);
	a->activated = unpack_i64(&up);
	a->last_activity = unpack_i64(&up);
	a->warned = unpack_i64(&up);
	a->inviter = unpack_str(&up);
	unpack_raw(&up, a->pk, sizeof(a->pk));
	a->kek_kind = unpack_u8(&up);
	unpack_raw(&up, a->wrapped_sk, sizeof(a->wrapped_sk));
	a->kdf.alg = unpack_u8(&up);
	a->kdf.opslimit = unpack_u64(&up);
	a->kdf.memlimit = unpack_u64(&up);
	unpack_raw(&up, a->kdf.salt, sizeof(a->kdf.salt));
	unpack_raw(&up, a->pw_verifier, sizeof(a->pw_verifier));
	unpack_raw(&up, a->token_id, sizeof(a->token_id));
	a->invite_created = unpack_i64(&up);
	a->invite_expires = unpack_i64(&up);
	a->pin_failures = unpack_u32(&up);
	a->pin_verifier = unpack_str(&up);
	a->pin_armored = unpack_str(&up);
	a->next_mailbox_id = unpack_u32(&up);
	a->last_uidvalidity = unpack_u32(&up);
	if (version == REC_ACCOUNT_V2 && (a->invite_unsent =
	    unpack_u8(&up)) != 1)
		version = 0;
	if (version >= REC_ACCOUNT_V3) {
		a->invite_unsent = unpack_u8(&up);
		a->client_seen = unpack_i64(&up);
		a->notice_sent = unpack_i64(&up);
		flags = unpack_u8(&up);
		a->notices_off = (flags & REC_ACCOUNT_F_NOTICES_OFF) != 0;
		a->locked = (flags & REC_ACCOUNT_F_LOCKED) != 0;
		if (a->invite_unsent > 1 || (flags & ~(REC_ACCOUNT_F_NOTICES_OFF |
		    REC_ACCOUNT_F_LOCKED)) != 0)
			version = 0;
	}
	if (version >= REC_ACCOUNT_V4) {
		a->next_device_id = unpack_u32(&up);
		n = unpack_u32(&up);
		if (n > STORE_MAX_DEVICES)
			version = 0;
		for (i = 0; version != 0 && i < n; i++) {
			struct store_device *dv = &a->devices[i];

			a->ndevices = i + 1;
			dv->id = unpack_u32(&up);
			dv->name = unpack_str(&up);
			dv->created = unpack_i64(&up);
			dv->kdf.alg = unpack_u8(&up);
			dv->kdf.opslimit = unpack_u64(&up);
			dv->kdf.memlimit = unpack_u64(&up);
			unpack_raw(&up, dv->kdf.salt, sizeof(dv->kdf.salt));
			unpack_raw(&up, dv->wrapped_sk, sizeof(dv->wrapped_sk));
			unpack_raw(&up, dv->verifier, sizeof(dv->verifier));
			if (dv->id == 0 || dv->id >= a->next_device_id)
				version = 0;
		}
	}
	if (version == REC_ACCOUNT_V5)
		a->lost_sent = unpack_i64(&up);
	if (version == 0 || !unpack_done(&up) || a->state < STORE_ACCT_PENDING ||
	    a->state > STORE_ACCT_DELETING) {
		store_account_clear(a);
		return STORE_ECORRUPT;
	}
	return 0;
}

void
store_mailbox_encode(const struct store_mailbox *m, struct pack *pk)
{
	uint32_t	 i;

	pack_u8(pk, REC_MAILBOX_V2);
	pack_str(pk, m->name);
	pack_u32(pk, m->special_use);
	pack_i64(pk, m->created);
	pack_u32(pk, m->uidvalidity);
	pack_u32(pk, m->uidnext);
	pack_u64(pk, m->highestmodseq);
	pack_u32(pk, m->messages);
	pack_u32(pk, m->unseen);
	pack_u64(pk, m->bytes);
	pack_u32(pk, m->nkeywords);
	for (i = 0; i < m->nkeywords; i++)
		pack_str(pk, m->keywords[i]);
	pack_u32(pk, m->recent_uid);
}

/* account_id and id come from the key; the caller sets them. */
int
store_mailbox_decode(const void *buf, size_t len, struct store_mailbox *m)
{
	struct unpack	 up;
	uint32_t	 i, n;
	uint8_t		 version;

	store_mailbox_clear(m);
	unpack_init(&up, buf, len);
	version = unpack_u8(&up);
	if (version != REC_MAILBOX_V1 && version != REC_MAILBOX_V2)
		return STORE_ECORRUPT;
	m->name = unpack_str(&up);
	m->special_use = unpack_u32(&up);
	m->created = unpack_i64(&up);
	m->uidvalidity = unpack_u32(&up);
	m->uidnext = unpack_u32(&up);
	m->highestmodseq = unpack_u64(&up);
	m->messages = unpack_u32(&up);
	m->unseen = unpack_u32(&up);
	m->bytes = unpack_u64(&up);
	n = unpack_u32(&up);
	if (n > STORE_MAX_KEYWORDS) {
		store_mailbox_clear(m);
		return STORE_ECORRUPT;
	}
	for (i = 0; i < n; i++) {
		m->keywords[i] = unpack_str(&up);
		m->nkeywords = i + 1;
	}
	/* A V1 record's messages came before \Recent was kept: none is. */
	m->recent_uid = version == REC_MAILBOX_V2 ? unpack_u32(&up) :
	    m->uidnext - 1;
	if (!unpack_done(&up) || m->uidnext == 0) {
		store_mailbox_clear(m);
		return STORE_ECORRUPT;
	}
	return 0;
}

void
store_msg_encode(const struct store_msg *m, struct pack *pk)
{
	pack_u8(pk, REC_MSG_V1);
	pack_u32(pk, m->flags);
	pack_u64(pk, m->keywords);
	pack_u64(pk, m->modseq);
	pack_i64(pk, m->internaldate);
	pack_i64(pk, m->savedate);
	pack_u64(pk, m->size);
	pack_u64(pk, m->blob_id);
}

/* The uid comes from the key; the caller sets it. */
int
store_msg_decode(const void *buf, size_t len, struct store_msg *m)
{
	struct unpack	 up;

	memset(m, 0, sizeof(*m));
	unpack_init(&up, buf, len);
	if (unpack_u8(&up) != REC_MSG_V1)
		return STORE_ECORRUPT;
	m->flags = unpack_u32(&up);
	m->keywords = unpack_u64(&up);
	m->modseq = unpack_u64(&up);
	m->internaldate = unpack_i64(&up);
	m->savedate = unpack_i64(&up);
	m->size = unpack_u64(&up);
	m->blob_id = unpack_u64(&up);
	if (!unpack_done(&up) || (m->flags & ~STORE_F_ALL) != 0)
		return STORE_ECORRUPT;
	return 0;
}

void
store_corr_encode(const struct store_corr *c, struct pack *pk)
{
	pack_u8(pk, REC_CORR_V2);
	pack_str(pk, c->fingerprint);
	pack_i64(pk, c->added);
	pack_blob(pk, c->keydata, c->keylen);
}

/* The address comes from the key; the caller sets it. */
int
store_corr_decode(const void *buf, size_t len, struct store_corr *c)
{
	struct unpack	 up;
	const void	*kd = NULL;
	char		*fpr;
	size_t		 kl = 0;
	uint8_t		 v;

	store_corr_clear(c);
	unpack_init(&up, buf, len);
	v = unpack_u8(&up);
	if (v != REC_CORR_V1 && v != REC_CORR_V2)
		return STORE_ECORRUPT;
	fpr = unpack_str(&up);
	c->added = unpack_i64(&up);
	/* Version 1 has no key data: the key was only in the GnuPG home. */
	if (v == REC_CORR_V2)
		kd = unpack_blob(&up, &kl);
	if (!unpack_done(&up) || strlen(fpr) >= sizeof(c->fingerprint)) {
		free(fpr);
		return STORE_ECORRUPT;
	}
	memcpy(c->fingerprint, fpr, strlen(fpr) + 1);
	free(fpr);
	if (kl > 0) {
		c->keydata = xmalloc(kl);
		memcpy(c->keydata, kd, kl);
		c->keylen = kl;
	}
	return 0;
}

void
store_blob_rec_encode(const struct store_blob_rec *b, struct pack *pk)
{
	pack_u8(pk, REC_BLOB_V1);
	pack_u32(pk, b->refcount);
	pack_u64(pk, b->size);
	pack_u32(pk, b->nchunks);
	pack_raw(pk, b->sealed_key, sizeof(b->sealed_key));
	pack_blob(pk, b->aux, b->auxlen);
}

int
store_blob_rec_decode(const void *buf, size_t len, struct store_blob_rec *b)
{
	struct unpack	 up;

	memset(b, 0, sizeof(*b));
	unpack_init(&up, buf, len);
	if (unpack_u8(&up) != REC_BLOB_V1)
		return STORE_ECORRUPT;
	b->refcount = unpack_u32(&up);
	b->size = unpack_u64(&up);
	b->nchunks = unpack_u32(&up);
	unpack_raw(&up, b->sealed_key, sizeof(b->sealed_key));
	b->aux = unpack_blob(&up, &b->auxlen);
	if (!unpack_done(&up) || b->nchunks != vault_chunk_count(b->size) ||
	    (b->auxlen != 0 && b->auxlen < VAULT_AUX_OVERHEAD))
		return STORE_ECORRUPT;
	return 0;
}

void
store_queue_encode(const struct store_queue_entry *e, struct pack *pk)
{
	uint32_t	 i;

	pack_u8(pk, e->flags != 0 ? REC_QUEUE_V2 : REC_QUEUE_V1);
	pack_u64(pk, e->account_id);
	pack_i64(pk, e->created);
	pack_i64(pk, e->next_attempt);
	pack_u32(pk, e->attempts);
	pack_str(pk, e->mail_from);
	pack_str(pk, e->message_id);
	pack_str(pk, e->last_error);
	pack_u64(pk, e->size);
	pack_u32(pk, e->nrcpts);
	for (i = 0; i < e->nrcpts; i++) {
		pack_str(pk, e->rcpts[i].address);
		pack_u8(pk, e->rcpts[i].status);
		pack_str(pk, e->rcpts[i].reply);
	}
	if (e->flags != 0)
		pack_u32(pk, e->flags);
}

/* The id comes from the key; the caller sets it. */
int
store_queue_decode(const void *buf, size_t len, struct store_queue_entry *e)
{
	struct unpack	 up;
	uint32_t	 i, n;
	uint8_t		 version;

	store_queue_entry_clear(e);
	unpack_init(&up, buf, len);
	version = unpack_u8(&up);
	if (version != REC_QUEUE_V1 && version != REC_QUEUE_V2)
		return STORE_ECORRUPT;
	e->account_id = unpack_u64(&up);
	e->created = unpack_i64(&up);
	e->next_attempt = unpack_i64(&up);
	e->attempts = unpack_u32(&up);
	e->mail_from = unpack_str(&up);
	e->message_id = unpack_str(&up);
	e->last_error = unpack_str(&up);
	e->size = unpack_u64(&up);
	n = unpack_u32(&up);
	/* Each recipient takes at least 13 bytes: no huge allocation. */
	if (n > STORE_QUEUE_MAX_RCPTS || n > up.left / 9) {
		store_queue_entry_clear(e);
		return STORE_ECORRUPT;
	}
	if (n > 0)
		e->rcpts = xcalloc(n, sizeof(*e->rcpts));
	for (i = 0; i < n; i++) {
		e->rcpts[i].address = unpack_str(&up);
		e->rcpts[i].status = unpack_u8(&up);
		e->rcpts[i].reply = unpack_str(&up);
		e->nrcpts = i + 1;
	}
	if (version == REC_QUEUE_V2 && (e->flags = unpack_u32(&up)) == 0)
		version = 0;
	if (version == 0 || !unpack_done(&up)) {
		store_queue_entry_clear(e);
		return STORE_ECORRUPT;
	}
	return 0;
}

void
store_key_mbox(uint8_t k[KEY_MBOX], uint64_t acct, uint32_t mbox)
{
	pack_be64(k, acct);
	pack_be32(k + 8, mbox);
}

void
store_key_msg(uint8_t k[KEY_MSG], uint64_t acct, uint32_t mbox, uint32_t uid)
{
	pack_be64(k, acct);
	pack_be32(k + 8, mbox);
	pack_be32(k + 12, uid);
}

void
store_key_blob(uint8_t k[KEY_BLOB], uint64_t acct, uint64_t blob)
{
	pack_be64(k, acct);
	pack_be64(k + 8, blob);
}
