/*
 * gb-activate: sets a mailbox's password from its invitation link, the way
 * guestbox-bootstrapd does, for tests that need an active mailbox without
 * a browser.  Usage: gb-activate CONFIG LINK-OR-TOKEN PASSWORD [PIN]
 *
 * Unlike the page it files no welcome message, unless GB_ACTIVATE_WELCOME
 * is set in the environment: the IMAP and SMTP tests count and number the
 * messages they deliver (the welcome is tested by bootstrap.test and
 * e2e.test, which go through the page).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "activate.h"
#include "gb-open.h"
#include "log.h"
#include "util.h"

int
main(int argc, char *argv[])
{
	static const char *const results[] = {
		[ACTIVATE_OK] = "ok",
		[ACTIVATE_INVALID] = "invalid",
		[ACTIVATE_PIN_WRONG] = "wrong PIN",
		[ACTIVATE_PIN_LOCKED] = "locked",
		[ACTIVATE_ERROR] = "error",
	};
	struct conf		*cf;
	struct store		*st;
	enum activate_result	 r;
	const char		*tok;
	uint8_t			 token[32];
	char			 addr[ADDR_MAX + 1];
	int			 ret;

	if (argc != 4 && argc != 5) {
		fprintf(stderr, "usage: gb-activate CONFIG LINK PASSWORD [PIN]\n");
		return EX_USAGE;
	}
	log_init("gb-activate", 1, 0);
	tok = strrchr(argv[2], '/') != NULL ? strrchr(argv[2], '/') + 1 : argv[2];
	if (b64url_decode(tok, token, sizeof(token)) == -1) {
		fprintf(stderr, "gb-activate: not a token: %s\n", tok);
		return EX_DATAERR;
	}
	if ((st = gb_open("gb-activate", argv[1], &cf, &ret)) == NULL)
		return ret;
	r = activate_password(st, cf, token, argc == 5 ? argv[4] : NULL,
	    argv[3], getenv("GB_ACTIVATE_WELCOME") != NULL ? ACTIVATE_WELCOME : 0,
	    addr, sizeof(addr));
	printf("%s %s\n", results[r], addr);
	store_close(&st);
	conf_free(&cf);
	return r == ACTIVATE_OK ? EX_OK : EX_DATAERR;
}
