/*
 * cmd-disable.c: disable and enable a mailbox.  A disabled mailbox takes
 * no mail and no logins; its mail and keys stay until it expires.
 */
#include "config.h"

#include <stdio.h>

#include "provision.h"

static int
disable_change(struct store_account *a, const struct conf *cf,
    const char **whyp)
{
	if (a->state == STORE_ACCT_DELETING) {
		*whyp = "it is being deleted";
		return STORE_ESTATE;
	}
	if (a->state == STORE_ACCT_DISABLED)
		*whyp = "it was disabled already";
	a->state = STORE_ACCT_DISABLED;
	return 0;
}

static int
enable_change(struct store_account *a, const struct conf *cf,
    const char **whyp)
{
	if (a->state == STORE_ACCT_DELETING) {
		*whyp = "it is being deleted";
		return STORE_ESTATE;
	}
	/* As disable twice is fine, so is enable twice. */
	if (a->state != STORE_ACCT_DISABLED) {
		*whyp = "it was not disabled";
		return 0;
	}
	/* Back to what its keys say it is. */
	a->state = a->kek_kind == VAULT_KEK_PASSWORD ? STORE_ACCT_ACTIVE :
	    STORE_ACCT_PENDING;
	return 0;
}

static int
cmd_disable_exec(struct provision *pv, int argc, char **argv)
{
	if (argc != 2)
		return provision_usage(pv, "disable");
	return provision_modify(pv, argv[1], disable_change, "disabled");
}

static int
cmd_enable_exec(struct provision *pv, int argc, char **argv)
{
	if (argc != 2)
		return provision_usage(pv, "enable");
	return provision_modify(pv, argv[1], enable_change, "enabled");
}

const struct provision_cmd cmd_disable = {
	.name = "disable",
	.args = "ADDR",
	.help = "refuse logins and deliveries for a mailbox, keeping its mail",
	.exec = cmd_disable_exec,
};

const struct provision_cmd cmd_enable = {
	.name = "enable",
	.args = "ADDR",
	.help = "undo disable",
	.exec = cmd_enable_exec,
};
