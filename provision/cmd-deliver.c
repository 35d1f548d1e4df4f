/*
 * cmd-deliver.c: the local delivery agent: one message on stdin into a
 * mailbox's INBOX.  Exit codes follow sysexits(3) so that an MTA retries
 * EX_TEMPFAIL and bounces the rest.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <sodium.h>

#include "doorbell.h"
#include "provision.h"
#include "util.h"
#include "xmalloc.h"

/* Seconds inside Berkeley DB behind a dead process before we leave. */
#define CMD_DELIVER_STUCK_SECS	2
/*
 * No run lasts longer (seconds): past it, the LDA leaves with
 * EX_TEMPFAIL and the MTA tries again later, or with EX_OK if the
 * message is stored already (a close that waits for a dead process).
 */
#define CMD_DELIVER_MAX_SECS	4

static volatile sig_atomic_t	cmd_deliver_status = EX_TEMPFAIL;

static void
cmd_deliver_overdue(int sig)
{
	(void)sig;
	_exit(cmd_deliver_status);
}

struct deliver_find {
	const char		*recipient;
	struct store_account	 acct;
};

/* Find the account (its public key seals the message) outside the write. */
static int
cmd_deliver_find(struct store_txn *txn, void *arg)
{
	struct deliver_find	*f = arg;

	return store_account_find(txn, f->recipient, &f->acct);
}

static int
cmd_deliver_exec(struct provision *pv, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "recipient", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	struct deliver_find	 f;
	struct store_delivery	 d;
	const char		*rarg = NULL;
	char			 rcpt[ADDR_MAX + 1], *raw, *msg;
	size_t			 rawlen, len;
	int			 ch, ret;

	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (ch != 'r')
			return provision_usage(pv, "deliver");
		rarg = optarg;
	}
	if (optind != argc || rarg == NULL)
		return provision_usage(pv, "deliver");
	if (provision_addr(rarg, rcpt) == -1)
		return EX_NOUSER;	/* no such mailbox can exist */
	/*
	 * Standard input as opened by the MTA, not /dev/stdin: after the
	 * privilege drop we may not open the caller's file again.
	 */
	if (fd_read_all(STDIN_FILENO, pv->conf->max_message_size, &raw,
	    &rawlen) == -1) {
		if (errno == EFBIG) {
			provision_errx(pv, "message larger than %llu bytes "
			    "(max_message_size)",
			    (unsigned long long)pv->conf->max_message_size);
			return EX_DATAERR;
		}
		provision_errx(pv, "reading the message: %s", strerror(errno));
		return EX_TEMPFAIL;
	}
	if (rawlen == 0) {
		provision_errx(pv, "the message is empty");
		free(raw);
		return EX_DATAERR;
	}
	msg = crlf_normalize(raw, rawlen, &len);
	free(raw);
	/* The limit holds for what is stored, CRLF line ends included. */
	if (len > pv->conf->max_message_size) {
		provision_errx(pv, "message larger than %llu bytes "
		    "(max_message_size)",
		    (unsigned long long)pv->conf->max_message_size);
		free(msg);
		return EX_DATAERR;
	}
	/*
	 * Stuck on the lock of an LDA that the MTA killed: leave soon with
	 * EX_TEMPFAIL, and the MTA tries again, rather than wait for a
	 * recovery that another opener makes.
	 */
	pv->stuck_secs = CMD_DELIVER_STUCK_SECS;
	signal(SIGALRM, cmd_deliver_overdue);
	alarm(CMD_DELIVER_MAX_SECS);
	if (provision_store(pv) == NULL) {
		free(msg);
		return EX_TEMPFAIL;
	}
	memset(&f, 0, sizeof(f));
	f.recipient = rcpt;
	ret = store_txn_run(pv->store, cmd_deliver_find, &f);
	if (ret != 0) {
		store_account_clear(&f.acct);
		sodium_memzero(msg, len);
		free(msg);
		if (ret != STORE_ENOTFOUND)
			return EX_TEMPFAIL;
		provision_errx(pv, "%s: no such mailbox", rcpt);
		return EX_NOUSER;
	}
	memset(&d, 0, sizeof(d));
	d.account_id = f.acct.id;
	d.pk = f.acct.pk;
	d.filed = doorbell_filed;
	d.filed_arg = pv->conf;
	ret = store_deliver_message(pv->store, &d, msg, len);
	sodium_memzero(msg, len);
	free(msg);
	if (ret == 0) {
		/* Stored: whatever happens from now on, do not send it again. */
		cmd_deliver_status = EX_OK;
		store_set_exit_status(EX_OK);
	}
	switch (ret) {
	case 0:
		if (pv->json)
			printf("{\"address\":\"%s\",\"uid\":%u,\"size\":%llu}\n",
			    rcpt, d.ap.msg.uid, (unsigned long long)d.ap.msg.size);
		ret = EX_OK;
		break;
	case STORE_ESTATE:
		provision_errx(pv, "%s: mailbox %s", rcpt,
		    d.state == STORE_ACCT_DISABLED ? "disabled" :
		    "being deleted or re-invited; try again");
		ret = d.state == STORE_ACCT_DISABLED ? EX_UNAVAILABLE :
		    EX_TEMPFAIL;
		break;
	case STORE_ELIMIT:
		provision_errx(pv, "%s: mailbox full", rcpt);
		ret = EX_CANTCREAT;
		break;
	default:
		provision_errx(pv, "%s: %s; try again later", rcpt,
		    store_strerror(ret));
		ret = EX_TEMPFAIL;
		break;
	}
	store_account_clear(&f.acct);
	return ret;
}

const struct provision_cmd cmd_deliver = {
	.name = "deliver",
	.args = "--recipient ADDR < message",
	.help = "deliver one message from standard input (local delivery agent)",
	.exec = cmd_deliver_exec,
};
