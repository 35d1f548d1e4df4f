/*
 * cmd-pin.c: the sender's "check assigned PIN": the PIN, encrypted to the
 * inviting sender's key.  The server itself cannot read it.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "provision.h"

static int
cmd_pin_exec(struct provision *pv, int argc, char **argv)
{
	struct store_account	 a;
	int			 ret;

	if (argc != 2)
		return provision_usage(pv, "pin");
	memset(&a, 0, sizeof(a));
	if ((ret = provision_find(pv, argv[1], &a)) != EX_OK)
		return ret;
	if (!store_account_has_invite(&a) || a.pin_armored[0] == '\0') {
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
	.args = "ADDR",
	.help = "print the invitation's PIN encrypted to the inviting sender's key",
	.exec = cmd_pin_exec,
};
