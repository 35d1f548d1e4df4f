/*
 * gb-open.h: how the test helpers (gb-activate, gb-unwrap, gb-fill)
 * reach a guestbox: the configuration loaded, privileges dropped to its
 * user, its store opened, as guestbox-provision does.
 */
#ifndef GUESTBOX_GB_OPEN_H
#define GUESTBOX_GB_OPEN_H

#include "conf.h"
#include "store.h"

/*
 * Returns the open store and *cfp the configuration (the caller closes
 * and frees both), or NULL with the reason printed after prog and *exitp
 * the sysexits(3) code to exit with.
 */
struct store	*gb_open(const char *prog, const char *config,
		    struct conf **cfp, int *exitp);

#endif
