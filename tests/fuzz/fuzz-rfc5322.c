/*
 * fuzz-rfc5322.c: header fields, address lists, msg-ids, dates, and the
 * PGP/MIME wrapping built from them (without GPGME).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pgpmime.h"
#include "rfc5322.h"
#include "util.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
fuzz_check_crlf(const char *s, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++)
		if ((s[i] == '\n' && (i == 0 || s[i - 1] != '\r')) ||
		    (s[i] == '\r' && (i + 1 == len || s[i + 1] != '\n')))
			abort();
}

static void
fuzz_value(const char *v)
{
	struct rfc5322_addrlist	 list;
	const char		*why;
	char			 norm[ADDR_MAX + 1];
	char			*id, **ids;
	size_t			 i, n;
	time_t			 t;

	memset(&list, 0, sizeof(list));
	if (rfc5322_addrlist_parse(v, 50, &list, &why) == 0) {
		if (list.naddrs > 50)
			abort();
		for (i = 0; i < list.naddrs; i++) {
			if (strchr(list.addrs[i].addr, '@') == NULL)
				abort();
			if (list.addrs[i].norm != NULL &&
			    (addr_normalize(list.addrs[i].norm, norm,
			    &why) == -1 || strcmp(norm,
			    list.addrs[i].norm) != 0))
				abort();
		}
	} else if (why == NULL || list.naddrs != 0)
		abort();
	rfc5322_addrlist_clear(&list);

	if ((id = rfc5322_msgid_parse(v)) != NULL) {
		if (id[0] != '<' || id[strlen(id) - 1] != '>')
			abort();
		free(id);
	}
	if (rfc5322_msgids_parse(v, 20, &ids, &n) == 0) {
		if (n > 20)
			abort();
		rfc5322_msgids_free(&ids, n);
	}
	(void)rfc5322_date_parse(v, &t);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rfc5322_header	*h;
	const char		*why;
	char			*s, *p;
	size_t			 i, len;

	/* Unfolding and field splitting on the raw bytes. */
	if (rfc5322_header_parse((const char *)data, size, &h, &why) == 0) {
		if (h->header_len + h->body_len != size ||
		    h->nfields > RFC5322_FIELDS_MAX)
			abort();
		for (i = 0; i < h->nfields; i++) {
			if (h->fields[i].raw < (const char *)data ||
			    h->fields[i].raw + h->fields[i].raw_len >
			    (const char *)data + size)
				abort();
			if (i < 8)
				fuzz_value(h->fields[i].value);
		}
		p = pgpmime_payload(h, PGPMIME_PROTECT_SUBJECT, "gbx.mix.0",
		    &len);
		fuzz_check_crlf(p, len);
		free(p);
		p = pgpmime_outer(h, 0, "gbx.enc.0", "armor\n", 6, &len);
		fuzz_check_crlf(p, len);
		free(p);
		rfc5322_header_free(&h);
	} else if (why == NULL || h != NULL)
		abort();

	/* The whole input as one field value. */
	s = malloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';
	fuzz_value(s);
	free(s);
	return 0;
}
