/*
 * cmd-unlock.c: reset the failed PIN attempts of an invitation, so that
 * the same link works again.
 */
#include "config.h"

#include "provision.h"

static int
unlock_change(struct store_account *a, const struct conf *cf,
    const char **whyp)
{
	if (!store_account_has_invite(a)) {
		*whyp = "it has no open invitation (use reinvite)";
		return STORE_ESTATE;
	}
	a->pin_failures = 0;
	return 0;
}

static int
cmd_unlock_exec(struct provision *pv, int argc, char **argv)
{
	if (argc != 2)
		return provision_usage(pv, "unlock");
	return provision_modify(pv, argv[1], unlock_change,
	    "invitation unlocked");
}

const struct provision_cmd cmd_unlock = {
	.name = "unlock",
	.args = "ADDR",
	.help = "reset the failed PIN attempts so the invitation link works again",
	.exec = cmd_unlock_exec,
};
