/*
 * bootstrap-mbox.c: the whole mailbox as one mbox file, from the guest's
 * page (POST /account/mbox, bootstrap-account.c, with the password again:
 * the page keeps no key).  The daemon decrypts each message with the key
 * the password unwrapped and sends it as one chunk of the reply; the next
 * message is read when that chunk has left, so memory holds one message
 * at a time whatever the mailbox's size.  The key is wiped when the reply
 * ends or the connection goes.
 *
 * The format is mboxrd: a "From " line per message, every line of the
 * message that starts with ">*From " gets one more '>', CRLF becomes LF,
 * and a blank line ends each message (RFC 4155 and mutt's reading).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/http.h>

#include <sodium.h>

#include "bootstrap.h"
#include "log.h"
#include "xmalloc.h"

struct mbox_item {
	uint32_t	 mailbox_id;
	uint32_t	 uid;
	uint64_t	 blob_id;
	int64_t		 internaldate;
};

struct mbox_stream {
	struct evhttp_request		*req;
	struct evhttp_connection	*evcon;
	struct store			*st;
	struct vault_seckey		*key;
	uint64_t			 account_id;
	char				 address[ADDR_MAX + 1];
	struct mbox_item		*items;
	size_t				 n, cap, next, sent;
};

struct mbox_read {
	struct mbox_stream	*ms;
	uint32_t		 mailbox_id;
	uint8_t			*data;
	size_t			 len;
};

static int	mbox_list_mailbox(const struct store_mailbox *, void *);
static int	mbox_list_msg(const struct store_msg *, void *);
static int	mbox_list_txn(struct store_txn *, void *);
static int	mbox_read_txn(struct store_txn *, void *);
static void	mbox_format(struct evbuffer *, const struct mbox_item *,
		    const uint8_t *, size_t);
static void	mbox_next(struct evhttp_connection *, void *);
static void	mbox_closed(struct evhttp_connection *, void *);
static void	mbox_free(struct mbox_stream *);

static int
mbox_list_msg(const struct store_msg *m, void *arg)
{
	struct mbox_read	*rd = arg;
	struct mbox_stream	*ms = rd->ms;

	if (ms->n == ms->cap) {
		ms->cap = ms->cap == 0 ? 64 : ms->cap * 2;
		ms->items = xreallocarray(ms->items, ms->cap,
		    sizeof(*ms->items));
	}
	ms->items[ms->n].mailbox_id = rd->mailbox_id;
	ms->items[ms->n].uid = m->uid;
	ms->items[ms->n].blob_id = m->blob_id;
	ms->items[ms->n].internaldate = m->internaldate;
	ms->n++;
	return 0;
}

struct mbox_list {
	uint32_t	*ids;
	size_t		 n;
};

static int
mbox_list_mailbox(const struct store_mailbox *mb, void *arg)
{
	struct mbox_list	*ml = arg;

	ml->ids = xreallocarray(ml->ids, ml->n + 1, sizeof(*ml->ids));
	ml->ids[ml->n++] = mb->id;
	return 0;
}

static int
mbox_list_txn(struct store_txn *txn, void *arg)
{
	struct mbox_read	*rd = arg;
	struct mbox_list	 ml;
	size_t			 i;
	int			 ret;

	rd->ms->n = 0;
	memset(&ml, 0, sizeof(ml));
	ret = store_mailbox_iter(txn, rd->ms->account_id, mbox_list_mailbox,
	    &ml);
	for (i = 0; ret == 0 && i < ml.n; i++) {
		rd->mailbox_id = ml.ids[i];
		ret = store_msg_iter(txn, rd->ms->account_id, ml.ids[i], 1,
		    UINT32_MAX, mbox_list_msg, rd);
	}
	free(ml.ids);
	return ret;
}

static int
mbox_read_txn(struct store_txn *txn, void *arg)
{
	struct mbox_read	*rd = arg;
	const struct mbox_item	*it = &rd->ms->items[rd->ms->next];

	free(rd->data);
	rd->data = NULL;
	return store_msg_read(txn, rd->ms->key, it->blob_id, &rd->data,
	    &rd->len);
}

static void
mbox_format(struct evbuffer *b, const struct mbox_item *it,
    const uint8_t *p, size_t len)
{
	char		 date[64];
	struct tm	 tm;
	time_t		 t = (time_t)it->internaldate;
	size_t		 i, start, n, eol;

	gmtime_r(&t, &tm);
	/* The asctime(3) form of RFC 4155's From_ line. */
	strftime(date, sizeof(date), "%a %b %e %H:%M:%S %Y", &tm);
	evbuffer_add_printf(b, "From MAILER-DAEMON %s\n", date);
	for (start = 0; start < len; start = eol) {
		for (eol = start; eol < len && p[eol] != '\n'; eol++)
			;
		n = eol - start;
		if (eol < len)
			eol++;
		if (n > 0 && p[start + n - 1] == '\r')
			n--;
		for (i = start; i < start + n && p[i] == '>'; i++)
			;
		if (start + n - i >= 5 && memcmp(p + i, "From ", 5) == 0)
			evbuffer_add(b, ">", 1);
		evbuffer_add(b, p + start, n);
		evbuffer_add(b, "\n", 1);
	}
	evbuffer_add(b, "\n", 1);
}

/* The last chunk left: the next message, or the end. */
static void
mbox_next(struct evhttp_connection *evcon, void *arg)
{
	struct mbox_stream	*ms = arg;
	struct mbox_read	 rd;
	struct evbuffer		*b;
	int			 ret;

	(void)evcon;
	memset(&rd, 0, sizeof(rd));
	rd.ms = ms;
	for (; ms->next < ms->n; ms->next++) {
		ret = store_txn_run(ms->st, mbox_read_txn, &rd);
		if (ret == STORE_ENOTFOUND)
			continue;	/* expunged meanwhile */
		if (ret != 0) {
			/* Cut short: mutt sees a file that ends early. */
			log_warnx("mbox of %s: message %zu: %s", ms->address,
			    ms->next, store_strerror(ret));
			ms->next = ms->n;
			free(rd.data);
			break;
		}
		if ((b = evbuffer_new()) == NULL)
			fatalx("evbuffer_new");
		mbox_format(b, &ms->items[ms->next], rd.data, rd.len);
		sodium_memzero(rd.data, rd.len);
		free(rd.data);
		ms->next++;
		ms->sent++;
		evhttp_send_reply_chunk_with_cb(ms->req, b, mbox_next, ms);
		evbuffer_free(b);
		return;
	}
	log_info("mbox of %s: %zu messages sent", ms->address, ms->sent);
	evhttp_connection_set_closecb(ms->evcon, NULL, NULL);
	evhttp_send_reply_end(ms->req);
	mbox_free(ms);
}

/* The client went: nothing more to send, the key goes. */
static void
mbox_closed(struct evhttp_connection *evcon, void *arg)
{
	struct mbox_stream	*ms = arg;

	(void)evcon;
	log_info("mbox of %s: the client left after %zu messages",
	    ms->address, ms->sent);
	mbox_free(ms);
}

static void
mbox_free(struct mbox_stream *ms)
{
	vault_seckey_free(&ms->key);
	free(ms->items);
	sodium_memzero(ms, sizeof(*ms));
	free(ms);
}

void
mbox_stream_start(struct bs_req *r, struct vault_seckey **keyp)
{
	struct evhttp_connection *evcon;
	struct mbox_stream	*ms;
	struct mbox_read	 rd;
	int			 ret;

	if ((evcon = evhttp_request_get_connection(r->req)) == NULL) {
		/* The client is gone already. */
		vault_seckey_free(keyp);
		evhttp_send_reply(r->req, 503, "Service Unavailable", NULL);
		return;
	}
	ms = xcalloc(1, sizeof(*ms));
	ms->req = r->req;
	ms->evcon = evcon;
	ms->st = r->bd->d.store;
	ms->key = *keyp;
	*keyp = NULL;
	ms->account_id = r->sess->account_id;
	snprintf(ms->address, sizeof(ms->address), "%s", r->sess->address);
	memset(&rd, 0, sizeof(rd));
	rd.ms = ms;
	if ((ret = store_txn_run(ms->st, mbox_list_txn, &rd)) != 0) {
		log_warnx("mbox of %s: %s", ms->address, store_strerror(ret));
		mbox_free(ms);
		bs_error(r, 503, "Service Unavailable", T_ERR_BUSY_TITLE,
		    T_ERR_BUSY_TEXT);
		return;
	}
	log_info("%s: mbox of %s: %zu messages", r->peer, ms->address, ms->n);
	bs_reply_headers(r, "application/mbox");
	/* No address in the name: a local part may hold quotes. */
	evhttp_add_header(evhttp_request_get_output_headers(r->req),
	    "Content-Disposition", "attachment; filename=\"mailbox.mbox\"");
	evhttp_connection_set_closecb(ms->evcon, mbox_closed, ms);
	evhttp_send_reply_start(r->req, 200, "OK");
	mbox_next(ms->evcon, ms);
}
