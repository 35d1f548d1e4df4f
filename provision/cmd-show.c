/*
 * cmd-show.c: everything about one mailbox except its secrets.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "provision.h"
#include "util.h"

struct show {
	struct provision	*pv;
	const char		*address;
	struct store_account	 acct;
	struct outbuf		 out;
	FILE			*fp;
	int			 n;
};

/* For show's column and JSON: "" where a mailbox has no special use. */
static const char *
show_special(uint32_t special)
{
	const char	*name = store_special_use_name(special);

	return name != NULL ? name : "";
}

static int
show_corr(const struct store_corr *c, void *arg)
{
	struct show	*sh = arg;
	char		 t[32];

	if (sh->pv->json) {
		fprintf(sh->fp, "%s{", sh->n++ ? "," : "");
		json_key_str(sh->fp, "address", c->address, 1);
		json_key_str(sh->fp, "fingerprint", c->fingerprint, 1);
		json_key_time(sh->fp, "added", c->added, 0);
		fprintf(sh->fp, "}");
	} else
		fprintf(sh->fp, "  %-40s %s  %s\n", c->address, c->fingerprint,
		    time_iso8601(c->added, t, sizeof(t)));
	return 0;
}

static int
show_mailbox(const struct store_mailbox *m, void *arg)
{
	struct show	*sh = arg;

	if (sh->pv->json) {
		fprintf(sh->fp, "%s{", sh->n++ ? "," : "");
		json_key_str(sh->fp, "name", m->name, 1);
		json_key_str(sh->fp, "special_use", show_special(m->special_use), 1);
		json_key_num(sh->fp, "uidvalidity", m->uidvalidity, 1);
		json_key_num(sh->fp, "uidnext", m->uidnext, 1);
		json_key_num(sh->fp, "highestmodseq", (long long)m->highestmodseq, 1);
		json_key_num(sh->fp, "messages", m->messages, 1);
		json_key_num(sh->fp, "unseen", m->unseen, 1);
		json_key_num(sh->fp, "bytes", (long long)m->bytes, 0);
		fprintf(sh->fp, "}");
	} else
		fprintf(sh->fp, "  %-24s %-9s %6u messages, %6u unseen, %10llu "
		    "bytes\n", m->name, show_special(m->special_use), m->messages,
		    m->unseen, (unsigned long long)m->bytes);
	return 0;
}

static int
show_txn(struct store_txn *txn, void *arg)
{
	struct show		*sh = arg;
	struct store_account	*a = &sh->acct;
	const struct conf	*cf = sh->pv->conf;
	char			 t1[32], t2[32], t3[32], t4[32];
	int			 ret, haspin, locked;

	sh->fp = outbuf_reset(&sh->out);
	if ((ret = store_account_find(txn, sh->address, a)) != 0)
		return ret;
	haspin = a->pin_verifier[0] != '\0';
	locked = haspin && a->pin_failures >= cf->pin_attempts;
	if (sh->pv->json) {
		fprintf(sh->fp, "{");
		json_key_str(sh->fp, "address", a->address, 1);
		json_key_str(sh->fp, "state", store_account_state_name(a->state), 1);
		json_key_time(sh->fp, "created", a->created, 1);
		json_key_time(sh->fp, "activated", a->activated, 1);
		json_key_time(sh->fp, "last_activity", a->last_activity, 1);
		json_key_str(sh->fp, "inviter", a->inviter, 1);
		fprintf(sh->fp, "\"notices\":%s,\"locked\":%s,",
		    a->notices_off ? "false" : "true",
		    a->locked ? "true" : "false");
		json_key_time(sh->fp, "client_seen", a->client_seen, 1);
		json_key_time(sh->fp, "notice_sent", a->notice_sent, 1);
		json_key_time(sh->fp, "lost_sent", a->lost_sent, 1);
		if (store_account_has_invite(a)) {
			fprintf(sh->fp, "\"invitation\":{");
			json_key_time(sh->fp, "expires", a->invite_expires, 1);
			fprintf(sh->fp, "\"pin\":%s,\"locked\":%s,",
			    haspin ? "true" : "false", locked ? "true" : "false");
			json_key_num(sh->fp, "pin_failures", a->pin_failures, 0);
			fprintf(sh->fp, "},");
		} else
			fprintf(sh->fp, "\"invitation\":null,");
		fprintf(sh->fp, "\"correspondents\":[");
	} else {
		fprintf(sh->fp, "address:        %s\nstate:          %s\n"
		    "created:        %s\nactivated:      %s\n"
		    "last activity:  %s\ninvited by:     %s\n", a->address,
		    store_account_state_name(a->state),
		    time_iso8601(a->created, t1, sizeof(t1)),
		    a->activated ? time_iso8601(a->activated, t2, sizeof(t2)) : "-",
		    time_iso8601(a->last_activity, t3, sizeof(t3)), a->inviter);
		if (store_account_has_invite(a))
			fprintf(sh->fp, "invitation:     expires %s, %s, %u failed "
			    "PIN attempts%s\n",
			    time_iso8601(a->invite_expires, t4, sizeof(t4)),
			    haspin ? "PIN set" : "no PIN", a->pin_failures,
			    locked ? " (locked: run unlock or reinvite)" : "");
		else
			fprintf(sh->fp, "invitation:     none (used)\n");
		fprintf(sh->fp, "notices:        %s\n", a->notices_off ? "off" :
		    "on");
		if (a->locked)
			fprintf(sh->fp, "locked:         by its owner (no login "
			    "but on the guest's page)\n");
		fprintf(sh->fp, "correspondents:\n");
	}
	sh->n = 0;
	if ((ret = store_corr_iter(txn, a->id, show_corr, sh)) != 0)
		return ret;
	fprintf(sh->fp, sh->pv->json ? "],\"mailboxes\":[" : "mailboxes:\n");
	sh->n = 0;
	if ((ret = store_mailbox_iter(txn, a->id, show_mailbox, sh)) != 0)
		return ret;
	if (sh->pv->json)
		fprintf(sh->fp, "]}\n");
	return 0;
}

static int
cmd_show_exec(struct provision *pv, int argc, char **argv)
{
	struct show	 sh;
	char		 addr[ADDR_MAX + 1];
	int		 ret;

	if (argc == 3 && strcmp(argv[2], "--json") == 0) {
		pv->json = 1;
		argc--;
	}
	if (argc != 2)
		return provision_usage(pv, "show");
	if ((ret = provision_account_open(pv, argv[1], addr)) != EX_OK)
		return ret;
	memset(&sh, 0, sizeof(sh));
	sh.pv = pv;
	sh.address = addr;
	ret = store_txn_run(pv->store, show_txn, &sh);
	outbuf_emit(&sh.out, ret == 0);
	store_account_clear(&sh.acct);
	return ret != 0 ? provision_account_fail(pv, addr, ret) : EX_OK;
}

const struct provision_cmd cmd_show = {
	.name = "show",
	.args = "ADDR [--json]",
	.help = "show a mailbox: state, invitation, correspondents, folders",
	.exec = cmd_show_exec,
};
