/*
 * cmd-queue.c: the outbound queue of guestbox-submitd: list its entries,
 * make them due now, or delete them.
 *
 *	queue [list] [--json]	every entry with its recipients
 *	queue retry ID|all	due now; the relay hears of it at once
 *	queue delete ID		gone, without a bounce
 *
 * The queue holds only OpenPGP-encrypted copies, so nothing here shows
 * a message; the envelope, the smarthost's answers and the times are
 * what an admin needs to see why a reply is stuck.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provision.h"
#include "util.h"
#include "xmalloc.h"

static const char *const queue_rcpt_states[] = {
	[STORE_RCPT_PENDING] = "pending",
	[STORE_RCPT_SENT] = "sent",
	[STORE_RCPT_FAILED] = "failed",
};

static const char *
queue_rcpt_state(uint8_t status)
{
	if (status < sizeof(queue_rcpt_states) / sizeof(queue_rcpt_states[0]))
		return queue_rcpt_states[status];
	return "unknown";
}

/* ---- list ---- */

struct queue_list {
	struct provision	*pv;
	struct outbuf		 out;
	FILE			*fp;
	int			 n;
};

static void
queue_list_json(struct queue_list *ql, const struct store_queue_entry *e)
{
	FILE		*fp = ql->fp;
	uint32_t	 i;

	fprintf(fp, "%s{", ql->n > 0 ? "," : "");
	json_key_num(fp, "id", (long long)e->id, 1);
	json_key_str(fp, "sender", e->mail_from, 1);
	json_str(fp, "message_id");
	fputc(':', fp);
	if (e->message_id != NULL)
		json_str(fp, e->message_id);
	else
		fputs("null", fp);
	fputc(',', fp);
	json_key_num(fp, "size", (long long)e->size, 1);
	json_key_time(fp, "created", (time_t)e->created, 1);
	json_key_num(fp, "attempts", (long long)e->attempts, 1);
	json_key_time(fp, "next_attempt", (time_t)e->next_attempt, 1);
	json_str(fp, "last_error");
	fputc(':', fp);
	if (e->last_error != NULL && e->last_error[0] != '\0')
		json_str(fp, e->last_error);
	else
		fputs("null", fp);
	fputs(",\"recipients\":[", fp);
	for (i = 0; i < e->nrcpts; i++) {
		fprintf(fp, "%s{", i > 0 ? "," : "");
		json_key_str(fp, "address", e->rcpts[i].address, 1);
		json_key_str(fp, "state", queue_rcpt_state(e->rcpts[i].status), 1);
		json_str(fp, "reply");
		fputc(':', fp);
		if (e->rcpts[i].reply != NULL && e->rcpts[i].reply[0] != '\0')
			json_str(fp, e->rcpts[i].reply);
		else
			fputs("null", fp);
		fputc('}', fp);
	}
	fputs("]}", fp);
}

static void
queue_list_text(struct queue_list *ql, const struct store_queue_entry *e)
{
	FILE		*fp = ql->fp;
	char		 c[32], t[32];
	uint32_t	 i;

	if (ql->n == 0)
		fprintf(fp, "%-6s %-32s %8s %-20s %-20s %s\n", "ID", "SENDER",
		    "ATTEMPTS", "CREATED", "NEXT ATTEMPT", "LAST ERROR");
	fprintf(fp, "%-6" PRIu64 " %-32s %8" PRIu32 " %-20s %-20s %s\n", e->id,
	    e->mail_from, e->attempts, time_iso8601((time_t)e->created, c,
	    sizeof(c)), time_iso8601((time_t)e->next_attempt, t, sizeof(t)),
	    e->last_error != NULL && e->last_error[0] != '\0' ?
	    e->last_error : "-");
	for (i = 0; i < e->nrcpts; i++)
		fprintf(fp, "       -> %-32s %-7s %s\n", e->rcpts[i].address,
		    queue_rcpt_state(e->rcpts[i].status),
		    e->rcpts[i].reply != NULL ? e->rcpts[i].reply : "");
}

static int
queue_list_one(const struct store_queue_entry *e, void *arg)
{
	struct queue_list	*ql = arg;

	if (ql->pv->json)
		queue_list_json(ql, e);
	else
		queue_list_text(ql, e);
	ql->n++;
	return 0;
}

static int
queue_list_txn(struct store_txn *txn, void *arg)
{
	struct queue_list	*ql = arg;

	ql->n = 0;
	ql->fp = outbuf_reset(&ql->out);
	return store_queue_iter(txn, queue_list_one, ql);
}

static int
queue_list(struct provision *pv)
{
	struct queue_list	 ql;
	int			 ret;

	memset(&ql, 0, sizeof(ql));
	ql.pv = pv;
	ret = store_txn_run(pv->store, queue_list_txn, &ql);
	if (ret != 0) {
		outbuf_emit(&ql.out, 0);
		return provision_store_fail(pv, "queue", ret);
	}
	if (pv->json)
		printf("[");
	outbuf_emit(&ql.out, 1);
	if (pv->json)
		printf("]\n");
	return EX_OK;
}

/* ---- retry, delete ---- */

struct queue_ids {
	uint64_t	*v;
	size_t		 n;
};

static int
queue_ids_one(const struct store_queue_entry *e, void *arg)
{
	struct queue_ids	*ids = arg;

	ids->v = xreallocarray(ids->v, ids->n + 1, sizeof(*ids->v));
	ids->v[ids->n++] = e->id;
	return 0;
}

struct queue_change {
	struct provision	*pv;
	int			 delete;
	uint64_t		 id;		/* 0: all (retry) */
	struct queue_ids	 ids;
	struct outbuf		 out;
	FILE			*fp;
	int			 printed;
};

static int
queue_change_one(struct store_txn *txn, struct queue_change *qc, uint64_t id)
{
	struct store_queue_entry	 e;
	int				 ret;

	memset(&e, 0, sizeof(e));
	if (qc->delete)
		ret = store_queue_del(txn, id);
	else if ((ret = store_queue_get(txn, id, &e)) == 0) {
		/* store_queue_update tells guestbox-submitd: it sends now. */
		e.next_attempt = store_txn_now(txn);
		ret = store_queue_update(txn, &e);
	}
	store_queue_entry_clear(&e);
	if (ret != 0)
		return ret;
	if (qc->pv->json) {
		fprintf(qc->fp, "%s{", qc->printed++ > 0 ? "," : "");
		json_key_num(qc->fp, "id", (long long)id, 1);
		json_key_str(qc->fp, "result", qc->delete ? "deleted" :
		    "due now", 0);
		fputc('}', qc->fp);
	} else
		fprintf(qc->fp, "queue entry %" PRIu64 ": %s\n", id,
		    qc->delete ? "deleted" : "due now");
	return 0;
}

static int
queue_change_txn(struct store_txn *txn, void *arg)
{
	struct queue_change	*qc = arg;
	size_t			 i;
	int			 ret;

	qc->fp = outbuf_reset(&qc->out);
	qc->printed = 0;
	free(qc->ids.v);
	qc->ids.v = NULL;
	qc->ids.n = 0;
	if (qc->id != 0)
		return queue_change_one(txn, qc, qc->id);
	/* The ids first: no update under the cursor that walks them. */
	if ((ret = store_queue_iter(txn, queue_ids_one, &qc->ids)) != 0)
		return ret;
	for (i = 0; i < qc->ids.n; i++)
		if ((ret = queue_change_one(txn, qc, qc->ids.v[i])) != 0)
			return ret;
	return 0;
}

static int
queue_change(struct provision *pv, int delete, const char *arg)
{
	struct queue_change	 qc;
	unsigned long long	 id;
	char			*end;
	int			 ret;

	memset(&qc, 0, sizeof(qc));
	qc.pv = pv;
	qc.delete = delete;
	if (!delete && strcmp(arg, "all") == 0)
		qc.id = 0;
	else {
		errno = 0;
		id = strtoull(arg, &end, 10);
		if (arg[0] < '0' || arg[0] > '9' || *end != '\0' || errno != 0 ||
		    id == 0) {
			provision_errx(pv, "\"%s\" is not a queue entry id%s", arg,
			    delete ? "" : " or \"all\"");
			return EX_USAGE;
		}
		qc.id = id;
	}
	if (provision_store(pv) == NULL)
		return EX_TEMPFAIL;
	ret = store_txn_run(pv->store, queue_change_txn, &qc);
	free(qc.ids.v);
	if (ret == STORE_ENOTFOUND && qc.id != 0) {
		outbuf_emit(&qc.out, 0);
		provision_errx(pv, "no queue entry %llu", (unsigned long long)qc.id);
		return EX_NOUSER;
	}
	if (ret != 0) {
		outbuf_emit(&qc.out, 0);
		return provision_store_fail(pv, "queue", ret);
	}
	if (pv->json)
		printf("[");
	outbuf_emit(&qc.out, 1);
	if (pv->json)
		printf("]\n");
	return EX_OK;
}

static int
cmd_queue_exec(struct provision *pv, int argc, char **argv)
{
	const char	*sub = argc > 1 ? argv[1] : "list";

	/* --json may come last, as with list. */
	if (argc > 1 && strcmp(argv[argc - 1], "--json") == 0) {
		pv->json = 1;
		argc--;
		if (argc == 1)
			sub = "list";
	}
	if (strcmp(sub, "list") == 0 && argc <= 2) {
		if (provision_store(pv) == NULL)
			return EX_TEMPFAIL;
		return queue_list(pv);
	}
	if (strcmp(sub, "retry") == 0 && argc == 3)
		return queue_change(pv, 0, argv[2]);
	if (strcmp(sub, "delete") == 0 && argc == 3)
		return queue_change(pv, 1, argv[2]);
	return provision_usage(pv, "queue");
}

const struct provision_cmd cmd_queue = {
	.name = "queue",
	.args = "[list] [--json] | retry ID|all | delete ID",
	.help = "show the outbound queue, send entries now, or delete them",
	.exec = cmd_queue_exec,
};
