/*
 * cmd-search.c: SEARCH and UID SEARCH (RFC 3501 6.4.4), ESEARCH return
 * options (RFC 4731), SEARCHRES (RFC 5182) and MODSEQ (RFC 7162 3.1.5).
 *
 * The program is parsed into a tree (bounded in depth and size), then
 * each message of the view is tested.  Keys on headers and text decrypt
 * the message; strings match case-insensitively as substrings of the
 * decoded text (encoded words, transfer encodings and charsets undone;
 * see imap-text.c).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/buffer.h>
#include <sodium.h>

#include "imap-flags.h"
#include "imap-seqset.h"
#include "imap-text.h"
#include "imapd.h"
#include "mime.h"
#include "xmalloc.h"

/* RFC 3501 leaves these open; 10,000 parentheses must get a BAD. */
#define SEARCH_DEPTH_MAX	100
#define SEARCH_NODES_MAX	10000

enum search_type {
	SK_ALL,
	SK_AND,			/* children */
	SK_OR,			/* two children */
	SK_NOT,			/* one child */
	SK_FLAG,		/* has flag bits */
	SK_UNFLAG,		/* lacks flag bits */
	SK_KEYWORD,
	SK_UNKEYWORD,
	SK_BEFORE,		/* internal date */
	SK_ON,
	SK_SINCE,
	SK_SENTBEFORE,		/* Date: header */
	SK_SENTON,
	SK_SENTSINCE,
	SK_LARGER,
	SK_SMALLER,
	SK_HEADER,		/* name, string */
	SK_BODY,
	SK_TEXT,
	SK_SEQSET,
	SK_UIDSET,
	SK_MODSEQ,
	SK_NONE,		/* matches nothing (a keyword never used) */
};

struct search_node {
	enum search_type	 type;
	uint32_t		 flags;
	char			*str;		/* keyword, header name */
	char			*value;		/* search string, folded */
	time_t			 date;		/* midnight UTC of the day */
	uint64_t		 num;
	struct imap_seqset	*set;
	struct search_node	**kids;
	size_t			 nkids;
};

struct search_parse {
	struct imap_session	*s;
	int			 uid_mode;
	size_t			 nodes;
	int			 needs_text;
	int			 needs_modseq;
	const char		*why;
};

static struct search_node *search_parse_key(struct search_parse *,
		    const struct imap_arg **, unsigned int depth);

static void
search_free(struct search_node *n)
{
	size_t	 i;

	if (n == NULL)
		return;
	for (i = 0; i < n->nkids; i++)
		search_free(n->kids[i]);
	free(n->kids);
	free(n->str);
	free(n->value);
	imap_set_free(&n->set);
	free(n);
}

static struct search_node *
search_node(struct search_parse *sp, enum search_type type)
{
	struct search_node	*n;

	if (++sp->nodes > SEARCH_NODES_MAX) {
		sp->why = "[LIMIT] SEARCH program too large";
		return NULL;
	}
	n = xcalloc(1, sizeof(*n));
	n->type = type;
	return n;
}

static void
search_add(struct search_node *parent, struct search_node *kid)
{
	parent->kids = xreallocarray(parent->kids, parent->nkids + 1,
	    sizeof(*parent->kids));
	parent->kids[parent->nkids++] = kid;
}

/* RFC 3501 9 date: d-Mon-yyyy (quoted or not). */
static int
search_date(const struct imap_arg *a, time_t *tp)
{
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr",
	    "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	const char	*s;
	struct tm	 tm;
	char		*end;
	long		 day, year;
	int		 mon;

	if (!imap_arg_get_astring(a, &s))
		return -1;
	day = strtol(s, &end, 10);
	if (end == s || end - s > 2 || *end != '-' || day < 1 || day > 31)
		return -1;
	s = end + 1;
	for (mon = 0; mon < 12; mon++)
		if (strncasecmp(s, months[mon], 3) == 0)
			break;
	if (mon == 12 || s[3] != '-')
		return -1;
	s += 4;
	year = strtol(s, &end, 10);
	if (end - s != 4 || *end != '\0' || year < 1900)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_mday = (int)day;
	tm.tm_mon = mon;
	tm.tm_year = (int)year - 1900;
	*tp = timegm(&tm);
	return 0;
}

static char *
search_string(struct search_parse *sp, const struct imap_arg *a)
{
	const char	*s;

	if (!imap_arg_get_astring(a, &s)) {
		sp->why = "SEARCH expected a string";
		return NULL;
	}
	return imap_text_fold(s, strlen(s));
}

static const char *
search_header_name(enum search_type t, const char *key)
{
	if (strcasecmp(key, "FROM") == 0)
		return "From";
	if (strcasecmp(key, "TO") == 0)
		return "To";
	if (strcasecmp(key, "CC") == 0)
		return "Cc";
	if (strcasecmp(key, "BCC") == 0)
		return "Bcc";
	if (strcasecmp(key, "SUBJECT") == 0)
		return "Subject";
	return NULL;
}

static struct search_node *
search_parse_list(struct search_parse *sp, const struct imap_arg *args,
    unsigned int depth)
{
	struct search_node	*and, *kid;
	const struct imap_arg	*a = args;

	if ((and = search_node(sp, SK_AND)) == NULL)
		return NULL;
	while (!imap_arg_is_eol(a)) {
		if ((kid = search_parse_key(sp, &a, depth)) == NULL) {
			search_free(and);
			return NULL;
		}
		search_add(and, kid);
	}
	if (and->nkids == 0) {
		sp->why = "Empty SEARCH key list";
		search_free(and);
		return NULL;
	}
	return and;
}

static struct search_node *
search_parse_key(struct search_parse *sp, const struct imap_arg **ap,
    unsigned int depth)
{
	static const struct {
		const char		*name;
		enum search_type	 type;
		uint32_t		 flags;
	} flagkeys[] = {
		{ "ANSWERED", SK_FLAG, STORE_F_ANSWERED },
		{ "DELETED", SK_FLAG, STORE_F_DELETED },
		{ "DRAFT", SK_FLAG, STORE_F_DRAFT },
		{ "FLAGGED", SK_FLAG, STORE_F_FLAGGED },
		{ "SEEN", SK_FLAG, STORE_F_SEEN },
		{ "OLD", SK_ALL, 0 },		/* no \Recent: all are old */
		{ "RECENT", SK_NONE, 0 },
		{ "NEW", SK_NONE, 0 },		/* \Recent and not \Seen */
		{ "UNANSWERED", SK_UNFLAG, STORE_F_ANSWERED },
		{ "UNDELETED", SK_UNFLAG, STORE_F_DELETED },
		{ "UNDRAFT", SK_UNFLAG, STORE_F_DRAFT },
		{ "UNFLAGGED", SK_UNFLAG, STORE_F_FLAGGED },
		{ "UNSEEN", SK_UNFLAG, STORE_F_SEEN },
		{ "ALL", SK_ALL, 0 },
	};
	static const struct {
		const char		*name;
		enum search_type	 type;
	} datekeys[] = {
		{ "BEFORE", SK_BEFORE }, { "ON", SK_ON }, { "SINCE", SK_SINCE },
		{ "SENTBEFORE", SK_SENTBEFORE }, { "SENTON", SK_SENTON },
		{ "SENTSINCE", SK_SENTSINCE },
	};
	const struct imap_arg	*a = *ap;
	struct search_node	*n = NULL, *kid;
	const char		*key, *hdr, *str;
	size_t			 i;
	uint32_t		 star;

	if (depth > SEARCH_DEPTH_MAX) {
		sp->why = "SEARCH program nested too deeply";
		return NULL;
	}
	if (a->type == IMAP_ARG_LIST) {
		const struct imap_arg	*list;

		(void)imap_arg_get_list(a, &list, NULL);
		*ap = a + 1;
		return search_parse_list(sp, list, depth + 1);
	}
	if (!imap_arg_get_atom(a, &key)) {
		sp->why = "SEARCH keys are atoms";
		return NULL;
	}
	*ap = ++a;
	for (i = 0; i < sizeof(flagkeys) / sizeof(flagkeys[0]); i++)
		if (strcasecmp(key, flagkeys[i].name) == 0) {
			if ((n = search_node(sp, flagkeys[i].type)) != NULL)
				n->flags = flagkeys[i].flags;
			return n;
		}
	for (i = 0; i < sizeof(datekeys) / sizeof(datekeys[0]); i++)
		if (strcasecmp(key, datekeys[i].name) == 0) {
			if ((n = search_node(sp, datekeys[i].type)) == NULL)
				return NULL;
			if (search_date(a, &n->date) == -1) {
				sp->why = "SEARCH expected a date (1-Feb-1994)";
				search_free(n);
				return NULL;
			}
			if (datekeys[i].type >= SK_SENTBEFORE)
				sp->needs_text = 1;
			*ap = a + 1;
			return n;
		}
	if (strcasecmp(key, "NOT") == 0 || strcasecmp(key, "OR") == 0) {
		int	 nargs = strcasecmp(key, "OR") == 0 ? 2 : 1;

		if ((n = search_node(sp, nargs == 2 ? SK_OR : SK_NOT)) == NULL)
			return NULL;
		while (nargs-- > 0) {
			if (imap_arg_is_eol(*ap)) {
				sp->why = "OR and NOT need search keys";
				search_free(n);
				return NULL;
			}
			if ((kid = search_parse_key(sp, ap, depth + 1)) == NULL) {
				search_free(n);
				return NULL;
			}
			search_add(n, kid);
		}
		return n;
	}
	if (strcasecmp(key, "KEYWORD") == 0 || strcasecmp(key, "UNKEYWORD") == 0) {
		if (!imap_arg_get_atom(a, &str)) {
			sp->why = "KEYWORD needs a flag keyword";
			return NULL;
		}
		if ((n = search_node(sp, strcasecmp(key, "KEYWORD") == 0 ?
		    SK_KEYWORD : SK_UNKEYWORD)) != NULL)
			n->str = xstrdup(str);
		*ap = a + 1;
		return n;
	}
	if (strcasecmp(key, "LARGER") == 0 || strcasecmp(key, "SMALLER") == 0) {
		uint32_t	 v;

		if (!imap_arg_get_number(a, &v)) {
			sp->why = "LARGER and SMALLER need a number";
			return NULL;
		}
		if ((n = search_node(sp, strcasecmp(key, "LARGER") == 0 ?
		    SK_LARGER : SK_SMALLER)) != NULL)
			n->num = v;
		*ap = a + 1;
		return n;
	}
	if (strcasecmp(key, "UID") == 0) {
		if (!imap_arg_get_atom(a, &str)) {
			sp->why = "UID needs a set";
			return NULL;
		}
		if ((n = search_node(sp, SK_UIDSET)) == NULL)
			return NULL;
		if (strcmp(str, "$") == 0)
			n->set = imap_saved_set(sp->s, 1);
		else if ((n->set = imap_set_parse(str, imap_view_max_uid(&sp->s->view))) == NULL) {
			sp->why = "Invalid UID set";
			search_free(n);
			return NULL;
		}
		*ap = a + 1;
		return n;
	}
	if (strcasecmp(key, "MODSEQ") == 0) {
		/* RFC 7162 3.1.5: MODSEQ [entry-name entry-type] mod-sequence */
		if (a->type == IMAP_ARG_STRING && !imap_arg_is_eol(&a[1]) &&
		    !imap_arg_is_eol(&a[2]))
			a += 2;
		if ((n = search_node(sp, SK_MODSEQ)) == NULL)
			return NULL;
		if (!imap_arg_get_number64(a, &n->num)) {
			sp->why = "MODSEQ needs a number";
			search_free(n);
			return NULL;
		}
		sp->needs_modseq = 1;
		*ap = a + 1;
		return n;
	}
	if (strcasecmp(key, "HEADER") == 0 || search_header_name(SK_HEADER,
	    key) != NULL) {
		if ((n = search_node(sp, SK_HEADER)) == NULL)
			return NULL;
		if ((hdr = search_header_name(SK_HEADER, key)) == NULL) {
			if (!imap_arg_get_astring(a, &hdr)) {
				sp->why = "HEADER needs a field name";
				search_free(n);
				return NULL;
			}
			a++;
		}
		n->str = xstrdup(hdr);
		if ((n->value = search_string(sp, a)) == NULL) {
			search_free(n);
			return NULL;
		}
		sp->needs_text = 1;
		*ap = a + 1;
		return n;
	}
	if (strcasecmp(key, "BODY") == 0 || strcasecmp(key, "TEXT") == 0) {
		if ((n = search_node(sp, strcasecmp(key, "BODY") == 0 ? SK_BODY :
		    SK_TEXT)) == NULL)
			return NULL;
		if ((n->value = search_string(sp, a)) == NULL) {
			search_free(n);
			return NULL;
		}
		sp->needs_text = 1;
		*ap = a + 1;
		return n;
	}
	/* A sequence set. */
	if ((n = search_node(sp, SK_SEQSET)) == NULL)
		return NULL;
	star = sp->s->view.count;
	if (strcmp(key, "$") == 0)
		n->set = imap_saved_set(sp->s, 0);
	else if ((n->set = imap_set_parse(key, star)) == NULL) {
		sp->why = "Unknown SEARCH key";
		search_free(n);
		return NULL;
	}
	return n;
}

/* ---- evaluation ---- */

struct search_msg {
	uint32_t		 seq;
	const struct store_msg	*m;
	struct imap_view	*view;
	const uint8_t		*text;		/* NULL: keys need no text */
	size_t			 textlen;
	struct mime_msg		*mime;		/* lazily: BODY and TEXT only */
	int			 hdr_known;
	size_t			 hdr_len;	/* top-level header, lazily */
	char			*body;		/* folded decoded text, lazily */
	char			*header;	/* folded decoded header */
};

/*
 * The MIME structure, parsed on first use.  Only BODY and TEXT need it:
 * a full parse also builds ENVELOPE and BODYSTRUCTURE and costs far more
 * than the decryption (bench/bench-imap: SEARCH SUBJECT over 200 messages
 * spent most of its time there).
 */
static const struct mime_msg *
search_msg_mime(struct search_msg *sm)
{
	if (sm->mime == NULL && sm->text != NULL)
		sm->mime = mime_parse(sm->text, sm->textlen);
	return sm->mime;
}

/* The length of the top-level header, with its blank line. */
static int
search_msg_header_len(struct search_msg *sm, size_t *lenp)
{
	uint64_t	 end;

	if (sm->text == NULL)
		return -1;
	if (!sm->hdr_known) {
		if (sm->mime == NULL &&
		    mime_header_end(sm->text, sm->textlen, &end) == 0)
			sm->hdr_len = (size_t)end;
		else if (search_msg_mime(sm) != NULL)
			sm->hdr_len = (size_t)sm->mime->parts[0].hdr_len;
		else
			return -1;
		sm->hdr_known = 1;
	}
	*lenp = sm->hdr_len;
	return 0;
}

static time_t
search_day(time_t t)
{
	return t - (t % 86400 + 86400) % 86400;
}

static int
search_sent_date(struct search_msg *sm, time_t *tp)
{
	char	*v;
	size_t	 len, hlen;
	int	 ret;

	if (search_msg_header_len(sm, &hlen) == -1)
		return -1;
	v = mime_header_get(sm->text, hlen, "Date", &len);
	if (v == NULL)
		return -1;
	ret = imap_text_date(v, tp);
	free(v);
	return ret;
}

static int
search_match(struct search_node *n, struct search_msg *sm)
{
	const struct store_msg	*m = sm->m;
	time_t			 t;
	unsigned		 bit;
	size_t			 i, hlen;

	switch (n->type) {
	case SK_ALL:
		return 1;
	case SK_NONE:
		return 0;
	case SK_AND:
		for (i = 0; i < n->nkids; i++)
			if (!search_match(n->kids[i], sm))
				return 0;
		return 1;
	case SK_OR:
		return search_match(n->kids[0], sm) || search_match(n->kids[1], sm);
	case SK_NOT:
		return !search_match(n->kids[0], sm);
	case SK_FLAG:
		return (m->flags & n->flags) == n->flags;
	case SK_UNFLAG:
		return (m->flags & n->flags) == 0;
	case SK_KEYWORD:
	case SK_UNKEYWORD:
		for (bit = 0; bit < sm->view->nkeywords; bit++)
			if (strcasecmp(sm->view->keywords[bit], n->str) == 0)
				break;
		if (bit == sm->view->nkeywords || bit >= 64)
			return n->type == SK_UNKEYWORD;
		return ((m->keywords >> bit) & 1) == (n->type == SK_KEYWORD);
	case SK_BEFORE:
		return search_day((time_t)m->internaldate) < n->date;
	case SK_ON:
		return search_day((time_t)m->internaldate) == n->date;
	case SK_SINCE:
		return search_day((time_t)m->internaldate) >= n->date;
	case SK_SENTBEFORE:
	case SK_SENTON:
	case SK_SENTSINCE:
		/* RFC 3501 6.4.4: no usable Date: header falls back to INTERNALDATE. */
		if (search_sent_date(sm, &t) == -1)
			t = (time_t)m->internaldate;
		t = search_day(t);
		return n->type == SK_SENTBEFORE ? t < n->date :
		    n->type == SK_SENTON ? t == n->date : t >= n->date;
	case SK_LARGER:
		return m->size > n->num;
	case SK_SMALLER:
		return m->size < n->num;
	case SK_SEQSET:
		return imap_seqset_contains(n->set, sm->seq);
	case SK_UIDSET:
		return imap_seqset_contains(n->set, m->uid);
	case SK_MODSEQ:
		return m->modseq >= n->num;
	case SK_HEADER:
		return search_msg_header_len(sm, &hlen) == 0 &&
		    imap_text_header_match(sm->text, hlen, n->str, n->value);
	case SK_BODY:
	case SK_TEXT:
		if (search_msg_mime(sm) == NULL)
			return 0;
		if (sm->body == NULL)
			sm->body = imap_text_body(sm->text, sm->textlen, sm->mime);
		if (strstr(sm->body, n->value) != NULL)
			return 1;
		if (n->type == SK_BODY)
			return 0;
		if (sm->header == NULL)
			sm->header = imap_text_header(sm->text,
			    (size_t)sm->mime->parts[0].hdr_len);
		return strstr(sm->header, n->value) != NULL;
	}
	return 0;
}

/* ---- the command ---- */

struct search_run {
	struct imap_session	*s;
	struct search_node	*prog;
	int			 needs_text;
	uint32_t		*hits;		/* seqs or UIDs */
	size_t			 nhits;
	uint64_t		 maxmodseq;
	int			 uid_mode;
};

static int
search_txn(struct store_txn *txn, void *arg)
{
	struct search_run	*sr = arg;
	struct imap_session	*s = sr->s;
	struct search_msg	 sm;
	struct store_msg	 m;
	uint8_t			*text;
	size_t			 len;
	uint32_t		 seq;
	int			 ret, hit;

	free(sr->hits);
	sr->hits = NULL;
	sr->nhits = 0;
	sr->maxmodseq = 0;
	for (seq = 1; seq <= s->view.count; seq++) {
		if (s->view.msgs[seq - 1].expunged)
			continue;
		ret = store_msg_get(txn, s->account_id, s->view.mailbox_id,
		    s->view.msgs[seq - 1].uid, &m);
		if (ret == STORE_ENOTFOUND)
			continue;
		if (ret != 0)
			return ret;
		memset(&sm, 0, sizeof(sm));
		sm.seq = seq;
		sm.m = &m;
		sm.view = &s->view;
		text = NULL;
		len = 0;
		if (sr->needs_text) {
			if ((ret = store_msg_read(txn, s->key, m.blob_id, &text,
			    &len)) != 0)
				return ret;
			sm.text = text;
			sm.textlen = len;
		}
		hit = search_match(sr->prog, &sm);
		mime_msg_free(&sm.mime);
		free(sm.body);
		free(sm.header);
		if (text != NULL) {
			sodium_memzero(text, len);
			free(text);
		}
		if (!hit)
			continue;
		sr->hits = xreallocarray(sr->hits, sr->nhits + 1,
		    sizeof(*sr->hits));
		sr->hits[sr->nhits++] = sr->uid_mode ? m.uid : seq;
		if (m.modseq > sr->maxmodseq)
			sr->maxmodseq = m.modseq;
	}
	return 0;
}

#define RET_MIN		0x01
#define RET_MAX		0x02
#define RET_ALL		0x04
#define RET_COUNT	0x08
#define RET_SAVE	0x10

static int
search_parse_return(const struct imap_arg *a, unsigned int *retp)
{
	const struct imap_arg	*list;
	size_t			 n, i;

	if (!imap_arg_get_list(a, &list, &n))
		return -1;
	*retp = 0;
	for (i = 0; i < n; i++) {
		if (imap_arg_atom_equals(&list[i], "MIN"))
			*retp |= RET_MIN;
		else if (imap_arg_atom_equals(&list[i], "MAX"))
			*retp |= RET_MAX;
		else if (imap_arg_atom_equals(&list[i], "ALL"))
			*retp |= RET_ALL;
		else if (imap_arg_atom_equals(&list[i], "COUNT"))
			*retp |= RET_COUNT;
		else if (imap_arg_atom_equals(&list[i], "SAVE"))
			*retp |= RET_SAVE;
		else
			return -1;
	}
	/* RFC 4731 3.1: RETURN () means ALL. */
	if (*retp == 0)
		*retp = RET_ALL;
	return 0;
}

enum imap_cmd_status
imap_search(struct imap_session *s, const struct imap_command *cmd,
    int uid_mode)
{
	struct search_parse	 sp;
	struct search_run	 sr;
	const struct imap_arg	*a = cmd->args + (uid_mode ? 1 : 0);
	const char		*charset;
	unsigned int		 ret_opts = 0;
	int			 esearch = 0, ret;
	size_t			 i;

	memset(&sp, 0, sizeof(sp));
	memset(&sr, 0, sizeof(sr));
	sp.s = s;
	sp.uid_mode = uid_mode;
	if (imap_arg_atom_equals(a, "RETURN")) {
		if (search_parse_return(&a[1], &ret_opts) == -1) {
			imap_tagged(s, "BAD", "Invalid SEARCH RETURN options");
			return CMD_DONE;
		}
		esearch = 1;
		a += 2;
	}
	if (imap_arg_atom_equals(a, "CHARSET")) {
		if (!imap_arg_get_astring(&a[1], &charset)) {
			imap_tagged(s, "BAD", "CHARSET needs a name");
			return CMD_DONE;
		}
		/* RFC 3501 6.4.4: refuse what we cannot convert. */
		if (strcasecmp(charset, "UTF-8") != 0 &&
		    strcasecmp(charset, "US-ASCII") != 0) {
			imap_tagged(s, "NO", "[BADCHARSET (UTF-8 US-ASCII)] "
			    "Unsupported charset");
			return CMD_DONE;
		}
		a += 2;
	}
	if ((sr.prog = search_parse_list(&sp, a, 0)) == NULL) {
		imap_tagged(s, "BAD", "%s", sp.why != NULL ? sp.why :
		    "Invalid SEARCH program");
		return CMD_DONE;
	}
	if (sp.needs_modseq)
		s->condstore = 1;
	sr.s = s;
	sr.needs_text = sp.needs_text;
	sr.uid_mode = uid_mode;
	ret = imap_txn(s, search_txn, &sr);
	search_free(sr.prog);
	if (ret != 0) {
		free(sr.hits);
		imap_tagged_store_error(s, ret);
		return CMD_DONE;
	}
	if ((ret_opts & RET_SAVE) && (ret_opts & (RET_MIN | RET_MAX)) &&
	    !(ret_opts & (RET_ALL | RET_COUNT)) && sr.nhits > 0) {
		uint32_t	 mm[2];
		size_t		 nmm = 0;

		/* RFC 5182 2.4: SAVE with MIN and/or MAX saves just those. */
		if (ret_opts & RET_MIN)
			mm[nmm++] = sr.hits[0];
		if ((ret_opts & RET_MAX) && (nmm == 0 || sr.nhits > 1))
			mm[nmm++] = sr.hits[sr.nhits - 1];
		imap_save_result(s, mm, nmm, uid_mode);
	} else if (ret_opts & RET_SAVE)
		imap_save_result(s, sr.hits, sr.nhits, uid_mode);
	if (!esearch) {
		imap_printf(s, "* SEARCH");
		for (i = 0; i < sr.nhits; i++)
			imap_printf(s, " %u", sr.hits[i]);
		/* RFC 7162 3.1.5: the highest MODSEQ of what was found. */
		if (sp.needs_modseq && sr.nhits > 0)
			imap_printf(s, " (MODSEQ %llu)",
			    (unsigned long long)sr.maxmodseq);
		imap_printf(s, "\r\n");
	} else if (ret_opts != RET_SAVE) {
		/* RFC 4731 3.1: SAVE alone answers nothing. */
		imap_printf(s, "* ESEARCH (TAG ");
		imap_write_string(s, s->tag, strlen(s->tag));
		imap_printf(s, ")%s", uid_mode ? " UID" : "");
		if ((ret_opts & RET_MIN) && sr.nhits > 0)
			imap_printf(s, " MIN %u", sr.hits[0]);
		if ((ret_opts & RET_MAX) && sr.nhits > 0)
			imap_printf(s, " MAX %u", sr.hits[sr.nhits - 1]);
		if ((ret_opts & RET_ALL) && sr.nhits > 0) {
			imap_printf(s, " ALL ");
			imap_set_write_list(conn_out(s->conn), sr.hits,
			    sr.nhits);
		}
		if (ret_opts & RET_COUNT)
			imap_printf(s, " COUNT %zu", sr.nhits);
		if (sp.needs_modseq && sr.nhits > 0)
			imap_printf(s, " MODSEQ %llu",
			    (unsigned long long)sr.maxmodseq);
		imap_printf(s, "\r\n");
	}
	free(sr.hits);
	imap_tagged(s, "OK", "Search completed");
	return CMD_DONE;
}

enum imap_cmd_status
cmd_search(struct imap_session *s, const struct imap_command *cmd)
{
	return imap_search(s, cmd, 0);
}
