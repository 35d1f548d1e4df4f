/*
 * cmd-list.c: one line per mailbox.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provision.h"
#include "util.h"

/* Output is buffered: a retried transaction must not print twice. */
struct list {
	struct provision	*pv;
	int			 n;
	FILE			*fp;
	struct outbuf		 out;
};

struct list_usage {
	uint64_t	 messages;
	uint64_t	 bytes;
};

static int
cmd_list_count(const struct store_mailbox *m, void *arg)
{
	struct list_usage	*u = arg;

	u->messages += m->messages;
	u->bytes += m->bytes;
	return 0;
}

struct list_txn {
	struct list		*ls;
	struct store_txn	*txn;
};

static int
cmd_list_one(const struct store_account *a, void *arg)
{
	struct list_txn		*lt = arg;
	struct list		*ls = lt->ls;
	struct list_usage	 u = { 0, 0 };
	char			 c[32], l[32];
	int			 ret;

	if ((ret = store_mailbox_iter(lt->txn, a->id, cmd_list_count, &u)) != 0)
		return ret;
	if (ls->pv->json) {
		fprintf(ls->fp, "%s{", ls->n++ ? "," : "");
		json_key_str(ls->fp, "address", a->address, 1);
		json_key_str(ls->fp, "state", store_account_state_name(a->state), 1);
		json_key_time(ls->fp, "created", a->created, 1);
		json_key_time(ls->fp, "last_activity", a->last_activity, 1);
		json_key_num(ls->fp, "messages", (long long)u.messages, 1);
		json_key_num(ls->fp, "bytes", (long long)u.bytes, 0);
		fprintf(ls->fp, "}");
	} else {
		if (ls->n++ == 0)
			fprintf(ls->fp, "%-40s %-9s %-20s %-20s %8s\n", "ADDRESS",
			    "STATE", "CREATED", "LAST ACTIVITY", "MESSAGES");
		fprintf(ls->fp, "%-40s %-9s %-20s %-20s %8llu\n", a->address,
		    store_account_state_name(a->state),
		    time_iso8601(a->created, c, sizeof(c)),
		    time_iso8601(a->last_activity, l, sizeof(l)),
		    (unsigned long long)u.messages);
	}
	return 0;
}

static int
cmd_list_txn(struct store_txn *txn, void *arg)
{
	struct list	*ls = arg;
	struct list_txn	 lt = { ls, txn };

	ls->n = 0;
	ls->fp = outbuf_reset(&ls->out);
	return store_account_iter(txn, cmd_list_one, &lt);
}

static int
cmd_list_exec(struct provision *pv, int argc, char **argv)
{
	struct list	 ls;
	int		 ret;

	if (argc > 2 || (argc == 2 && strcmp(argv[1], "--json") != 0))
		return provision_usage(pv, "list");
	if (argc == 2)
		pv->json = 1;
	if (provision_store(pv) == NULL)
		return EX_TEMPFAIL;
	memset(&ls, 0, sizeof(ls));
	ls.pv = pv;
	ret = store_txn_run(pv->store, cmd_list_txn, &ls);
	if (ret == 0 && pv->json)
		printf("[");
	outbuf_emit(&ls.out, ret == 0);
	if (ret == 0 && pv->json)
		printf("]\n");
	if (ret != 0)
		return provision_store_fail(pv, "list", ret);
	return EX_OK;
}

const struct provision_cmd cmd_list = {
	.name = "list",
	.args = "[--json]",
	.help = "list every mailbox with its state and last activity",
	.exec = cmd_list_exec,
};
