/*
 * imap-arg.c: readers for the argument tree of a parsed IMAP command.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "imap-arg.h"
#include "util.h"

static int	imap_arg_has_nul(const struct imap_arg *);

static const char *const imap_arg_type_names[] = {
	[IMAP_ARG_EOL] = "end of line",
	[IMAP_ARG_ATOM] = "atom",
	[IMAP_ARG_NIL] = "NIL",
	[IMAP_ARG_STRING] = "string",
	[IMAP_ARG_LITERAL] = "literal",
	[IMAP_ARG_LIST] = "list",
};

const char *
imap_arg_type_name(enum imap_arg_type type)
{
	if ((size_t)type >= sizeof(imap_arg_type_names) /
	    sizeof(imap_arg_type_names[0]))
		return "unknown";
	return imap_arg_type_names[type];
}

/* Only a literal8 can carry a NUL; C-string readers must not see it. */
static int
imap_arg_has_nul(const struct imap_arg *arg)
{
	return arg->str == NULL || strlen(arg->str) != arg->len;
}

int
imap_arg_is_eol(const struct imap_arg *arg)
{
	return arg->type == IMAP_ARG_EOL;
}

int
imap_arg_get_atom(const struct imap_arg *arg, const char **str_r)
{
	if (arg->type != IMAP_ARG_ATOM || (arg->flags & IMAP_ARG_F_SECTION))
		return 0;
	*str_r = arg->str;
	return 1;
}

int
imap_arg_atom_equals(const struct imap_arg *arg, const char *word)
{
	const char	*str;

	if (!imap_arg_get_atom(arg, &str))
		return 0;
	return strcasecmp(str, word) == 0;
}

int
imap_arg_get_string(const struct imap_arg *arg, const char **str_r)
{
	if (arg->type != IMAP_ARG_STRING && arg->type != IMAP_ARG_LITERAL)
		return 0;
	if (imap_arg_has_nul(arg))
		return 0;
	*str_r = arg->str;
	return 1;
}

int
imap_arg_get_astring(const struct imap_arg *arg, const char **str_r)
{
	if (arg->type == IMAP_ARG_NIL) {
		*str_r = arg->str;
		return 1;
	}
	if (imap_arg_get_atom(arg, str_r))
		return 1;
	return imap_arg_get_string(arg, str_r);
}

int
imap_arg_get_nstring(const struct imap_arg *arg, const char **str_r)
{
	if (arg->type == IMAP_ARG_NIL) {
		*str_r = NULL;
		return 1;
	}
	return imap_arg_get_string(arg, str_r);
}

int
imap_arg_get_list(const struct imap_arg *arg, const struct imap_arg **args_r,
    size_t *count_r)
{
	if (arg->type != IMAP_ARG_LIST)
		return 0;
	*args_r = arg->list;
	if (count_r != NULL)
		*count_r = arg->list_count;
	return 1;
}

int
imap_number64_parse(const char *s, uint64_t *vp)
{
	/* RFC 9051 9: number64 stops at 2^63-1. */
	return parse_u64(s, INT64_MAX, vp);
}

int
imap_number_parse(const char *s, uint32_t *vp)
{
	uint64_t	 v;

	if (imap_number64_parse(s, &v) == -1 || v > UINT32_MAX)
		return -1;
	*vp = (uint32_t)v;
	return 0;
}

int
imap_nz_number_parse(const char *s, uint32_t *vp)
{
	uint32_t	 v;

	if (imap_number_parse(s, &v) == -1 || v == 0)
		return -1;
	*vp = v;
	return 0;
}

int
imap_arg_get_number(const struct imap_arg *arg, uint32_t *vp)
{
	const char	*str;

	if (!imap_arg_get_atom(arg, &str))
		return 0;
	return imap_number_parse(str, vp) == 0;
}

int
imap_arg_get_number64(const struct imap_arg *arg, uint64_t *vp)
{
	const char	*str;

	if (!imap_arg_get_atom(arg, &str))
		return 0;
	return imap_number64_parse(str, vp) == 0;
}
