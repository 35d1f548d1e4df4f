/*
 * cmd-add-key.c: import OpenPGP public keys of people a mailbox may write
 * to, into the GnuPG home of the state directory.
 */
#include "config.h"

#include <stdio.h>
#include <unistd.h>

#include "pgp.h"
#include "provision.h"
#include "pubkeys.h"

static int
cmd_add_key_exec(struct provision *pv, int argc, char **argv)
{
	char		 fpr[PGP_FPR_MAX], why[512];
	const char	*keydata;
	size_t		 keylen;

	if (argc != 2)
		return provision_usage(pv, "add-key");
	if (provision_input(pv, argv[1], &keydata, &keylen) == -1)
		return EX_NOINPUT;
	if (provision_store(pv) == NULL)
		return EX_TEMPFAIL;
	/* Into the store, kept as an admin's; the GnuPG home gets a copy. */
	if (pubkeys_pin(pv->store, argv[1], keydata, keylen, fpr,
	    sizeof(fpr), NULL, why, sizeof(why)) == -1) {
		provision_errx(pv, "%s", why);
		return EX_DATAERR;
	}
	if (pv->json) {
		printf("{");
		json_key_str(stdout, "fingerprint", fpr, 0);
		printf("}\n");
	} else
		printf("imported %s\n", fpr);
	return EX_OK;
}

const struct provision_cmd cmd_add_key = {
	.name = "add-key",
	.args = "FILE",
	.help = "import OpenPGP public keys mailboxes may encrypt to",
	.exec = cmd_add_key_exec,
	.flags = PROVISION_PGP,
	.input_option = "",
};
