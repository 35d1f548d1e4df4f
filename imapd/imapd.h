/*
 * imapd.h: guestbox-imapd's sessions and command table.
 *
 * One event loop serves every connection.  A session is a state machine
 * (RFC 3501 3: not authenticated, authenticated, selected, logout); every
 * change of state goes through imap_session_enter_state().  A command is
 * a row of the table in imap-commands.c (its states, flags, UID form,
 * continuation hooks and capability); its handler lives in the cmd-*.c
 * file of its family, and the session core names no command.
 */
#ifndef GUESTBOX_IMAPD_H
#define GUESTBOX_IMAPD_H

#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "conf.h"
#include "conn.h"
#include "daemon.h"
#include "group-commit.h"
#include "imap-outbuf.h"
#include "imap-parser.h"
#include "imap-view.h"
#include "store.h"
#include "util.h"

/*
 * Timeouts come from guestbox.conf(5): imap_login_timeout before login,
 * imap_timeout after (RFC 3501 5.4 asks for at least 30 minutes), and in
 * IDLE this much more, so a client that renews IDLE every imap_timeout
 * (RFC 2177 3) is never cut off.
 */
#define IMAP_TIMEOUT_IDLE_EXTRA	60
/* Bad commands before the connection is closed (Dovecot: 20). */
#define IMAP_MAX_BAD		20
/* Output queued before a long response pauses to let it drain. */
#define IMAP_OUTPUT_HIGH	(256 * 1024)
/* Wake an idle session this often even without a notification. */
#define IMAP_IDLE_POLL		30
/*
 * Message keys a session remembers (vault_seckey_cache_enable): a SEARCH
 * or FETCH again over the same messages skips an X25519 for each, which
 * was three quarters of the CPU under bench/bench-imap's workload.  About
 * 120 bytes each at most; dropped once a session has idled for
 * IMAP_IDLE_POLL, so that thousands of IDLE connections hold none.
 */
#define IMAP_KEY_CACHE		512

enum imap_state {
	S_NOTAUTH,
	S_AUTH,
	S_SELECTED,
	S_LOGOUT,
};

/* Bits for the states in which a command is allowed. */
#define ST_NOTAUTH	(1 << S_NOTAUTH)
#define ST_AUTH		(1 << S_AUTH)
#define ST_SELECTED	(1 << S_SELECTED)
#define ST_ANY		(ST_NOTAUTH | ST_AUTH | ST_SELECTED)
#define ST_LOGGEDIN	(ST_AUTH | ST_SELECTED)

/* What a handler (or a row's line hook) says. */
enum imap_cmd_status {
	CMD_DONE,	/* answered (tagged); next command */
	CMD_ASYNC,	/* will answer later and call imap_session_done() */
	CMD_MORE,	/* call again when the output has drained */
	CMD_LINE,	/* give the row's line hook the client's next line */
};

/*
 * Where the session is with its one command; only the session core
 * (imap-session.c) changes it, from what handlers and hooks return.
 */
enum imap_cmd_phase {
	CP_NONE,	/* no command: the next one may be read */
	CP_RUN,		/* its handler or hook is running */
	CP_ASYNC,	/* waiting for work that answers later (a login) */
	CP_MORE,	/* waiting for the output to drain (a long FETCH) */
	CP_LINE,	/* waiting for a bare line (AUTHENTICATE, IDLE) */
};

struct imap_session;
struct imap_sort_cache;

/*
 * When a row's capability words are advertised: after login, or before
 * it with or without TLS (RFC 3501 6.2, RFC 8314: no password in clear).
 */
#define CAPA_PLAIN	0x01	/* not authenticated, no TLS yet */
#define CAPA_TLS	0x02	/* not authenticated, over TLS */
#define CAPA_LOGGEDIN	0x04	/* authenticated or selected */
#define CAPA_ANY	(CAPA_PLAIN | CAPA_TLS | CAPA_LOGGEDIN)

struct imap_capa {
	const char	*words;		/* space-separated; NULL: none */
	unsigned int	 when;		/* CAPA_* */
};

/*
 * A row of the command table (imap-commands.c).  The handler sees the
 * command's own name and arguments; for the UID form (CMD_F_UID, RFC
 * 3501 6.4.8) those after "UID", with imap_session.cmd_uid set.
 */
/*
 * The function types of a row.  A cmd-*.c file declares its handlers and
 * hooks with them, and so does the table, so the two cannot disagree and
 * a new command needs no line in this header.
 */
typedef enum imap_cmd_status imap_cmd_fn(struct imap_session *,
	    const struct imap_command *);
/* After CMD_LINE: the next bare line (valid during the call). */
typedef enum imap_cmd_status imap_cmd_line_fn(struct imap_session *,
	    const char *, size_t);
/* How the parser receives a literal (see imap_literal_hook). */
typedef enum imap_literal_action imap_cmd_literal_fn(struct imap_session *,
	    const struct imap_literal_info *, struct imap_literal_sink *,
	    const char **textp);

struct imap_cmd_def {
	const char	*name;
	unsigned int	 states;	/* ST_* */
	unsigned int	 flags;		/* CMD_F_* */
	imap_cmd_fn	*handler;
	imap_cmd_line_fn *line;		/* NULL: never returns CMD_LINE */
	imap_cmd_literal_fn *literal;	/* NULL: literals in memory */
	/* What it adds to CAPABILITY. */
	struct imap_capa capa[3];
};

/*
 * RFC 3501 7.4.1: commands naming messages by sequence number must not
 * see EXPUNGE responses while they run or right after (FETCH, STORE,
 * SEARCH); their UID forms may.
 */
#define CMD_F_NO_EXPUNGE	0x01
/* Also given as "UID name ..." (RFC 3501 6.4.8, RFC 4315, RFC 6851). */
#define CMD_F_UID		0x02
/*
 * While it waits for its line, untagged updates go out at once and a
 * shutdown may end it with BYE (IDLE, RFC 2177 3).
 */
#define CMD_F_LIVE		0x04
/* Its first capability takes "=<max_message_size>" (APPENDLIMIT, RFC 7889). */
#define CMD_F_CAPA_LIMIT	0x08
/* The command may be given while another runs? Never, here. */

struct imapd {
	struct daemon		 daemon;
	struct imap_session	*sessions;	/* all of them */
	size_t			 nsessions;
	struct group_commit	*commit;	/* APPEND: one flush, many OKs */
	char			*capa_preauth;		/* plain, before STARTTLS */
	char			*capa_preauth_tls;	/* TLS, before login */
	char			*capa_auth;		/* after login */
};

struct imap_recent {
	uint32_t	 first, last;
};

struct imap_session {
	struct imapd		*imapd;
	struct conn		*conn;
	struct listener		*listener;
	enum imap_state		 state;
	struct imap_parser	*parser;
	struct imap_session	*prev, *next;
	unsigned int		 bad_count;

	/* The command being worked on (CMD_ASYNC, CMD_MORE, CMD_LINE). */
	enum imap_cmd_phase	 phase;
	const struct imap_cmd_def *cmd_def;
	const struct imap_command *cmd;	/* NULL once its line is read */
	struct imap_command	 cmd_own;	/* the UID form's, past "UID" */
	int			 cmd_uid;	/* given as "UID name" */
	char			*tag;		/* copy, for async answers */
	/*
	 * store_reads() and imap_view_steps() when it began: with -v, its
	 * end logs what it cost (tests/imapd-cost.test, issue 18).
	 */
	uint64_t		 cost_reads;
	uint64_t		 cost_steps;
	void			*cmd_state;	/* the handler's own */
	void			(*cmd_state_free)(void *);
	/* A tagged OK waiting for the log flush (imap_tagged_durable). */
	struct group_commit_waiter *commit_wait;
	char			*commit_ok;

	/* Login */
	struct auth_req		*auth;
	uint64_t		 account_id;
	char			 address[ADDR_MAX + 1];
	struct vault_seckey	*key;
	int			 revoked;	/* imap_session_revoke() */
	/* Counted in the workers' shared limits (workers.h): give back. */
	int			 counted_ip;	/* workers_count_take()'s 1 */
	uint64_t		 counted_account;

	/* Selected mailbox */
	struct imap_view	 view;
	char			*mailbox_name;	/* UTF-8 */
	/* RFC 3501 2.3.2: the UIDs that are \Recent in this session. */
	struct imap_recent	*recent;
	size_t			 nrecent;
	uint32_t		 recent_reported;	/* the last "* n RECENT" */

	/* ENABLEd extensions (RFC 5161) and what they change. */
	int			 condstore;	/* RFC 7162: MODSEQ in FETCH */
	int			 qresync;	/* VANISHED instead of EXPUNGE */

	/* SEARCH RETURN (SAVE) result (RFC 5182). */
	uint32_t		*saved;
	size_t			 nsaved;

	/* The selected mailbox's SORT and THREAD keys (imap-sort-cache.h). */
	struct imap_sort_cache	*sort_cache;
};

/* imap-session.c */
void	 imap_session_accept(struct imapd *, struct listener *, int fd,
	    const struct sockaddr *, socklen_t);
/*
 * Every change of imap_session.state: logs "old -> new"; leaving the
 * selected state forgets the mailbox; logout closes once written.
 */
void	 imap_session_enter_state(struct imap_session *, enum imap_state);
/*
 * RFC 7162 3.1: a CONDSTORE enabling command (ENABLE, a MODSEQ item or
 * key, CHANGEDSINCE, UNCHANGEDSINCE, STATUS HIGHESTMODSEQ).  The first
 * one with a mailbox selected sends OK [HIGHESTMODSEQ], as Dovecot does.
 */
void	 imap_session_condstore(struct imap_session *);
/* Waiting for a line with untagged updates going out (CMD_F_LIVE). */
int	 imap_session_live(const struct imap_session *);
/* FLAGS lists (imap-session.c); \Recent from the session's claim. */
void	 imap_write_flags(struct imap_session *, uint32_t uid, uint32_t flags,
	    uint64_t keywords);
/*
 * \Recent (RFC 3501 2.3.2): whether uid is recent in this session; the
 * UIDs first .. last become so (a claim, or what EXAMINE sees); "* n
 * RECENT" if the count changed (or always).
 */
int	 imap_session_recent(const struct imap_session *, uint32_t uid);
void	 imap_session_recent_add(struct imap_session *, uint32_t first,
	    uint32_t last);
void	 imap_session_recent_report(struct imap_session *, int always);
uint32_t imap_session_recent_count(const struct imap_session *);
void	 imap_write_mailbox_flags(struct imap_session *);
/* Ends an asynchronous command (after its tagged answer was written). */
void	 imap_session_done(struct imap_session *);
/*
 * Calls a handler that answered CMD_MORE again now: for one that waits
 * on its own work (a timer of its slices), not on the output draining.
 */
void	 imap_session_more(struct imap_session *);
/* The store changed a mailbox of this session's account. */
void	 imap_session_notify(struct imap_session *, const struct store_event *);
/* SIGTERM: BYE after the current command. */
void	 imap_session_shutdown(struct imap_session *);
/* The login no longer stands (auth_login_revoked): BYE and close. */
void	 imap_session_revoke(struct imap_session *);
/* Gives back the session's place in max_connections_per_account. */
void	 imap_session_account_put(struct imap_session *);
/*
 * Brings the selected view up to date and writes the untagged responses;
 * allow_expunge per RFC 3501 7.4.1.  Returns a store error or 0.
 */
int	 imap_session_sync(struct imap_session *, int allow_expunge);
/* Output helpers. */
void	 imap_printf(struct imap_session *, const char *, ...)
	    printflike(2, 3);
void	 imap_write(struct imap_session *, const void *, size_t);
/* "TAG OK|NO|BAD text" for the current command. */
void	 imap_tagged(struct imap_session *, const char *status,
	    const char *fmt, ...) printflike(3, 4);
/* A store error as a tagged NO with an RFC 5530 response code. */
void	 imap_tagged_store_error(struct imap_session *, int err);
/*
 * After a store_txn_run_nosync() commit: the tagged OK with this text
 * goes out once a log flush covers the commit, or NO [UNAVAILABLE] if
 * the flush fails.  The handler returns what this returns (CMD_ASYNC).
 */
enum imap_cmd_status imap_tagged_durable(struct imap_session *,
	    const char *fmt, ...) printflike(2, 3);
/* An IMAP string: quoted if it can be, a literal otherwise. */
void	 imap_write_string(struct imap_session *, const char *, size_t);
void	 imap_write_astring(struct imap_session *, const char *);
/* A mailbox name (UTF-8) on the wire, in modified UTF-7. */
void	 imap_write_mailbox(struct imap_session *, const char *utf8);
/* The current capability string for the session's state. */
const char *imap_capabilities(const struct imap_session *);
/* Output is above the high-water mark: a long response should pause. */
int	 imap_output_full(const struct imap_session *);
/* Runs fn in a store transaction; errors are logged. */
int	 imap_txn(struct imap_session *, store_txn_fn, void *);
/*
 * imap_txn() committed without waiting for the disk (group commit): its
 * OK goes out only through imap_tagged_durable().
 */
int	 imap_txn_nosync(struct imap_session *, store_txn_fn, void *);
/* Logs what a store transaction returned, as imap_txn does; returns it. */
int	 imap_txn_result(struct imap_session *, int ret);

/* imap-commands.c */
/*
 * The row of a command, case-insensitively by its exact name (RFC 3501
 * 9).  "UID name" finds the row of name if it has CMD_F_UID: *uidp is
 * then set and *argsp moves past name.  NULL if there is none (*uidp set
 * if it was a UID form; *argsp left alone).
 */
const struct imap_cmd_def *imap_command_find(const char *name,
	    const struct imap_arg **argsp, int *uidp);
/* CAPABILITY for CAPA_PLAIN, CAPA_TLS or CAPA_LOGGEDIN (caller frees). */
char	*imap_commands_capability(unsigned int when, uint64_t limit);

/* STATUS items (cmd-status.c), shared with LIST-STATUS. */
#define STATUS_MESSAGES		0x01
#define STATUS_RECENT		0x02
#define STATUS_UIDNEXT		0x04
#define STATUS_UIDVALIDITY	0x08
#define STATUS_UNSEEN		0x10
#define STATUS_HIGHESTMODSEQ	0x20
#define STATUS_SIZE		0x40
#define STATUS_DELETED		0x80	/* RFC 9208 4.2.1 */
#define STATUS_DELETED_STORAGE	0x100	/* RFC 9208 4.2.2 */
int	 imap_status_items(const struct imap_arg *, unsigned int *itemsp);
void	 imap_status_write(struct imap_session *, const struct store_mailbox *,
	    unsigned int items);

/*
 * SEARCHRES (RFC 5182): the saved result is kept as UIDs; "$" in a
 * command gives it as UIDs or as sequence numbers.
 */
struct imap_seqset;
/*
 * Sets of numbers (imap-seqset.h) on the heap: parsed (NULL on bad
 * syntax), made from a sorted list, freed; a list written as a set.
 */
struct imap_seqset *imap_set_parse(const char *, uint32_t star);
struct imap_seqset *imap_set_from(const uint32_t *, size_t);
void	 imap_set_free(struct imap_seqset **);
void	 imap_set_write_list(struct evbuffer *, const uint32_t *, size_t);
/*
 * A list in its own order as a sequence-set (RFC 5267 ESORT's ALL,
 * RFC 4315 APPENDUID of a MULTIAPPEND): runs ascending by one become
 * ranges, nothing is reordered.
 */
void	 imap_write_ordered_list(struct evbuffer *, const uint32_t *, size_t);
void	 imap_save_result(struct imap_session *, const uint32_t *, size_t n,
	    int uid_mode);
struct imap_seqset *imap_saved_set(struct imap_session *, int uid_mode);
/*
 * The sequence-set argument of FETCH, STORE, COPY and MOVE, "*" being the
 * last message or UID (RFC 3501 9), "$" the saved result (RFC 5182 2);
 * NULL if it is none, or names a message number beyond the mailbox (the
 * caller answers BAD).
 */
struct imap_seqset *imap_set_arg(struct imap_session *, const char *,
	    int uid_mode);

/* Mailbox names (cmd-mailbox.c) */
/*
 * Decodes a client's mailbox argument to UTF-8 (caller frees); NULL with
 * *why when it is no name we can hold: answer imap_mailbox_refuse().
 */
char	*imap_mailbox_arg(struct imap_session *, const char *wire,
	    const char **whyp);
/*
 * The answer to a name imap_mailbox_arg() refused: a well-formed
 * argument, so NO, not BAD; [CANNOT] (RFC 5530 3), as Dovecot answers.
 */
void	 imap_mailbox_refuse(struct imap_session *, const char *why);

#endif
