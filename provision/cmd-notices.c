/*
 * cmd-notices.c: switch the new-mail notice (doorbell.h) of a mailbox on
 * or off, for a guest who asks the admin rather than their own page.
 */
#include "config.h"

#include <string.h>

#include "provision.h"

static int
notices_on(struct store_account *a, const struct conf *cf, const char **whyp)
{
	(void)cf;
	(void)whyp;
	a->notices_off = 0;
	return 0;
}

static int
notices_off(struct store_account *a, const struct conf *cf, const char **whyp)
{
	(void)cf;
	(void)whyp;
	a->notices_off = 1;
	return 0;
}

static int
cmd_notices_exec(struct provision *pv, int argc, char **argv)
{
	if (argc != 3 || (strcmp(argv[2], "on") != 0 &&
	    strcmp(argv[2], "off") != 0))
		return provision_usage(pv, "notices");
	if (strcmp(argv[2], "on") == 0)
		return provision_modify(pv, argv[1], notices_on,
		    "new-mail notices on");
	return provision_modify(pv, argv[1], notices_off,
	    "new-mail notices off");
}

const struct provision_cmd cmd_notices = {
	.name = "notices",
	.args = "ADDR on|off",
	.help = "switch the new-mail notices of a mailbox on or off",
	.exec = cmd_notices_exec,
};
