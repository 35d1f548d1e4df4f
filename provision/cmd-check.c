/*
 * cmd-check.c: verify every record and cross-reference of the store.
 */
#include "config.h"

#include <stdio.h>

#include "provision.h"

static void
cmd_check_report(const char *problem, void *arg)
{
	struct provision	*pv = arg;

	if (pv->json)
		return;
	printf("problem: %s\n", problem);
}

static int
cmd_check_exec(struct provision *pv, int argc, char **argv)
{
	int	 ret;

	if (argc != 1)
		return provision_usage(pv, "check");
	if (provision_store(pv) == NULL)
		return EX_TEMPFAIL;
	ret = store_check(pv->store, cmd_check_report, pv);
	if (ret < 0)
		return provision_store_fail(pv, "check", ret);
	if (pv->json)
		printf("{\"problems\":%d}\n", ret);
	else
		printf("%d problem%s found\n", ret, ret == 1 ? "" : "s");
	return ret == 0 ? EX_OK : EX_DATAERR;
}

const struct provision_cmd cmd_check = {
	.name = "check",
	.args = "",
	.help = "verify every record, index and counter of the store",
	.exec = cmd_check_exec,
};
