/*
 * cmd-list.c: LIST (RFC 3501 6.3.8 with LIST-EXTENDED RFC 5258,
 * SPECIAL-USE RFC 6154, LIST-STATUS RFC 5819, CHILDREN RFC 3348), LSUB
 * (RFC 3501 6.3.9) and NAMESPACE (RFC 2342).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imapd.h"
#include "mutf7.h"
#include "xmalloc.h"

/* Its rows' handlers and hooks (imap-commands.c). */
imap_cmd_fn	cmd_enable, cmd_namespace, cmd_list, cmd_lsub;

#define LIST_PATTERNS_MAX	64
#define LIST_PATTERN_LEN_MAX	1024

/* Selection and return options. */
#define LIST_SEL_SUBSCRIBED	0x01
#define LIST_SEL_SPECIALUSE	0x02
#define LIST_SEL_RECURSIVE	0x04
#define LIST_RET_SUBSCRIBED	0x10
#define LIST_RET_CHILDREN	0x20
#define LIST_RET_SPECIALUSE	0x40
#define LIST_RET_STATUS		0x80
/* RFC 5258 3: selection options or RETURN given (LIST-EXTENDED syntax). */
#define LIST_EXTENDED		0x100

struct list_box {
	struct store_mailbox	 mb;	/* name NULL: subscribed, nonexistent */
	char			*name;
	int			 subscribed;
	int			 has_children;
	int			 child_subscribed;
};

struct list_req {
	struct imap_session	*s;
	struct list_box		*boxes;
	size_t			 n;
};

/*
 * RFC 3501 6.3.8: "*" matches anything, "%" anything but the hierarchy
 * separator.  Dynamic programming over the pattern: no backtracking
 * blow-up, whatever the client sends.
 */
static int
list_match(const char *pat, const char *name)
{
	size_t	 m = strlen(pat), i, j, nlen = strlen(name);
	char	*row, *next;
	int	 ok;

	row = xcalloc(m + 1, 1);
	next = xcalloc(m + 1, 1);
	row[0] = 1;
	for (i = 1; i <= m && (pat[i - 1] == '*' || pat[i - 1] == '%'); i++)
		row[i] = 1;
	for (j = 0; j < nlen; j++) {
		char	 c = name[j];

		next[0] = 0;
		for (i = 1; i <= m; i++) {
			char	 p = pat[i - 1];

			if (p == '*')
				next[i] = next[i - 1] || row[i];
			else if (p == '%')
				next[i] = next[i - 1] || (row[i] && c != '/');
			else if (j < 5 && strncasecmp(name, "INBOX", 5) == 0 &&
			    (name[5] == '\0' || name[5] == '/'))
				/* RFC 3501 5.1: INBOX in any case. */
				next[i] = row[i - 1] && (p == c ||
				    ((unsigned char)p ^ 0x20) == (unsigned char)c);
			else
				next[i] = row[i - 1] && p == c;
		}
		memcpy(row, next, m + 1);
	}
	ok = row[m] != 0;
	free(row);
	free(next);
	return ok;
}

static struct list_box *
list_find(struct list_req *lr, const char *name)
{
	size_t	 i;

	for (i = 0; i < lr->n; i++)
		if (strcmp(lr->boxes[i].name, name) == 0)
			return &lr->boxes[i];
	return NULL;
}

static int
list_collect_mailbox(const struct store_mailbox *m, void *arg)
{
	struct list_req	*lr = arg;
	struct list_box	*b;
	uint32_t	 i;

	lr->boxes = xreallocarray(lr->boxes, lr->n + 1, sizeof(*lr->boxes));
	b = &lr->boxes[lr->n++];
	memset(b, 0, sizeof(*b));
	b->mb = *m;
	b->mb.name = xstrdup(m->name);
	for (i = 0; i < m->nkeywords; i++)
		b->mb.keywords[i] = xstrdup(m->keywords[i]);
	b->name = b->mb.name;
	return 0;
}

static int
list_collect_sub(const char *name, void *arg)
{
	struct list_req	*lr = arg;
	struct list_box	*b;

	if ((b = list_find(lr, name)) != NULL) {
		b->subscribed = 1;
		return 0;
	}
	/* RFC 5258 3.4: a subscription without a mailbox is \NonExistent. */
	lr->boxes = xreallocarray(lr->boxes, lr->n + 1, sizeof(*lr->boxes));
	b = &lr->boxes[lr->n++];
	memset(b, 0, sizeof(*b));
	b->name = xstrdup(name);
	b->subscribed = 1;
	return 0;
}

static void
list_clear(struct list_req *lr)
{
	size_t	 i;

	for (i = 0; i < lr->n; i++) {
		if (lr->boxes[i].mb.name == NULL)
			free(lr->boxes[i].name);
		store_mailbox_clear(&lr->boxes[i].mb);
	}
	free(lr->boxes);
	lr->boxes = NULL;
	lr->n = 0;
}

static int
list_txn(struct store_txn *txn, void *arg)
{
	struct list_req	*lr = arg;
	size_t		 i, j, len;
	int		 ret;

	list_clear(lr);
	if ((ret = store_mailbox_iter(txn, lr->s->account_id,
	    list_collect_mailbox, lr)) != 0 ||
	    (ret = store_sub_iter(txn, lr->s->account_id, list_collect_sub,
	    lr)) != 0)
		return ret;
	for (i = 0; i < lr->n; i++)
		for (j = 0; j < lr->n; j++) {
			len = strlen(lr->boxes[i].name);
			if (i == j || strncmp(lr->boxes[j].name,
			    lr->boxes[i].name, len) != 0 ||
			    lr->boxes[j].name[len] != '/')
				continue;
			if (lr->boxes[j].mb.name != NULL)
				lr->boxes[i].has_children = 1;
			if (lr->boxes[j].subscribed)
				lr->boxes[i].child_subscribed = 1;
		}
	return 0;
}

/*
 * RFC 5258 4 (RECURSIVEMATCH): a mailbox that is not subscribed itself is
 * given with CHILDINFO when a subscribed descendant would not be listed
 * on its own, i.e. matches none of the patterns (as Dovecot answers:
 * with "*" every such descendant is listed and no parent is).
 */
static int
list_childinfo(const struct list_req *lr, const struct list_box *b,
    char *const *patterns, size_t npat)
{
	size_t	 i, j, len = strlen(b->name);

	if (b->subscribed || !b->child_subscribed)
		return 0;
	for (i = 0; i < lr->n; i++) {
		const struct list_box *d = &lr->boxes[i];

		if (!d->subscribed || strncmp(d->name, b->name, len) != 0 ||
		    d->name[len] != '/')
			continue;
		for (j = 0; j < npat; j++)
			if (list_match(patterns[j], d->name))
				break;
		if (j == npat)
			return 1;
	}
	return 0;
}

static void
list_write(struct imap_session *s, const char *verb, const struct list_box *b,
    unsigned int opts, unsigned int status_items, int childinfo)
{
	const char	*sep = "", *su;

	imap_printf(s, "* %s (", verb);
	if (b->mb.name == NULL) {
		imap_printf(s, "\\NonExistent");
		sep = " ";
	}
	if (b->subscribed && (opts & (LIST_SEL_SUBSCRIBED | LIST_RET_SUBSCRIBED))) {
		imap_printf(s, "%s\\Subscribed", sep);
		sep = " ";
	}
	/*
	 * Dovecot sends CHILDREN and SPECIAL-USE always to a plain LIST;
	 * clients rely on it.  An extended one (RFC 5258 3) gets the child
	 * attributes when it asks RETURN (CHILDREN), as from Dovecot.
	 */
	if (b->mb.name != NULL && strcmp(verb, "LIST") == 0) {
		if (!(opts & LIST_EXTENDED) || (opts & LIST_RET_CHILDREN)) {
			imap_printf(s, "%s%s", sep, b->has_children ?
			    "\\HasChildren" : "\\HasNoChildren");
			sep = " ";
		}
		if ((su = store_special_use_name(b->mb.special_use)) != NULL)
			imap_printf(s, "%s%s", sep, su);
	}
	imap_printf(s, ") \"/\" ");
	imap_write_mailbox(s, b->name);
	if (childinfo)
		imap_printf(s, " (CHILDINFO (\"SUBSCRIBED\"))");
	imap_printf(s, "\r\n");
	if ((opts & LIST_RET_STATUS) && b->mb.name != NULL)
		imap_status_write(s, &b->mb, status_items);
}

static int
list_parse_opts(const struct imap_arg *a, int is_return, unsigned int *opts,
    unsigned int *status_items)
{
	const struct imap_arg	*list;
	size_t			 n, i;

	if (!imap_arg_get_list(a, &list, &n))
		return -1;
	for (i = 0; i < n; i++) {
		if (!is_return && imap_arg_atom_equals(&list[i], "SUBSCRIBED"))
			*opts |= LIST_SEL_SUBSCRIBED | LIST_RET_SUBSCRIBED;
		else if (!is_return && imap_arg_atom_equals(&list[i], "SPECIAL-USE"))
			*opts |= LIST_SEL_SPECIALUSE;
		else if (!is_return && imap_arg_atom_equals(&list[i],
		    "RECURSIVEMATCH"))
			*opts |= LIST_SEL_RECURSIVE;
		else if (!is_return && imap_arg_atom_equals(&list[i], "REMOTE"))
			continue;
		else if (is_return && imap_arg_atom_equals(&list[i], "SUBSCRIBED"))
			*opts |= LIST_RET_SUBSCRIBED;
		else if (is_return && imap_arg_atom_equals(&list[i], "CHILDREN"))
			*opts |= LIST_RET_CHILDREN;
		else if (is_return && imap_arg_atom_equals(&list[i], "SPECIAL-USE"))
			*opts |= LIST_RET_SPECIALUSE;
		else if (is_return && imap_arg_atom_equals(&list[i], "STATUS") &&
		    i + 1 < n && imap_status_items(&list[i + 1], status_items) == 0) {
			*opts |= LIST_RET_STATUS;
			i++;
		} else
			return -1;
	}
	/* RFC 5258 3.1: RECURSIVEMATCH alone is meaningless. */
	if ((*opts & LIST_SEL_RECURSIVE) && !(*opts & LIST_SEL_SUBSCRIBED))
		return -1;
	return 0;
}

/*
 * RFC 3501 6.3.9: when "%" stops short of a subscribed mailbox, LSUB
 * names the unsubscribed parent that matched, as \Noselect ("foo/bar"
 * subscribed, "foo" not: LSUB "" % answers foo), once each.
 */
static void
lsub_parents(struct imap_session *s, struct list_req *lr, char **patterns,
    size_t npat)
{
	struct list_box	*p;
	char		**sent = NULL, *name, *slash;
	size_t		 nsent = 0, i, j, k;
	int		 any;

	for (i = 0; i < lr->n; i++) {
		if (!lr->boxes[i].subscribed)
			continue;
		name = xstrdup(lr->boxes[i].name);
		while ((slash = strrchr(name, '/')) != NULL) {
			*slash = '\0';
			if ((p = list_find(lr, name)) != NULL && p->subscribed)
				continue;	/* LSUB lists it itself */
			for (any = 0, j = 0; j < npat && !any; j++)
				any = list_match(patterns[j], name) &&
				    !list_match(patterns[j], lr->boxes[i].name);
			for (k = 0; any && k < nsent; k++)
				if (strcmp(sent[k], name) == 0)
					any = 0;
			if (!any)
				continue;
			imap_printf(s, "* LSUB (\\Noselect) \"/\" ");
			imap_write_mailbox(s, name);
			imap_printf(s, "\r\n");
			sent = xreallocarray(sent, nsent + 1, sizeof(*sent));
			sent[nsent++] = xstrdup(name);
		}
		free(name);
	}
	for (k = 0; k < nsent; k++)
		free(sent[k]);
	free(sent);
}

static enum imap_cmd_status
list_run(struct imap_session *s, const struct imap_command *cmd, int lsub)
{
	struct list_req		 lr;
	const struct imap_arg	*a = cmd->args, *pats;
	const char		*ref, *pat, *why, *verb = lsub ? "LSUB" : "LIST";
	char			*patterns[LIST_PATTERNS_MAX], *full, *dec;
	size_t			 npat = 0, npats, i, j;
	unsigned int		 opts = 0, status_items = 0;
	int			 ret, any;

	if (!lsub && a->type == IMAP_ARG_LIST) {
		opts |= LIST_EXTENDED;
		if (list_parse_opts(a, 0, &opts, &status_items) == -1) {
			imap_tagged(s, "BAD", "Invalid LIST selection options");
			return CMD_DONE;
		}
		a++;
	}
	if (!imap_arg_get_astring(&a[0], &ref) || imap_arg_is_eol(&a[1])) {
		imap_tagged(s, "BAD", "%s takes a reference and a pattern", verb);
		return CMD_DONE;
	}
	if (!lsub && a[1].type == IMAP_ARG_LIST) {
		(void)imap_arg_get_list(&a[1], &pats, &npats);
	} else {
		pats = &a[1];
		npats = 1;
	}
	a += 2;
	if (!lsub && !imap_arg_is_eol(a)) {
		opts |= LIST_EXTENDED;
		if (!imap_arg_atom_equals(a, "RETURN") ||
		    list_parse_opts(&a[1], 1, &opts, &status_items) == -1 ||
		    !imap_arg_is_eol(&a[2])) {
			imap_tagged(s, "BAD", "Invalid LIST return options");
			return CMD_DONE;
		}
	} else if (!imap_arg_is_eol(a)) {
		imap_tagged(s, "BAD", "%s takes a reference and a pattern", verb);
		return CMD_DONE;
	}
	if (npats == 0 || npats > LIST_PATTERNS_MAX) {
		imap_tagged(s, "BAD", "Give 1 to %d patterns", LIST_PATTERNS_MAX);
		return CMD_DONE;
	}
	for (i = 0; i < npats; i++) {
		if (!imap_arg_get_astring(&pats[i], &pat) ||
		    strlen(ref) + strlen(pat) > LIST_PATTERN_LEN_MAX) {
			imap_tagged(s, "BAD", "Invalid mailbox pattern");
			goto out;
		}
		/* RFC 3501 6.3.8: an empty pattern asks for the separator. */
		if (npats == 1 && pat[0] == '\0' && !lsub) {
			imap_printf(s, "* LIST (\\Noselect) \"/\" \"\"\r\n");
			imap_tagged(s, "OK", "List completed");
			goto out;
		}
		xasprintf(&full, "%s%s", ref, pat);
		if (mutf7_decode(full, strlen(full), &dec, &why) == -1)
			dec = NULL;
		free(full);
		if (dec == NULL) {
			imap_tagged(s, "BAD", "%s", why);
			goto out;
		}
		patterns[npat++] = dec;
	}
	memset(&lr, 0, sizeof(lr));
	lr.s = s;
	if ((ret = imap_txn(s, list_txn, &lr)) != 0) {
		imap_tagged_store_error(s, ret);
		list_clear(&lr);
		goto out;
	}
	for (i = 0; i < lr.n; i++) {
		const struct list_box *b = &lr.boxes[i];
		int		 childinfo = 0;

		for (any = 0, j = 0; j < npat && !any; j++)
			any = list_match(patterns[j], b->name);
		if (!any)
			continue;
		if (lsub || (opts & LIST_SEL_SUBSCRIBED)) {
			childinfo = !lsub && (opts & LIST_SEL_RECURSIVE) &&
			    list_childinfo(&lr, b, patterns, npat);
			if (!b->subscribed && !childinfo)
				continue;
		} else if (b->mb.name == NULL)
			continue;
		if ((opts & LIST_SEL_SPECIALUSE) && b->mb.special_use == 0)
			continue;
		list_write(s, verb, b, opts, status_items, childinfo);
	}
	if (lsub)
		lsub_parents(s, &lr, patterns, npat);
	list_clear(&lr);
	imap_tagged(s, "OK", "%s completed", lsub ? "Lsub" : "List");
out:
	for (i = 0; i < npat; i++)
		free(patterns[i]);
	return CMD_DONE;
}

enum imap_cmd_status
cmd_list(struct imap_session *s, const struct imap_command *cmd)
{
	return list_run(s, cmd, 0);
}

enum imap_cmd_status
cmd_lsub(struct imap_session *s, const struct imap_command *cmd)
{
	return list_run(s, cmd, 1);
}

enum imap_cmd_status
cmd_namespace(struct imap_session *s, const struct imap_command *cmd)
{
	if (!imap_arg_is_eol(cmd->args)) {
		imap_tagged(s, "BAD", "NAMESPACE takes no arguments");
		return CMD_DONE;
	}
	/* One personal namespace, no others (RFC 2342 5). */
	imap_printf(s, "* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n");
	imap_tagged(s, "OK", "Namespace completed");
	return CMD_DONE;
}

enum imap_cmd_status
cmd_enable(struct imap_session *s, const struct imap_command *cmd)
{
	const struct imap_arg	*a;
	char			 enabled[64] = "";
	int			 condstore = 0;

	if (imap_arg_is_eol(cmd->args)) {
		imap_tagged(s, "BAD", "ENABLE takes capability names");
		return CMD_DONE;
	}
	/* RFC 5161 3: unknown names are ignored; the answer lists the rest. */
	for (a = cmd->args; !imap_arg_is_eol(a); a++) {
		if (imap_arg_atom_equals(a, "CONDSTORE") && !s->condstore &&
		    !condstore) {
			condstore = 1;
			snprintf(enabled + strlen(enabled), sizeof(enabled) -
			    strlen(enabled), " CONDSTORE");
		} else if (imap_arg_atom_equals(a, "QRESYNC") && !s->qresync) {
			/* RFC 7162 3.2.3: QRESYNC implies CONDSTORE. */
			s->qresync = 1;
			condstore = 1;
			snprintf(enabled + strlen(enabled), sizeof(enabled) -
			    strlen(enabled), " QRESYNC");
		}
	}
	/* Dovecot's order: HIGHESTMODSEQ, then ENABLED. */
	if (condstore)
		imap_session_condstore(s);
	imap_printf(s, "* ENABLED%s\r\n", enabled);
	imap_tagged(s, "OK", "Enabled");
	return CMD_DONE;
}
