/*
 * fuzz-fetch-parse.c: libFuzzer target for FETCH attributes, fed through
 * the real command parser as "a UID FETCH 1 <input>".
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "imap-fetch-parse.h"
#include "imap-parser.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imap_parser		*p;
	struct evbuffer			*in;
	const struct imap_command	*cmd;
	const struct imap_parse_error	*err;
	struct imap_fetch_request	 req;
	const char			*error;
	size_t				 i, j;
	int				 r, uid;

	p = imap_parser_new(NULL);
	if ((in = evbuffer_new()) == NULL)
		abort();
	evbuffer_add(in, "a UID FETCH 1 ", 14);
	evbuffer_add(in, data, size);
	evbuffer_add(in, "\r\n", 2);
	while ((r = imap_parser_read(p, in, &cmd, &err)) == IMAP_PARSE_CONTINUE)
		;
	if (r == IMAP_PARSE_DONE && cmd->nargs >= 2) {
		for (uid = 0; uid < 2; uid++) {
			if (imap_fetch_parse(cmd->args + 2, uid, &req,
			    &error) == 0) {
				for (i = 0; i < req.nparts; i++) {
					const struct imap_fetch_part *pt =
					    &req.parts[i];

					if (pt->name == NULL ||
					    pt->name[0] == '\0' ||
					    pt->depth > IMAP_FETCH_PART_DEPTH_MAX)
						abort();
					if (pt->partial && pt->length == 0)
						abort();
					if (pt->nfields > IMAP_FETCH_FIELDS_MAX)
						abort();
					for (j = 0; j < pt->depth; j++)
						if (pt->path[j] == 0)
							abort();
				}
				if (req.vanished && (!uid ||
				    !req.changedsince_set))
					abort();
			} else if (error == NULL)
				abort();
			imap_fetch_request_clear(&req);
		}
	}
	imap_parser_free(&p);
	evbuffer_free(in);
	return 0;
}
