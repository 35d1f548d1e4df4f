/*
 * mime-content.h: the Content-* fields of one MIME part.
 */
#ifndef GUESTBOX_MIME_CONTENT_H
#define GUESTBOX_MIME_CONTENT_H

#include <stddef.h>
#include <stdint.h>

#include "mime-param.h"

/* RFC 2045, 2183, 3282, 2557 fields of one part; NULL when absent. */
struct mime_content {
	char			*type;		/* as written, e.g. "Text" */
	char			*subtype;
	struct mime_param	*params;
	size_t			 nparams;
	char			*encoding;	/* Content-Transfer-Encoding */
	char			*id;
	char			*description;
	char			*md5;
	char			*disposition;
	struct mime_param	*dparams;
	size_t			 ndparams;
	char			**language;	/* Content-Language tags */
	size_t			 nlanguage;
	char			*location;
};

/* Parses the Content-* fields of a header block (first one of each wins). */
void	 mime_content_parse(const void *hdr, size_t len, struct mime_content *);
/*
 * A Content-Type value alone into type, subtype and params of a zeroed
 * struct; a broken type is kept as far as it goes, without parameters.
 */
void	 mime_content_parse_type(struct mime_content *, const uint8_t *,
	    size_t);
void	 mime_content_clear(struct mime_content *);

#endif
