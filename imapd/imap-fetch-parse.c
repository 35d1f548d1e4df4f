/*
 * imap-fetch-parse.c: FETCH attributes and modifiers.
 */
#include "config.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>

#include "imap-fetch-parse.h"
#include "imap-quote.h"
#include "xmalloc.h"

static int	fetch_fail(struct imap_fetch_request *, const char *, ...)
		    printflike(2, 3);
static int	fetch_parse_att(struct imap_fetch_request *,
		    const struct imap_arg *);
static int	fetch_parse_part(struct imap_fetch_request *,
		    const struct imap_arg *, const char *);
static int	fetch_parse_section(struct imap_fetch_request *,
		    struct imap_fetch_part *, const char *, size_t,
		    const struct imap_arg *);
static int	fetch_parse_partial(struct imap_fetch_request *,
		    struct imap_fetch_part *, const char *);
static int	fetch_parse_modifiers(struct imap_fetch_request *,
		    const struct imap_arg *, int);
static void	fetch_part_name(struct imap_fetch_part *);
static void	fetch_part_free(struct imap_fetch_part *);
static struct imap_fetch_part *fetch_part_new(struct imap_fetch_request *);

/* RFC 3501 6.4.5: the macros, each valid only alone. */
static const struct {
	const char	*name;
	unsigned int	 attrs;
} fetch_macros[] = {
	{ "ALL", IMAP_FETCH_FLAGS | IMAP_FETCH_INTERNALDATE |
	    IMAP_FETCH_RFC822_SIZE | IMAP_FETCH_ENVELOPE },
	{ "FAST", IMAP_FETCH_FLAGS | IMAP_FETCH_INTERNALDATE |
	    IMAP_FETCH_RFC822_SIZE },
	{ "FULL", IMAP_FETCH_FLAGS | IMAP_FETCH_INTERNALDATE |
	    IMAP_FETCH_RFC822_SIZE | IMAP_FETCH_ENVELOPE | IMAP_FETCH_BODY },
};

static const struct {
	const char	*name;
	unsigned int	 attr;
} fetch_atts[] = {
	{ "FLAGS", IMAP_FETCH_FLAGS },
	{ "INTERNALDATE", IMAP_FETCH_INTERNALDATE },
	{ "RFC822.SIZE", IMAP_FETCH_RFC822_SIZE },
	{ "ENVELOPE", IMAP_FETCH_ENVELOPE },
	{ "BODY", IMAP_FETCH_BODY },
	{ "BODYSTRUCTURE", IMAP_FETCH_BODYSTRUCTURE },
	{ "UID", IMAP_FETCH_UID },
	{ "MODSEQ", IMAP_FETCH_MODSEQ },
};

static const struct {
	const char			*name;
	enum imap_fetch_part_kind	 kind;
	int				 peek;
	enum imap_section_text		 text;
} fetch_rfc822[] = {
	/* RFC 3501 6.4.5: functionally BODY[], BODY.PEEK[HEADER], BODY[TEXT]. */
	{ "RFC822", IMAP_FETCH_PART_RFC822, 0, IMAP_SECTION_ALL },
	{ "RFC822.HEADER", IMAP_FETCH_PART_RFC822_HEADER, 1,
	    IMAP_SECTION_HEADER },
	{ "RFC822.TEXT", IMAP_FETCH_PART_RFC822_TEXT, 0, IMAP_SECTION_TEXT },
};

static const struct {
	const char			*name;
	enum imap_fetch_part_kind	 kind;
	int				 peek;
} fetch_sectioned[] = {
	{ "BODY", IMAP_FETCH_PART_BODY, 0 },
	{ "BODY.PEEK", IMAP_FETCH_PART_BODY, 1 },
	{ "BINARY", IMAP_FETCH_PART_BINARY, 0 },
	{ "BINARY.PEEK", IMAP_FETCH_PART_BINARY, 1 },
	{ "BINARY.SIZE", IMAP_FETCH_PART_BINARY_SIZE, 1 },
};

static const char *const section_text_names[] = {
	[IMAP_SECTION_ALL] = "",
	[IMAP_SECTION_HEADER] = "HEADER",
	[IMAP_SECTION_HEADER_FIELDS] = "HEADER.FIELDS",
	[IMAP_SECTION_HEADER_FIELDS_NOT] = "HEADER.FIELDS.NOT",
	[IMAP_SECTION_TEXT] = "TEXT",
	[IMAP_SECTION_MIME] = "MIME",
};

#define NITEMS(a)	(sizeof(a) / sizeof((a)[0]))

static int
fetch_fail(struct imap_fetch_request *req, const char *fmt, ...)
{
	va_list	 ap;

	free(req->error);
	va_start(ap, fmt);
	xvasprintf(&req->error, fmt, ap);
	va_end(ap);
	return -1;
}

static void
fetch_part_free(struct imap_fetch_part *part)
{
	size_t	 i;

	free(part->path);
	for (i = 0; i < part->nfields; i++)
		free(part->fields[i]);
	free(part->fields);
	free(part->name);
	memset(part, 0, sizeof(*part));
}

void
imap_fetch_request_clear(struct imap_fetch_request *req)
{
	size_t	 i;

	for (i = 0; i < req->nparts; i++)
		fetch_part_free(&req->parts[i]);
	free(req->parts);
	free(req->error);
	memset(req, 0, sizeof(*req));
}

static struct imap_fetch_part *
fetch_part_new(struct imap_fetch_request *req)
{
	struct imap_fetch_part	*part;

	req->parts = xreallocarray(req->parts, req->nparts + 1,
	    sizeof(*req->parts));
	part = &req->parts[req->nparts++];
	memset(part, 0, sizeof(*part));
	return part;
}

/* RFC 3501 7.4.2: the name a FETCH response gives the item. */
static void
fetch_part_name(struct imap_fetch_part *part)
{
	struct evbuffer	*b;
	size_t		 i, j, len;
	char		*up;

	if ((b = evbuffer_new()) == NULL)
		fatalx("evbuffer_new");
	switch (part->kind) {
	case IMAP_FETCH_PART_RFC822:
		evbuffer_add_printf(b, "RFC822");
		break;
	case IMAP_FETCH_PART_RFC822_HEADER:
		evbuffer_add_printf(b, "RFC822.HEADER");
		break;
	case IMAP_FETCH_PART_RFC822_TEXT:
		evbuffer_add_printf(b, "RFC822.TEXT");
		break;
	case IMAP_FETCH_PART_BODY:
	case IMAP_FETCH_PART_BINARY:
	case IMAP_FETCH_PART_BINARY_SIZE:
		evbuffer_add_printf(b, "%s[",
		    part->kind == IMAP_FETCH_PART_BODY ? "BODY" :
		    part->kind == IMAP_FETCH_PART_BINARY ? "BINARY" :
		    "BINARY.SIZE");
		for (i = 0; i < part->depth; i++)
			evbuffer_add_printf(b, "%s%u", i > 0 ? "." : "",
			    part->path[i]);
		if (part->text != IMAP_SECTION_ALL)
			evbuffer_add_printf(b, "%s%s", part->depth > 0 ? "." : "",
			    section_text_names[part->text]);
		if (part->text == IMAP_SECTION_HEADER_FIELDS ||
		    part->text == IMAP_SECTION_HEADER_FIELDS_NOT) {
			/* Upper case, as Dovecot answers. */
			evbuffer_add(b, " (", 2);
			for (i = 0; i < part->nfields; i++) {
				if (i > 0)
					evbuffer_add(b, " ", 1);
				up = xstrdup(part->fields[i]);
				for (j = 0; up[j] != '\0'; j++)
					if (up[j] >= 'a' && up[j] <= 'z')
						up[j] -= 'a' - 'A';
				imap_quote_astring(b, up, strlen(up), 0);
				free(up);
			}
			evbuffer_add(b, ")", 1);
		}
		evbuffer_add(b, "]", 1);
		if (part->partial)
			evbuffer_add_printf(b, "<%u>", part->offset);
		break;
	}
	len = evbuffer_get_length(b);
	part->name = xmalloc(len + 1);
	evbuffer_remove(b, part->name, len);
	part->name[len] = '\0';
	evbuffer_free(b);
}

/*
 * RFC 3501 9: section-spec = section-msgtext / (section-part ["."
 * section-text]); section-part = nz-number *("." nz-number).  spec is
 * the text between the brackets, the header list (if any) in list.
 */
static int
fetch_parse_section(struct imap_fetch_request *req,
    struct imap_fetch_part *part, const char *spec, size_t len,
    const struct imap_arg *list)
{
	const struct imap_arg	*a;
	const char		*p = spec, *end = spec + len, *text;
	size_t			 i, tlen, n;
	uint64_t		 v;
	unsigned int		 t;

	/* Part numbers, while the next dot-separated word is digits. */
	while (p < end && *p >= '0' && *p <= '9') {
		/* RFC 3501 9: nz-number = digit-nz *DIGIT, so no "01". */
		if (*p == '0' && p + 1 < end && p[1] >= '0' && p[1] <= '9')
			return fetch_fail(req,
			    "Invalid section: part number with a leading zero");
		v = 0;
		for (; p < end && *p >= '0' && *p <= '9'; p++) {
			v = v * 10 + (uint64_t)(*p - '0');
			if (v > UINT32_MAX)
				return fetch_fail(req,
				    "Invalid section: part number too large");
		}
		if (v == 0)
			return fetch_fail(req,
			    "Invalid section: part numbers start at 1");
		if (part->depth >= IMAP_FETCH_PART_DEPTH_MAX)
			return fetch_fail(req,
			    "Invalid section: more than %d levels of parts",
			    IMAP_FETCH_PART_DEPTH_MAX);
		part->path = xreallocarray(part->path, part->depth + 1,
		    sizeof(*part->path));
		part->path[part->depth++] = (uint32_t)v;
		if (p == end)
			break;
		if (*p != '.' || p + 1 == end)
			return fetch_fail(req, "Invalid section");
		p++;
	}

	text = p;
	tlen = (size_t)(end - p);
	part->text = IMAP_SECTION_ALL;
	if (tlen > 0) {
		for (t = 1; t < NITEMS(section_text_names); t++) {
			if (strlen(section_text_names[t]) == tlen &&
			    strncasecmp(text, section_text_names[t], tlen) == 0)
				break;
		}
		if (t == NITEMS(section_text_names))
			return fetch_fail(req, "Invalid section: %.*s",
			    (int)(tlen > 64 ? 64 : tlen), text);
		part->text = (enum imap_section_text)t;
	}
	if (part->text == IMAP_SECTION_MIME && part->depth == 0)
		return fetch_fail(req,
		    "Invalid section: MIME needs a part number");
	/* RFC 3516 4.1: section-binary = "[" [section-part] "]". */
	if ((part->kind == IMAP_FETCH_PART_BINARY ||
	    part->kind == IMAP_FETCH_PART_BINARY_SIZE) &&
	    part->text != IMAP_SECTION_ALL)
		return fetch_fail(req,
		    "Invalid section: BINARY takes part numbers only");

	if (part->text != IMAP_SECTION_HEADER_FIELDS &&
	    part->text != IMAP_SECTION_HEADER_FIELDS_NOT) {
		if (list != NULL)
			return fetch_fail(req,
			    "Invalid section: unexpected list");
		return 0;
	}
	/* RFC 3501 9: header-list = "(" header-fld-name *(SP ...) ")". */
	if (list == NULL || list[0].type == IMAP_ARG_EOL)
		return fetch_fail(req,
		    "Invalid section: HEADER.FIELDS needs field names");
	for (n = 0; list[n].type != IMAP_ARG_EOL; n++)
		;
	if (n > IMAP_FETCH_FIELDS_MAX)
		return fetch_fail(req, "Invalid section: more than %d header "
		    "fields", IMAP_FETCH_FIELDS_MAX);
	part->fields = xreallocarray(NULL, n, sizeof(*part->fields));
	for (i = 0, a = list; i < n; i++, a++) {
		const char	*name;

		if (!imap_arg_get_astring(a, &name))
			return fetch_fail(req,
			    "Invalid section: header field name expected");
		part->fields[part->nfields++] = xstrdup(name);
	}
	return 0;
}

/* RFC 3501 9: partial = "<" number "." nz-number ">". */
static int
fetch_parse_partial(struct imap_fetch_request *req,
    struct imap_fetch_part *part, const char *s)
{
	uint64_t	 v[2];
	int		 i;

	if (*s == '\0')
		return 0;
	if (*s++ != '<')
		return fetch_fail(req, "Invalid data after section");
	if (part->kind == IMAP_FETCH_PART_BINARY_SIZE)
		return fetch_fail(req, "BINARY.SIZE takes no partial");
	for (i = 0; i < 2; i++) {
		if (*s < '0' || *s > '9')
			return fetch_fail(req, "Invalid partial");
		/* RFC 3501 9: the length is an nz-number: no "05". */
		if (i == 1 && *s == '0' && s[1] >= '0' && s[1] <= '9')
			return fetch_fail(req,
			    "Invalid partial: length with a leading zero");
		v[i] = 0;
		for (; *s >= '0' && *s <= '9'; s++) {
			v[i] = v[i] * 10 + (uint64_t)(*s - '0');
			if (v[i] > UINT32_MAX)
				return fetch_fail(req,
				    "Invalid partial: number too large");
		}
		if (*s++ != (i == 0 ? '.' : '>'))
			return fetch_fail(req, "Invalid partial");
	}
	if (*s != '\0')
		return fetch_fail(req, "Invalid data after partial");
	if (v[1] == 0)
		return fetch_fail(req, "Invalid partial: length 0");
	part->partial = 1;
	part->offset = (uint32_t)v[0];
	part->length = (uint32_t)v[1];
	return 0;
}

/* An atom with "[": BODY[...], BODY.PEEK[...], BINARY[...] and so on. */
static int
fetch_parse_part(struct imap_fetch_request *req, const struct imap_arg *arg,
    const char *str)
{
	struct imap_fetch_part	*part;
	const char		*open, *close;
	size_t			 i, plen;

	open = strchr(str, '[');
	plen = (size_t)(open - str);
	for (i = 0; i < NITEMS(fetch_sectioned); i++) {
		if (strlen(fetch_sectioned[i].name) == plen &&
		    strncasecmp(str, fetch_sectioned[i].name, plen) == 0)
			break;
	}
	if (i == NITEMS(fetch_sectioned))
		return fetch_fail(req, "Unknown FETCH attribute: %.*s",
		    (int)(plen > 64 ? 64 : plen), str);
	if ((close = strchr(open, ']')) == NULL)
		return fetch_fail(req, "Invalid section: missing ']'");
	if (req->nparts >= IMAP_FETCH_PARTS_MAX)
		return fetch_fail(req, "Too many body parts in FETCH (limit %d)",
		    IMAP_FETCH_PARTS_MAX);

	part = fetch_part_new(req);
	part->kind = fetch_sectioned[i].kind;
	part->peek = fetch_sectioned[i].peek;
	if (fetch_parse_section(req, part, open + 1,
	    (size_t)(close - open - 1),
	    (arg->flags & IMAP_ARG_F_SECTION) ? arg->list : NULL) == -1)
		return -1;
	if (fetch_parse_partial(req, part, close + 1) == -1)
		return -1;
	fetch_part_name(part);
	return 0;
}

static int
fetch_parse_att(struct imap_fetch_request *req, const struct imap_arg *arg)
{
	struct imap_fetch_part	*part;
	const char		*str;
	size_t			 i;

	if (arg->type != IMAP_ARG_ATOM)
		return fetch_fail(req, "Invalid FETCH attribute: %s",
		    imap_arg_type_name(arg->type));
	str = arg->str;
	if (strchr(str, '[') != NULL)
		return fetch_parse_part(req, arg, str);
	for (i = 0; i < NITEMS(fetch_atts); i++) {
		if (strcasecmp(str, fetch_atts[i].name) == 0) {
			req->attrs |= fetch_atts[i].attr;
			return 0;
		}
	}
	for (i = 0; i < NITEMS(fetch_rfc822); i++) {
		if (strcasecmp(str, fetch_rfc822[i].name) != 0)
			continue;
		if (req->nparts >= IMAP_FETCH_PARTS_MAX)
			return fetch_fail(req,
			    "Too many body parts in FETCH (limit %d)",
			    IMAP_FETCH_PARTS_MAX);
		part = fetch_part_new(req);
		part->kind = fetch_rfc822[i].kind;
		part->peek = fetch_rfc822[i].peek;
		part->text = fetch_rfc822[i].text;
		fetch_part_name(part);
		return 0;
	}
	if (strcasecmp(str, "BODY.PEEK") == 0 || strcasecmp(str, "BINARY") == 0
	    || strcasecmp(str, "BINARY.PEEK") == 0 ||
	    strcasecmp(str, "BINARY.SIZE") == 0)
		return fetch_fail(req, "%s needs a section", str);
	return fetch_fail(req, "Unknown FETCH attribute: %.64s", str);
}

/* RFC 4466 2.4 fetch-modifiers; RFC 7162 3.1.4.1 and 3.2.6. */
static int
fetch_parse_modifiers(struct imap_fetch_request *req,
    const struct imap_arg *list, int uid)
{
	const struct imap_arg	*a;

	if (list[0].type == IMAP_ARG_EOL)
		return fetch_fail(req, "Empty FETCH modifier list");
	for (a = list; a->type != IMAP_ARG_EOL; a++) {
		if (imap_arg_atom_equals(a, "CHANGEDSINCE")) {
			if (req->changedsince_set)
				return fetch_fail(req,
				    "CHANGEDSINCE given twice");
			a++;
			if (!imap_arg_get_number64(a, &req->changedsince))
				return fetch_fail(req,
				    "CHANGEDSINCE needs a mod-sequence");
			req->changedsince_set = 1;
			/* RFC 7162 3.1.4.1: it implies the MODSEQ item. */
			req->attrs |= IMAP_FETCH_MODSEQ;
		} else if (imap_arg_atom_equals(a, "VANISHED")) {
			if (req->vanished)
				return fetch_fail(req, "VANISHED given twice");
			req->vanished = 1;
		} else if (a->type == IMAP_ARG_ATOM)
			return fetch_fail(req, "Unknown FETCH modifier: %.64s",
			    a->str);
		else
			return fetch_fail(req, "Invalid FETCH modifier");
	}
	if (req->vanished && !uid)
		return fetch_fail(req, "VANISHED needs UID FETCH");
	if (req->vanished && !req->changedsince_set)
		return fetch_fail(req, "VANISHED needs CHANGEDSINCE");
	return 0;
}

int
imap_fetch_parse(const struct imap_arg *args, int uid,
    struct imap_fetch_request *req, const char **error_r)
{
	const struct imap_arg	*list;
	size_t			 i;
	int			 r = -1;

	memset(req, 0, sizeof(*req));
	if (args[0].type == IMAP_ARG_EOL) {
		fetch_fail(req, "Missing FETCH attributes");
		goto out;
	}
	if (imap_arg_get_list(&args[0], &list, NULL)) {
		if (list[0].type == IMAP_ARG_EOL) {
			fetch_fail(req, "Empty FETCH attribute list");
			goto out;
		}
		for (; list->type != IMAP_ARG_EOL; list++)
			if (fetch_parse_att(req, list) == -1)
				goto out;
	} else {
		for (i = 0; i < NITEMS(fetch_macros); i++) {
			if (imap_arg_atom_equals(&args[0],
			    fetch_macros[i].name)) {
				req->attrs = fetch_macros[i].attrs;
				break;
			}
		}
		if (i == NITEMS(fetch_macros) &&
		    fetch_parse_att(req, &args[0]) == -1)
			goto out;
	}
	if (args[1].type != IMAP_ARG_EOL) {
		if (!imap_arg_get_list(&args[1], &list, NULL)) {
			fetch_fail(req, "Invalid FETCH modifiers");
			goto out;
		}
		if (fetch_parse_modifiers(req, list, uid) == -1)
			goto out;
		if (args[2].type != IMAP_ARG_EOL) {
			fetch_fail(req, "Unexpected argument after FETCH "
			    "modifiers");
			goto out;
		}
	}
	for (i = 0; i < req->nparts; i++) {
		if (!req->parts[i].peek)
			req->sets_seen = 1;
	}
	r = 0;
out:
	*error_r = req->error;
	return r;
}
