/*
 * cmd-repl.c: the replication group as this site sees it (issue 15).
 */
#include "config.h"

#include <stdio.h>

#include "provision.h"

static int
cmd_repl_exec(struct provision *pv, int argc, char **argv)
{
	struct store_repl_status rs;
	const struct store_repl_site *s;
	size_t			 i;
	int			 ret;

	if (argc != 1)
		return provision_usage(pv, "repl");
	if (pv->conf->repl_site == NULL) {
		provision_errx(pv, "repl: repl_site is not set: this site does "
		    "not replicate");
		return EX_CONFIG;
	}
	if (provision_store(pv) == NULL)
		return EX_TEMPFAIL;
	if ((ret = store_repl_status(pv->store, &rs)) != 0)
		return provision_store_fail(pv, "repl", ret);
	if (pv->json) {
		printf("{");
		json_key_str(stdout, "site", pv->conf->repl_site, 1);
		json_key_str(stdout, "role", store_repl_role_name(rs.role), 1);
		json_key_num(stdout, "startup_done", rs.startup_done, 1);
		json_key_num(stdout, "nsites", rs.nsites, 1);
		json_key_num(stdout, "gen", rs.gen, 1);
		json_key_num(stdout, "log_file", rs.log_file, 1);
		json_key_num(stdout, "log_offset", rs.log_offset, 1);
		json_key_num(stdout, "waiting_file", rs.waiting_file, 1);
		json_key_num(stdout, "waiting_offset", rs.waiting_offset, 1);
		json_key_num(stdout, "log_queued", (long long)rs.log_queued, 1);
		printf("\"sites\":[");
		for (i = 0; i < rs.nsites_list; i++) {
			s = &rs.sites[i];
			printf("%s{", i > 0 ? "," : "");
			json_key_str(stdout, "host", s->host, 1);
			json_key_num(stdout, "port", s->port, 1);
			json_key_num(stdout, "connected", s->connected, 1);
			json_key_num(stdout, "master", s->master, 0);
			printf("}");
		}
		printf("]}\n");
		return EX_OK;
	}
	printf("site: %s\nrole: %s\n", pv->conf->repl_site,
	    store_repl_role_name(rs.role));
	if (rs.role == STORE_REPL_CLIENT)
		printf("caught up: %s\n", rs.startup_done ? "yes" : "not yet");
	printf("group: %u sites, generation %u\n", rs.nsites, rs.gen);
	printf("log end: %u/%u\n", rs.log_file, rs.log_offset);
	/* A client that has a gap awaits the record at waiting_lsn. */
	if (rs.waiting_file != 0)
		printf("lag: awaiting %u/%u, %llu records queued\n",
		    rs.waiting_file, rs.waiting_offset,
		    (unsigned long long)rs.log_queued);
	else
		printf("lag: none known (compare the master's log end)\n");
	for (i = 0; i < rs.nsites_list; i++) {
		s = &rs.sites[i];
		printf("peer: %s:%u %s%s\n", s->host, s->port, s->connected ?
		    "connected" : "disconnected", s->master ? " master" : "");
	}
	return EX_OK;
}

const struct provision_cmd cmd_repl = {
	.name = "repl",
	.args = "",
	.help = "show the replication group: role, log position, sites",
	.exec = cmd_repl_exec,
};
