/*
 * mime-param.h: Content-Type and Content-Disposition parameters
 * (RFC 2045 5.1, RFC 2231).
 */
#ifndef GUESTBOX_MIME_PARAM_H
#define GUESTBOX_MIME_PARAM_H

#include <stddef.h>

struct rfc822_lex;

#define MIME_MAX_PARAMS		1000		/* per Content-* header */

struct mime_param {
	char	*name;		/* as written; RFC 2231 name*: the '*' kept */
	char	*value;		/* unquoted; RFC 2231 sections joined */
};

/*
 * Every ";" attribute "=" value up to the end of lx.  RFC 2231 3:
 * name*0, name*1 ... are joined into one name (name* if any section was
 * extended, with the plain sections %-escaped so the value stays one
 * encoded string), in section order; a family with a missing section
 * stays apart.  The plain parameters come first, in order, then the
 * joined ones sorted by name.  A broken parameter is skipped.  Sets a
 * new array in *paramsp (free with mime_params_free()).
 */
void	 mime_params_parse(struct rfc822_lex *, struct mime_param **paramsp,
	    size_t *np);
void	 mime_params_free(struct mime_param *, size_t);

/*
 * The value of a parameter, decoded: RFC 2231 name*= (charset'lang'%XX)
 * is percent-decoded and *charsetp set (a new string, or NULL if none was
 * given); a plain name= is returned as it is.  Returns a new string (it
 * may hold NULs; *lenp), or NULL if there is no such parameter.
 */
char	*mime_param_get(const struct mime_param *, size_t nparams,
	    const char *name, char **charsetp, size_t *lenp);

#endif
