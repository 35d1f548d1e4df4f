/*
 * pgp.c: GPGME calls on the GnuPG home of the state directory.
 */
#include "config.h"

#include <errno.h>
#include <ftw.h>
#include <locale.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <gpgme.h>

#include "log.h"
#include "pgp.h"
#include "util.h"
#include "xmalloc.h"

/*
 * The key cache.  Every GPGME operation starts a gpg process (about
 * 10 ms); a submission listed keys at RCPT, listed them again before
 * encrypting, then encrypted: three runs a message.  Now each process
 * keeps a snapshot of the whole keyring (the correspondents' public
 * keys, a few hundred at most) and lists it again only when the GnuPG
 * home's files change (an import or revocation by guestbox-provision,
 * which is another process) or after PGP_CACHE_MAX_AGE seconds, so that
 * a message costs the one gpg run that encrypts it.  Expiry is judged
 * at each use against the clock, not by gpg's flags at listing time: a
 * key that expires while cached is refused all the same.
 */
#define PGP_CACHE_MAX_AGE	300
#define PGP_CACHE_NFILES	3

/* What gpg writes when keys or their trust change. */
static const char *const pgp_cache_files[PGP_CACHE_NFILES] = {
	"pubring.kbx", "pubring.gpg", "trustdb.gpg"
};

struct pgp_file_stamp {
	int		 exists;
	dev_t		 dev;
	ino_t		 ino;
	off_t		 size;
	struct timespec	 mtim;
	struct timespec	 ctim;
};

struct pgp_cache {
	pthread_mutex_t		 lock;
	int			 valid;
	char			*home;
	struct pgp_file_stamp	 stamp[PGP_CACHE_NFILES];
	time_t			 made;
	gpgme_key_t		*keys;
	size_t			 nkeys;
};

static char *pgp_home;
static struct pgp_cache pgp_cache = { .lock = PTHREAD_MUTEX_INITIALIZER };

static int	pgp_home_prepare(const char *);
static void	pgp_cache_stamp(const char *, struct pgp_file_stamp *);
static void	pgp_cache_drop(void);
static int	pgp_cache_fresh(const char *, time_t);
static int	pgp_cache_get(const char *, char *, size_t);

/*
 * Creates a GnuPG home that never starts a gpg-agent: gpg 2.2 starts one
 * to import even a public key, and it would stay behind, holding sockets
 * in the state directory (and in every backup).  We hold no secret keys,
 * so nothing needs the agent.  An existing gpg.conf is left alone.
 */
static int
pgp_home_prepare(const char *home)
{
	static const char conf[] = "# written by guestbox: no secret keys "
	    "here, so no gpg-agent\nno-autostart\n";
	struct stat	 sb;
	char		*path;
	int		 ret = 0;

	if (mkdir(home, 0700) == -1 && errno != EEXIST)
		return -1;
	xasprintf(&path, "%s/gpg.conf", home);
	if (stat(path, &sb) == -1 && errno == ENOENT)
		ret = file_write_atomic(path, conf, sizeof(conf) - 1, 0600);
	free(path);
	return ret;
}

/*
 * What GPGME learnt of the engine, for a log line that says why it is
 * unusable: which program it ran and the version it read from it.
 */
static const char *
pgp_engine_said(gpgme_protocol_t proto)
{
	static char		 said[256];
	gpgme_engine_info_t	 info;

	if (gpgme_get_engine_info(&info) != 0)
		return "GPGME has no engine list";
	for (; info != NULL; info = info->next)
		if (info->protocol == proto)
			break;
	if (info == NULL)
		return "GPGME knows no such engine";
	/* GPGME says 1.0.0 where the program printed nothing it knows. */
	snprintf(said, sizeof(said), "%s: version %s as GPGME read it, %s "
	    "needed", info->file_name != NULL ? info->file_name : "no program",
	    info->version != NULL ? info->version : "unknown",
	    info->req_version != NULL ? info->req_version : "any");
	return said;
}

int
pgp_init(const char *state_dir)
{
	gpgme_error_t	 err;
	int		 tries;

	free(pgp_home);
	xasprintf(&pgp_home, "%s/gnupg", state_dir);
	if (pgp_home_prepare(pgp_home) == -1) {
		log_warn("preparing the GnuPG home %s", pgp_home);
		return -1;
	}
	gpgme_check_version(NULL);
	setlocale(LC_CTYPE, "");
	gpgme_set_locale(NULL, LC_CTYPE, setlocale(LC_CTYPE, NULL));
	/*
	 * The home becomes the process's default: setting it per context
	 * makes GPGME run "gpg --version" each time, a second gpg process
	 * for every operation.  New contexts copy the default.
	 *
	 * Setting it runs "gpg --version" once more, and GPGME keeps what
	 * that run learnt until the engine is set again: a run that failed
	 * for a moment (fork or a pipe refused on a loaded machine, seen in
	 * CI) would leave the engine unusable for the daemon's life, and a
	 * daemon that gives up here is down until someone restarts it.  So
	 * set it, check it, and on failure set it again, three times.
	 */
	for (tries = 1;; tries++) {
		if ((err = gpgme_set_engine_info(GPGME_PROTOCOL_OpenPGP, NULL,
		    pgp_home)) == 0)
			err = gpgme_engine_check_version(GPGME_PROTOCOL_OpenPGP);
		if (err == 0)
			break;
		if (tries == 3) {
			log_warnx("GnuPG is not usable: %s (%s; apt-get "
			    "install gnupg)", gpgme_strerror(err),
			    pgp_engine_said(GPGME_PROTOCOL_OpenPGP));
			return -1;
		}
		log_warnx("GnuPG check: %s (%s); trying again",
		    gpgme_strerror(err), pgp_engine_said(GPGME_PROTOCOL_OpenPGP));
		sleep(1);
	}
	return 0;
}

int
pgp_ctx_set_home(struct gpgme_context *ctx, const char *home, char *why,
    size_t whylen)
{
	gpgme_error_t	 err;

	/* pgp_init made it the default: nothing to do, no gpg to run. */
	if (pgp_home != NULL && strcmp(home, pgp_home) == 0)
		return 0;
	if ((err = gpgme_ctx_set_engine_info(ctx, GPGME_PROTOCOL_OpenPGP, NULL,
	    home)) != 0) {
		snprintf(why, whylen, "GPGME: %s", gpgme_strerror(err));
		return -1;
	}
	return 0;
}

static gpgme_ctx_t
pgp_ctx(char *why, size_t whylen)
{
	gpgme_ctx_t	 ctx;
	gpgme_error_t	 err;

	if ((err = gpgme_new(&ctx)) != 0) {
		snprintf(why, whylen, "GPGME: %s", gpgme_strerror(err));
		return NULL;
	}
	if (pgp_ctx_set_home(ctx, pgp_home, why, whylen) == -1) {
		gpgme_release(ctx);
		return NULL;
	}
	return ctx;
}

/*
 * Usable to encrypt at now: not revoked, expired, disabled or invalid.
 * The expiry times count as well as gpg's flags, which are as old as the
 * listing (the key cache).
 */
static int
pgp_key_can_encrypt(gpgme_key_t key, time_t now)
{
	gpgme_subkey_t	 sk;

	if (key->revoked || key->expired || key->disabled || key->invalid)
		return 0;
	/* The first subkey is the primary key. */
	if (key->subkeys != NULL && key->subkeys->expires > 0 &&
	    key->subkeys->expires <= now)
		return 0;
	for (sk = key->subkeys; sk != NULL; sk = sk->next)
		if (sk->can_encrypt && !sk->revoked && !sk->expired &&
		    !sk->disabled && !sk->invalid &&
		    (sk->expires <= 0 || sk->expires > now))
			return 1;
	return 0;
}

/*
 * A user ID of the key has address.  GnuPG marks every user ID of a
 * revoked key revoked too: with revoked_too such a key still counts, so
 * that a lookup can say why it is unusable instead of "no key".
 */
static int
pgp_key_has_address(gpgme_key_t key, const char *address, int revoked_too)
{
	gpgme_user_id_t	 uid;

	for (uid = key->uids; uid != NULL; uid = uid->next)
		if ((revoked_too || !uid->revoked) && !uid->invalid &&
		    uid->email != NULL && strcasecmp(uid->email, address) == 0)
			return 1;
	return 0;
}

/*
 * The home is a cache of the store's keys and may have been removed, to
 * be rebuilt: made again (empty) where gpg would fail.
 */
static int
pgp_home_ready(char *why, size_t whylen)
{
	if (pgp_home != NULL && pgp_home_prepare(pgp_home) == -1) {
		snprintf(why, whylen, "%s: %s", pgp_home, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Imports buf into the home: the result, or NULL with a reason; *ctxp
 * and *datap are the caller's to release either way (may be NULL).
 */
static gpgme_import_result_t
pgp_import_run(const char *file, const char *buf, size_t len,
    gpgme_ctx_t *ctxp, gpgme_data_t *datap, char *why, size_t whylen)
{
	gpgme_import_result_t	 res;
	gpgme_error_t		 err;

	*ctxp = NULL;
	*datap = NULL;
	if (pgp_home_ready(why, whylen) == -1 ||
	    (*ctxp = pgp_ctx(why, whylen)) == NULL)
		return NULL;
	if ((err = gpgme_data_new_from_mem(datap, buf, len, 0)) != 0 ||
	    (err = gpgme_op_import(*ctxp, *datap)) != 0) {
		snprintf(why, whylen, "%s: %s", file, gpgme_strerror(err));
		return NULL;
	}
	if ((res = gpgme_op_import_result(*ctxp)) == NULL ||
	    res->imports == NULL) {
		snprintf(why, whylen, "%s holds no OpenPGP public key", file);
		return NULL;
	}
	return res;
}

int
pgp_import_file(const char *file, const char *address, char fpr[PGP_FPR_MAX],
    char *why, size_t whylen)
{
	char	*buf;
	size_t	 len;
	int	 ret;

	/* Read it ourselves: a clear errno for a missing or unreadable file. */
	if (file_read_all(file, PGP_KEYFILE_MAX, &buf, &len) == -1) {
		snprintf(why, whylen, "%s: %s", file, strerror(errno));
		return -1;
	}
	ret = pgp_import_mem(file, buf, len, address, fpr, why, whylen);
	free(buf);
	return ret;
}

int
pgp_import_mem(const char *file, const char *buf, size_t len,
    const char *address, char fpr[PGP_FPR_MAX], char *why, size_t whylen)
{
	gpgme_ctx_t		 ctx;
	gpgme_data_t		 data = NULL;
	gpgme_import_result_t	 res;
	gpgme_import_status_t	 st;
	gpgme_key_t		 key;
	int			 ret = -1, found_addr = 0;

	fpr[0] = '\0';
	if ((res = pgp_import_run(file, buf, len, &ctx, &data, why,
	    whylen)) == NULL)
		goto out;
	if (address == NULL) {
		/* The first key that imported (or was there unchanged). */
		for (st = res->imports; st != NULL; st = st->next)
			if (st->fpr != NULL && st->result == 0) {
				snprintf(fpr, PGP_FPR_MAX, "%s", st->fpr);
				ret = 0;
				goto out;
			}
		snprintf(why, whylen, "%s: no key could be imported", file);
		goto out;
	}
	for (st = res->imports; st != NULL; st = st->next) {
		if (st->fpr == NULL || st->result != 0)
			continue;
		if (gpgme_get_key(ctx, st->fpr, &key, 0) != 0)
			continue;
		if (pgp_key_has_address(key, address, 1)) {
			found_addr = 1;
			if (pgp_key_has_address(key, address, 0) &&
			    pgp_key_can_encrypt(key, time(NULL)) &&
			    key->fpr != NULL &&
			    strlen(key->fpr) < PGP_FPR_MAX) {
				snprintf(fpr, PGP_FPR_MAX, "%s", key->fpr);
				ret = 0;
			}
		}
		gpgme_key_unref(key);
		if (ret == 0)
			break;
	}
	if (ret != 0)
		snprintf(why, whylen, found_addr ? "the key for %s in %s cannot "
		    "encrypt (expired, revoked or without an encryption "
		    "subkey)" : "%s: no key in %s has this address as a user "
		    "ID", address, file);
out:
	gpgme_data_release(data);
	gpgme_release(ctx);
	return ret;
}

int
pgp_import_fprs(const char *file, const char *buf, size_t len, char ***fprsp,
    size_t *np, char *why, size_t whylen)
{
	gpgme_ctx_t		 ctx;
	gpgme_data_t		 data = NULL;
	gpgme_import_result_t	 res;
	gpgme_import_status_t	 st;
	char			**v = NULL;
	size_t			 n = 0;
	int			 ret = -1;

	*fprsp = NULL;
	*np = 0;
	if ((res = pgp_import_run(file, buf, len, &ctx, &data, why,
	    whylen)) == NULL)
		goto out;
	for (st = res->imports; st != NULL; st = st->next) {
		if (st->fpr == NULL || st->result != 0)
			continue;
		v = xreallocarray(v, n + 1, sizeof(*v));
		v[n++] = xstrdup(st->fpr);
	}
	*fprsp = v;
	*np = n;
	ret = 0;
out:
	gpgme_data_release(data);
	gpgme_release(ctx);
	return ret;
}

const char *
pgp_home_dir(void)
{
	return pgp_home;
}

/* ---- the key cache ---- */

static void
pgp_cache_stamp(const char *home, struct pgp_file_stamp *stamp)
{
	struct stat	 sb;
	char		*path;
	size_t		 i;

	memset(stamp, 0, PGP_CACHE_NFILES * sizeof(*stamp));
	for (i = 0; i < PGP_CACHE_NFILES; i++) {
		xasprintf(&path, "%s/%s", home, pgp_cache_files[i]);
		if (stat(path, &sb) == 0) {
			stamp[i].exists = 1;
			stamp[i].dev = sb.st_dev;
			stamp[i].ino = sb.st_ino;
			stamp[i].size = sb.st_size;
			stamp[i].mtim = sb.st_mtim;
			stamp[i].ctim = sb.st_ctim;
		}
		free(path);
	}
}

/* Called with the lock held. */
static void
pgp_cache_drop(void)
{
	size_t	 i;

	for (i = 0; i < pgp_cache.nkeys; i++)
		gpgme_key_unref(pgp_cache.keys[i]);
	free(pgp_cache.keys);
	pgp_cache.keys = NULL;
	pgp_cache.nkeys = 0;
	free(pgp_cache.home);
	pgp_cache.home = NULL;
	pgp_cache.valid = 0;
}

/* Called with the lock held. */
static int
pgp_cache_fresh(const char *home, time_t now)
{
	struct pgp_file_stamp	 stamp[PGP_CACHE_NFILES];
	size_t			 i;

	if (!pgp_cache.valid || strcmp(pgp_cache.home, home) != 0 ||
	    now < pgp_cache.made || now - pgp_cache.made >= PGP_CACHE_MAX_AGE)
		return 0;
	pgp_cache_stamp(home, stamp);
	for (i = 0; i < PGP_CACHE_NFILES; i++)
		if (stamp[i].exists != pgp_cache.stamp[i].exists ||
		    stamp[i].dev != pgp_cache.stamp[i].dev ||
		    stamp[i].ino != pgp_cache.stamp[i].ino ||
		    stamp[i].size != pgp_cache.stamp[i].size ||
		    stamp[i].mtim.tv_sec != pgp_cache.stamp[i].mtim.tv_sec ||
		    stamp[i].mtim.tv_nsec != pgp_cache.stamp[i].mtim.tv_nsec ||
		    stamp[i].ctim.tv_sec != pgp_cache.stamp[i].ctim.tv_sec ||
		    stamp[i].ctim.tv_nsec != pgp_cache.stamp[i].ctim.tv_nsec)
			return 0;
	return 1;
}

/*
 * Makes the snapshot of home current; called with the lock held.  The
 * files are stamped before gpg lists them: a change in between makes the
 * next call list again rather than keep a stale snapshot.
 */
static int
pgp_cache_get(const char *home, char *why, size_t whylen)
{
	struct pgp_file_stamp	 stamp[PGP_CACHE_NFILES];
	gpgme_ctx_t		 ctx;
	gpgme_key_t		 key, *keys = NULL;
	gpgme_error_t		 err;
	size_t			 n = 0, cap = 0, i;
	time_t			 now = time(NULL);

	if (home == NULL) {
		snprintf(why, whylen, "GnuPG is not set up");
		return -1;
	}
	if (pgp_cache_fresh(home, now))
		return 0;
	pgp_cache_drop();
	/*
	 * The home is a cache of the store's keys and may have been
	 * removed: an empty one lists no key, which the callers rebuild
	 * from the store (daemon/pubkeys.c), where gpg would fail.
	 */
	if (pgp_home != NULL && strcmp(home, pgp_home) == 0 &&
	    pgp_home_prepare(home) == -1) {
		snprintf(why, whylen, "%s: %s", home, strerror(errno));
		return -1;
	}
	pgp_cache_stamp(home, stamp);
	if ((err = gpgme_new(&ctx)) != 0) {
		snprintf(why, whylen, "GPGME: %s", gpgme_strerror(err));
		return -1;
	}
	if (pgp_ctx_set_home(ctx, home, why, whylen) == -1) {
		gpgme_release(ctx);
		return -1;
	}
	gpgme_set_offline(ctx, 1);
	err = gpgme_op_keylist_start(ctx, NULL, 0);
	while (err == 0 && (err = gpgme_op_keylist_next(ctx, &key)) == 0) {
		if (n == cap) {
			cap = cap == 0 ? 64 : cap * 2;
			keys = xreallocarray(keys, cap, sizeof(*keys));
		}
		keys[n++] = key;
	}
	gpgme_op_keylist_end(ctx);
	gpgme_release(ctx);
	if (err != 0 && gpg_err_code(err) != GPG_ERR_EOF) {
		snprintf(why, whylen, "GnuPG: %s", gpgme_strerror(err));
		for (i = 0; i < n; i++)
			gpgme_key_unref(keys[i]);
		free(keys);
		return -1;
	}
	pgp_cache.home = xstrdup(home);
	memcpy(pgp_cache.stamp, stamp, sizeof(stamp));
	pgp_cache.made = now;
	pgp_cache.keys = keys;
	pgp_cache.nkeys = n;
	pgp_cache.valid = 1;
	return 0;
}

int
pgp_lookup(const char *address, char fpr[PGP_FPR_MAX], char *why,
    size_t whylen)
{
	gpgme_key_t	 key;
	time_t		 now = time(NULL);
	size_t		 i;
	int		 found = 0, unusable = 0;

	fpr[0] = '\0';
	why[0] = '\0';
	pthread_mutex_lock(&pgp_cache.lock);
	if (pgp_cache_get(pgp_home, why, whylen) == -1) {
		pthread_mutex_unlock(&pgp_cache.lock);
		return -1;
	}
	/* In keyring order, as gpg listed "<address>": the first usable. */
	for (i = 0; i < pgp_cache.nkeys && !found; i++) {
		key = pgp_cache.keys[i];
		if (pgp_key_has_address(key, address, 0)) {
			if (pgp_key_can_encrypt(key, now) && key->fpr != NULL &&
			    strlen(key->fpr) < PGP_FPR_MAX) {
				snprintf(fpr, PGP_FPR_MAX, "%s", key->fpr);
				found = 1;
			} else
				unusable = 1;
		} else if (pgp_key_has_address(key, address, 1))
			unusable = 1;
	}
	pthread_mutex_unlock(&pgp_cache.lock);
	if (!found && unusable)
		snprintf(why, whylen, "the key of %s is expired or revoked",
		    address);
	return found;
}

int
pgp_keys_find(const char *home, const char *const *fprs, size_t n,
    struct _gpgme_key **keys, char *why, size_t whylen)
{
	gpgme_key_t	 key;
	size_t		 i, k;

	for (i = 0; i < n; i++)
		keys[i] = NULL;
	pthread_mutex_lock(&pgp_cache.lock);
	if (pgp_cache_get(home, why, whylen) == -1) {
		pthread_mutex_unlock(&pgp_cache.lock);
		return -1;
	}
	for (i = 0; i < n; i++)
		for (k = 0; k < pgp_cache.nkeys && keys[i] == NULL; k++) {
			key = pgp_cache.keys[k];
			if (key->fpr != NULL && fprs[i] != NULL &&
			    strcasecmp(key->fpr, fprs[i]) == 0) {
				/* Outlives a new snapshot: the caller's own. */
				gpgme_key_ref(key);
				keys[i] = key;
			}
		}
	pthread_mutex_unlock(&pgp_cache.lock);
	return 0;
}

int
pgp_list_fprs(char ***fprsp, size_t *np, char *why, size_t whylen)
{
	char	**v;
	size_t	 i, n = 0;

	*fprsp = NULL;
	*np = 0;
	if (pgp_home_ready(why, whylen) == -1)
		return -1;
	pthread_mutex_lock(&pgp_cache.lock);
	if (pgp_cache_get(pgp_home, why, whylen) == -1) {
		pthread_mutex_unlock(&pgp_cache.lock);
		return -1;
	}
	v = xcalloc(pgp_cache.nkeys + 1, sizeof(*v));
	for (i = 0; i < pgp_cache.nkeys; i++)
		if (pgp_cache.keys[i]->fpr != NULL)
			v[n++] = xstrdup(pgp_cache.keys[i]->fpr);
	pthread_mutex_unlock(&pgp_cache.lock);
	*fprsp = v;
	*np = n;
	return 0;
}

int
pgp_export_key(const char *fpr, char **datap, size_t *lenp, char *why,
    size_t whylen)
{
	gpgme_ctx_t	 ctx;
	gpgme_data_t	 out = NULL;
	gpgme_error_t	 err;
	char		*mem;
	size_t		 n = 0;
	int		 ret = -1;

	*datap = NULL;
	*lenp = 0;
	if ((ctx = pgp_ctx(why, whylen)) == NULL)
		return -1;
	/* Minimal: the key, its user IDs and subkeys, no third-party sigs. */
	if ((err = gpgme_data_new(&out)) != 0 ||
	    (err = gpgme_op_export(ctx, fpr, GPGME_EXPORT_MODE_MINIMAL,
	    out)) != 0) {
		snprintf(why, whylen, "exporting %s: %s", fpr,
		    gpgme_strerror(err));
		goto out;
	}
	mem = gpgme_data_release_and_get_mem(out, &n);
	out = NULL;
	if (mem == NULL || n == 0) {
		gpgme_free(mem);
		ret = 1;
		goto out;
	}
	*datap = xmalloc(n);
	memcpy(*datap, mem, n);
	*lenp = n;
	gpgme_free(mem);
	ret = 0;
out:
	gpgme_data_release(out);
	gpgme_release(ctx);
	return ret;
}

int
pgp_delete_key(const char *fpr, char *why, size_t whylen)
{
	gpgme_ctx_t	 ctx;
	gpgme_key_t	 key;
	gpgme_error_t	 err;
	int		 ret = 0;

	if ((ctx = pgp_ctx(why, whylen)) == NULL)
		return -1;
	if ((err = gpgme_get_key(ctx, fpr, &key, 0)) != 0) {
		gpgme_release(ctx);
		if (gpg_err_code(err) == GPG_ERR_EOF)
			return 0;	/* not there */
		snprintf(why, whylen, "key %s: %s", fpr, gpgme_strerror(err));
		return -1;
	}
	if ((err = gpgme_op_delete_ext(ctx, key, GPGME_DELETE_FORCE)) != 0) {
		snprintf(why, whylen, "deleting %s: %s", fpr,
		    gpgme_strerror(err));
		ret = -1;
	}
	gpgme_key_unref(key);
	gpgme_release(ctx);
	return ret;
}

static int
pgp_rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	if (remove(path) == -1 && errno != ENOENT)
		log_warn("removing %s", path);
	return 0;
}

/* Every public key of the home (armor or not) into *memp (gpgme_free). */
static int
pgp_export_all(int armor, char **memp, size_t *np, char *why, size_t whylen)
{
	gpgme_ctx_t	 ctx;
	gpgme_data_t	 out = NULL;
	gpgme_error_t	 err;

	*memp = NULL;
	*np = 0;
	if ((ctx = pgp_ctx(why, whylen)) == NULL)
		return -1;
	gpgme_set_armor(ctx, armor);
	if ((err = gpgme_data_new(&out)) != 0 ||
	    (err = gpgme_op_export(ctx, NULL, 0, out)) != 0) {
		snprintf(why, whylen, "exporting keys: %s", gpgme_strerror(err));
		gpgme_data_release(out);
		gpgme_release(ctx);
		return -1;
	}
	*memp = gpgme_data_release_and_get_mem(out, np);
	gpgme_release(ctx);
	return 0;
}

/* Imports mem into the GnuPG home home, which is prepared first. */
static int
pgp_import_into(const char *home, const char *mem, size_t n, char *why,
    size_t whylen)
{
	gpgme_ctx_t	 ctx = NULL;
	gpgme_data_t	 in = NULL;
	gpgme_error_t	 err;
	int		 ret = 0;

	if (pgp_home_prepare(home) == -1) {
		snprintf(why, whylen, "%s: %s", home, strerror(errno));
		return -1;
	}
	if ((err = gpgme_new(&ctx)) != 0 ||
	    (err = gpgme_ctx_set_engine_info(ctx, GPGME_PROTOCOL_OpenPGP, NULL,
	    home)) != 0 ||
	    (err = gpgme_data_new_from_mem(&in, mem, n, 0)) != 0 ||
	    (err = gpgme_op_import(ctx, in)) != 0) {
		snprintf(why, whylen, "importing into %s: %s", home,
		    gpgme_strerror(err));
		ret = -1;
	}
	gpgme_data_release(in);
	if (ctx != NULL)
		gpgme_release(ctx);
	return ret;
}

int
pgp_home_compact(char *why, size_t whylen)
{
	char	*mem = NULL, *tmp = NULL, *from = NULL, *to = NULL;
	size_t	 n = 0;
	int	 ret = -1;

	if (pgp_export_all(0, &mem, &n, why, whylen) == -1)
		return -1;
	xasprintf(&to, "%s/pubring.kbx", pgp_home);
	if (n == 0) {
		/* No key left: no keyring. */
		if (unlink(to) == -1 && errno != ENOENT)
			snprintf(why, whylen, "%s: %s", to, strerror(errno));
		else
			ret = 0;
		goto out;
	}
	/* A keyring made afresh next to the home, then renamed over it. */
	xasprintf(&tmp, "%s.compact.%ld", pgp_home, (long)getpid());
	(void)nftw(tmp, pgp_rm_one, 8, FTW_DEPTH | FTW_PHYS);
	if (pgp_import_into(tmp, mem, n, why, whylen) == -1)
		goto out;
	xasprintf(&from, "%s/pubring.kbx", tmp);
	if (rename(from, to) == -1) {
		snprintf(why, whylen, "rename %s to %s: %s", from, to,
		    strerror(errno));
		goto out;
	}
	ret = 0;
out:
	if (tmp != NULL)
		(void)nftw(tmp, pgp_rm_one, 8, FTW_DEPTH | FTW_PHYS);
	gpgme_free(mem);
	free(tmp);
	free(from);
	free(to);
	return ret;
}

void
pgp_home_scrub(void)
{
	static const char *const backups[] = { "pubring.kbx~", "pubring.gpg~" };
	char	*path;
	size_t	 i;

	if (pgp_home == NULL)
		return;
	for (i = 0; i < sizeof(backups) / sizeof(backups[0]); i++) {
		xasprintf(&path, "%s/%s", pgp_home, backups[i]);
		if (unlink(path) == -1 && errno != ENOENT)
			log_warn("removing %s", path);
		free(path);
	}
}

/*
 * GPGME's external event loop (gpgme_set_io_cbs), one per operation on
 * the caller's stack.  GPGME's own loop waits for POLLOUT alone on the
 * pipe to gpg's input: when gpg is killed mid-operation poll() reports
 * POLLERR there for ever and the thread spins (GPGME 1.18).  Here an
 * error or hang-up counts as ready, so GPGME's handler writes, gets
 * EPIPE and ends the operation; and an operation that moves no byte for
 * PGP_IDLE_SECONDS is cancelled.
 */
#define PGP_LOOP_FDS	16

struct pgp_loop_fd {
	int		 fd;		/* -1: free */
	int		 dir;		/* 1: read, 0: write */
	gpgme_io_cb_t	 fn;
	void		*fn_data;
};

struct pgp_loop {
	struct pgp_loop_fd	 fds[PGP_LOOP_FDS];
	int			 done;
	gpgme_error_t		 err;
};

static gpgme_error_t
pgp_loop_add(void *arg, int fd, int dir, gpgme_io_cb_t fn, void *fn_data,
    void **tag)
{
	struct pgp_loop	*loop = arg;
	size_t		 i;

	for (i = 0; i < PGP_LOOP_FDS; i++)
		if (loop->fds[i].fd == -1) {
			loop->fds[i] = (struct pgp_loop_fd){ fd, dir, fn,
			    fn_data };
			*tag = &loop->fds[i];
			return 0;
		}
	return gpg_error(GPG_ERR_TOO_MANY);
}

static void
pgp_loop_remove(void *tag)
{
	((struct pgp_loop_fd *)tag)->fd = -1;
}

static void
pgp_loop_event(void *arg, gpgme_event_io_t type, void *type_data)
{
	struct pgp_loop	*loop = arg;

	if (type == GPGME_EVENT_DONE) {
		loop->done = 1;
		loop->err = ((gpgme_io_event_done_data_t)type_data)->err;
	}
}

static gpgme_error_t
pgp_loop_run(gpgme_ctx_t ctx, struct pgp_loop *loop)
{
	struct pollfd	 pfd[PGP_LOOP_FDS];
	size_t		 slot[PGP_LOOP_FDS], i, n;
	time_t		 idle_since = time(NULL);
	int		 r;

	while (!loop->done) {
		for (i = n = 0; i < PGP_LOOP_FDS; i++) {
			if (loop->fds[i].fd == -1)
				continue;
			pfd[n].fd = loop->fds[i].fd;
			pfd[n].events = loop->fds[i].dir ? POLLIN : POLLOUT;
			pfd[n].revents = 0;
			slot[n++] = i;
		}
		if (n == 0)	/* nothing left to wait for, and not done */
			return gpg_error(GPG_ERR_BUG);
		if ((r = poll(pfd, n, 1000)) < 0) {
			if (errno == EINTR)
				continue;
			gpgme_cancel(ctx);
			return gpgme_error_from_syserror();
		}
		if (r == 0) {
			if (time(NULL) - idle_since < PGP_IDLE_SECONDS)
				continue;
			log_warnx("gpg moved no byte in %d s: cancelled",
			    PGP_IDLE_SECONDS);
			gpgme_cancel(ctx);
			return gpg_error(GPG_ERR_TIMEOUT);
		}
		idle_since = time(NULL);
		for (i = 0; i < n && !loop->done; i++) {
			struct pgp_loop_fd *f = &loop->fds[slot[i]];

			/* A callback before may have removed or reused it. */
			if (pfd[i].revents == 0 || f->fd != pfd[i].fd)
				continue;
			f->fn(f->fn_data, f->fd);
		}
	}
	return loop->err;
}

/*
 * Whether out ends with the armor tail of RFC 4880 section 6.2.  GPGME
 * never learns gpg's exit status (it double-forks gpg), so a gpg killed
 * half-way leaves a cut ciphertext and no error: the tail, written last,
 * is the proof that gpg finished.
 */
static int
pgp_armor_complete(gpgme_data_t out)
{
	static const char	 tail[] = "-----END PGP MESSAGE-----";
	char			 buf[64];
	off_t			 end;
	ssize_t			 n;
	size_t			 len;

	if ((end = gpgme_data_seek(out, 0, SEEK_END)) < 0)
		return 0;
	len = (size_t)end < sizeof(buf) ? (size_t)end : sizeof(buf);
	if (gpgme_data_seek(out, end - (off_t)len, SEEK_SET) < 0 ||
	    (n = gpgme_data_read(out, buf, len)) < 0 || (size_t)n != len)
		return 0;
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	return len >= sizeof(tail) - 1 &&
	    memcmp(buf + len - (sizeof(tail) - 1), tail, sizeof(tail) - 1) == 0;
}

unsigned int
pgp_encrypt(gpgme_ctx_t ctx, gpgme_key_t keys[], unsigned int flags,
    gpgme_data_t in, gpgme_data_t out)
{
	struct pgp_loop		 loop;
	struct gpgme_io_cbs	 cbs = { pgp_loop_add, &loop, pgp_loop_remove,
				    pgp_loop_event, &loop };
	struct gpgme_io_cbs	 none = { NULL, NULL, NULL, NULL, NULL };
	gpgme_error_t		 err;
	size_t			 i;

	memset(&loop, 0, sizeof(loop));
	for (i = 0; i < PGP_LOOP_FDS; i++)
		loop.fds[i].fd = -1;
	if (!gpgme_get_armor(ctx))
		return gpg_error(GPG_ERR_INV_ENGINE);	/* see the tail below */
	gpgme_set_io_cbs(ctx, &cbs);
	if ((err = gpgme_op_encrypt_start(ctx, keys, flags, in, out)) == 0)
		err = pgp_loop_run(ctx, &loop);
	gpgme_set_io_cbs(ctx, &none);
	if (err == 0 && !pgp_armor_complete(out)) {
		log_warnx("gpg ended before its output was complete");
		err = gpg_error(GPG_ERR_TRUNCATED);
	}
	return err;
}

int
pgp_encrypt_armor(const char *fpr, const void *data, size_t len, char **outp,
    char *why, size_t whylen)
{
	gpgme_ctx_t		 ctx;
	gpgme_data_t		 in = NULL, out = NULL;
	gpgme_key_t		 keys[2] = { NULL, NULL };
	gpgme_error_t		 err;
	char			*mem;
	size_t			 n;
	int			 ret = -1;

	*outp = NULL;
	if ((ctx = pgp_ctx(why, whylen)) == NULL)
		return -1;
	gpgme_set_armor(ctx, 1);
	if ((err = gpgme_get_key(ctx, fpr, &keys[0], 0)) != 0) {
		snprintf(why, whylen, "key %s: %s", fpr, gpgme_strerror(err));
		goto out;
	}
	if (!pgp_key_can_encrypt(keys[0], time(NULL))) {
		snprintf(why, whylen, "key %s cannot encrypt (expired or "
		    "revoked)", fpr);
		goto out;
	}
	/* The keys were handed to us by the provisioning system: trust them. */
	if ((err = gpgme_data_new_from_mem(&in, data, len, 0)) != 0 ||
	    (err = gpgme_data_new(&out)) != 0 ||
	    (err = pgp_encrypt(ctx, keys, GPGME_ENCRYPT_ALWAYS_TRUST, in,
	    out)) != 0) {
		snprintf(why, whylen, "encrypting to %s: %s", fpr,
		    gpgme_strerror(err));
		goto out;
	}
	mem = gpgme_data_release_and_get_mem(out, &n);
	out = NULL;
	if (mem == NULL) {
		snprintf(why, whylen, "encrypting to %s: no output", fpr);
		goto out;
	}
	*outp = xstrndup(mem, n);
	gpgme_free(mem);
	ret = 0;
out:
	if (keys[0] != NULL)
		gpgme_key_unref(keys[0]);
	gpgme_data_release(in);
	gpgme_data_release(out);
	gpgme_release(ctx);
	return ret;
}

int
pgp_backup(const char *dir, char *why, size_t whylen)
{
	char	*mem = NULL, *home = NULL, *path = NULL;
	size_t	 n = 0;
	int	 ret = -1;

	if (pgp_export_all(1, &mem, &n, why, whylen) == -1)
		return -1;
	xasprintf(&path, "%s/keys.asc", dir);
	if (file_write_atomic(path, mem == NULL ? "" : mem, n, 0600) == -1) {
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (n == 0) {
		ret = 0;
		goto out;
	}
	xasprintf(&home, "%s/gnupg", dir);
	ret = pgp_import_into(home, mem, n, why, whylen);
out:
	gpgme_free(mem);
	free(home);
	free(path);
	return ret;
}
