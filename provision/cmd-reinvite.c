/*
 * cmd-reinvite.c: a new invitation with a new key pair.
 *
 * The old secret key is wrapped under a token or password the server does
 * not have, so mail sealed to the old key can never be opened again: it
 * is removed, and the command says how much.  For an active mailbox this
 * is the only way back after a forgotten password, so it takes --force.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provision.h"
#include "util.h"
#include "xmalloc.h"

struct reinvite {
	struct provision	*pv;
	uint64_t		 id;
	const struct invite	*inv;
	int			 force;
	struct store_account	 acct;
	uint64_t		 removed;
};

static int
cmd_reinvite_txn(struct store_txn *txn, void *arg)
{
	struct reinvite			*ri = arg;
	struct store_account		*a = &ri->acct;
	struct store_mailbox_names	 names;
	int				 ret;

	if ((ret = store_account_get(txn, ri->id, a)) != 0)
		return ret;
	if (a->state == STORE_ACCT_DELETING ||
	    (a->state != STORE_ACCT_PENDING && !ri->force))
		return STORE_ESTATE;
	provision_mailbox_names(ri->pv->conf, &names);
	if ((ret = store_account_reset(txn, a, &names, &ri->removed)) != 0)
		return ret;
	store_account_rekey(a, ri->inv->token, NULL);
	invite_apply(ri->pv->conf, ri->inv, a, store_txn_now(txn));
	a->state = STORE_ACCT_PENDING;
	a->activated = 0;
	/*
	 * A fresh start: without this an idle account would expire as idle
	 * (expire_days) long before its new invitation does (invite_days).
	 */
	a->last_activity = store_txn_now(txn);
	return store_account_update(txn, a);
}

struct reinvite_inviter {
	uint64_t	 id;
	const char	*inviter;
	char		 fpr[sizeof(((struct store_corr *)0)->fingerprint)];
};

/* The inviter's key: the PIN is encrypted to it. */
static int
cmd_reinvite_corr(struct store_txn *txn, void *arg)
{
	struct reinvite_inviter	*ri = arg;
	struct store_corr	 c;
	int			 ret;

	memset(&c, 0, sizeof(c));
	if ((ret = store_corr_get(txn, ri->id, ri->inviter, &c)) != 0)
		return ret;
	memcpy(ri->fpr, c.fingerprint, sizeof(ri->fpr));
	store_corr_clear(&c);
	return 0;
}

static int
cmd_reinvite_exec(struct provision *pv, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "pin", required_argument, NULL, 'p' },
		{ "force", no_argument, NULL, 'f' },
		{ "print", no_argument, NULL, 'P' },
		{ "sender-name", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	struct invite_mail	 im;
	enum invite_output	 out;
	const char		*sender_name = NULL;
	int			 print = 0;
	struct reinvite		 ri;
	struct store_account	 a;
	struct reinvite_inviter	 who;
	struct invite		 inv;
	const char		*pinmode = "auto";
	int			 ch, ret;

	memset(&ri, 0, sizeof(ri));
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'p':
			pinmode = optarg;
			break;
		case 'f':
			ri.force = 1;
			break;
		case 'P':
			print = 1;
			break;
		case 'n':
			sender_name = optarg;
			break;
		default:
			return provision_usage(pv, "reinvite");
		}
	}
	if (optind + 1 != argc)
		return provision_usage(pv, "reinvite");
	if ((ret = provision_invite_begin(pv, print, sender_name, &out,
	    &im)) != EX_OK)
		return ret;
	memset(&a, 0, sizeof(a));
	if ((ret = provision_find(pv, argv[optind], &a)) != EX_OK) {
		invite_mail_clear(&im);
		return ret;
	}
	if (a.state == STORE_ACCT_DELETING) {
		provision_errx(pv, "%s is being deleted; run \"guestbox-provision "
		    "delete %s\" to finish", a.address, a.address);
		store_account_clear(&a);
		invite_mail_clear(&im);
		return EX_DATAERR;
	}
	if (a.state != STORE_ACCT_PENDING && !ri.force) {
		provision_errx(pv, "%s is %s: a new invitation %sreplaces its "
		    "keys%s and deletes all its mail; add --force if that is "
		    "what %s", a.address, store_account_state_name(a.state),
		    a.state == STORE_ACCT_DISABLED ? "enables it again, " : "",
		    a.kek_kind == VAULT_KEK_PASSWORD ? " and its password" : "",
		    a.state == STORE_ACCT_DISABLED ? "you want" :
		    "its owner asked for");
		store_account_clear(&a);
		invite_mail_clear(&im);
		return EX_DATAERR;
	}
	/* The PIN goes encrypted to whoever invited first. */
	ri.id = a.id;
	who.id = a.id;
	who.inviter = a.inviter;
	ret = store_txn_run(pv->store, cmd_reinvite_corr, &who);
	if (ret != 0) {
		provision_errx(pv, "%s: the inviter %s is no correspondent any "
		    "more: %s", a.address, a.inviter, store_strerror(ret));
		store_account_clear(&a);
		invite_mail_clear(&im);
		return EX_DATAERR;
	}
	ret = provision_invite_prepare(pv, pinmode, who.fpr, &inv);
	store_account_clear(&a);
	if (ret != EX_OK) {
		invite_mail_clear(&im);
		return ret;
	}
	ri.pv = pv;
	ri.inv = &inv;
	ret = store_txn_run(pv->store, cmd_reinvite_txn, &ri);
	if (ret == STORE_ESTATE) {
		provision_errx(pv, "%s: %s", ri.acct.address,
		    ri.acct.state == STORE_ACCT_DELETING ? "it is being deleted" :
		    "its state changed meanwhile; add --force");
		ret = EX_DATAERR;
	} else if (ret != 0)
		ret = provision_store_fail(pv, "reinvite", ret);
	else {
		if (!pv->json)
			fprintf(out == INVITE_OUT_PRINT ? stderr : stdout,
			    "%llu messages removed: they were sealed to the "
			    "old key\n", (unsigned long long)ri.removed);
		/* The sender of the new mail is whoever invited first. */
		if ((ret = invite_mail_deliver(pv, &im, out, &ri.acct, &inv,
		    ri.acct.inviter, sender_name, (long long)ri.removed)) != EX_OK) {
			/* The old link is void already; only a new one helps. */
			provision_errx(pv, "%s: the new invitation is in place "
			    "but did not reach the recipient; run reinvite "
			    "again once the smarthost works", ri.acct.address);
			ret = EX_TEMPFAIL;
		}
	}
	store_account_clear(&ri.acct);
	invite_clear(&inv);
	invite_mail_clear(&im);
	return ret;
}

const struct provision_cmd cmd_reinvite = {
	.name = "reinvite",
	.args = "[--pin auto|none|DIGITS] [--force] [--sender-name NAME] "
	    "[--print] ADDR",
	.help = "issue a new invitation with new keys (mail so far is removed)",
	.exec = cmd_reinvite_exec,
	.flags = PROVISION_PGP,
};
