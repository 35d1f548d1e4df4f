/*
 * cmd-backup.c: a consistent online copy of the state directory: the
 * Berkeley DB environment (hot backup, then catastrophic recovery in the
 * copy) and the GnuPG home.  The copy is itself a state directory.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "pgp.h"
#include "provision.h"
#include "xmalloc.h"

static int
cmd_backup_exec(struct provision *pv, int argc, char **argv)
{
	char		*dbdir, why[512];
	const char	*dir;
	int		 ret;

	if (argc != 2)
		return provision_usage(pv, "backup");
	dir = argv[1];
	if (mkdir(dir, 0700) == -1) {
		if (errno == EACCES && pv->switched_to != NULL)
			/* Root's "Permission denied" is a puzzle otherwise. */
			provision_errx(pv, "%s: %s: guestbox-provision switched "
			    "from root to user %s (user in guestbox.conf(5)), "
			    "so that the copy belongs to the daemons; make the "
			    "parent directory writable by %s (chown %s DIR), "
			    "or choose one %s can write to", dir,
			    strerror(errno), pv->switched_to, pv->switched_to,
			    pv->switched_to, pv->switched_to);
		else
			provision_errx(pv, "%s: %s%s", dir, strerror(errno),
			    errno == EEXIST ?
			    " (a backup goes into a new directory)" : "");
		return EX_CANTCREAT;
	}
	if (provision_store(pv) == NULL)
		return EX_TEMPFAIL;
	xasprintf(&dbdir, "%s/db", dir);
	ret = store_backup(pv->store, dbdir);
	free(dbdir);
	if (ret != 0)
		return provision_store_fail(pv, "backup", ret);
	if (pgp_backup(dir, why, sizeof(why)) == -1) {
		provision_errx(pv, "%s", why);
		return EX_IOERR;
	}
	if (pv->json) {
		printf("{");
		json_key_str(stdout, "backup", dir, 0);
		printf("}\n");
	} else
		printf("backup in %s; to restore, stop the daemons and make it "
		    "the state directory (see guestbox-provision(8))\n", dir);
	return EX_OK;
}

const struct provision_cmd cmd_backup = {
	.name = "backup",
	.args = "DIR",
	.help = "write a consistent copy of the state directory into DIR",
	.exec = cmd_backup_exec,
	.flags = PROVISION_PGP,
};
