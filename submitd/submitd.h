/*
 * submitd.h: guestbox-submitd: one SMTP engine, two dialects on the
 * listening side (submission, RFC 6409; LMTP, RFC 2033), and the relay
 * of the outbound queue to the smarthost.
 *
 * A session is a state machine; every change goes through
 * smtp_session_enter_state().  Commands are rows of the table in
 * smtp-commands.c, each for submission, LMTP or both, with their
 * handlers in cmd-*.c.  Work that blocks
 * (GPGME) runs on the work queue; the session waits in S_BUSY and reads
 * no further commands until it is done.
 */
#ifndef GUESTBOX_SUBMITD_H
#define GUESTBOX_SUBMITD_H

#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "conf.h"
#include "conn.h"
#include "daemon.h"
#include "group-commit.h"
#include "pgp.h"
#include "smtp-data.h"
#include "smtp-parser.h"
#include "store.h"
#include "util.h"
#include "workq.h"

/* Timeouts: smtp_timeout and smtp_data_timeout in guestbox.conf(5). */
#define SMTP_MAX_ERRORS		20	/* bad commands before we hang up */
#define SMTP_WORKERS		2	/* GPGME threads */
#define SMTP_WORK_QUEUE		64

enum smtp_state {
	S_GREETED,	/* waiting for EHLO/HELO/LHLO */
	S_READY,	/* after EHLO: MAIL may come */
	S_AUTH,		/* inside an AUTH exchange */
	S_MAIL,		/* after MAIL FROM */
	S_RCPT,		/* at least one RCPT accepted */
	S_DATA,		/* reading the message */
	S_BUSY,		/* a check or the message is being processed */
	S_QUIT,
};

#define ST(s)		(1U << (s))

struct smtp_session;

struct smtp_cmd_def {
	enum smtp_verb	 verb;
	unsigned int	 protocols;	/* 1 << enum smtp_dialect, or-ed */
	unsigned int	 states;	/* ST(...) in which it is allowed */
	void		(*handler)(struct smtp_session *, struct smtp_cmd *);
};

/* What the session core does differently for submission and LMTP. */
struct smtp_protocol {
	const char	*name;		/* in the greeting: ESMTP, LMTP */
	const char	*hello;		/* the verb that greets, for 503 */
	enum smtp_dialect dialect;	/* its rows in the command table */
	unsigned int	 ext;		/* SMTP_EXT_* it may offer */
	void		(*message)(struct smtp_session *);	/* DATA ended */
	int		 reply_per_rcpt;	/* a reply per recipient */
};

struct submitd {
	struct daemon		 daemon;
	struct workq		*work;
	struct group_commit	*commit;	/* LMTP: one flush, many replies */
	struct smtp_session	*sessions;
	struct relay		*relay;
};

/*
 * A job on the work queue (an OpenPGP key check, an encryption).  Its
 * session may end while it runs: the session sets session to NULL, and
 * the job's completion then only frees what it holds.
 */
struct smtp_job {
	struct smtp_session	*session;
};

struct smtp_rcpt {
	char		 addr[ADDR_MAX + 1];	/* normalized, or "" */
	char		 path[ADDR_MAX + 1];	/* as sent */
	char		 fpr[65];		/* submission: the key */
	uint64_t	 account_id;		/* LMTP: the mailbox */
	uint8_t		 pk[32];
	/* LMTP: a repeated RCPT is 1 + the index of its first, else 0. */
	size_t		 dup_of;
	int		 result;		/* LMTP: the delivery's result */
};

struct smtp_session {
	struct submitd		*sd;
	struct conn		*conn;
	struct listener		*listener;
	enum smtp_dialect	 dialect;
	const struct smtp_protocol *proto;
	enum smtp_state		 state;
	struct smtp_session	*prev, *next;
	struct smtp_line_reader	*lines;
	unsigned int		 errors;
	char			 helo[SMTP_DOMAIN_MAX + 1];
	int			 esmtp;

	/* Authentication (submission) */
	struct auth_req		*auth;
	uint64_t		 account_id;
	char			 address[ADDR_MAX + 1];
	struct vault_seckey	*key;
	char			*sasl_user;	/* AUTH LOGIN, between lines */
	enum { SASL_NONE, SASL_PLAIN, SASL_LOGIN_USER, SASL_LOGIN_PASS } sasl;

	/* The transaction */
	char			 mail_from[ADDR_MAX + 1];
	char			 mail_path[ADDR_MAX + 1];	/* as sent */
	int			 mail_smtputf8;	/* RFC 6531 */
	struct smtp_rcpt	*rcpts;
	size_t			 nrcpts;
	struct smtp_data	*data;
	uint8_t			*msg;		/* the unstuffed message */
	size_t			 msglen;
	size_t			 msgcap;
	uint64_t		 size_max;

	/* A job on the work queue refers to us through this. */
	struct smtp_job		*job;
};

/* smtp-session.c */
void	 smtp_session_accept(struct submitd *, struct listener *, int fd,
	    const struct sockaddr *, socklen_t, enum smtp_dialect);
void	 smtp_session_enter_state(struct smtp_session *, enum smtp_state);
void	 smtp_reply(struct smtp_session *, int code, const char *enhanced,
	    const char *fmt, ...) printflike(4, 5);
void	 smtp_reply_send(struct smtp_session *, const struct smtp_reply *);
/* Work finished: read the commands that waited. */
void	 smtp_session_resume(struct smtp_session *);
/* Forgets the transaction (RSET, after DATA). */
void	 smtp_session_reset(struct smtp_session *);
void	 smtp_session_quit(struct smtp_session *);
void	 smtp_session_shutdown(struct smtp_session *);
/* The login no longer stands (auth_login_revoked): 421 and close. */
void	 smtp_session_revoke(struct smtp_session *);
/* DATA was accepted (354 sent): read the message. */
void	 smtp_session_start_data(struct smtp_session *);
unsigned int smtp_session_ext(const struct smtp_session *);

/* smtp-commands.c */
const struct smtp_protocol *smtp_protocol_get(enum smtp_dialect);
/* The protocol's row for a verb; NULL: not implemented there. */
const struct smtp_cmd_def *smtp_command_find(const struct smtp_protocol *,
	    enum smtp_verb);

/* Handlers */
void	 cmd_hello(struct smtp_session *, struct smtp_cmd *);
void	 cmd_starttls(struct smtp_session *, struct smtp_cmd *);
void	 cmd_auth(struct smtp_session *, struct smtp_cmd *);
void	 cmd_auth_line(struct smtp_session *, const char *, size_t);
void	 cmd_mail(struct smtp_session *, struct smtp_cmd *);
void	 cmd_mail_submission(struct smtp_session *, struct smtp_cmd *);
void	 cmd_rcpt(struct smtp_session *, struct smtp_cmd *);
void	 cmd_rcpt_lmtp(struct smtp_session *, struct smtp_cmd *);
void	 cmd_rcpt_gateway(struct smtp_session *, struct smtp_cmd *);
void	 cmd_data(struct smtp_session *, struct smtp_cmd *);
void	 cmd_rset(struct smtp_session *, struct smtp_cmd *);
void	 cmd_noop(struct smtp_session *, struct smtp_cmd *);
void	 cmd_quit(struct smtp_session *, struct smtp_cmd *);
void	 cmd_vrfy(struct smtp_session *, struct smtp_cmd *);
void	 cmd_help(struct smtp_session *, struct smtp_cmd *);

/* The end of DATA: lmtp.c, submit.c and gateway.c take the message. */
void	 lmtp_deliver(struct smtp_session *);
void	 submit_message(struct smtp_session *);
void	 gateway_message(struct smtp_session *);

/*
 * gateway.c: gateway_check() checks the gateway_* keys (before the
 * listeners are bound); gateway_init() imports gateway_keyring into the
 * GnuPG home (after pgp_init).  Both return 0, or -1 with why.
 */
int	 gateway_check(const struct conf *, char *why, size_t whylen);
/*
 * wkd.c: the key of addr from the web key directory (gateway_wkd),
 * imported into the GnuPG home; blocking, for worker threads.  1: found
 * (fpr), 0: none there (why), -1: ask again later (why).
 */
int	 wkd_lookup(const struct conf *, const char *addr,
	    char fpr[PGP_FPR_MAX], char *why, size_t whylen);
int	 gateway_init(const struct conf *, struct store *, char *why,
	    size_t whylen);

/* relay.c: the smarthost client */
struct relay;
struct relay	*relay_new(struct submitd *);
void		 relay_kick(struct relay *);	/* the queue changed */
void		 relay_free(struct relay **);

/*
 * bounce.c: a delivery report (RFC 3464) into the sender's INBOX, for
 * recipients that failed for good, with the smarthost's replies.
 */
int	 bounce_deliver(struct store *, const struct conf *, uint64_t account_id,
	    const char *message_id, const char *const *addrs,
	    const char *const *replies, size_t n);

#endif
