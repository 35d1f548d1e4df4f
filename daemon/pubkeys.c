/*
 * pubkeys.c: the GnuPG home as a cache of the public keys in the store.
 *
 * Everything a mailbox needs must be in the Berkeley DB environment, so
 * that what copies the environment (a backup, replication) carries it;
 * a correspondent's key, which names its address, must also go with the
 * last account that used it.  So the keys live in the store (a
 * correspondent's in its record, sealed under the account's erase key;
 * an admin's in pubkeys.db, store-pubkeys.c) and the GnuPG home, which
 * gpg needs to encrypt, is only a copy: rebuilt when keys are missing,
 * pruned when the store no longer needs one.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "pgp.h"
#include "pubkeys.h"
#include "store.h"
#include "xmalloc.h"

struct pubkeys_corr {
	uint64_t	 owner;
	char		*address;
	char		 fpr[PGP_FPR_MAX];
	uint8_t		*data;
	size_t		 len;
};

struct pubkeys_want {
	struct pubkeys_corr	*c;
	size_t			 nc;
	struct {
		char		 fpr[PGP_FPR_MAX];
		uint8_t		*data;
		size_t		 len;
	}			*pins;
	size_t			 npins;
};

static void	pubkeys_want_free(struct pubkeys_want *);
static int	pubkeys_has(char **, size_t, const char *);
static void	pubkeys_fprs_free(char ***, size_t *);

static void
pubkeys_fprs_free(char ***v, size_t *n)
{
	size_t	 i;

	for (i = 0; i < *n; i++)
		free((*v)[i]);
	free(*v);
	*v = NULL;
	*n = 0;
}

static int
pubkeys_has(char **fprs, size_t n, const char *fpr)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (strcasecmp(fprs[i], fpr) == 0)
			return 1;
	return 0;
}

static void
pubkeys_want_free(struct pubkeys_want *w)
{
	size_t	 i;

	for (i = 0; i < w->nc; i++) {
		free(w->c[i].address);
		free(w->c[i].data);
	}
	for (i = 0; i < w->npins; i++)
		free(w->pins[i].data);
	free(w->c);
	free(w->pins);
	memset(w, 0, sizeof(*w));
}

static int
pubkeys_collect_corr(uint64_t owner, const struct store_corr *c, void *arg)
{
	struct pubkeys_want	*w = arg;
	struct pubkeys_corr	*pc;

	w->c = xreallocarray(w->c, w->nc + 1, sizeof(*w->c));
	pc = &w->c[w->nc++];
	memset(pc, 0, sizeof(*pc));
	pc->owner = owner;
	pc->address = xstrdup(c->address);
	snprintf(pc->fpr, sizeof(pc->fpr), "%s", c->fingerprint);
	if (c->keylen > 0) {
		pc->data = xmalloc(c->keylen);
		memcpy(pc->data, c->keydata, c->keylen);
		pc->len = c->keylen;
	}
	return 0;
}

static int
pubkeys_collect_pin(const char *fpr, const void *data, size_t len, void *arg)
{
	struct pubkeys_want	*w = arg;

	w->pins = xreallocarray(w->pins, w->npins + 1, sizeof(*w->pins));
	snprintf(w->pins[w->npins].fpr, sizeof(w->pins[w->npins].fpr), "%s",
	    fpr);
	w->pins[w->npins].data = NULL;
	w->pins[w->npins].len = len;
	if (len > 0) {
		w->pins[w->npins].data = xmalloc(len);
		memcpy(w->pins[w->npins].data, data, len);
	}
	w->npins++;
	return 0;
}

static int
pubkeys_collect_txn(struct store_txn *txn, void *arg)
{
	struct pubkeys_want	*w = arg;
	int			 ret;

	pubkeys_want_free(w);
	if ((ret = store_corr_iter_all(txn, pubkeys_collect_corr, w)) != 0)
		return ret;
	return store_pubkey_pinned_iter(txn, pubkeys_collect_pin, w);
}

/* A correspondent record of an older version gets its key (and count). */
struct pubkeys_fill {
	const struct pubkeys_corr	*pc;
	const char			*data;
	size_t				 len;
};

static int
pubkeys_fill_txn(struct store_txn *txn, void *arg)
{
	struct pubkeys_fill	*f = arg;
	struct store_corr	 c;
	int			 ret;

	/* Changed meanwhile: leave it to the next run. */
	memset(&c, 0, sizeof(c));
	ret = store_corr_get(txn, f->pc->owner, f->pc->address, &c);
	if (ret == 0 && (c.keylen > 0 || strcasecmp(c.fingerprint,
	    f->pc->fpr) != 0)) {
		store_corr_clear(&c);
		return 0;
	}
	store_corr_clear(&c);
	if (ret != 0)
		return ret == STORE_ENOTFOUND || ret == STORE_ESHREDDED ? 0 :
		    ret;
	return store_corr_put(txn, f->pc->owner, f->pc->address, f->pc->fpr,
	    f->data, f->len);
}

struct pubkeys_adopt {
	char		**fprs;
	size_t		 n;
	int		 was;
	char		**data;
	size_t		*len;
};

/*
 * The first run after an upgrade: keys in the home that no correspondent
 * names were added by an admin (add-key) or are left from accounts
 * deleted by the older version; none can be told apart, so all are kept
 * as an admin's.
 */
static int
pubkeys_adopt_txn(struct store_txn *txn, void *arg)
{
	struct pubkeys_adopt	*a = arg;
	uint32_t		 refs;
	size_t			 i;
	int			 ret, pinned;

	if ((ret = store_pubkey_migrated(txn, &a->was)) != 0 || a->was)
		return ret;
	for (i = 0; i < a->n; i++) {
		if (a->data[i] == NULL)
			continue;
		if ((ret = store_pubkey_refs(txn, a->fprs[i], &refs,
		    &pinned)) != 0)
			return ret;
		if (refs == 0 && !pinned &&
		    (ret = store_pubkey_pin(txn, a->fprs[i], a->data[i],
		    a->len[i])) != 0)
			return ret;
	}
	return 0;
}

static int
pubkeys_adopt(struct store *st, char **fprs, size_t n, char *why,
    size_t whylen)
{
	struct pubkeys_adopt	 a;
	size_t			 i;
	int			 ret = 0;

	memset(&a, 0, sizeof(a));
	a.fprs = fprs;
	a.n = n;
	a.data = xcalloc(n + 1, sizeof(*a.data));
	a.len = xcalloc(n + 1, sizeof(*a.len));
	for (i = 0; i < n; i++)
		if (pgp_export_key(fprs[i], &a.data[i], &a.len[i], why,
		    whylen) == -1) {
			ret = -1;
			break;
		}
	if (ret == 0 && (ret = store_txn_run(st, pubkeys_adopt_txn, &a)) != 0) {
		snprintf(why, whylen, "recording the keys of the GnuPG home: %s",
		    store_strerror(ret));
		ret = -1;
	}
	for (i = 0; i < n; i++)
		free(a.data[i]);
	free(a.data);
	free(a.len);
	return ret;
}

static int
pubkeys_migrated_txn(struct store_txn *txn, void *arg)
{
	int	*was = arg;
	int	 ret;

	/* Read only: the mark is set by pubkeys_adopt_txn. */
	ret = store_pubkey_migrated(txn, was);
	return ret == 0 && !*was ? STORE_EMODIFIED : ret;
}

int
pubkeys_restore(struct store *st, size_t *importedp, char *why, size_t whylen)
{
	struct pubkeys_want	 w;
	struct pubkeys_fill	 f;
	char			**fprs = NULL, *data, fpr[PGP_FPR_MAX];
	size_t			 n = 0, n0, i, len, imported = 0;
	int			 ret = -1, was = 0, sret;

	memset(&w, 0, sizeof(w));
	if (importedp != NULL)
		*importedp = 0;
	if (pgp_list_fprs(&fprs, &n, why, whylen) == -1)
		return -1;
	if ((sret = store_txn_run(st, pubkeys_collect_txn, &w)) != 0) {
		snprintf(why, whylen, "reading the keys in the store: %s",
		    store_strerror(sret));
		goto out;
	}
	/* What the home had before this run; fprs grows with the imports. */
	n0 = n;
	for (i = 0; i < w.nc; i++) {
		if (w.c[i].len > 0) {
			if (pubkeys_has(fprs, n, w.c[i].fpr))
				continue;
			if (pgp_import_mem("a correspondent's key",
			    (const char *)w.c[i].data, w.c[i].len, NULL, fpr,
			    why, whylen) == -1)
				goto out;
			fprs = xreallocarray(fprs, n + 1, sizeof(*fprs));
			fprs[n++] = xstrdup(w.c[i].fpr);
			imported++;
			continue;
		}
		/* Older than the key data: the home has the key, or none has. */
		if (!pubkeys_has(fprs, n, w.c[i].fpr)) {
			log_warnx("pubkeys: key %s of a correspondent is in "
			    "neither the store nor the GnuPG home",
			    w.c[i].fpr);
			continue;
		}
		if (pgp_export_key(w.c[i].fpr, &data, &len, why, whylen) != 0)
			goto out;
		f.pc = &w.c[i];
		f.data = data;
		f.len = len;
		sret = store_txn_run(st, pubkeys_fill_txn, &f);
		free(data);
		if (sret != 0) {
			snprintf(why, whylen, "recording key %s: %s",
			    w.c[i].fpr, store_strerror(sret));
			goto out;
		}
	}
	for (i = 0; i < w.npins; i++) {
		/*
		 * An admin's copy goes in after a correspondent's copy of the
		 * same key: it may carry a revocation (add-key of the revoked
		 * key) that the correspondent's older copy lacks, and gpg
		 * merges the two.
		 */
		if (w.pins[i].len == 0 || pubkeys_has(fprs, n0, w.pins[i].fpr))
			continue;
		if (pgp_import_mem("an admin's key", (const char *)w.pins[i].data,
		    w.pins[i].len, NULL, fpr, why, whylen) == -1)
			goto out;
		if (!pubkeys_has(fprs, n, w.pins[i].fpr)) {
			fprs = xreallocarray(fprs, n + 1, sizeof(*fprs));
			fprs[n++] = xstrdup(w.pins[i].fpr);
			imported++;
		}
	}
	sret = store_txn_run(st, pubkeys_migrated_txn, &was);
	if (sret == STORE_EMODIFIED &&
	    pubkeys_adopt(st, fprs, n, why, whylen) == -1)
		goto out;
	if (sret != 0 && sret != STORE_EMODIFIED) {
		snprintf(why, whylen, "%s", store_strerror(sret));
		goto out;
	}
	if (importedp != NULL)
		*importedp = imported;
	ret = 0;
out:
	pubkeys_want_free(&w);
	pubkeys_fprs_free(&fprs, &n);
	return ret;
}

struct pubkeys_unused {
	char		**fprs;
	size_t		 n;
	unsigned char	*drop;
};

static int
pubkeys_unused_txn(struct store_txn *txn, void *arg)
{
	struct pubkeys_unused	*u = arg;
	uint32_t		 refs;
	size_t			 i;
	int			 ret, pinned, was;

	/* Before the first restore, the home is not yet accounted for. */
	if ((ret = store_pubkey_migrated(txn, &was)) != 0)
		return ret;
	if (!was)
		return STORE_EMODIFIED;
	for (i = 0; i < u->n; i++) {
		if ((ret = store_pubkey_refs(txn, u->fprs[i], &refs,
		    &pinned)) != 0)
			return ret;
		u->drop[i] = refs == 0 && !pinned;
	}
	return 0;
}

int
pubkeys_prune(struct store *st, size_t *removedp, char *why, size_t whylen)
{
	struct pubkeys_unused	 u;
	size_t			 i, removed = 0;
	int			 ret = -1, sret;

	if (removedp != NULL)
		*removedp = 0;
	memset(&u, 0, sizeof(u));
	if (pgp_list_fprs(&u.fprs, &u.n, why, whylen) == -1)
		return -1;
	u.drop = xcalloc(u.n + 1, 1);
	sret = store_txn_run(st, pubkeys_unused_txn, &u);
	if (sret == STORE_EMODIFIED) {
		ret = 0;	/* nothing known yet: keep everything */
		goto out;
	}
	if (sret != 0) {
		snprintf(why, whylen, "reading the keys in the store: %s",
		    store_strerror(sret));
		goto out;
	}
	for (i = 0; i < u.n; i++) {
		if (!u.drop[i])
			continue;
		if (pgp_delete_key(u.fprs[i], why, whylen) == -1)
			goto out;
		log_info("pubkeys: removed key %s from the GnuPG home: no "
		    "mailbox uses it", u.fprs[i]);
		removed++;
	}
	/*
	 * gpg's delete only marks the key's blob empty: the keyring is
	 * written anew, and gpg's backup of it, which still holds what was
	 * removed, goes.
	 */
	if (removed > 0 && pgp_home_compact(why, whylen) == -1)
		goto out;
	pgp_home_scrub();
	if (removedp != NULL)
		*removedp = removed;
	ret = 0;
out:
	free(u.drop);
	pubkeys_fprs_free(&u.fprs, &u.n);
	return ret;
}

struct pubkeys_pin_arg {
	char		**fprs;
	char		**data;
	size_t		*len;
	size_t		 n;
};

static int
pubkeys_pin_txn(struct store_txn *txn, void *arg)
{
	struct pubkeys_pin_arg	*pa = arg;
	size_t			 i;
	int			 ret;

	for (i = 0; i < pa->n; i++)
		if ((ret = store_pubkey_pin(txn, pa->fprs[i], pa->data[i],
		    pa->len[i])) != 0)
			return ret;
	return 0;
}

int
pubkeys_pin(struct store *st, const char *file, const char *buf, size_t len,
    char *fpr, size_t fprlen, size_t *np, char *why, size_t whylen)
{
	struct pubkeys_pin_arg	 pa;
	char			**fprs = NULL;
	size_t			 n = 0, i;
	int			 ret = -1, sret;

	memset(&pa, 0, sizeof(pa));
	if (np != NULL)
		*np = 0;
	if (pgp_import_fprs(file, buf, len, &fprs, &n, why, whylen) == -1)
		return -1;
	if (n == 0) {
		snprintf(why, whylen, "%s: no key could be imported", file);
		goto out;
	}
	pa.fprs = fprs;
	pa.n = n;
	pa.data = xcalloc(n, sizeof(*pa.data));
	pa.len = xcalloc(n, sizeof(*pa.len));
	for (i = 0; i < n; i++)
		if (pgp_export_key(fprs[i], &pa.data[i], &pa.len[i], why,
		    whylen) == -1)
			goto out;
	if ((sret = store_txn_run(st, pubkeys_pin_txn, &pa)) != 0) {
		snprintf(why, whylen, "recording the keys of %s: %s", file,
		    store_strerror(sret));
		goto out;
	}
	snprintf(fpr, fprlen, "%s", fprs[0]);
	if (np != NULL)
		*np = n;
	ret = 0;
out:
	for (i = 0; pa.data != NULL && i < n; i++)
		free(pa.data[i]);
	free(pa.data);
	free(pa.len);
	pubkeys_fprs_free(&fprs, &n);
	return ret;
}
