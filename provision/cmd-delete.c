/*
 * cmd-delete.c: delete a mailbox: its key material first, so nothing of
 * it can be decrypted any more, then everything else.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "provision.h"

static int
cmd_delete_exec(struct provision *pv, int argc, char **argv)
{
	struct store_account	 a;
	uint64_t		 nmsgs;
	int			 ret;

	if (argc != 2)
		return provision_usage(pv, "delete");
	memset(&a, 0, sizeof(a));
	if ((ret = provision_find(pv, argv[1], &a)) != EX_OK)
		return ret;
	ret = store_account_purge(pv->store, a.id, &nmsgs);
	if (ret != 0) {
		ret = provision_store_fail(pv, a.address, ret);
		provision_errx(pv, "%s: not completely deleted; run delete "
		    "again to finish", a.address);
	} else if (pv->json) {
		printf("{");
		json_key_str(stdout, "address", a.address, 1);
		json_key_num(stdout, "messages_deleted", (long long)nmsgs, 0);
		printf("}\n");
	} else
		printf("%s: deleted with %llu messages\n", a.address,
		    (unsigned long long)nmsgs);
	store_account_clear(&a);
	return ret;
}

const struct provision_cmd cmd_delete = {
	.name = "delete",
	.args = "ADDR",
	.help = "delete a mailbox and all its mail (keys are destroyed first)",
	.exec = cmd_delete_exec,
};
