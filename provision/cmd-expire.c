/*
 * cmd-expire.c: delete mailboxes idle for expire_days and invitations
 * never used within invite_days (SPEC 7), and finish interrupted deletes.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "provision.h"
#include "pubkeys.h"
#include "rfc5322.h"
#include "smtp-client.h"
#include "util.h"
#include "xmalloc.h"

enum expire_action {
	EXPIRE_KEEP,
	EXPIRE_WARN,		/* notice due: expire_warn_days left */
	EXPIRE_IDLE,		/* no activity for expire_days */
	EXPIRE_UNUSED,		/* invitation never used */
	EXPIRE_UNFINISHED,	/* an earlier delete was interrupted */
};

static const char *const expire_reasons[] = {
	[EXPIRE_KEEP] = "keep",
	[EXPIRE_WARN] = "notice due",
	[EXPIRE_IDLE] = "idle",
	[EXPIRE_UNUSED] = "invitation never used",
	[EXPIRE_UNFINISHED] = "unfinished delete",
};

struct expire_item {
	uint64_t		 id;
	char			*address;
	enum expire_action	 action;
	int64_t			 last_activity;
};

struct expire {
	const struct conf	*conf;
	time_t			 now;
	struct expire_item	*items;
	size_t			 n;
};

/* The rule, in one place: what happens to this account at now. */
static enum expire_action
expire_decide(const struct conf *cf, const struct store_account *a, time_t now)
{
	time_t	 idle = (time_t)cf->expire_days * 86400;
	time_t	 warn = (time_t)cf->expire_warn_days * 86400;

	if (a->state == STORE_ACCT_DELETING)
		return EXPIRE_UNFINISHED;
	if (a->state == STORE_ACCT_PENDING && store_account_has_invite(a) &&
	    now >= a->invite_created + (time_t)cf->invite_days * 86400)
		return EXPIRE_UNUSED;
	if (now >= a->last_activity + idle)
		return EXPIRE_IDLE;
	if (a->state == STORE_ACCT_ACTIVE && warn > 0 &&
	    now >= a->last_activity + idle - warn && a->warned < a->last_activity)
		return EXPIRE_WARN;
	return EXPIRE_KEEP;
}

static int
expire_collect(const struct store_account *a, void *arg)
{
	struct expire		*ex = arg;
	enum expire_action	 act = expire_decide(ex->conf, a, ex->now);

	if (act == EXPIRE_KEEP)
		return 0;
	ex->items = xreallocarray(ex->items, ex->n + 1, sizeof(*ex->items));
	ex->items[ex->n].id = a->id;
	ex->items[ex->n].address = xstrdup(a->address);
	ex->items[ex->n].action = act;
	ex->items[ex->n].last_activity = a->last_activity;
	ex->n++;
	return 0;
}

static void
expire_free_items(struct expire *ex)
{
	size_t	 i;

	for (i = 0; i < ex->n; i++)
		free(ex->items[i].address);
	free(ex->items);
	ex->items = NULL;
	ex->n = 0;
}

static int
expire_txn(struct store_txn *txn, void *arg)
{
	expire_free_items(arg);
	return store_account_iter(txn, expire_collect, arg);
}

struct expire_recheck {
	time_t			 now;
	uint64_t		 id;
};

/* The notice went out: do not send it again before the next activity. */
static int
expire_warned_txn(struct store_txn *txn, void *arg)
{
	struct expire_recheck	*rc = arg;
	struct store_account	 a;
	int			 ret;

	memset(&a, 0, sizeof(a));
	if ((ret = store_account_get(txn, rc->id, &a)) != 0)
		return ret;
	a.warned = rc->now;
	ret = store_account_update(txn, &a);
	store_account_clear(&a);
	return ret;
}

/*
 * SPEC 7: a notice without content that the mailbox goes unless its owner
 * logs in.  Returns 0 sent, 1 not sent (no smarthost), -1 on failure.
 */
static int
expire_notice(struct provision *pv, const struct expire_item *it, time_t now)
{
	const struct conf	*cf = pv->conf;
	struct expire_recheck	 rc = { now, it->id };
	char			*msg, date[RFC5322_DATE_MAX], id[33], when[32];
	char			 del[32], err[512];
	struct tm		 tm;
	time_t			 last, gone;
	int			 len, ret;

	if (cf->smarthost == NULL)
		return 1;
	last = (time_t)it->last_activity;
	gone = last + (time_t)cf->expire_days * 86400;
	rfc5322_date_format(now, 0, date, sizeof(date));
	gmtime_r(&last, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d", &tm);
	gmtime_r(&gone, &tm);
	strftime(del, sizeof(del), "%Y-%m-%d", &tm);
	rfc5322_random_id(id, sizeof(id));
	/* RFC 2047 for the German half of the subject. */
	len = xasprintf(&msg, "From: guestbox <%s>\r\nTo: <%s>\r\n"
	    "Subject: Your temporary mailbox will be deleted / =?utf-8?Q?"
	    "Ihr_tempor=C3=A4res_Postfach_wird_gel=C3=B6scht?=\r\n"
	    "Date: %s\r\nMessage-ID: <%s@%s>\r\nAuto-Submitted: "
	    "auto-generated\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; "
	    "charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
	    "Your temporary mailbox %s on %s has not been used since %s.\r\n"
	    "It will be deleted, with all its mail, on %s unless you log in "
	    "before\r\n(with your mail client, as usual).\r\n\r\n"
	    "Ihr tempor\xc3\xa4res Postfach %s auf %s wurde seit %s nicht "
	    "benutzt.\r\nEs wird am %s mit allen Nachrichten gel\xc3\xb6scht, "
	    "wenn Sie sich\r\nnicht vorher anmelden (wie gewohnt mit Ihrem "
	    "Mailprogramm).\r\n", cf->invite_from, it->address, date, id,
	    cf->hostname, it->address, cf->hostname, when, del, it->address,
	    cf->hostname, when, del);
	ret = smtp_client_send_wait(cf, cf->invite_from, it->address, msg,
	    (size_t)len, err, sizeof(err));
	free(msg);
	if (ret == -1) {
		provision_errx(pv, "%s: the expiry notice was not sent: %s",
		    it->address, err);
		return -1;
	}
	if ((ret = store_txn_run(pv->store, expire_warned_txn, &rc)) != 0)
		provision_errx(pv, "%s: notice sent, but not recorded: %s",
		    it->address, store_strerror(ret));
	return 0;
}

static int
cmd_expire_exec(struct provision *pv, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "now", required_argument, NULL, 'n' },
		{ "dry-run", no_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	struct expire	 ex;
	char		 why[512];
	uint64_t	 nmsgs, norphans = 0;
	size_t		 i;
	const char	*notice;
	int		 ch, ret, n, dry = 0, failed = 0, first = 1;

	memset(&ex, 0, sizeof(ex));
	ex.conf = pv->conf;
	ex.now = time(NULL);
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'n':
			if (time_parse(optarg, ex.now, &ex.now) == -1) {
				provision_errx(pv, "--now takes YYYY-MM-DD, "
				    "YYYY-MM-DDTHH:MM:SSZ, seconds since 1970, "
				    "or +Nd");
				return EX_USAGE;
			}
			break;
		case 'd':
			dry = 1;
			break;
		default:
			return provision_usage(pv, "expire");
		}
	}
	if (optind != argc)
		return provision_usage(pv, "expire");
	if (provision_store(pv) == NULL)
		return EX_TEMPFAIL;
	if ((ret = store_txn_run(pv->store, expire_txn, &ex)) != 0) {
		expire_free_items(&ex);
		return provision_store_fail(pv, "expire", ret);
	}
	if (pv->json)
		printf("[");
	for (i = 0; i < ex.n; i++) {
		nmsgs = 0;
		ret = 0;
		notice = NULL;
		if (ex.items[i].action == EXPIRE_WARN) {
			notice = dry ? "due" : "due (no smarthost to send it)";
			if (!dry) {
				n = expire_notice(pv, &ex.items[i], ex.now);
				if (n == 0)
					notice = "sent";
				else if (n == -1) {
					notice = "failed";
					failed = 1;
				}
			}
		} else if (!dry) {
			struct store_account	 a;
			enum expire_action	 act = EXPIRE_KEEP;

			/*
			 * A login may have come between the listing and the
			 * delete: look again.
			 */
			memset(&a, 0, sizeof(a));
			ret = store_account_load(pv->store, ex.items[i].id, &a);
			if (ret == 0)
				act = expire_decide(ex.conf, &a, ex.now);
			store_account_clear(&a);
			if (ret == STORE_ENOTFOUND || (ret == 0 &&
			    (act == EXPIRE_KEEP || act == EXPIRE_WARN)))
				continue;	/* deleted or active meanwhile */
			if (ret == 0)
				ret = store_account_purge(pv->store,
				    ex.items[i].id, &nmsgs);
		}
		if (ret != 0) {
			provision_errx(pv, "%s: %s", ex.items[i].address,
			    store_strerror(ret));
			failed = 1;
			continue;
		}
		if (pv->json) {
			printf("%s{", first ? "" : ",");
			json_key_str(stdout, "address", ex.items[i].address, 1);
			json_key_str(stdout, "reason",
			    expire_reasons[ex.items[i].action], 1);
			printf("\"deleted\":%s,", !dry && ex.items[i].action !=
			    EXPIRE_WARN ? "true" : "false");
			if (notice != NULL)
				json_key_str(stdout, "notice", notice, 1);
			json_key_num(stdout, "messages_deleted", (long long)nmsgs, 0);
			printf("}");
		} else if (notice != NULL)
			printf("%s: expiry notice %s\n", ex.items[i].address,
			    notice);
		else
			printf("%s: %s%s\n", ex.items[i].address,
			    expire_reasons[ex.items[i].action], dry ? "" :
			    ", deleted");
		first = 0;
	}
	if (pv->json)
		printf("]\n");
	expire_free_items(&ex);
	/* Live erase keys of accounts that are gone (older versions). */
	if (!dry && (ret = store_erase_sweep(pv->store, &norphans)) != 0) {
		provision_errx(pv, "removing erase keys of deleted accounts: %s",
		    store_strerror(ret));
		failed = 1;
	} else if (norphans > 0 && !pv->json)
		printf("%llu erase key%s of deleted accounts removed\n",
		    (unsigned long long)norphans, norphans == 1 ? "" : "s");
	/*
	 * The log-removal step: the log files still hold the erase keys
	 * just overwritten (guestbox(7), CRYPTO-SHREDDING).  Run with
	 * nothing to delete it is also the way to finish a delete whose
	 * own step failed.
	 */
	if (!dry && pubkeys_prune(pv->store, NULL, why, sizeof(why)) == -1) {
		provision_errx(pv, "removing unused keys from the GnuPG home: "
		    "%s", why);
		failed = 1;
	}
	if (!dry && (ret = store_log_retire(pv->store)) != 0) {
		provision_errx(pv, "removing the old log files: %s",
		    store_strerror(ret));
		failed = 1;
	}
	return failed ? EX_TEMPFAIL : EX_OK;
}

const struct provision_cmd cmd_expire = {
	.name = "expire",
	.args = "[--now TIME] [--dry-run]",
	.help = "delete idle mailboxes and unused invitations",
	.exec = cmd_expire_exec,
	.flags = PROVISION_PGP,
};
