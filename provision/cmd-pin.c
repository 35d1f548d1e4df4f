/*
 * cmd-pin.c: the sender's "check assigned PIN": the PIN, encrypted to the
 * inviting sender's key.  The server itself cannot read it.  With --new,
 * a new PIN replaces it while the invitation is unused (the sender lost
 * it, or fears it was seen): the old one stops working at once.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "provision.h"
#include "xmalloc.h"

struct pin_new {
	uint64_t		 id;
	uint8_t			 token_id[32];	/* the invitation it is for */
	const struct invite	*inv;
};

static int	pin_new_txn(struct store_txn *, void *);
static int	pin_new(struct provision *, struct store_account *);

static int
pin_new_txn(struct store_txn *txn, void *arg)
{
	struct pin_new		*pn = arg;
	struct store_account	 a;
	int			 ret;

	memset(&a, 0, sizeof(a));
	if ((ret = store_account_get(txn, pn->id, &a)) != 0)
		return ret;
	/*
	 * A reinvite or an activation between reading the account and now
	 * (gpg ran in between): the PIN was made for an invitation that is
	 * gone, and must not land on the next one.
	 */
	if (a.state != STORE_ACCT_PENDING || a.invite_unsent ||
	    sodium_memcmp(a.token_id, pn->token_id, sizeof(a.token_id)) != 0)
		ret = STORE_ESTATE;
	else {
		/* A new PIN is a fresh start: the failures were the old one's. */
		a.pin_failures = 0;
		free(a.pin_verifier);
		free(a.pin_armored);
		a.pin_verifier = xstrdup(pn->inv->pin_verifier);
		a.pin_armored = xstrdup(pn->inv->pin_armored);
		ret = store_account_update(txn, &a);
	}
	store_account_clear(&a);
	return ret;
}

/* Replaces a's PIN; a->pin_armored gets the new one. */
static int
pin_new(struct provision *pv, struct store_account *a)
{
	struct pin_new	 pn;
	struct invite	 inv;
	char		 fpr[41];
	int		 ret;

	if (a->state != STORE_ACCT_PENDING || !store_account_has_invite(a) ||
	    a->invite_unsent) {
		provision_errx(pv, "%s: %s", a->address, a->state ==
		    STORE_ACCT_PENDING && a->invite_unsent ? "its invitation "
		    "was never sent; run reinvite" : "the invitation was used "
		    "or withdrawn; a new PIN needs a new invitation (reinvite)");
		return EX_DATAERR;
	}
	if ((ret = provision_inviter_fpr(pv, a, fpr)) != EX_OK ||
	    (ret = provision_invite_pin_prepare(pv, "auto", fpr, &inv)) !=
	    EX_OK)
		return ret;
	pn.id = a->id;
	memcpy(pn.token_id, a->token_id, sizeof(pn.token_id));
	pn.inv = &inv;
	ret = store_txn_run(pv->store, pin_new_txn, &pn);
	if (ret == STORE_ESTATE) {
		provision_errx(pv, "%s: the invitation changed meanwhile; run "
		    "the command again", a->address);
		ret = EX_DATAERR;
	} else if (ret != 0)
		ret = provision_store_fail(pv, a->address, ret);
	else {
		free(a->pin_armored);
		a->pin_armored = xstrdup(inv.pin_armored);
		ret = EX_OK;
	}
	invite_clear(&inv);
	return ret;
}

static int
cmd_pin_exec(struct provision *pv, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "new", no_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	struct store_account	 a;
	int			 ch, renew = 0, ret;

	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'n':
			renew = 1;
			break;
		default:
			return provision_usage(pv, "pin");
		}
	}
	if (optind + 1 != argc)
		return provision_usage(pv, "pin");
	memset(&a, 0, sizeof(a));
	if ((ret = provision_find(pv, argv[optind], &a)) != EX_OK)
		return ret;
	if (renew) {
		if ((ret = pin_new(pv, &a)) != EX_OK) {
			store_account_clear(&a);
			return ret;
		}
	} else if (!store_account_has_invite(&a) || a.pin_armored[0] == '\0') {
		provision_errx(pv, "%s: %s", a.address,
		    !store_account_has_invite(&a) ? "the invitation was used or "
		    "withdrawn; there is no PIN any more" :
		    "the invitation has no PIN");
		store_account_clear(&a);
		return EX_DATAERR;
	}
	if (pv->json) {
		printf("{");
		json_key_str(stdout, "address", a.address, 1);
		json_key_str(stdout, "inviter", a.inviter, 1);
		json_key_str(stdout, "pin_encrypted", a.pin_armored, 0);
		printf("}\n");
	} else
		fputs(a.pin_armored, stdout);
	store_account_clear(&a);
	return EX_OK;
}

const struct provision_cmd cmd_pin = {
	.name = "pin",
	.args = "[--new] ADDR",
	.help = "print the invitation's PIN encrypted to the inviting sender's "
	    "key; --new replaces it first",
	.exec = cmd_pin_exec,
	.flags = PROVISION_PGP,
};
