/*
 * cmd-create.c: create a temporary mailbox, or add a correspondent to an
 * existing one.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pgp.h"
#include "provision.h"
#include "util.h"
#include "xmalloc.h"

struct create {
	struct provision	*pv;
	const char		*recipient;
	const char		*sender;
	const char		*fpr;
	char			*keydata;	/* the key's minimal export */
	size_t			 keylen;
	const struct invite	*inv;
	struct store_account	 acct;
	int			 existed;
};

static int
cmd_create_txn(struct store_txn *txn, void *arg)
{
	struct create			*cr = arg;
	struct store_mailbox_names	 names;
	int				 ret;

	cr->existed = 0;
	ret = store_account_find(txn, cr->recipient, &cr->acct);
	if (ret == 0) {
		/* SPEC 1: never a second mailbox; the sender joins this one. */
		if (cr->acct.state == STORE_ACCT_DELETING)
			return STORE_ESTATE;
		cr->existed = 1;
		return store_corr_put(txn, cr->acct.id, cr->sender, cr->fpr,
		    cr->keydata, cr->keylen);
	}
	if (ret != STORE_ENOTFOUND)
		return ret;
	store_account_clear(&cr->acct);
	cr->acct.address = xstrdup(cr->recipient);
	cr->acct.inviter = xstrdup(cr->sender);
	cr->acct.state = STORE_ACCT_PENDING;
	invite_apply(cr->pv->conf, cr->inv, &cr->acct, store_txn_now(txn));
	provision_mailbox_names(cr->pv->conf, &names);
	if ((ret = store_account_create(txn, &cr->acct, cr->inv->token, &names,
	    NULL)) != 0)
		return ret;
	return store_corr_put(txn, cr->acct.id, cr->sender, cr->fpr,
	    cr->keydata, cr->keylen);
}

static int
cmd_create_exec(struct provision *pv, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "recipient", required_argument, NULL, 'r' },
		{ "sender", required_argument, NULL, 's' },
		{ "sender-key", required_argument, NULL, 'k' },
		{ "pin", required_argument, NULL, 'p' },
		{ "json", no_argument, NULL, 'j' },
		{ "print", no_argument, NULL, 'P' },
		{ "sender-name", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	struct create	 cr;
	struct invite	 inv;
	struct invite_mail im;
	enum invite_output out;
	const char	*rarg = NULL, *sarg = NULL, *keyfile = NULL;
	const char	*pinmode = "auto", *sender_name = NULL;
	int		 print = 0;
	char		 rcpt[ADDR_MAX + 1], sender[ADDR_MAX + 1];
	char		 fpr[PGP_FPR_MAX], why[512];
	const char	*keydata;
	size_t		 keylen;
	int		 ch, ret;

	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'r':
			rarg = optarg;
			break;
		case 's':
			sarg = optarg;
			break;
		case 'k':
			keyfile = optarg;
			break;
		case 'p':
			pinmode = optarg;
			break;
		case 'j':
			pv->json = 1;
			break;
		case 'P':
			print = 1;
			break;
		case 'n':
			sender_name = optarg;
			break;
		default:
			return provision_usage(pv, "create");
		}
	}
	if (optind != argc || rarg == NULL || sarg == NULL || keyfile == NULL)
		return provision_usage(pv, "create");
	if (provision_addr(rarg, rcpt) == -1 || provision_addr(sarg, sender) == -1)
		return EX_DATAERR;
	if (strcmp(rcpt, sender) == 0) {
		provision_errx(pv, "the recipient and the sender are the same "
		    "address");
		return EX_DATAERR;
	}
	if ((ret = provision_invite_begin(pv, print, sender_name, &out,
	    &im)) != EX_OK)
		return ret;
	/* The key first: without a usable key there is nothing to reply to. */
	if (provision_input(pv, keyfile, &keydata, &keylen) == -1) {
		invite_mail_clear(&im);
		return EX_NOINPUT;
	}
	/*
	 * The store first: opening it completes the GnuPG home from it
	 * (daemon/pubkeys.c), which must not take this key for an admin's.
	 */
	if (provision_store(pv) == NULL) {
		invite_mail_clear(&im);
		return EX_TEMPFAIL;
	}
	if (pgp_import_mem(keyfile, keydata, keylen, sender, fpr, why,
	    sizeof(why)) == -1) {
		provision_errx(pv, "%s", why);
		invite_mail_clear(&im);
		return EX_DATAERR;
	}
	if ((ret = provision_invite_prepare(pv, pinmode, fpr, &inv)) != EX_OK) {
		invite_mail_clear(&im);
		return ret;
	}
	memset(&cr, 0, sizeof(cr));
	cr.pv = pv;
	cr.recipient = rcpt;
	cr.sender = sender;
	cr.fpr = fpr;
	cr.inv = &inv;
	/* The key goes into the store: the GnuPG home is its cache. */
	why[0] = '\0';
	if (pgp_export_key(fpr, &cr.keydata, &cr.keylen, why,
	    sizeof(why)) != 0) {
		provision_errx(pv, "%s", why[0] != '\0' ? why : "the key "
		    "just imported is gone");
		invite_clear(&inv);
		invite_mail_clear(&im);
		return EX_TEMPFAIL;
	}
	ret = store_txn_run(pv->store, cmd_create_txn, &cr);
	free(cr.keydata);
	if (ret == STORE_ESTATE) {
		provision_errx(pv, "%s is being deleted; run \"guestbox-provision "
		    "delete %s\" to finish, then create it again", rcpt, rcpt);
		ret = EX_TEMPFAIL;
	} else if (ret != 0)
		ret = provision_store_fail(pv, rcpt, ret);
	else if (cr.existed) {
		if (pv->json) {
			printf("{");
			json_key_str(stdout, "address", rcpt, 1);
			json_key_str(stdout, "correspondent", sender, 1);
			json_key_str(stdout, "fingerprint", fpr, 1);
			printf("\"created\":false}\n");
		} else
			printf("%s has a mailbox already; %s (key %s) can now "
			    "write to it and be written to\n", rcpt, sender, fpr);
		ret = EX_OK;
	} else if ((ret = invite_mail_deliver(pv, &im, out, &cr.acct, &inv,
	    sender, sender_name, -1)) != EX_OK) {
		/*
		 * Nobody could ever reach a mailbox whose only link was lost,
		 * and the token exists nowhere else: take the mailbox back.
		 */
		if (store_account_purge(pv->store, cr.acct.id, NULL) == 0)
			provision_errx(pv, "%s was not created; run create again "
			    "once the smarthost works", rcpt);
		else
			provision_errx(pv, "%s could not be removed again; run "
			    "\"guestbox-provision delete %s\"", rcpt, rcpt);
		ret = EX_TEMPFAIL;
	}
	store_account_clear(&cr.acct);
	invite_clear(&inv);
	invite_mail_clear(&im);
	return ret;
}

const struct provision_cmd cmd_create = {
	.name = "create",
	.args = "--recipient ADDR --sender ADDR --sender-key FILE "
	    "[--pin auto|none|DIGITS] [--sender-name NAME] [--print]",
	.help = "create a temporary mailbox, or add a sender to an existing one",
	.exec = cmd_create_exec,
	.flags = PROVISION_PGP,
	.input_option = "--sender-key",
};
