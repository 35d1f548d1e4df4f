/*
 * fuzz-smtp-parser.c: the bounded line reader, the command grammar of
 * the three dialects and the AUTH helpers, fed a session's bytes in pieces.
 *
 * The first input byte picks the dialect, the offered extensions, the
 * line limit and the size of the pieces, so one corpus covers all.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "smtp-parser.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
fuzz_check_reply(const struct smtp_reply *reply)
{
	if (reply->code < 400 || reply->code > 599 ||
	    reply->enhanced == NULL || reply->text[0] == '\0' ||
	    reply->enhanced[0] != (char)('0' + reply->code / 100))
		abort();
}

static void
fuzz_line(char *line, size_t len, const struct smtp_parse_conf *conf)
{
	struct smtp_cmd		 cmd;
	struct smtp_reply	 reply;
	struct sasl_plain	 sp;
	unsigned char		 out[SMTP_SASL_LINE_MAX];
	size_t			 n;
	char			*copy;

	/* As an AUTH exchange line first: the parse below modifies it. */
	if (smtp_sasl_decode(line, len, out, sizeof(out), &n, &reply) == 0) {
		if (n > sizeof(out))
			abort();
		if (smtp_sasl_plain_split(out, n, &sp, &reply) == 0) {
			if (sp.authcid_len == 0 || sp.passwd_len == 0 ||
			    sp.authzid_len + sp.authcid_len + sp.passwd_len +
			    2 != n)
				abort();
		} else
			fuzz_check_reply(&reply);
	} else
		fuzz_check_reply(&reply);

	copy = malloc(len + 1);
	memcpy(copy, line, len + 1);
	if (smtp_cmd_parse(copy, len, conf, &cmd, &reply) == 0) {
		if (cmd.verb <= SMTP_CMD_NONE || cmd.verb >= SMTP_CMD_COUNT ||
		    cmd.name == NULL || reply.code != 0)
			abort();
		if ((cmd.verb == SMTP_CMD_MAIL || cmd.verb == SMTP_CMD_RCPT) &&
		    (strlen(cmd.addr) > ADDR_MAX ||
		    (cmd.addr[0] != '\0' && strchr(cmd.addr, '@') == NULL)))
			abort();
		/* Only the gateway takes a mailbox without a plain form. */
		if (cmd.verb == SMTP_CMD_RCPT && (cmd.path[0] == '\0' ||
		    (cmd.addr[0] == '\0' &&
		    conf->dialect != SMTP_DIALECT_GATEWAY)))
			abort();
		if ((cmd.verb == SMTP_CMD_MAIL || cmd.verb == SMTP_CMD_RCPT) &&
		    (strlen(cmd.path) > ADDR_MAX || (cmd.utf8 &&
		    (conf->dialect != SMTP_DIALECT_GATEWAY ||
		    (cmd.verb == SMTP_CMD_RCPT && !conf->smtputf8) ||
		    (cmd.verb == SMTP_CMD_MAIL && !cmd.smtputf8)))))
			abort();
		if (cmd.verb == SMTP_CMD_AUTH && (cmd.mech[0] == '\0' ||
		    strlen(cmd.mech) > SMTP_MECH_MAX))
			abort();
		if (cmd.arg != NULL && strlen(cmd.arg) > len)
			abort();
	} else
		fuzz_check_reply(&reply);
	free(copy);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtp_parse_conf	 conf;
	struct smtp_line_reader	*r;
	struct evbuffer		*in;
	enum smtp_line_status	 st;
	char			*line;
	size_t			 len, off, step, max;

	if (size < 1)
		return 0;
	memset(&conf, 0, sizeof(conf));
	conf.dialect = (data[0] & 1) ? SMTP_DIALECT_LMTP : (data[0] & 0x10) ?
	    SMTP_DIALECT_GATEWAY : SMTP_DIALECT_SUBMISSION;
	conf.ext = (data[0] & 2) ? 0xff : SMTP_EXT_SIZE | SMTP_EXT_8BITMIME;
	conf.size_max = (data[0] & 4) ? 1000 : 0;
	max = (data[0] & 8) ? 64 : SMTP_LINE_MAX;
	conf.smtputf8 = (data[0] & 0x20) != 0;
	step = (size_t)(data[0] >> 6) * 7 + 1;
	data++;
	size--;

	r = smtp_line_reader_new();
	in = evbuffer_new();
	for (off = 0; off < size; off += step) {
		evbuffer_add(in, data + off, size - off < step ? size - off :
		    step);
		while ((st = smtp_line_read(r, in, max, &line, &len)) !=
		    SMTP_LINE_MORE) {
			if (st == SMTP_LINE_OK) {
				if (len + 1 > max || line[len] != '\0')
					abort();
				fuzz_line(line, len, &conf);
			}
		}
		/* Bounded: never more than a line's worth kept. */
		if (evbuffer_get_length(in) >= max)
			abort();
	}
	evbuffer_free(in);
	smtp_line_reader_free(&r);
	return 0;
}
