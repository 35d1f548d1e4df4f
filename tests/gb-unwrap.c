/*
 * gb-unwrap: checks that a password opens a mailbox's secret key, the way
 * a login will: Argon2id with the account's parameters, the verifier, and
 * the unwrap.  For tests of guestbox-bootstrapd before an IMAP server
 * exists.  Usage: gb-unwrap CONFIG ADDRESS PASSWORD
 * Exit 0 if the key opens, 1 if not, other codes for trouble.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include <sodium.h>

#include "gb-open.h"
#include "log.h"
#include "store.h"
#include "util.h"
#include "xmalloc.h"

struct unwrap {
	const char		*address;
	struct store_account	 acct;
};

static int
unwrap_find_txn(struct store_txn *txn, void *arg)
{
	struct unwrap	*u = arg;

	return store_account_find(txn, u->address, &u->acct);
}

int
main(int argc, char *argv[])
{
	struct conf		*cf;
	struct store		*st;
	struct vault_seckey	*sk;
	struct unwrap		 u;
	uint8_t			*kek, verifier[VAULT_VERIFIERBYTES];
	int			 ret, ok;

	if (argc != 4) {
		fprintf(stderr, "usage: gb-unwrap CONFIG ADDRESS PASSWORD\n");
		return EX_USAGE;
	}
	log_init("gb-unwrap", 1, 0);
	if ((st = gb_open("gb-unwrap", argv[1], &cf, &ret)) == NULL)
		return ret;
	memset(&u, 0, sizeof(u));
	u.address = argv[2];
	if ((ret = store_txn_run(st, unwrap_find_txn, &u)) != 0) {
		fprintf(stderr, "gb-unwrap: %s: %s\n", argv[2],
		    store_strerror(ret));
		return EX_NOUSER;
	}
	if (u.acct.kek_kind != VAULT_KEK_PASSWORD) {
		printf("no password set\n");
		return 1;
	}
	kek = xsecret_alloc(VAULT_KEYBYTES);
	if (vault_kek_from_password(argv[3], strlen(argv[3]), &u.acct.kdf, kek,
	    verifier) == -1)
		return EX_SOFTWARE;
	ok = sodium_memcmp(verifier, u.acct.pw_verifier, sizeof(verifier)) == 0;
	sk = vault_unwrap(u.acct.id, u.acct.pk, kek, VAULT_KEK_PASSWORD,
	    u.acct.wrapped_sk);
	xsecret_free(kek);
	printf("verifier %s, key %s\n", ok ? "matches" : "differs",
	    sk != NULL ? "opens" : "does not open");
	ret = ok && sk != NULL ? 0 : 1;
	vault_seckey_free(&sk);
	store_account_clear(&u.acct);
	store_close(&st);
	conf_free(&cf);
	return ret;
}
