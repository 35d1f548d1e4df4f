/*
 * imap-search-parse.c: SEARCH programs.
 *
 * OR and NOT are prefix operators (RFC 3501 6.4.4: "OR key1 key2"), so a
 * program is read left to right with the operators waiting on a heap
 * stack until they have their operands; only parenthesised groups recurse,
 * and each level of them is checked against depth_max first.
 */
#include "config.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap-search-parse.h"
#include "util.h"
#include "xmalloc.h"

/* An OR or NOT waiting for its operands. */
struct pending {
	enum imap_search_key_type	 type;
	struct imap_search_key		 kids[2];
	size_t				 have;
};

struct search_parser {
	const struct imap_search_context	*ctx;
	struct imap_search_program		*prog;
	unsigned int				 depth_max;
	size_t					 keys_max;
	size_t					 nkeys;
	/* Given with CHARSET and not UTF-8 or US-ASCII: convert strings. */
	const char				*charset;
};

static int	search_fail(struct search_parser *, const char *, ...)
		    printflike(2, 3);
static void	search_key_free(struct imap_search_key *);
static int	search_parse_list(struct search_parser *,
		    const struct imap_arg *, unsigned int,
		    struct imap_search_key *);
static int	search_parse_leaf(struct search_parser *,
		    const struct imap_arg **, unsigned int,
		    struct imap_search_key *);
static int	search_get_string(struct search_parser *,
		    const struct imap_arg *, const char *, char **);
static int	search_build(struct search_parser *, enum imap_search_key_type,
		    struct imap_search_key *, size_t, struct imap_search_key *);
static int	search_parse_return(struct search_parser *,
		    const struct imap_arg *);

static const char *const months[] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

/* Keys without arguments. */
static const struct {
	const char	*name;
	unsigned int	 flag;		/* 0: ALL */
	int		 set;
} search_flag_keys[] = {
	{ "ALL", 0, 1 },
	{ "ANSWERED", IMAP_SEARCH_FLAG_ANSWERED, 1 },
	{ "DELETED", IMAP_SEARCH_FLAG_DELETED, 1 },
	{ "DRAFT", IMAP_SEARCH_FLAG_DRAFT, 1 },
	{ "FLAGGED", IMAP_SEARCH_FLAG_FLAGGED, 1 },
	{ "RECENT", IMAP_SEARCH_FLAG_RECENT, 1 },
	{ "SEEN", IMAP_SEARCH_FLAG_SEEN, 1 },
	/* RFC 3501 6.4.4: OLD is NOT RECENT. */
	{ "OLD", IMAP_SEARCH_FLAG_RECENT, 0 },
	{ "UNANSWERED", IMAP_SEARCH_FLAG_ANSWERED, 0 },
	{ "UNDELETED", IMAP_SEARCH_FLAG_DELETED, 0 },
	{ "UNDRAFT", IMAP_SEARCH_FLAG_DRAFT, 0 },
	{ "UNFLAGGED", IMAP_SEARCH_FLAG_FLAGGED, 0 },
	{ "UNSEEN", IMAP_SEARCH_FLAG_SEEN, 0 },
};

static const struct {
	const char			*name;
	enum imap_search_key_type	 type;
} search_string_keys[] = {
	{ "BCC", IMAP_SEARCH_BCC },
	{ "BODY", IMAP_SEARCH_BODY },
	{ "CC", IMAP_SEARCH_CC },
	{ "FROM", IMAP_SEARCH_FROM },
	{ "SUBJECT", IMAP_SEARCH_SUBJECT },
	{ "TEXT", IMAP_SEARCH_TEXT },
	{ "TO", IMAP_SEARCH_TO },
}, search_date_keys[] = {
	{ "BEFORE", IMAP_SEARCH_BEFORE },
	{ "ON", IMAP_SEARCH_ON },
	{ "SINCE", IMAP_SEARCH_SINCE },
	{ "SENTBEFORE", IMAP_SEARCH_SENTBEFORE },
	{ "SENTON", IMAP_SEARCH_SENTON },
	{ "SENTSINCE", IMAP_SEARCH_SENTSINCE },
};

static const struct {
	const char	*name;
	unsigned int	 ret;
} search_returns[] = {
	{ "MIN", IMAP_SEARCH_RET_MIN },
	{ "MAX", IMAP_SEARCH_RET_MAX },
	{ "ALL", IMAP_SEARCH_RET_ALL },
	{ "COUNT", IMAP_SEARCH_RET_COUNT },
	{ "SAVE", IMAP_SEARCH_RET_SAVE },
};

#define NITEMS(a)	(sizeof(a) / sizeof((a)[0]))

static int
search_fail(struct search_parser *sp, const char *fmt, ...)
{
	va_list	 ap;

	free(sp->prog->error);
	va_start(ap, fmt);
	xvasprintf(&sp->prog->error, fmt, ap);
	va_end(ap);
	return IMAP_SEARCH_EBAD;
}

/* Recursion bounded by depth_max: trees are never deeper. */
static void
search_key_free(struct imap_search_key *key)
{
	size_t	 i;

	for (i = 0; i < key->nsub; i++)
		search_key_free(&key->sub[i]);
	free(key->sub);
	free(key->str);
	free(key->field);
	imap_seqset_clear(&key->seqset);
	memset(key, 0, sizeof(*key));
}

void
imap_search_program_clear(struct imap_search_program *prog)
{
	search_key_free(&prog->root);
	free(prog->error);
	memset(prog, 0, sizeof(*prog));
}

int64_t
imap_search_date_days(const struct imap_date *d)
{
	/* Howard Hinnant's days_from_civil. */
	int64_t	 y = d->year, m = d->month, day = d->day, era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + day - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int
imap_search_date_parse(const char *s, struct imap_date *d)
{
	unsigned int		 day = 0, year = 0, i, n;
	int			 month = -1;

	/* RFC 3501 9: date-day = 1*2DIGIT. */
	for (n = 0; *s >= '0' && *s <= '9' && n < 3; s++, n++)
		day = day * 10 + (unsigned int)(*s - '0');
	if (n < 1 || n > 2 || *s++ != '-')
		return -1;
	for (i = 0; i < NITEMS(months); i++) {
		if (strncasecmp(s, months[i], 3) == 0) {
			month = (int)i;
			break;
		}
	}
	if (month == -1 || s[3] != '-')
		return -1;
	s += 4;
	/* date-year = 4DIGIT. */
	for (n = 0; *s >= '0' && *s <= '9' && n < 5; s++, n++)
		year = year * 10 + (unsigned int)(*s - '0');
	if (n != 4 || *s != '\0' || year == 0)
		return -1;
	/*
	 * RFC 3501 9: date-day = 1*2DIGIT, "Day of month", with no check
	 * against the month; Dovecot takes 31-Feb too.  BAD for a date the
	 * grammar allows would break a client, so only 1 .. 31 is checked.
	 */
	if (day < 1 || day > 31)
		return -1;
	d->year = (uint16_t)year;
	d->month = (uint8_t)(month + 1);
	d->day = (uint8_t)day;
	return 0;
}

/* RFC 3501 6.4.4: string arguments are astrings; we also want UTF-8. */
static int
search_get_string(struct search_parser *sp, const struct imap_arg *a,
    const char *key, char **out)
{
	const char	*s;

	if (a->type == IMAP_ARG_EOL)
		return search_fail(sp, "Missing argument for %s", key);
	if (!imap_arg_get_astring(a, &s))
		return search_fail(sp, "Invalid argument for %s", key);
	if (sp->charset != NULL) {
		if (sp->ctx->charset_convert(sp->charset, s, out) != 0)
			return search_fail(sp, "Argument for %s is not "
			    "text in %s", key, sp->charset);
		return 0;
	}
	if (!utf8_is_valid(s, strlen(s)))
		return search_fail(sp, "Invalid UTF-8 in argument for %s",
		    key);
	*out = xstrdup(s);
	return 0;
}

/*
 * Makes out an AND, OR or NOT of the n keys in kids (taking them),
 * flattening what can be flattened and checking the depth.
 */
static int
search_build(struct search_parser *sp, enum imap_search_key_type type,
    struct imap_search_key *kids, size_t n, struct imap_search_key *out)
{
	struct imap_search_key	 key;
	size_t			 i, j, total = 0;
	unsigned int		 depth = 0;

	memset(&key, 0, sizeof(key));
	if (type == IMAP_SEARCH_NOT) {
		if (kids[0].type == IMAP_SEARCH_NOT) {
			/* NOT NOT x is x. */
			*out = kids[0].sub[0];
			free(kids[0].sub);
			kids[0].sub = NULL;
			kids[0].nsub = 0;
			search_key_free(&kids[0]);
			return 0;
		}
		depth = kids[0].depth;
		total = 1;
	} else if (type == IMAP_SEARCH_AND && n == 1) {
		*out = kids[0];
		return 0;
	} else {
		for (i = 0; i < n; i++) {
			if (kids[i].type == type)
				total += kids[i].nsub;
			else
				total++;
		}
	}

	key.type = type;
	key.sub = xreallocarray(NULL, total, sizeof(*key.sub));
	for (i = 0; i < n; i++) {
		if (type != IMAP_SEARCH_NOT && kids[i].type == type) {
			/* (a (b c)) is (a b c); OR a OR b c is OR(a b c). */
			for (j = 0; j < kids[i].nsub; j++) {
				key.sub[key.nsub++] = kids[i].sub[j];
				if (kids[i].sub[j].depth > depth)
					depth = kids[i].sub[j].depth;
			}
			free(kids[i].sub);
		} else {
			key.sub[key.nsub++] = kids[i];
			if (kids[i].depth > depth)
				depth = kids[i].depth;
		}
	}
	key.depth = depth + 1;
	*out = key;
	if (key.depth > sp->depth_max)
		return search_fail(sp, "Search program nested too deeply "
		    "(limit %u)", sp->depth_max);
	return 0;
}

static int
search_parse_leaf(struct search_parser *sp, const struct imap_arg **ap,
    unsigned int depth, struct imap_search_key *key)
{
	const struct imap_arg	*a = *ap, *list;
	const struct imap_search_context *ctx = sp->ctx;
	const char		*str, *error;
	size_t			 i;
	unsigned int		 flags;

	memset(key, 0, sizeof(*key));
	key->depth = 1;
	*ap = a + 1;

	if (imap_arg_get_list(a, &list, NULL)) {
		/* RFC 3501 6.4.4: "(" search-key *(SP search-key) ")". */
		if (depth + 1 > sp->depth_max)
			return search_fail(sp, "Search program nested too "
			    "deeply (limit %u)", sp->depth_max);
		if (list[0].type == IMAP_ARG_EOL)
			return search_fail(sp, "Empty parentheses in search");
		return search_parse_list(sp, list, depth + 1, key);
	}
	if (!imap_arg_get_atom(a, &str))
		return search_fail(sp, "Invalid search key: %s",
		    imap_arg_type_name(a->type));

	for (i = 0; i < NITEMS(search_flag_keys); i++) {
		if (strcasecmp(str, search_flag_keys[i].name) != 0)
			continue;
		key->type = search_flag_keys[i].flag == 0 ? IMAP_SEARCH_ALL :
		    IMAP_SEARCH_FLAG;
		key->flag = search_flag_keys[i].flag;
		key->set = search_flag_keys[i].set;
		return 0;
	}
	if (strcasecmp(str, "NEW") == 0) {
		/* RFC 3501 6.4.4: NEW is (RECENT UNSEEN). */
		struct imap_search_key	 kids[2];

		memset(kids, 0, sizeof(kids));
		kids[0].type = kids[1].type = IMAP_SEARCH_FLAG;
		kids[0].depth = kids[1].depth = 1;
		kids[0].flag = IMAP_SEARCH_FLAG_RECENT;
		kids[0].set = 1;
		kids[1].flag = IMAP_SEARCH_FLAG_SEEN;
		kids[1].set = 0;
		return search_build(sp, IMAP_SEARCH_AND, kids, 2, key);
	}
	for (i = 0; i < NITEMS(search_string_keys); i++) {
		if (strcasecmp(str, search_string_keys[i].name) != 0)
			continue;
		key->type = search_string_keys[i].type;
		*ap = a + 2;
		return search_get_string(sp, &a[1], search_string_keys[i].name,
		    &key->str);
	}
	for (i = 0; i < NITEMS(search_date_keys); i++) {
		if (strcasecmp(str, search_date_keys[i].name) != 0)
			continue;
		key->type = search_date_keys[i].type;
		*ap = a + 2;
		if (a[1].type == IMAP_ARG_EOL)
			return search_fail(sp, "Missing date for %s",
			    search_date_keys[i].name);
		if (!imap_arg_get_astring(&a[1], &str) ||
		    imap_search_date_parse(str, &key->date) == -1)
			return search_fail(sp, "Invalid date for %s "
			    "(expected e.g. 1-Feb-2024)",
			    search_date_keys[i].name);
		return 0;
	}
	if (strcasecmp(str, "HEADER") == 0) {
		key->type = IMAP_SEARCH_HEADER;
		*ap = a + 3;
		if (search_get_string(sp, &a[1], "HEADER", &key->field) != 0)
			return IMAP_SEARCH_EBAD;
		return search_get_string(sp, &a[2], "HEADER", &key->str);
	}
	if (strcasecmp(str, "KEYWORD") == 0 || strcasecmp(str, "UNKEYWORD") == 0) {
		key->type = IMAP_SEARCH_KEYWORD;
		key->set = str[0] == 'K' || str[0] == 'k';
		*ap = a + 2;
		/* RFC 3501 9: flag-keyword = atom. */
		if (!imap_arg_get_atom(&a[1], &str))
			return search_fail(sp, "Missing keyword for %s",
			    key->set ? "KEYWORD" : "UNKEYWORD");
		key->str = xstrdup(str);
		return 0;
	}
	if (strcasecmp(str, "LARGER") == 0 || strcasecmp(str, "SMALLER") == 0) {
		key->type = (str[0] == 'L' || str[0] == 'l') ?
		    IMAP_SEARCH_LARGER : IMAP_SEARCH_SMALLER;
		*ap = a + 2;
		/* RFC 9051 6.4.4 widened these to number64. */
		if (!imap_arg_get_number64(&a[1], &key->number))
			return search_fail(sp, "Invalid size for %s",
			    key->type == IMAP_SEARCH_LARGER ? "LARGER" :
			    "SMALLER");
		return 0;
	}
	if (strcasecmp(str, "UID") == 0) {
		key->type = IMAP_SEARCH_UID;
		*ap = a + 2;
		flags = ctx->allow_saved ? IMAP_SEQSET_F_SAVED : 0;
		if (!imap_arg_get_atom(&a[1], &str))
			return search_fail(sp, "Missing UID set");
		if (imap_seqset_parse(&key->seqset, str, ctx->max_uid, 0, flags,
		    &error) == -1)
			return search_fail(sp, "%s", error);
		if (key->seqset.saved)
			sp->prog->uses_saved = 1;
		return 0;
	}
	if (strcasecmp(str, "MODSEQ") == 0) {
		/*
		 * RFC 7162 3.1.5: MODSEQ [SP entry-name SP entry-type-req]
		 * SP mod-sequence-valzer; entry-name is a quoted string.
		 */
		key->type = IMAP_SEARCH_MODSEQ;
		sp->prog->uses_modseq = 1;
		a++;
		if (a->type == IMAP_ARG_STRING || a->type == IMAP_ARG_LITERAL) {
			if (!imap_arg_get_string(a, &str))
				return search_fail(sp, "Invalid MODSEQ entry");
			key->str = xstrdup(str);
			a++;
			if (imap_arg_atom_equals(a, "priv"))
				key->modseq_type = IMAP_SEARCH_MODSEQ_PRIV;
			else if (imap_arg_atom_equals(a, "shared"))
				key->modseq_type = IMAP_SEARCH_MODSEQ_SHARED;
			else if (imap_arg_atom_equals(a, "all"))
				key->modseq_type = IMAP_SEARCH_MODSEQ_ALL;
			else
				return search_fail(sp, "Invalid MODSEQ entry "
				    "type (expected priv, shared or all)");
			a++;
		}
		*ap = a + 1;
		if (!imap_arg_get_number64(a, &key->number))
			return search_fail(sp, "Invalid MODSEQ value");
		return 0;
	}
	flags = ctx->allow_saved ? IMAP_SEQSET_F_SAVED : 0;
	if ((str[0] >= '0' && str[0] <= '9') || str[0] == '*' ||
	    str[0] == '$') {
		key->type = IMAP_SEARCH_SEQSET;
		if (imap_seqset_parse(&key->seqset, str, ctx->max_seq, 0,
		    flags, &error) == -1)
			return search_fail(sp, "%s", error);
		if (key->seqset.saved)
			sp->prog->uses_saved = 1;
		return 0;
	}
	return search_fail(sp, "Unknown search key: %.64s", str);
}

/* Reads keys up to the EOL of args into *out, an AND of them. */
static int
search_parse_list(struct search_parser *sp, const struct imap_arg *args,
    unsigned int depth, struct imap_search_key *out)
{
	struct pending		*stack = NULL;
	struct imap_search_key	*keys = NULL, key, built;
	const struct imap_arg	*a = args;
	size_t			 nstack = 0, capstack = 0, nkeys = 0, capkeys = 0;
	size_t			 i, j;
	int			 r = IMAP_SEARCH_EBAD;
	struct pending		*top;

	while (a->type != IMAP_ARG_EOL) {
		if (++sp->nkeys > sp->keys_max) {
			search_fail(sp, "[LIMIT] Search program too large "
			    "(limit %zu keys)", sp->keys_max);
			goto out;
		}
		if (imap_arg_atom_equals(a, "OR") ||
		    imap_arg_atom_equals(a, "NOT")) {
			if (nstack == capstack) {
				capstack = capstack == 0 ? 8 : capstack * 2;
				stack = xreallocarray(stack, capstack,
				    sizeof(*stack));
			}
			memset(&stack[nstack], 0, sizeof(stack[0]));
			stack[nstack++].type = imap_arg_atom_equals(a, "OR") ?
			    IMAP_SEARCH_OR : IMAP_SEARCH_NOT;
			a++;
			continue;
		}
		if ((r = search_parse_leaf(sp, &a, depth, &key)) != 0) {
			search_key_free(&key);
			goto out;
		}
		r = IMAP_SEARCH_EBAD;
		/* Hand the key to the operators waiting for it. */
		for (;;) {
			if (nstack == 0) {
				if (nkeys == capkeys) {
					capkeys = capkeys == 0 ? 8 : capkeys * 2;
					keys = xreallocarray(keys, capkeys,
					    sizeof(*keys));
				}
				keys[nkeys++] = key;
				break;
			}
			top = &stack[nstack - 1];
			top->kids[top->have++] = key;
			if (top->have < (top->type == IMAP_SEARCH_OR ? 2u : 1u))
				break;
			nstack--;
			if (search_build(sp, top->type, top->kids, top->have,
			    &built) != 0) {
				search_key_free(&built);
				goto out;
			}
			key = built;
		}
	}
	if (nstack > 0) {
		search_fail(sp, "Missing search key after %s",
		    stack[nstack - 1].type == IMAP_SEARCH_OR ? "OR" : "NOT");
		goto out;
	}
	if (nkeys == 0) {
		search_fail(sp, "Missing search key");
		goto out;
	}
	r = search_build(sp, IMAP_SEARCH_AND, keys, nkeys, out);
	free(keys);
	keys = NULL;
	nkeys = 0;
	if (r != 0)
		search_key_free(out);
out:
	for (i = 0; i < nkeys; i++)
		search_key_free(&keys[i]);
	free(keys);
	for (i = 0; i < nstack; i++)
		for (j = 0; j < stack[i].have; j++)
			search_key_free(&stack[i].kids[j]);
	free(stack);
	return r;
}

/* RFC 4731 3.1: RETURN (return-opts). */
static int
search_parse_return(struct search_parser *sp, const struct imap_arg *a)
{
	const struct imap_arg	*list;
	size_t			 i;

	if (!imap_arg_get_list(a, &list, NULL))
		return search_fail(sp, "RETURN needs a list of options");
	sp->prog->esearch = 1;
	for (; list->type != IMAP_ARG_EOL; list++) {
		for (i = 0; i < NITEMS(search_returns); i++) {
			if (imap_arg_atom_equals(list, search_returns[i].name))
				break;
		}
		if (i == NITEMS(search_returns))
			return search_fail(sp, "Unknown RETURN option");
		if (search_returns[i].ret == IMAP_SEARCH_RET_SAVE &&
		    !sp->ctx->allow_saved)
			return search_fail(sp, "RETURN (SAVE) needs SEARCHRES");
		sp->prog->ret |= search_returns[i].ret;
	}
	/* RFC 4731 3.1: "RETURN ()" is RETURN (ALL). */
	if (sp->prog->ret == 0)
		sp->prog->ret = IMAP_SEARCH_RET_ALL;
	return 0;
}

int
imap_search_parse(const struct imap_arg *args,
    const struct imap_search_context *ctx, struct imap_search_program *prog,
    const char **error_r)
{
	struct search_parser	 sp;
	const char		*charset;
	int			 r;

	memset(prog, 0, sizeof(*prog));
	sp.ctx = ctx;
	sp.prog = prog;
	sp.depth_max = ctx->depth_max != 0 ? ctx->depth_max :
	    IMAP_SEARCH_DEPTH_MAX;
	sp.keys_max = ctx->keys_max != 0 ? ctx->keys_max :
	    IMAP_SEARCH_KEYS_MAX;
	sp.nkeys = 0;
	sp.charset = NULL;

	if (!ctx->charset_first && imap_arg_atom_equals(args, "RETURN")) {
		if ((r = search_parse_return(&sp, &args[1])) != 0)
			goto fail;
		args += 2;
	}
	if (ctx->charset_first || imap_arg_atom_equals(args, "CHARSET")) {
		if (!ctx->charset_first)
			args++;
		if (!imap_arg_get_astring(&args[0], &charset)) {
			r = search_fail(&sp, "Missing charset");
			goto fail;
		}
		/* RFC 3501 6.4.4: an unknown charset is NO [BADCHARSET]. */
		if (strcasecmp(charset, "UTF-8") != 0 &&
		    strcasecmp(charset, "US-ASCII") != 0) {
			if (ctx->charset_convert == NULL ||
			    ctx->charset_convert(charset, NULL, NULL) != 0) {
				search_fail(&sp, "Unsupported charset");
				r = IMAP_SEARCH_EBADCHARSET;
				goto fail;
			}
			sp.charset = charset;
		}
		args++;
	}
	if (args[0].type == IMAP_ARG_EOL) {
		r = search_fail(&sp, "Missing search key");
		goto fail;
	}
	if ((r = search_parse_list(&sp, args, 0, &prog->root)) != 0)
		goto fail;
	*error_r = NULL;
	return IMAP_SEARCH_OK;

fail:
	search_key_free(&prog->root);
	*error_r = prog->error;
	return r;
}

int
imap_search_parse_return(const struct imap_arg *arg,
    const struct imap_search_context *ctx, struct imap_search_program *prog,
    const char **error_r)
{
	struct search_parser	 sp;
	int			 r;

	memset(prog, 0, sizeof(*prog));
	memset(&sp, 0, sizeof(sp));
	sp.ctx = ctx;
	sp.prog = prog;
	r = search_parse_return(&sp, arg);
	*error_r = prog->error;
	return r;
}
