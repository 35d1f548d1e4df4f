/*
 * provision.h: guestbox-provision, the admin CLI and LDA.
 *
 * Each sub-command lives in its own cmd-*.c and is one row of the table in
 * provision.c.  A command returns a sysexits(3) code; it prints data on
 * stdout (as JSON with --json) and problems on stderr.
 */
#ifndef GUESTBOX_PROVISION_H
#define GUESTBOX_PROVISION_H

#include <stdio.h>
#include <sysexits.h>
#include <time.h>

#include "conf.h"
#include "invite.h"
#include "store.h"

struct provision {
	struct conf	*conf;
	/*
	 * A file named on the command line, read before the privilege drop
	 * (root may be the only one who can read it); see provision_input().
	 */
	const char	*input_name;
	char		*input;
	size_t		 inputlen;
	int		 input_errno;
	struct store	*store;		/* opened by provision_store() */
	/* Set before provision_store(): see store_options.stuck_secs. */
	unsigned	 stuck_secs;
	int		 json;
	int		 pgp;		/* PROVISION_PGP: pgp_init() ran */
	const char	*progname;
	/* Started as root and switched to user (guestbox.conf(5)), or NULL. */
	const char	*switched_to;
};

struct provision_cmd {
	const char	*name;
	const char	*args;		/* for the usage line */
	const char	*help;
	int		(*exec)(struct provision *, int argc, char **argv);
	int		 flags;
	/* The option naming an input file ("" for the first argument). */
	const char	*input_option;
};

/*
 * The command uses GnuPG.  Starting GPGME runs five helper processes, so
 * commands on the delivery path do not ask for it.
 */
#define PROVISION_PGP	0x01

/*
 * The command's input file as read before the privilege drop; -1 with
 * a message naming it if it could not be read.
 */
int		 provision_input(struct provision *, const char *path,
		    const char **bufp, size_t *lenp);

/* Opens the store on first use; NULL (with a message) if it cannot. */
struct store	*provision_store(struct provision *);
/* The store options from the config file. */
void		 provision_store_options(const struct conf *,
		    struct store_options *);
/* The mailbox names from the config file. */
void		 provision_mailbox_names(const struct conf *,
		    struct store_mailbox_names *);

/* Maps a store error to an exit code, printing what happened. */
int		 provision_store_fail(struct provision *, const char *what, int err);
/* The same for an error about the mailbox of addr: EX_NOUSER if none. */
int		 provision_account_fail(struct provision *, const char *addr,
		    int err);
/* Normalizes an address argument or prints why not (returns -1). */
int		 provision_addr(const char *arg, char *out);
/*
 * What a command about one mailbox does first: provision_addr() into
 * addr (ADDR_MAX + 1 bytes), then the store opened.  EX_OK, or the exit
 * code with the reason printed.
 */
int		 provision_account_open(struct provision *, const char *arg,
		    char *addr);
/* Finds an account by address; prints and returns EX_NOUSER if unknown. */
int		 provision_find(struct provision *, const char *arg,
		    struct store_account *);
/*
 * Changes one account in a transaction: change() edits the record and
 * returns 0 to have it written, or a store error (STORE_ESTATE with a
 * reason in *whyp for a refusal).  Prints what happened; returns an exit
 * code.
 */
int		 provision_modify(struct provision *, const char *addr_arg,
		    int (*change)(struct store_account *, const struct conf *,
		    const char **whyp), const char *done);

/* Error and usage output. */
void		 provision_errx(struct provision *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
int		 provision_usage(struct provision *, const char *cmd);

/*
 * Output produced inside a transaction is buffered, because a retried
 * transaction must not print twice: outbuf_reset() at the start of the
 * transaction function, outbuf_emit() once it committed.
 */
struct outbuf {
	FILE		*fp;
	char		*buf;
	size_t		 len;
};
FILE		*outbuf_reset(struct outbuf *);
void		 outbuf_emit(struct outbuf *, int print);

/* Minimal JSON output. */
void		 json_str(FILE *, const char *);
void		 json_key_str(FILE *, const char *key, const char *val, int comma);
void		 json_key_num(FILE *, const char *key, long long val, int comma);
void		 json_key_time(FILE *, const char *key, time_t val, int comma);

/* invite_prepare() (invite.h), its errors printed and as exit codes. */
int		 provision_invite_prepare(struct provision *, const char *pinmode,
		    const char *inviter_fpr, struct invite *);
/* invite_pin_prepare() (invite.h) the same way. */
int		 provision_invite_pin_prepare(struct provision *,
		    const char *pinmode, const char *inviter_fpr,
		    struct invite *);
/* The fingerprint of the key of a's inviter (the PIN is encrypted to it). */
int		 provision_inviter_fpr(struct provision *,
		    const struct store_account *, char fpr[41]);
/* removed: messages a reinvite removed, -1 for a new mailbox. */
void		 invite_print(struct provision *, const struct store_account *,
		    const struct invite *, long long removed);
/* Where an invitation goes. */
enum invite_output {
	INVITE_OUT_LINK,	/* no smarthost: print the link (as before) */
	INVITE_OUT_PRINT,	/* --print: the whole message on stdout */
	INVITE_OUT_SEND,	/* through the smarthost */
};
/*
 * Checks --sender-name, sets where the invitation goes (print: --print)
 * and loads *im for a message; EX_OK, or an exit code with the reason
 * printed.  *im is always fit for invite_mail_clear().
 */
int		 provision_invite_begin(struct provision *, int print,
		    const char *sender_name, enum invite_output *,
		    struct invite_mail *);
/*
 * Prints or sends the invitation; returns an exit code.  removed is as
 * for invite_print().
 */
int		 invite_mail_deliver(struct provision *,
		    const struct invite_mail *, enum invite_output,
		    const struct store_account *, const struct invite *,
		    const char *sender, const char *sender_name, long long removed);
void		 invite_mail_report(struct provision *,
		    const struct store_account *, const struct invite *,
		    int printed);
/* Through the smarthost; EX_OK, or EX_TEMPFAIL with a message printed. */
int		 invite_mail_send(struct provision *, const struct store_account *,
		    const char *msg, size_t len);

extern const struct provision_cmd cmd_add_key;
extern const struct provision_cmd cmd_backup;
extern const struct provision_cmd cmd_check;
extern const struct provision_cmd cmd_create;
extern const struct provision_cmd cmd_delete;
extern const struct provision_cmd cmd_deliver;
extern const struct provision_cmd cmd_disable;
extern const struct provision_cmd cmd_enable;
extern const struct provision_cmd cmd_expire;
extern const struct provision_cmd cmd_list;
extern const struct provision_cmd cmd_pin;
extern const struct provision_cmd cmd_queue;
extern const struct provision_cmd cmd_reinvite;
extern const struct provision_cmd cmd_repl;
extern const struct provision_cmd cmd_show;
extern const struct provision_cmd cmd_unlock;
extern const struct provision_cmd cmd_notices;

#endif
