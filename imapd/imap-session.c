/*
 * imap-session.c: one client connection: reading commands, dispatching
 * them by the table in imap-commands.c, the states of RFC 3501 3 and the
 * phases of a command, untagged updates.  It names no command: what a
 * command needs (its continuation lines, its literals, live updates
 * while it waits) is in its row.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "imap-quote.h"
#include "imap-seqset.h"
#include "imap-sort-cache.h"
#include "imapd.h"
#include "log.h"
#include "workers.h"
#include "xmalloc.h"

static void	imap_session_input(struct conn *, void *);
static void	imap_session_drained(struct conn *, void *);
static void	imap_session_end(struct conn *, enum conn_end, void *);
static void	imap_session_close(struct imap_session *, const char *why);
static void	imap_session_recent_clear(struct imap_session *);
static void	imap_session_sort_keys_leave(struct imap_session *);
static void	imap_session_run(struct imap_session *);
static void	imap_session_dispatch(struct imap_session *,
		    const struct imap_command *);
static void	imap_session_result(struct imap_session *,
		    enum imap_cmd_status);
static void	imap_tagged_v(struct imap_session *, const char *, const char *,
		    va_list) printflike(3, 0);

static const struct conn_callbacks imap_conn_callbacks = {
	.input = imap_session_input,
	.drained = imap_session_drained,
	.end = imap_session_end,
};

static const char *const imap_state_names[] = {
	[S_NOTAUTH] = "not-authenticated",
	[S_AUTH] = "authenticated",
	[S_SELECTED] = "selected",
	[S_LOGOUT] = "logout",
};

/*
 * The session is done with its mailbox's SORT keys; with no account key
 * cache (auth_cache_time 0) no unused ones stay either.
 */
static void
imap_session_sort_keys_leave(struct imap_session *s)
{
	imap_sort_cache_put_back(&s->sort_cache);
	if (s->imapd->daemon.conf->auth_cache_time == 0)
		imap_sort_cache_expire(0);
}

void
imap_session_enter_state(struct imap_session *s, enum imap_state state)
{
	log_debug("%s: %s -> %s", s->conn->peer, imap_state_names[s->state],
	    imap_state_names[state]);
	/*
	 * Leaving the mailbox (CLOSE, UNSELECT, another SELECT) forgets it.
	 * A logout keeps it for the command that may still walk the view;
	 * the session's end frees it.
	 */
	if (s->state == S_SELECTED && state == S_AUTH) {
		imap_session_recent_clear(s);
		/* Kept for this process's next SELECT of it (imap-view.h). */
		imap_view_release(&s->view);
		imap_session_sort_keys_leave(s);
		free(s->mailbox_name);
		s->mailbox_name = NULL;
		free(s->saved);
		s->saved = NULL;
		s->nsaved = 0;
	}
	if (state == S_AUTH || state == S_SELECTED)
		conn_set_timeout(s->conn,
		    (int)s->imapd->daemon.conf->imap_timeout);
	s->state = state;
	/* RFC 3501 3: the server closes the connection (after a BYE). */
	if (state == S_LOGOUT)
		conn_close_after_flush(s->conn);
}

void
imap_session_condstore(struct imap_session *s)
{
	if (s->condstore)
		return;
	s->condstore = 1;
	if (s->state == S_SELECTED)
		imap_printf(s, "* OK [HIGHESTMODSEQ %llu] Highest\r\n",
		    (unsigned long long)s->view.highestmodseq);
}

int
imap_session_live(const struct imap_session *s)
{
	return s->phase == CP_LINE && (s->cmd_def->flags & CMD_F_LIVE);
}

static void
imap_session_set_limits(struct imap_session *s)
{
	struct imap_parser_limits	 lim;

	imap_parser_limits_default(&lim);
	if (s->state == S_NOTAUTH) {
		/*
		 * Before login nobody needs big literals (RFC 7888 4), and
		 * LITERAL- is what CAPABILITY says then (RFC 7888 3: never
		 * both; LITERAL+ once logged in).
		 */
		lim.literal_max = 8 * 1024;
		lim.nonsync_max = IMAP_PARSER_NONSYNC_MINUS;
		lim.stream_max = 0;
		lim.line_max = 8 * 1024;
		lim.command_max = 64 * 1024;
	} else
		lim.stream_max = s->imapd->daemon.conf->max_message_size;
	imap_parser_set_limits(s->parser, &lim);
}

/* The parser's literal hook: the row's, where it has one (APPEND). */
static enum imap_literal_action
imap_session_literal(void *arg, const struct imap_literal_info *li,
    struct imap_literal_sink *sink, const char **textp)
{
	struct imap_session		*s = arg;
	const struct imap_cmd_def	*def;
	struct imap_literal_info	 own = *li;
	int				 uid = 0;

	if (li->command == NULL || (def = imap_command_find(li->command,
	    &own.args, &uid)) == NULL || def->literal == NULL ||
	    (def->states & (1U << s->state)) == 0)
		return IMAP_LITERAL_MEMORY;
	/* The UID form's hook sees the arguments after the name. */
	if (uid) {
		own.nargs--;
		if (own.depth == 0)
			own.index--;
	}
	return def->literal(s, &own, sink, textp);
}

void
imap_session_accept(struct imapd *im, struct listener *l, int fd,
    const struct sockaddr *sa, socklen_t salen)
{
	struct imap_session	*s;
	struct daemon		*d = &im->daemon;

	s = xcalloc(1, sizeof(*s));
	s->imapd = im;
	s->listener = l;
	s->conn = conn_new(d->base, fd, sa, salen,
	    daemon_listener_tls(l) ? d->tls : NULL, &imap_conn_callbacks, s);
	if (s->conn == NULL) {
		free(s);
		return;
	}
	/* Counted across the workers (workers.h), not in this one only. */
	if ((s->counted_ip = workers_count_take("ip", s->conn->peer,
	    d->conf->max_connections_per_ip)) == 0) {
		log_info("%s: too many connections from this address",
		    s->conn->peer);
		conn_printf(s->conn, "* BYE [UNAVAILABLE] Too many connections "
		    "from your address\r\n");
		imap_session_enter_state(s, S_LOGOUT);
	}
	s->parser = imap_parser_new(NULL);
	imap_parser_set_literal_hook(s->parser, imap_session_literal, s);
	imap_session_set_limits(s);
	s->next = im->sessions;
	if (im->sessions != NULL)
		im->sessions->prev = s;
	im->sessions = s;
	im->nsessions++;
	daemon_session_opened(d);
	if (s->state == S_LOGOUT)
		return;
	conn_set_timeout(s->conn, (int)d->conf->imap_login_timeout);
	conn_want_drain(s->conn, IMAP_OUTPUT_HIGH / 4);
	log_debug("%s: connected on %s", s->conn->peer, l->name);
	/* RFC 3501 7.1.1: capabilities in the greeting save a round trip. */
	imap_printf(s, "* OK [CAPABILITY %s] guestbox ready.\r\n",
	    imap_capabilities(s));
}

static void
imap_session_free(struct imap_session *s)
{
	struct imapd	*im = s->imapd;

	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		im->sessions = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	im->nsessions--;
	if (s->counted_ip == 1)
		workers_count_put("ip", s->conn->peer);
	imap_session_account_put(s);
	auth_cancel(&s->auth);
	group_commit_cancel(&s->commit_wait);
	free(s->commit_ok);
	/*
	 * The parser first: an APPEND literal cut off by a disconnect
	 * still has its sink in cmd_state, and freeing the parser aborts it.
	 */
	imap_parser_free(&s->parser);
	if (s->cmd_state_free != NULL && s->cmd_state != NULL)
		s->cmd_state_free(s->cmd_state);
	/* A client that logs in again finds its mailbox (imap-view.h). */
	if (s->revoked)
		imap_view_clear(&s->view);
	else
		imap_view_release(&s->view);
	imap_session_recent_clear(s);
	imap_session_sort_keys_leave(s);
	free(s->mailbox_name);
	free(s->saved);
	free(s->tag);
	vault_seckey_free(&s->key);
	conn_free(&s->conn);
	daemon_session_closed(&im->daemon);
	sodium_memzero(s, sizeof(*s));
	free(s);
}

static void
imap_session_close(struct imap_session *s, const char *why)
{
	log_debug("%s: closing: %s", s->conn->peer, why);
	imap_session_free(s);
}

static void
imap_session_end(struct conn *c, enum conn_end why, void *arg)
{
	static const char *const reasons[] = {
		[CONN_END_EOF] = "disconnected",
		[CONN_END_ERROR] = "connection error",
		[CONN_END_TIMEOUT] = "idle timeout",
		[CONN_END_TLS] = "TLS error",
	};
	struct imap_session	*s = arg;

	if (why == CONN_END_TIMEOUT && s->state != S_LOGOUT) {
		/* RFC 3501 7.1.5: say why before closing. */
		imap_printf(s, "* BYE Disconnected for inactivity.\r\n");
		imap_session_enter_state(s, S_LOGOUT);
		return;
	}
	imap_session_close(s, reasons[why]);
}

/* ---- output ---- */

void
imap_printf(struct imap_session *s, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	evbuffer_add_vprintf(conn_out(s->conn), fmt, ap);
	va_end(ap);
}

void
imap_write(struct imap_session *s, const void *data, size_t len)
{
	conn_write(s->conn, data, len);
}

int
imap_output_full(const struct imap_session *s)
{
	return evbuffer_get_length(conn_out(s->conn)) > IMAP_OUTPUT_HIGH;
}

/* The one IMAP quoter (imap-quote.c) writes them. */
void
imap_write_string(struct imap_session *s, const char *str, size_t len)
{
	imap_quote_string(conn_out(s->conn), str, len, 0);
}

void
imap_write_astring(struct imap_session *s, const char *str)
{
	imap_quote_astring(conn_out(s->conn), str, strlen(str), 0);
}

static void
imap_tagged_v(struct imap_session *s, const char *status, const char *fmt,
    va_list ap)
{
	const char	*tag = s->tag != NULL ? s->tag : "*";

	imap_printf(s, "%s %s ", tag, status);
	evbuffer_add_vprintf(conn_out(s->conn), fmt, ap);
	imap_write(s, "\r\n", 2);
}

void
imap_tagged(struct imap_session *s, const char *status, const char *fmt, ...)
{
	va_list	 ap;

	/*
	 * Untagged updates go before the completion (RFC 3501 7.4.1 says
	 * which commands may carry EXPUNGE).
	 */
	if (s->state == S_SELECTED && strcmp(status, "BAD") != 0)
		imap_session_sync(s, s->cmd_def == NULL || s->cmd_uid ||
		    !(s->cmd_def->flags & CMD_F_NO_EXPUNGE));
	va_start(ap, fmt);
	imap_tagged_v(s, status, fmt, ap);
	va_end(ap);
}

void
imap_tagged_store_error(struct imap_session *s, int err)
{
	/* RFC 5530 response codes. */
	switch (err) {
	case STORE_ENOTFOUND:
		imap_tagged(s, "NO", "[NONEXISTENT] No such mailbox or message");
		break;
	case STORE_EEXIST:
		imap_tagged(s, "NO", "[ALREADYEXISTS] It exists already");
		break;
	case STORE_ELIMIT:
		imap_tagged(s, "NO", "[OVERQUOTA] Mailbox full or limit reached");
		break;
	case STORE_EKEYWORDS:
		imap_tagged(s, "NO", "[LIMIT] This mailbox has %d keywords "
		    "already, as many as it can", STORE_MAX_KEYWORDS);
		break;
	case STORE_ENOSPC:
		imap_tagged(s, "NO", "[OVERQUOTA] The server's disk is full; "
		    "try again later");
		break;
	case STORE_ECORRUPT:
		imap_tagged(s, "NO", "[CORRUPTION] Stored data is damaged");
		break;
	case STORE_EUNAVAIL:
		/*
		 * RFC 5530 3: a standby serves reads only, for now, and a
		 * master takes no change that too few sites would have.
		 */
		imap_tagged(s, "NO", "[UNAVAILABLE] This server takes no "
		    "changes now (a replication standby, or too few sites); "
		    "try again later");
		break;
	default:
		imap_tagged(s, "NO", "[UNAVAILABLE] Temporary storage "
		    "problem; try again");
		break;
	}
}

int
imap_txn(struct imap_session *s, store_txn_fn fn, void *arg)
{
	return imap_txn_result(s, store_txn_run(s->imapd->daemon.store, fn,
	    arg));
}

int
imap_txn_nosync(struct imap_session *s, store_txn_fn fn, void *arg)
{
	return imap_txn_result(s, store_txn_run_nosync(s->imapd->daemon.store,
	    fn, arg));
}

static void
imap_tagged_durable_done(int ret, void *arg)
{
	struct imap_session	*s = arg;

	s->commit_wait = NULL;
	if (ret == 0)
		imap_tagged(s, "OK", "%s", s->commit_ok);
	else
		/* Perhaps not on disk: never an OK (guestbox(7), DURABILITY). */
		imap_tagged_store_error(s, imap_txn_result(s, ret));
	free(s->commit_ok);
	s->commit_ok = NULL;
	imap_session_done(s);
}

enum imap_cmd_status
imap_tagged_durable(struct imap_session *s, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	(void)xvasprintf(&s->commit_ok, fmt, ap);
	va_end(ap);
	conn_pause(s->conn, 1);
	s->commit_wait = group_commit_wait(s->imapd->commit,
	    imap_tagged_durable_done, s);
	return CMD_ASYNC;
}

int
imap_txn_result(struct imap_session *s, int ret)
{
	if (ret != 0 && ret != STORE_ENOTFOUND && ret != STORE_EEXIST &&
	    ret != STORE_ELIMIT && ret != STORE_EKEYWORDS &&
	    ret != STORE_EMODIFIED && ret != STORE_ESTATE)
		log_warnx("%s: %s: %s", s->conn->peer, s->address[0] != '\0' ?
		    s->address : "-", store_strerror(ret));
	return ret;
}

/* ---- untagged updates ---- */

static void
imap_sync_expunge(uint32_t seq, uint32_t uid, void *arg)
{
	struct imap_session	*s = arg;

	imap_sort_cache_expunged(s->sort_cache, uid);
	/* RFC 7162 3.2.10: with QRESYNC, VANISHED replaces EXPUNGE. */
	if (s->qresync)
		imap_printf(s, "* VANISHED %u\r\n", uid);
	else
		imap_printf(s, "* %u EXPUNGE\r\n", seq);
}

static void
imap_sync_exists(uint32_t count, void *arg)
{
	struct imap_session	*s = arg;

	imap_printf(s, "* %u EXISTS\r\n", count);
	/* RFC 3501 7.3.2: with a change of size, if it changed (Dovecot). */
	imap_session_recent_report(s, 0);
}

int
imap_session_recent(const struct imap_session *s, uint32_t uid)
{
	size_t	 i;

	for (i = 0; i < s->nrecent; i++)
		if (uid >= s->recent[i].first && uid <= s->recent[i].last)
			return 1;
	return 0;
}

void
imap_session_recent_add(struct imap_session *s, uint32_t first,
    uint32_t last)
{
	struct imap_recent	*r;

	if (first > last)
		return;
	/* Claims come in UID order: most extend the last range. */
	if (s->nrecent > 0 && s->recent[s->nrecent - 1].last + 1 >= first) {
		r = &s->recent[s->nrecent - 1];
		if (last > r->last)
			r->last = last;
		return;
	}
	s->recent = xreallocarray(s->recent, s->nrecent + 1,
	    sizeof(*s->recent));
	s->recent[s->nrecent].first = first;
	s->recent[s->nrecent].last = last;
	s->nrecent++;
}

/* The messages of the view that are \Recent here: O(ranges log n). */
uint32_t
imap_session_recent_count(const struct imap_session *s)
{
	const struct imap_view	*v = &s->view;
	uint32_t		 n = 0, end;
	size_t			 i;

	for (i = 0; i < s->nrecent; i++) {
		end = s->recent[i].last == UINT32_MAX ? v->count :
		    imap_view_lower_bound(v, s->recent[i].last + 1);
		n += end - imap_view_lower_bound(v, s->recent[i].first);
	}
	return n;
}

void
imap_session_recent_report(struct imap_session *s, int always)
{
	uint32_t	 n = imap_session_recent_count(s);

	if (always || n != s->recent_reported)
		imap_printf(s, "* %u RECENT\r\n", n);
	s->recent_reported = n;
}

static void
imap_session_recent_clear(struct imap_session *s)
{
	free(s->recent);
	s->recent = NULL;
	s->nrecent = 0;
	s->recent_reported = 0;
}

/*
 * The FLAGS list of a message: system flags, \Recent, then its keywords,
 * in Dovecot's order.
 */
void
imap_write_flags(struct imap_session *s, uint32_t uid, uint32_t flags,
    uint64_t keywords)
{
	static const struct {
		uint32_t	 bit;
		const char	*name;
	} sys[] = {
		{ STORE_F_ANSWERED, "\\Answered" },
		{ STORE_F_FLAGGED, "\\Flagged" },
		{ STORE_F_DELETED, "\\Deleted" },
		{ STORE_F_SEEN, "\\Seen" },
		{ STORE_F_DRAFT, "\\Draft" },
	};
	const char	*sep = "";
	size_t		 i;

	imap_write(s, "(", 1);
	for (i = 0; i < sizeof(sys) / sizeof(sys[0]); i++)
		if (flags & sys[i].bit) {
			imap_printf(s, "%s%s", sep, sys[i].name);
			sep = " ";
		}
	if (imap_session_recent(s, uid)) {
		imap_printf(s, "%s\\Recent", sep);
		sep = " ";
	}
	for (i = 0; i < s->view.nkeywords && i < 64; i++)
		if (keywords & (1ULL << i)) {
			imap_printf(s, "%s%s", sep, s->view.keywords[i]);
			sep = " ";
		}
	imap_write(s, ")", 1);
}

static void
imap_sync_flags(uint32_t seq, const struct imap_view_msg *vm, void *arg)
{
	struct imap_session	*s = arg;

	imap_printf(s, "* %u FETCH (UID %u ", seq, vm->uid);
	if (s->condstore)
		imap_printf(s, "MODSEQ (%llu) ", (unsigned long long)vm->modseq);
	imap_write(s, "FLAGS ", 6);
	imap_write_flags(s, vm->uid, vm->flags, vm->keywords);
	imap_write(s, ")\r\n", 3);
}

/* The FLAGS and PERMANENTFLAGS responses (RFC 3501 7.2.6, 7.1). */
void
imap_write_mailbox_flags(struct imap_session *s)
{
	uint32_t	 i;

	imap_printf(s, "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen "
	    "\\Draft");
	for (i = 0; i < s->view.nkeywords; i++)
		imap_printf(s, " %s", s->view.keywords[i]);
	/* RFC 3501 6.3.2, 7.1: EXAMINE changes no flag (Dovecot: ()). */
	if (s->view.readonly) {
		imap_printf(s, ")\r\n* OK [PERMANENTFLAGS ()] Read-only "
		    "mailbox.\r\n");
		return;
	}
	imap_printf(s, ")\r\n* OK [PERMANENTFLAGS (\\Answered \\Flagged "
	    "\\Deleted \\Seen \\Draft");
	for (i = 0; i < s->view.nkeywords; i++)
		imap_printf(s, " %s", s->view.keywords[i]);
	imap_printf(s, "%s)] Flags permitted.\r\n",
	    s->view.nkeywords < STORE_MAX_KEYWORDS ? " \\*" : "");
}

static void
imap_sync_keywords(void *arg)
{
	imap_write_mailbox_flags(arg);
}

static const struct imap_view_callbacks imap_sync_callbacks = {
	.expunge = imap_sync_expunge,
	.exists = imap_sync_exists,
	.flags = imap_sync_flags,
	.keywords = imap_sync_keywords,
};

struct imap_sync_req {
	struct imap_session	*s;
	uint32_t		 recent_first, recent_last;
};

static int
imap_sync_txn(struct store_txn *txn, void *arg)
{
	struct imap_sync_req	*sq = arg;
	struct imap_view	*v = &sq->s->view;
	int			 ret;

	sq->recent_first = 1;
	sq->recent_last = 0;
	if ((ret = imap_view_refresh(txn, v)) != 0 || v->new_count == 0)
		return ret;
	/*
	 * RFC 3501 2.3.2: new messages are \Recent for the first session
	 * told of them; a read-only one (EXAMINE) sees what nobody claimed
	 * and claims nothing.  A retried transaction starts again from the
	 * claim.
	 */
	return store_mailbox_recent(txn, v->account_id, v->mailbox_id,
	    !v->readonly, &sq->recent_first, &sq->recent_last);
}

int
imap_session_sync(struct imap_session *s, int allow_expunge)
{
	struct imap_sync_req	 sq;
	int			 ret;

	if (s->state != S_SELECTED)
		return 0;
	sq.s = s;
	ret = imap_txn(s, imap_sync_txn, &sq);
	if (ret == STORE_ENOTFOUND) {
		/* Deleted under us (another session, RFC 3501 6.3.4). */
		imap_printf(s, "* BYE [CLOSED] The selected mailbox was "
		    "deleted\r\n");
		imap_session_enter_state(s, S_LOGOUT);
		return ret;
	}
	if (ret == 0 && s->view.unplaceable) {
		/*
		 * A rollback brought back a message this client was told is
		 * expunged, or gave its UID to another (RFC 3501 2.3.1.1:
		 * UIDs strictly ascend and are never reused): no untagged
		 * response says that, so the session ends.
		 */
		log_warnx("%s: %s: the site rolled back messages this session "
		    "was shown; ending it", s->conn->peer, s->address);
		imap_printf(s, "* BYE [UNAVAILABLE] This server rolled back "
		    "changes you were shown; log in and select the mailbox "
		    "again\r\n");
		imap_session_enter_state(s, S_LOGOUT);
		return STORE_EUNAVAIL;
	}
	if (ret == 0)
		imap_session_recent_add(s, sq.recent_first, sq.recent_last);
	imap_view_report(&s->view, allow_expunge, &imap_sync_callbacks, s);
	/* Expunges alone change the count too (Dovecot reports that). */
	imap_session_recent_report(s, 0);
	return ret;
}

void
imap_session_notify(struct imap_session *s, const struct store_event *ev)
{
	if (ev->account_id != 0 && ev->account_id != s->account_id)
		return;
	if (ev->mailbox_id == 0 && ev->account_id != 0) {
		/* The account itself changed: disabled or deleted? */
		return;
	}
	if (imap_session_live(s) && s->state == S_SELECTED &&
	    (ev->account_id == 0 || ev->mailbox_id == s->view.mailbox_id)) {
		/* RFC 2177: during IDLE, updates go out at once. */
		imap_session_sync(s, 1);
	}
}

void
imap_session_revoke(struct imap_session *s)
{
	if (s->state == S_LOGOUT)
		return;
	log_info("%s: %s: the mailbox was disabled, deleted or re-invited; "
	    "ending the session", s->conn->peer, s->address);
	/* Nothing of it stays in memory for a next session. */
	imap_view_cache_forget(s->account_id);
	imap_sort_cache_forget(s->account_id);
	s->revoked = 1;
	/* Not into the middle of a command's output (a FETCH literal). */
	if (s->phase == CP_NONE || imap_session_live(s))
		imap_printf(s, "* BYE [UNAVAILABLE] This mailbox was disabled, "
		    "deleted or invited again; ask the person who invited "
		    "you\r\n");
	imap_session_enter_state(s, S_LOGOUT);
}

void
imap_session_shutdown(struct imap_session *s)
{
	if (s->state == S_LOGOUT)
		return;
	if (s->phase != CP_NONE && !imap_session_live(s))
		return;		/* answered when the command ends */
	imap_printf(s, "* BYE [UNAVAILABLE] Server shutting down\r\n");
	imap_session_enter_state(s, S_LOGOUT);
}

/* ---- commands ---- */

static void
imap_session_cmd_end(struct imap_session *s)
{
	if (log_get_verbose())
		log_debug("%s: %s cost %llu records read, %llu view steps",
		    s->conn->peer, s->tag != NULL ? s->tag : "*",
		    (unsigned long long)(store_reads(s->imapd->daemon.store) -
		    s->cost_reads),
		    (unsigned long long)(imap_view_steps() - s->cost_steps));
	/* Before cmd_state: a literal sink may point into it. */
	imap_parser_reset(s->parser);
	if (s->cmd_state_free != NULL && s->cmd_state != NULL)
		s->cmd_state_free(s->cmd_state);
	s->cmd_state = NULL;
	s->cmd_state_free = NULL;
	s->cmd_def = NULL;
	s->cmd = NULL;
	s->cmd_uid = 0;
	s->phase = CP_NONE;
	free(s->tag);
	s->tag = NULL;
	imap_session_set_limits(s);
	if (s->imapd->daemon.stopping && s->state != S_LOGOUT)
		imap_session_shutdown(s);
}

void
imap_session_done(struct imap_session *s)
{
	imap_session_cmd_end(s);
	if (s->state == S_LOGOUT)
		return;
	conn_pause(s->conn, 0);
	/* Commands pipelined behind the finished one. */
	imap_session_run(s);
}

/* The next phase, from what the handler or the line hook said. */
static void
imap_session_result(struct imap_session *s, enum imap_cmd_status st)
{
	/* An answer that came at once has ended the command already. */
	if (s->phase != CP_RUN)
		return;
	switch (st) {
	case CMD_DONE:
		imap_session_cmd_end(s);
		break;
	case CMD_ASYNC:
		/* After a line, nothing of the parser's is needed any more. */
		if (s->cmd == NULL)
			imap_parser_reset(s->parser);
		s->phase = CP_ASYNC;
		break;
	case CMD_MORE:
		/* imap_session_drained() calls again. */
		s->phase = CP_MORE;
		break;
	case CMD_LINE:
		if (s->cmd_def->line == NULL)
			fatalx("%s: CMD_LINE without a line hook",
			    s->cmd_def->name);
		/* Its arguments go: the parser reads bare lines now. */
		imap_parser_reset(s->parser);
		s->cmd = NULL;
		s->phase = CP_LINE;
		break;
	}
}

static void
imap_session_call(struct imap_session *s)
{
	s->phase = CP_RUN;
	imap_session_result(s, s->cmd_def->handler(s, s->cmd));
}

static void
imap_session_dispatch(struct imap_session *s, const struct imap_command *cmd)
{
	const struct imap_cmd_def	*def;
	const struct imap_arg		*args = cmd->args;
	const char			*sub;
	int				 uid = 0;

	s->tag = xstrdup(cmd->tag);
	s->cmd = cmd;
	s->phase = CP_RUN;
	s->cost_reads = store_reads(s->imapd->daemon.store);
	s->cost_steps = imap_view_steps();
	if ((def = imap_command_find(cmd->name, &args, &uid)) == NULL) {
		s->bad_count++;
		/* "UID NAME": the name UID looked for. */
		if (!uid || !imap_arg_get_atom(args, &sub))
			sub = NULL;
		imap_tagged(s, "BAD", "Unknown command %s%s%s", cmd->name,
		    sub != NULL ? " " : "", sub != NULL ? sub : "");
		imap_session_cmd_end(s);
		return;
	}
	if ((def->states & (1U << s->state)) == 0) {
		s->bad_count++;
		imap_tagged(s, "BAD", "%s is not allowed %s", def->name,
		    s->state == S_NOTAUTH ? "before LOGIN" :
		    s->state == S_AUTH ? "without a selected mailbox" :
		    "now");
		imap_session_cmd_end(s);
		return;
	}
	if (uid) {
		/* The handler sees its own name and arguments. */
		s->cmd_own.tag = cmd->tag;
		s->cmd_own.name = def->name;
		s->cmd_own.args = args;
		s->cmd_own.nargs = cmd->nargs - 1;
		s->cmd = &s->cmd_own;
		s->cmd_uid = 1;
	}
	s->cmd_def = def;
	imap_session_call(s);
}

static void
imap_session_parse_error(struct imap_session *s,
    const struct imap_parse_error *err)
{
	const char	*tag = err->tag != NULL ? err->tag : "*";

	s->bad_count++;
	imap_printf(s, "%s %s %s\r\n", tag,
	    err->code == IMAP_PERR_REFUSED ? "NO" : "BAD", err->text);
	if (err->fatal || s->bad_count >= IMAP_MAX_BAD) {
		imap_printf(s, "* BYE %s\r\n", err->fatal ?
		    "Cannot find the next command; closing" :
		    "Too many invalid commands");
		imap_session_enter_state(s, S_LOGOUT);
		return;
	}
	imap_parser_reset(s->parser);
}

/* A bare line for the row's hook (CMD_LINE); valid until reset. */
static void
imap_session_line(struct imap_session *s, const char *line, size_t len)
{
	s->phase = CP_RUN;
	imap_session_result(s, s->cmd_def->line(s, line, len));
}

static void
imap_session_run(struct imap_session *s)
{
	const struct imap_command	*cmd;
	const struct imap_parse_error	*err;
	const char			*line;
	size_t				 len;
	int				 ret;

	while (s->state != S_LOGOUT) {
		if (s->phase != CP_NONE) {
			/* A command at work reads only the lines it wants. */
			if (s->phase != CP_LINE)
				return;
			ret = imap_parser_read_line(s->parser, conn_in(s->conn),
			    &line, &len, &err);
			if (ret == IMAP_PARSE_NEED_MORE)
				return;
			if (ret == IMAP_PARSE_ERROR) {
				imap_tagged(s, "BAD", "%s", err->text);
				imap_session_cmd_end(s);
				continue;
			}
			imap_session_line(s, line, len);
			continue;
		}
		ret = imap_parser_read(s->parser, conn_in(s->conn), &cmd, &err);
		switch (ret) {
		case IMAP_PARSE_NEED_MORE:
			return;
		case IMAP_PARSE_CONTINUE:
			imap_printf(s, "+ OK\r\n");
			break;
		case IMAP_PARSE_ERROR:
			imap_session_parse_error(s, err);
			break;
		case IMAP_PARSE_DONE:
			imap_session_dispatch(s, cmd);
			if (s->bad_count >= IMAP_MAX_BAD && s->state != S_LOGOUT) {
				imap_printf(s, "* BYE Too many invalid "
				    "commands\r\n");
				imap_session_enter_state(s, S_LOGOUT);
			}
			break;
		}
	}
}

static void
imap_session_input(struct conn *c, void *arg)
{
	imap_session_run(arg);
}

static void
imap_session_drained(struct conn *c, void *arg)
{
	struct imap_session	*s = arg;

	/* A long response (FETCH) goes on once the client has read. */
	if (s->phase == CP_MORE)
		imap_session_call(s);
	if (s->phase == CP_NONE)
		imap_session_run(s);
}

void
imap_session_more(struct imap_session *s)
{
	imap_session_drained(s->conn, s);
}

/* ---- sets of numbers (imap-seqset.h, allocated) ---- */

struct imap_seqset *
imap_set_parse(const char *str, uint32_t star)
{
	struct imap_seqset	*set = xcalloc(1, sizeof(*set));
	const char		*why;

	imap_seqset_init(set);
	if (imap_seqset_parse(set, str, star, 0, 0, &why) == -1) {
		imap_set_free(&set);
		return NULL;
	}
	return set;
}

struct imap_seqset *
imap_set_from(const uint32_t *v, size_t n)
{
	struct imap_seqset	*set = xcalloc(1, sizeof(*set));
	size_t			 i;

	imap_seqset_init(set);
	for (i = 0; i < n; i++)
		imap_seqset_add(set, v[i], v[i]);
	imap_seqset_normalize(set);
	return set;
}

void
imap_set_free(struct imap_seqset **setp)
{
	if (*setp == NULL)
		return;
	imap_seqset_clear(*setp);
	free(*setp);
	*setp = NULL;
}

void
imap_set_write_list(struct evbuffer *out, const uint32_t *v, size_t n)
{
	struct imap_seqset	*set = imap_set_from(v, n);

	imap_seqset_write(set, out);
	imap_set_free(&set);
}

void
imap_write_ordered_list(struct evbuffer *out, const uint32_t *v, size_t n)
{
	size_t	 i, j;

	for (i = 0; i < n; i = j + 1) {
		for (j = i; j + 1 < n && v[j + 1] == v[j] + 1; j++)
			;
		evbuffer_add_printf(out, "%s%u", i > 0 ? "," : "", v[i]);
		if (j > i)
			evbuffer_add_printf(out, ":%u", v[j]);
	}
}

/* ---- SEARCHRES (RFC 5182) ---- */

void
imap_save_result(struct imap_session *s, const uint32_t *v, size_t n,
    int uid_mode)
{
	size_t	 i;

	free(s->saved);
	s->saved = n > 0 ? xreallocarray(NULL, n, sizeof(*s->saved)) : NULL;
	s->nsaved = n;
	for (i = 0; i < n; i++)
		s->saved[i] = uid_mode || v[i] == 0 || v[i] > s->view.count ? v[i] :
		    s->view.msgs[v[i] - 1].uid;
}

struct imap_seqset *
imap_saved_set(struct imap_session *s, int uid_mode)
{
	struct imap_seqset	*set;
	uint32_t		*seqs;
	size_t			 i, n = 0;

	if (uid_mode || s->nsaved == 0)
		return imap_set_from(s->saved, s->nsaved);
	/* Expunged messages drop out of the saved result (RFC 5182 2.1). */
	seqs = xreallocarray(NULL, s->nsaved, sizeof(*seqs));
	for (i = 0; i < s->nsaved; i++)
		if ((seqs[n] = imap_view_seq(&s->view, s->saved[i])) != 0)
			n++;
	set = imap_set_from(seqs, n);
	free(seqs);
	return set;
}

struct imap_seqset *
imap_set_arg(struct imap_session *s, const char *str, int uid_mode)
{
	struct imap_seqset	*set;

	if (strcmp(str, "$") == 0)
		return imap_saved_set(s, uid_mode);
	if (uid_mode)
		return imap_set_parse(str, imap_view_max_uid(&s->view));
	if ((set = imap_set_parse(str, s->view.count)) == NULL)
		return NULL;
	/*
	 * RFC 3501 9 (seq-number): BAD for a command that uses a message
	 * sequence number greater than the number of messages, "*" in an
	 * empty mailbox included -- as Dovecot answers.  UIDs beyond the
	 * last are no error, and SEARCH has its own rule (it matches none).
	 */
	if (imap_seqset_max(set) > s->view.count ||
	    (set->star && s->view.count == 0))
		imap_set_free(&set);
	return set;
}
