/*
 * cmd-delete.c: delete a mailbox: its key material first, so nothing of
 * it can be decrypted any more, then everything else.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "provision.h"
#include "pubkeys.h"

static int	cmd_delete_confirm(const char *);

/*
 * An admin at a terminal who typed the wrong address loses a mailbox for
 * good: ask, unless --yes.  Scripts (no terminal) are not asked.
 */
static int
cmd_delete_confirm(const char *address)
{
	char	 line[64];

	if (!isatty(STDIN_FILENO))
		return 1;
	fprintf(stderr, "Delete %s and all its mail? The keys are destroyed "
	    "first: this cannot be undone. [y/N] ", address);
	fflush(stderr);
	if (fgets(line, sizeof(line), stdin) == NULL)
		return 0;
	line[strcspn(line, "\r\n")] = '\0';
	return strcasecmp(line, "y") == 0 || strcasecmp(line, "yes") == 0;
}

/*
 * The keys of correspondents that no mailbox uses any more leave the
 * GnuPG home (daemon/pubkeys.c), before the log-removal step.
 */
static int
cmd_delete_prune(struct provision *pv, const char *address)
{
	char	 why[512];

	if (pubkeys_prune(pv->store, NULL, why, sizeof(why)) == 0)
		return 0;
	provision_errx(pv, "%s: deleted, but removing its correspondents' "
	    "keys from the GnuPG home failed: %s; run expire to try again",
	    address, why);
	return -1;
}

static int
cmd_delete_exec(struct provision *pv, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "yes", no_argument, NULL, 'y' },
		{ NULL, 0, NULL, 0 },
	};
	struct store_account	 a;
	uint64_t		 nmsgs;
	int			 ch, ret, yes = 0;

	while ((ch = getopt_long(argc, argv, "y", longopts, NULL)) != -1) {
		switch (ch) {
		case 'y':
			yes = 1;
			break;
		default:
			return provision_usage(pv, "delete");
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 1)
		return provision_usage(pv, "delete");
	memset(&a, 0, sizeof(a));
	if ((ret = provision_find(pv, argv[0], &a)) != EX_OK)
		return ret;
	if (!yes && !cmd_delete_confirm(a.address)) {
		provision_errx(pv, "%s: not deleted", a.address);
		store_account_clear(&a);
		return EX_NOPERM;
	}
	ret = store_account_purge(pv->store, a.id, &nmsgs);
	if (ret != 0) {
		ret = provision_store_fail(pv, a.address, ret);
		provision_errx(pv, "%s: not completely deleted; run delete "
		    "again to finish", a.address);
	} else if (cmd_delete_prune(pv, a.address) == -1) {
		ret = EX_TEMPFAIL;
	} else if ((ret = store_log_retire(pv->store)) != 0) {
		/*
		 * Deleted, but the erase key's old bytes are still in the
		 * log files (guestbox(7), CRYPTO-SHREDDING).
		 */
		provision_errx(pv, "%s: deleted, but removing the old log "
		    "files failed: %s; run expire to try again", a.address,
		    store_strerror(ret));
		ret = EX_TEMPFAIL;
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
	.args = "[--yes] ADDR",
	.help = "delete a mailbox and all its mail (keys are destroyed first)",
	.exec = cmd_delete_exec,
	.flags = PROVISION_PGP,
};
