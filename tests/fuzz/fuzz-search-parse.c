/*
 * fuzz-search-parse.c: libFuzzer target for SEARCH programs, fed through
 * the real command parser as "a SEARCH <input>".  The tree must respect
 * the depth bound and be normalized as the header promises.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "imap-parser.h"
#include "imap-search-parse.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static unsigned int	check_key(const struct imap_search_key *,
			    unsigned int);

/* Returns the depth of k, checking it against what k says. */
static unsigned int
check_key(const struct imap_search_key *k, unsigned int depth_max)
{
	unsigned int	 d, max = 0;
	size_t		 i;

	switch (k->type) {
	case IMAP_SEARCH_AND:
	case IMAP_SEARCH_OR:
		if (k->nsub < 2)
			abort();
		break;
	case IMAP_SEARCH_NOT:
		if (k->nsub != 1 || k->sub[0].type == IMAP_SEARCH_NOT)
			abort();
		break;
	default:
		if (k->nsub != 0)
			abort();
		break;
	}
	for (i = 0; i < k->nsub; i++) {
		/* Same-kind children were flattened into k. */
		if (k->type != IMAP_SEARCH_NOT && k->sub[i].type == k->type)
			abort();
		d = check_key(&k->sub[i], depth_max);
		if (d > max)
			max = d;
	}
	if (k->depth != max + 1 || k->depth > depth_max)
		abort();
	return k->depth;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imap_parser		*p;
	struct evbuffer			*in;
	const struct imap_command	*cmd;
	const struct imap_parse_error	*err;
	struct imap_search_program	 prog;
	struct imap_search_context	 ctx;
	const char			*error;
	int				 r, pass;

	p = imap_parser_new(NULL);
	if ((in = evbuffer_new()) == NULL)
		abort();
	evbuffer_add(in, "a SEARCH ", 9);
	evbuffer_add(in, data, size);
	evbuffer_add(in, "\r\n", 2);
	while ((r = imap_parser_read(p, in, &cmd, &err)) == IMAP_PARSE_CONTINUE)
		;
	if (r == IMAP_PARSE_DONE) {
		/* The defaults, then small bounds the fuzzer can reach. */
		for (pass = 0; pass < 2; pass++) {
			memset(&ctx, 0, sizeof(ctx));
			ctx.max_seq = 100;
			ctx.max_uid = 1000;
			ctx.allow_saved = pass == 0;
			ctx.depth_max = pass == 0 ? 0 : 4;
			ctx.keys_max = pass == 0 ? 0 : 8;
			r = imap_search_parse(cmd->args, &ctx, &prog, &error);
			if (r == IMAP_SEARCH_OK)
				check_key(&prog.root, pass == 0 ?
				    IMAP_SEARCH_DEPTH_MAX : 4);
			else if (error == NULL)
				abort();
			if (r == IMAP_SEARCH_OK && pass == 1 &&
			    (prog.uses_saved || (prog.ret &
			    IMAP_SEARCH_RET_SAVE)))
				abort();
			imap_search_program_clear(&prog);
		}
	}
	imap_parser_free(&p);
	evbuffer_free(in);
	return 0;
}
