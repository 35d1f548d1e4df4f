/*
 * cmd-repl.c: the replication group (issue 15): as this site sees it,
 * this new site joining it, a site leaving it.
 *
 * Berkeley DB 5.3 keeps the group's members in a replicated membership
 * database, which only the master writes: a site is added when it asks
 * to join (its first repmgr_start() with a helper), and removed when any
 * site asks the master with DB_SITE->remove() (the reference guide,
 * "Adding and removing sites").  So `repl add' runs on the new site and
 * names a member; `repl remove' runs on any other site and names the one
 * to remove, which may be down.
 */
#include "config.h"

#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "provision.h"
#include "xmalloc.h"

/* How long `repl add' waits for a master and for the copy of its data. */
#define CMD_REPL_ADD_WAIT_SECS	600

static int	cmd_repl_show(struct provision *);
static int	cmd_repl_add(struct provision *, const char *);
static int	cmd_repl_remove(struct provision *, const char *);
static int	cmd_repl_is_self(const struct provision *, const char *);
static const char *cmd_repl_lag(uint32_t, uint32_t, uint32_t, uint32_t, char *,
		    size_t);

static const struct {
	const char	*name;
	int		(*fn)(struct provision *, const char *);
} cmd_repl_subs[] = {
	{ .name = "add", .fn = cmd_repl_add },
	{ .name = "remove", .fn = cmd_repl_remove },
};

static int
cmd_repl_exec(struct provision *pv, int argc, char **argv)
{
	char		 host[256];
	unsigned	 port;
	size_t		 i;

	if (pv->conf->repl_site == NULL) {
		provision_errx(pv, "repl: repl_site is not set: this site does "
		    "not replicate");
		return EX_CONFIG;
	}
	if (argc == 1)
		return cmd_repl_show(pv);
	for (i = 0; argc == 3 && i < sizeof(cmd_repl_subs) /
	    sizeof(cmd_repl_subs[0]); i++)
		if (strcasecmp(argv[1], cmd_repl_subs[i].name) == 0) {
			if (conf_site_parse(argv[2], strlen(argv[2]), host,
			    sizeof(host), &port) == -1) {
				provision_errx(pv, "repl %s: %s is not "
				    "host:port", cmd_repl_subs[i].name,
				    argv[2]);
				return EX_USAGE;
			}
			return cmd_repl_subs[i].fn(pv, argv[2]);
		}
	return provision_usage(pv, "repl");
}

/* Whether host:port names this site (repl_site), as written there. */
static int
cmd_repl_is_self(const struct provision *pv, const char *site)
{
	char		 h1[256], h2[256];
	unsigned	 p1, p2;

	return conf_site_parse(site, strlen(site), h1, sizeof(h1), &p1) == 0 &&
	    conf_site_parse(pv->conf->repl_site, strlen(pv->conf->repl_site),
	    h2, sizeof(h2), &p2) == 0 && p1 == p2 && strcasecmp(h1, h2) == 0;
}

/*
 * This site, new, joins the group of which member is a site: this
 * process is its replication process until it has caught up (internal
 * initialization copies the master's environment), then leaves so that
 * guestbox-repld takes over.  Once joined, the site learns the other
 * members from the membership database, not from repl_peers.
 */
static int
cmd_repl_add(struct provision *pv, const char *member)
{
	struct store_options	 so;
	char			*gmdb;
	int			 err, joined;

	if (cmd_repl_is_self(pv, member)) {
		provision_errx(pv, "repl add: %s is this site (repl_site); name "
		    "a member of the group to join", member);
		return EX_USAGE;
	}
	/*
	 * The membership database ("__db.membership") lives in this file,
	 * which Berkeley DB writes once this site is (or was) a member.
	 */
	xasprintf(&gmdb, "%s/db/__db.rep.system", pv->conf->state_dir);
	joined = access(gmdb, F_OK) == 0;
	free(gmdb);
	if (joined) {
		printf("%s is a member of a group already:\n",
		    pv->conf->repl_site);
		return cmd_repl_show(pv);
	}
	provision_store_options(pv->conf, &so);
	so.stuck_secs = pv->stuck_secs;
	so.repl_peers = member;
	so.repl_group_creator = 0;
	so.repl_process = 1;
	so.repl_wait_secs = CMD_REPL_ADD_WAIT_SECS;
	pv->store = store_open(pv->conf->state_dir, &so, &err);
	if (pv->store == NULL) {
		provision_errx(pv, "repl add: %s could not join the group "
		    "through %s: %s (is guestbox-repld of this site stopped, "
		    "and is %s a member that can reach the master?)",
		    pv->conf->repl_site, member, store_strerror(err), member);
		return EX_TEMPFAIL;
	}
	printf("%s joined the group through %s and caught up; start its "
	    "guestbox-repld now\n", pv->conf->repl_site, member);
	return cmd_repl_show(pv);
}

static int
cmd_repl_remove(struct provision *pv, const char *site)
{
	int			 ret;

	if (cmd_repl_is_self(pv, site)) {
		provision_errx(pv, "repl remove: %s is this site; run it on "
		    "another site of the group", site);
		return EX_USAGE;
	}
	if (provision_store(pv) == NULL)
		return EX_TEMPFAIL;
	switch ((ret = store_repl_remove(pv->store, site))) {
	case STORE_OK:
		break;
	case STORE_ENOTFOUND:
		provision_errx(pv, "repl remove: %s is not a member of the "
		    "group (see guestbox-provision repl)", site);
		return EX_DATAERR;
	case STORE_ESTATE:
		provision_errx(pv, "repl remove: %s is the master (or this "
		    "site): stop its guestbox-repld so that the others elect "
		    "another, then remove it", site);
		return EX_DATAERR;
	case STORE_EUNAVAIL:
		provision_errx(pv, "repl remove: no master now, or too few "
		    "sites acknowledged the change in time; try again");
		return EX_TEMPFAIL;
	default:
		return provision_store_fail(pv, "repl remove", ret);
	}
	/* This site hears of the master's change a moment later: no count. */
	printf("removed %s from the group\n", site);
	return EX_OK;
}

/* The group as this site sees it: role, log positions, the members. */
static int
cmd_repl_show(struct provision *pv)
{
	struct store_repl_status rs;
	const struct store_repl_site *s;
	char			 lag[64];
	uint32_t		 mf = 0, mo = 0;
	size_t			 i;
	int			 ret, master_known = 0;

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
		json_key_num(stdout, "applied_file", rs.perm_file, 1);
		json_key_num(stdout, "applied_offset", rs.perm_offset, 1);
		printf("\"sites\":[");
		for (i = 0; i < rs.nsites_list; i++) {
			s = &rs.sites[i];
			printf("%s{", i > 0 ? "," : "");
			json_key_str(stdout, "host", s->host, 1);
			json_key_num(stdout, "port", s->port, 1);
			json_key_num(stdout, "connected", s->connected, 1);
			json_key_num(stdout, "master", s->master,
			    s->applied_known);
			if (s->applied_known) {
				json_key_num(stdout, "applied_file",
				    s->applied_file, 1);
				json_key_num(stdout, "applied_offset",
				    s->applied_offset, 0);
			}
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
	printf("last transaction: %u/%u\n", rs.perm_file, rs.perm_offset);
	/* The master's last transaction: what every lag is counted from. */
	if (rs.role == STORE_REPL_MASTER) {
		master_known = 1;
		mf = rs.perm_file;
		mo = rs.perm_offset;
	}
	for (i = 0; i < rs.nsites_list; i++)
		if (rs.sites[i].master && rs.sites[i].applied_known) {
			master_known = 1;
			mf = rs.sites[i].applied_file;
			mo = rs.sites[i].applied_offset;
		}
	if (rs.role == STORE_REPL_MASTER)
		printf("lag: none, the master\n");
	else if (master_known)
		printf("lag: %s behind the master\n", cmd_repl_lag(mf, mo,
		    rs.perm_file, rs.perm_offset, lag, sizeof(lag)));
	else
		printf("lag: unknown (the master does not answer)\n");
	/* A client that has a gap awaits the record at waiting_lsn. */
	if (rs.waiting_file != 0)
		printf("gap: awaiting %u/%u, %llu records queued\n",
		    rs.waiting_file, rs.waiting_offset,
		    (unsigned long long)rs.log_queued);
	for (i = 0; i < rs.nsites_list; i++) {
		s = &rs.sites[i];
		printf("peer: %s:%u %s%s", s->host, s->port, s->connected ?
		    "connected" : "disconnected", s->master ? " master" : "");
		if (s->applied_known)
			printf(" applied %u/%u", s->applied_file,
			    s->applied_offset);
		if (s->applied_known && master_known && !s->master)
			printf(" lag %s", cmd_repl_lag(mf, mo, s->applied_file,
			    s->applied_offset, lag, sizeof(lag)));
		printf("\n");
	}
	return EX_OK;
}

/*
 * How far the position f/o is behind the master's mf/mo: bytes within
 * one log file; across files only their count (their size is not ours).
 */
static const char *
cmd_repl_lag(uint32_t mf, uint32_t mo, uint32_t f, uint32_t o, char *buf,
    size_t len)
{
	if (f > mf || (f == mf && o >= mo))
		snprintf(buf, len, "0 bytes");
	else if (f == mf)
		snprintf(buf, len, "%u bytes", mo - o);
	else
		snprintf(buf, len, "%u log files", mf - f);
	return buf;
}

const struct provision_cmd cmd_repl = {
	.name = "repl",
	.args = "[add member-host:port | remove host:port]",
	.help = "show the replication group, join it, or remove a site",
	.exec = cmd_repl_exec,
};
