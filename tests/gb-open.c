/*
 * gb-open.c: a test helper's way into a guestbox (gb-open.h).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "gb-open.h"
#include "proc.h"
#include "vault.h"

struct store *
gb_open(const char *prog, const char *config, struct conf **cfp, int *exitp)
{
	struct store_options	 so;
	struct store		*st;
	struct conf		*cf;
	char			 err[512];
	int			 ret;

	*cfp = NULL;
	if ((cf = conf_load(config, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		*exitp = EX_CONFIG;
		return NULL;
	}
	if (vault_init() == -1 || proc_drop_privileges(cf->user,
	    cf->group) == -1) {
		conf_free(&cf);
		*exitp = EX_SOFTWARE;
		return NULL;
	}
	memset(&so, 0, sizeof(so));
	so.cache_size = cf->db_cache_size;
	so.checkpoint_interval = cf->db_checkpoint_interval;
	so.log_keep_for_backup = cf->db_log_keep_for_backup;
	store_options_repl(&so, cf);
	if ((st = store_open(cf->state_dir, &so, &ret)) == NULL) {
		fprintf(stderr, "%s: %s\n", prog, store_strerror(ret));
		conf_free(&cf);
		*exitp = EX_TEMPFAIL;
		return NULL;
	}
	*cfp = cf;
	return st;
}
