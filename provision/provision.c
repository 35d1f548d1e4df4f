/*
 * provision.c: guestbox-provision's main, its command table and the
 * helpers the commands share.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "pgp.h"
#include "proc.h"
#include "provision.h"
#include "pubkeys.h"
#include "util.h"
#include "xmalloc.h"

static const struct provision_cmd *const provision_cmds[] = {
	&cmd_create,
	&cmd_deliver,
	&cmd_list,
	&cmd_show,
	&cmd_disable,
	&cmd_enable,
	&cmd_delete,
	&cmd_reinvite,
	&cmd_unlock,
	&cmd_pin,
	&cmd_notices,
	&cmd_add_key,
	&cmd_queue,
	&cmd_expire,
	&cmd_check,
	&cmd_backup,
	&cmd_repl,
};

#define PROVISION_NCMDS	(sizeof(provision_cmds) / sizeof(provision_cmds[0]))

static void
provision_help(FILE *fp)
{
	size_t	 i;

	fprintf(fp, "usage: guestbox-provision [-v] [-c file] [--json] "
	    "command [args]\n\ncommands:\n");
	for (i = 0; i < PROVISION_NCMDS; i++)
		fprintf(fp, "  %-9s %s\n      %s\n", provision_cmds[i]->name,
		    provision_cmds[i]->args, provision_cmds[i]->help);
	fprintf(fp, "\nSee guestbox-provision(8).\n");
}

void
provision_errx(struct provision *pv, const char *fmt, ...)
{
	va_list	 ap;

	fprintf(stderr, "%s: ", pv->progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int
provision_usage(struct provision *pv, const char *name)
{
	size_t	 i;

	for (i = 0; i < PROVISION_NCMDS; i++)
		if (strcmp(provision_cmds[i]->name, name) == 0)
			fprintf(stderr, "usage: guestbox-provision %s %s\n",
			    name, provision_cmds[i]->args);
	return EX_USAGE;
}

void
provision_store_options(const struct conf *cf, struct store_options *so)
{
	memset(so, 0, sizeof(*so));
	so->cache_size = cf->db_cache_size;
	so->checkpoint_interval = cf->db_checkpoint_interval;
	so->log_keep_for_backup = cf->db_log_keep_for_backup;
	so->quota = cf->mailbox_quota;
	store_options_repl(so, cf);
}

void
provision_mailbox_names(const struct conf *cf, struct store_mailbox_names *n)
{
	n->sent = cf->mailbox_sent;
	n->drafts = cf->mailbox_drafts;
	n->trash = cf->mailbox_trash;
	n->archive = cf->mailbox_archive;
	n->junk = cf->mailbox_junk;
}

struct store *
provision_store(struct provision *pv)
{
	struct store_options	 so;
	int			 err;

	if (pv->store != NULL)
		return pv->store;
	provision_store_options(pv->conf, &so);
	so.stuck_secs = pv->stuck_secs;
	pv->store = store_open(pv->conf->state_dir, &so, &err);
	if (pv->store == NULL) {
		provision_errx(pv, "cannot open the store in %s: %s",
		    pv->conf->state_dir, store_strerror(err));
		return NULL;
	}
	/* The GnuPG home is a cache of the store's keys: complete it. */
	if (pv->pgp) {
		char	 why[512];

		if (pubkeys_restore(pv->store, NULL, why, sizeof(why)) == -1)
			log_warnx("rebuilding the GnuPG home: %s", why);
	}
	return pv->store;
}

int
provision_store_fail(struct provision *pv, const char *what, int err)
{
	provision_errx(pv, "%s: %s", what, store_strerror(err));
	switch (err) {
	case STORE_ENOTFOUND:
		return EX_NOUSER;
	case STORE_ENOSPC:
	case STORE_EDEADLOCK:
	case STORE_ERECOVER:
	case STORE_EUNAVAIL:
		return EX_TEMPFAIL;
	case STORE_ELIMIT:
		return EX_CANTCREAT;
	case STORE_ECORRUPT:
		return EX_DATAERR;
	default:
		return EX_IOERR;
	}
}

int
provision_account_fail(struct provision *pv, const char *addr, int err)
{
	if (err == STORE_ENOTFOUND) {
		provision_errx(pv, "%s has no mailbox here", addr);
		return EX_NOUSER;
	}
	return provision_store_fail(pv, addr, err);
}

int
provision_input(struct provision *pv, const char *path, const char **bufp,
    size_t *lenp)
{
	if (pv->input_name == NULL || strcmp(pv->input_name, path) != 0) {
		provision_errx(pv, "%s: not read", path);
		return -1;
	}
	if (pv->input == NULL) {
		provision_errx(pv, "%s: %s", path, strerror(pv->input_errno));
		return -1;
	}
	*bufp = pv->input;
	*lenp = pv->inputlen;
	return 0;
}

/* Finds the command's input file on its command line and reads it. */
static void
provision_preload(struct provision *pv, const struct provision_cmd *cmd,
    int argc, char **argv)
{
	size_t	 n;
	int	 i;

	if (cmd->input_option == NULL)
		return;
	n = strlen(cmd->input_option);
	for (i = 1; i < argc && pv->input_name == NULL; i++) {
		if (n == 0 && argv[i][0] != '-')
			pv->input_name = argv[i];
		else if (n > 0 && strcmp(argv[i], cmd->input_option) == 0 &&
		    i + 1 < argc)
			pv->input_name = argv[i + 1];
		else if (n > 0 && strncmp(argv[i], cmd->input_option, n) == 0 &&
		    argv[i][n] == '=')
			pv->input_name = argv[i] + n + 1;
	}
	if (pv->input_name != NULL && file_read_all(pv->input_name,
	    PGP_KEYFILE_MAX, &pv->input, &pv->inputlen) == -1)
		pv->input_errno = errno;
}

int
provision_addr(const char *arg, char *out)
{
	const char	*why;

	if (addr_normalize(arg, out, &why) == -1) {
		fprintf(stderr, "guestbox-provision: \"%s\" is not a mail "
		    "address: %s\n", arg, why);
		return -1;
	}
	return 0;
}

int
provision_account_open(struct provision *pv, const char *arg, char *addr)
{
	if (provision_addr(arg, addr) == -1)
		return EX_DATAERR;
	if (provision_store(pv) == NULL)
		return EX_TEMPFAIL;
	return EX_OK;
}

int
provision_find(struct provision *pv, const char *arg, struct store_account *a)
{
	char		 addr[ADDR_MAX + 1];
	int		 ret;

	if ((ret = provision_account_open(pv, arg, addr)) != EX_OK)
		return ret;
	ret = store_account_lookup(pv->store, addr, a);
	return ret != 0 ? provision_account_fail(pv, addr, ret) : EX_OK;
}

struct provision_modify_arg {
	const char	*address;
	const struct conf *conf;
	int		(*change)(struct store_account *, const struct conf *,
			    const char **);
	const char	*why;
};

static int
provision_modify_txn(struct store_txn *txn, void *arg)
{
	struct provision_modify_arg	*ma = arg;
	struct store_account		 a;
	int				 ret;

	memset(&a, 0, sizeof(a));
	ma->why = NULL;
	if ((ret = store_account_find(txn, ma->address, &a)) == 0 &&
	    (ret = ma->change(&a, ma->conf, &ma->why)) == 0)
		ret = store_account_update(txn, &a);
	store_account_clear(&a);
	return ret;
}

int
provision_modify(struct provision *pv, const char *arg,
    int (*change)(struct store_account *, const struct conf *, const char **),
    const char *done)
{
	struct provision_modify_arg ma;
	char		 addr[ADDR_MAX + 1];
	int		 ret;

	if ((ret = provision_account_open(pv, arg, addr)) != EX_OK)
		return ret;
	ma.address = addr;
	ma.conf = pv->conf;
	ma.change = change;
	ret = store_txn_run(pv->store, provision_modify_txn, &ma);
	if (ret == STORE_ESTATE) {
		provision_errx(pv, "%s: %s", addr, ma.why != NULL ? ma.why :
		    "not possible in its state");
		return EX_DATAERR;
	}
	if (ret != 0)
		return provision_account_fail(pv, addr, ret);
	if (pv->json) {
		printf("{");
		json_key_str(stdout, "address", addr, 1);
		json_key_str(stdout, "result", done, 0);
		printf("}\n");
	} else if (ma.why != NULL)
		printf("%s: %s (%s)\n", addr, done, ma.why);
	else
		printf("%s: %s\n", addr, done);
	return EX_OK;
}

FILE *
outbuf_reset(struct outbuf *ob)
{
	if (ob->fp != NULL)
		fclose(ob->fp);
	free(ob->buf);
	ob->buf = NULL;
	ob->len = 0;
	if ((ob->fp = open_memstream(&ob->buf, &ob->len)) == NULL)
		fatal("open_memstream");
	return ob->fp;
}

void
outbuf_emit(struct outbuf *ob, int print)
{
	if (ob->fp != NULL)
		fclose(ob->fp);
	if (print && ob->buf != NULL)
		fwrite(ob->buf, 1, ob->len, stdout);
	free(ob->buf);
	memset(ob, 0, sizeof(*ob));
}

/* ---- JSON ---- */

void
json_str(FILE *fp, const char *s)
{
	const unsigned char	*p;

	fputc('"', fp);
	for (p = (const unsigned char *)(s == NULL ? "" : s); *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(fp, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", fp);
		else if (*p < 0x20)
			fprintf(fp, "\\u%04x", *p);
		else
			fputc(*p, fp);
	}
	fputc('"', fp);
}

void
json_key_str(FILE *fp, const char *key, const char *val, int comma)
{
	json_str(fp, key);
	fputc(':', fp);
	json_str(fp, val);
	if (comma)
		fputc(',', fp);
}

void
json_key_num(FILE *fp, const char *key, long long val, int comma)
{
	json_str(fp, key);
	fprintf(fp, ":%lld%s", val, comma ? "," : "");
}

void
json_key_time(FILE *fp, const char *key, time_t val, int comma)
{
	char	 buf[32];

	if (val == 0) {
		json_str(fp, key);
		fprintf(fp, ":null%s", comma ? "," : "");
		return;
	}
	json_key_str(fp, key, time_iso8601(val, buf, sizeof(buf)), comma);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct provision	 pv;
	const char		*conffile = NULL;
	char			 err[512];
	size_t			 i;
	int			 ch, verbose = 0, ret, was_root;

	memset(&pv, 0, sizeof(pv));
	pv.progname = "guestbox-provision";
	proc_harden();
	log_init(pv.progname, 1, 0);
	/* '+': options after the command belong to the command. */
	while ((ch = getopt_long(argc, argv, "+c:vh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			conffile = optarg;
			break;
		case 'v':
			verbose++;
			break;
		case 'j':
			pv.json = 1;
			break;
		case 'h':
			provision_help(stdout);
			return EX_OK;
		case 'V':
			printf("guestbox-provision %s\n", PACKAGE_VERSION);
			return EX_OK;
		default:
			provision_help(stderr);
			return EX_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		provision_help(stderr);
		return EX_USAGE;
	}
	log_set_verbose(verbose);
	for (i = 0; i < PROVISION_NCMDS; i++)
		if (strcmp(provision_cmds[i]->name, argv[0]) == 0)
			break;
	if (i == PROVISION_NCMDS) {
		provision_errx(&pv, "unknown command \"%s\"; try --help",
		    argv[0]);
		return EX_USAGE;
	}
	if (conffile == NULL && access(CONF_DEFAULT_PATH, F_OK) == 0)
		conffile = CONF_DEFAULT_PATH;
	if ((pv.conf = conf_load(conffile, err, sizeof(err))) == NULL) {
		provision_errx(&pv, "%s", err);
		return EX_CONFIG;
	}
	if (vault_init() == -1) {
		provision_errx(&pv, "libsodium failed to initialise");
		return EX_SOFTWARE;
	}
	/* Files in the state directory belong to the daemons' user. */
	provision_preload(&pv, provision_cmds[i], argc, argv);
	was_root = geteuid() == 0;
	if (proc_drop_privileges(pv.conf->user, pv.conf->group) == -1)
		return EX_NOPERM;
	if (was_root && geteuid() != 0)
		pv.switched_to = pv.conf->user;
	if (mkdir(pv.conf->state_dir, 0700) == -1 && errno != EEXIST) {
		provision_errx(&pv, "cannot create the state directory %s: %s",
		    pv.conf->state_dir, strerror(errno));
		return EX_CANTCREAT;
	}
	if ((provision_cmds[i]->flags & PROVISION_PGP) &&
	    pgp_init(pv.conf->state_dir) == -1) {
		provision_errx(&pv, "cannot use the GnuPG home in %s",
		    pv.conf->state_dir);
		return EX_UNAVAILABLE;
	}
	pv.pgp = (provision_cmds[i]->flags & PROVISION_PGP) != 0;
	/* Commands parse their own options with getopt from argv[0]. */
	optind = 0;
	ret = provision_cmds[i]->exec(&pv, argc, argv);
	if (pv.store != NULL) {
		store_maintain(pv.store, 0);
		store_close(&pv.store);
	}
	conf_free(&pv.conf);
	free(pv.input);
	return ret;
}
