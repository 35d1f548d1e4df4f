/*
 * cmd-fetch.c: FETCH and UID FETCH (RFC 3501 6.4.5, 7.4.2; CONDSTORE and
 * QRESYNC, RFC 7162 3.1.4, 3.2.6).
 *
 * ENVELOPE, BODYSTRUCTURE and BODY come from the MIME cache sealed with
 * the message (computed at delivery or APPEND, or here the first time it
 * is missing); sections decrypt the message.  A long FETCH writes a batch
 * of messages, then waits for the client to read (CMD_MORE), so a FETCH
 * of a whole mailbox never sits in memory.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "imap-date.h"
#include "imap-seqset.h"
#include "imapd.h"
#include "log.h"
#include "mime.h"
#include "pack.h"
#include "xmalloc.h"

/* Body items in one FETCH (the parser module allows as many). */
#define FETCH_SECTIONS_MAX	1000
#define FETCH_FIELDS_MAX	256
#define FETCH_BATCH		50

/* Items without a section. */
#define F_FLAGS		0x0001
#define F_INTERNALDATE	0x0002
#define F_SIZE		0x0004
#define F_ENVELOPE	0x0008
#define F_BODY		0x0010
#define F_BODYSTRUCTURE	0x0020
#define F_UID		0x0040
#define F_MODSEQ	0x0080
#define F_RFC822	0x0100
#define F_RFC822_HEADER	0x0200
#define F_RFC822_TEXT	0x0400
#define F_NEEDS_MIME	(F_ENVELOPE | F_BODY | F_BODYSTRUCTURE)
#define F_NEEDS_TEXT	(F_RFC822 | F_RFC822_HEADER | F_RFC822_TEXT)

enum fetch_section_type {
	FS_ALL,			/* BODY[] or BODY[1.2] */
	FS_HEADER,
	FS_HEADER_FIELDS,
	FS_HEADER_FIELDS_NOT,
	FS_TEXT,
	FS_MIME,
};

struct fetch_section {
	int			 peek;
	char			 path[512];	/* "1.2.3" or "" */
	enum fetch_section_type	 type;
	const char		*fields[FETCH_FIELDS_MAX];	/* borrowed */
	size_t			 nfields;
	char			*label;		/* as echoed: "BODY[HEADER]" */
	int			 partial;
	uint32_t		 offset;
	uint32_t		 length;
};

struct fetch_req {
	int			 uid_mode;
	unsigned int		 items;
	struct fetch_section	*sections;	/* nsections of them */
	size_t			 nsections;
	int			 sets_seen;	/* a non-PEEK body item */
	struct imap_seqset	*set;
	uint64_t		 changedsince;
	int			 vanished;
	uint32_t		 next;		/* next sequence number to look at */
	int			 missing;	/* some messages were expunged */
	int			 failed;	/* a storage error */
};

static void
fetch_req_free(void *arg)
{
	struct fetch_req	*fr = arg;
	size_t			 i;

	if (fr == NULL)
		return;
	for (i = 0; i < fr->nsections; i++)
		free(fr->sections[i].label);
	free(fr->sections);
	imap_set_free(&fr->set);
	free(fr);
}

/* "<0.100>" after a section; -1 if malformed (RFC 3501 9 partial). */
static int
fetch_parse_partial(const char *p, struct fetch_section *fs)
{
	uint64_t	 off = 0, len = 0;
	const char	*q = p + 1;

	if (*p == '\0')
		return 0;
	if (*p != '<')
		return -1;
	if (*q < '0' || *q > '9')
		return -1;
	for (; *q >= '0' && *q <= '9'; q++)
		if ((off = off * 10 + (uint64_t)(*q - '0')) > UINT32_MAX)
			return -1;
	if (*q++ != '.' || *q < '1' || *q > '9')
		return -1;
	for (; *q >= '0' && *q <= '9'; q++)
		if ((len = len * 10 + (uint64_t)(*q - '0')) > UINT32_MAX)
			return -1;
	if (q[0] != '>' || q[1] != '\0')
		return -1;
	fs->partial = 1;
	fs->offset = (uint32_t)off;
	fs->length = (uint32_t)len;
	return 0;
}

/* BODY[...] / BODY.PEEK[...]; the atom's text and its section list. */
static int
fetch_parse_section(const struct imap_arg *a, struct fetch_section *fs,
    const char **whyp)
{
	const char	*s = a->str, *open, *close, *sec, *dot;
	size_t		 i, plen, seclen;
	int		 nparts = 0;

	memset(fs, 0, sizeof(*fs));
	*whyp = "Invalid section in FETCH";
	open = strchr(s, '[');
	close = open != NULL ? strchr(open, ']') : NULL;
	if (open == NULL || close == NULL)
		return -1;
	if ((size_t)(open - s) == 4 && strncasecmp(s, "BODY", 4) == 0)
		fs->peek = 0;
	else if ((size_t)(open - s) == 9 && strncasecmp(s, "BODY.PEEK", 9) == 0)
		fs->peek = 1;
	else
		return -1;
	if (fetch_parse_partial(close + 1, fs) == -1) {
		*whyp = "Invalid partial in FETCH (<offset.length>)";
		return -1;
	}
	sec = open + 1;
	seclen = (size_t)(close - sec);
	/* The part number: digits and dots, each number nonzero. */
	for (plen = 0; plen < seclen && ((sec[plen] >= '0' && sec[plen] <= '9') ||
	    sec[plen] == '.'); plen++) {
		if (sec[plen] == '.' && plen + 1 < seclen &&
		    !(sec[plen + 1] >= '1' && sec[plen + 1] <= '9'))
			break;
		if (sec[plen] == '.')
			nparts++;
	}
	if (plen > 0 && sec[plen - 1] == '.')
		plen--;
	if (plen >= sizeof(fs->path) || nparts >= MIME_MAX_DEPTH) {
		*whyp = "Section part number too deep";
		return -1;
	}
	if (plen > 0 && sec[0] == '0')
		return -1;
	for (i = 1; i < plen; i++)
		if (sec[i] == '0' && sec[i - 1] == '.')
			return -1;
	memcpy(fs->path, sec, plen);
	fs->path[plen] = '\0';
	dot = sec + plen;
	if (plen > 0 && dot < close) {
		/* "1." names nothing (Dovecot: BAD), not part 1. */
		if (*dot != '.' || dot + 1 == close)
			return -1;
		dot++;
	}
	seclen = (size_t)(close - dot);
	if (seclen == 0)
		fs->type = FS_ALL;
	else if (seclen == 6 && strncasecmp(dot, "HEADER", 6) == 0)
		fs->type = FS_HEADER;
	else if (seclen == 4 && strncasecmp(dot, "TEXT", 4) == 0)
		fs->type = FS_TEXT;
	else if (seclen == 4 && strncasecmp(dot, "MIME", 4) == 0 && plen > 0)
		fs->type = FS_MIME;
	else if (seclen == 13 && strncasecmp(dot, "HEADER.FIELDS", 13) == 0)
		fs->type = FS_HEADER_FIELDS;
	else if (seclen == 17 && strncasecmp(dot, "HEADER.FIELDS.NOT", 17) == 0)
		fs->type = FS_HEADER_FIELDS_NOT;
	else
		return -1;
	if (fs->type == FS_HEADER_FIELDS || fs->type == FS_HEADER_FIELDS_NOT) {
		if (!(a->flags & IMAP_ARG_F_SECTION) || a->list_count == 0) {
			*whyp = "HEADER.FIELDS needs a list of field names";
			return -1;
		}
		if (a->list_count > FETCH_FIELDS_MAX) {
			*whyp = "Too many header fields";
			return -1;
		}
		for (i = 0; i < a->list_count; i++)
			if (!imap_arg_get_astring(&a->list[i], &fs->fields[i]))
				return -1;
		fs->nfields = a->list_count;
	} else if (a->flags & IMAP_ARG_F_SECTION)
		return -1;
	*whyp = NULL;
	return 0;
}

/* The label echoed in the response: BODY[...] without PEEK and length. */
static void
fetch_section_label(struct fetch_section *fs)
{
	static const char *const types[] = {
		[FS_ALL] = "",
		[FS_HEADER] = "HEADER",
		[FS_HEADER_FIELDS] = "HEADER.FIELDS",
		[FS_HEADER_FIELDS_NOT] = "HEADER.FIELDS.NOT",
		[FS_TEXT] = "TEXT",
		[FS_MIME] = "MIME",
	};
	struct pack	 pk;
	size_t		 i;

	pack_init(&pk);
	pack_raw(&pk, "BODY[", 5);
	pack_raw(&pk, fs->path, strlen(fs->path));
	if (fs->path[0] != '\0' && fs->type != FS_ALL)
		pack_raw(&pk, ".", 1);
	pack_raw(&pk, types[fs->type], strlen(types[fs->type]));
	if (fs->nfields > 0) {
		pack_raw(&pk, " (", 2);
		for (i = 0; i < fs->nfields; i++) {
			if (i > 0)
				pack_raw(&pk, " ", 1);
			pack_raw(&pk, fs->fields[i], strlen(fs->fields[i]));
		}
		pack_raw(&pk, ")", 1);
	}
	pack_raw(&pk, "]", 1);
	pack_u8(&pk, 0);
	fs->label = (char *)pk.buf;
}

static int
fetch_parse_item(const struct imap_arg *a, struct fetch_req *fr,
    const char **whyp)
{
	static const struct {
		const char	*name;
		unsigned int	 items;
	} simple[] = {
		{ "FLAGS", F_FLAGS },
		{ "INTERNALDATE", F_INTERNALDATE },
		{ "RFC822.SIZE", F_SIZE },
		{ "ENVELOPE", F_ENVELOPE },
		{ "BODY", F_BODY },
		{ "BODYSTRUCTURE", F_BODYSTRUCTURE },
		{ "UID", F_UID },
		{ "MODSEQ", F_MODSEQ },
		{ "RFC822", F_RFC822 },
		{ "RFC822.HEADER", F_RFC822_HEADER },
		{ "RFC822.TEXT", F_RFC822_TEXT },
		/* RFC 3501 6.4.5 macros */
		{ "ALL", F_FLAGS | F_INTERNALDATE | F_SIZE | F_ENVELOPE },
		{ "FAST", F_FLAGS | F_INTERNALDATE | F_SIZE },
		{ "FULL", F_FLAGS | F_INTERNALDATE | F_SIZE | F_ENVELOPE | F_BODY },
	};
	struct fetch_section	*fs;
	size_t			 i;

	if (a->type != IMAP_ARG_ATOM) {
		*whyp = "FETCH items are atoms";
		return -1;
	}
	if (strchr(a->str, '[') == NULL) {
		for (i = 0; i < sizeof(simple) / sizeof(simple[0]); i++)
			if (strcasecmp(a->str, simple[i].name) == 0) {
				fr->items |= simple[i].items;
				if (simple[i].items & (F_RFC822 | F_RFC822_TEXT))
					fr->sets_seen = 1;
				return 0;
			}
		*whyp = "Unknown FETCH item";
		return -1;
	}
	if (fr->nsections == FETCH_SECTIONS_MAX) {
		*whyp = "Too many sections in one FETCH";
		return -1;
	}
	fr->sections = xreallocarray(fr->sections, fr->nsections + 1,
	    sizeof(*fr->sections));
	fs = &fr->sections[fr->nsections];
	if (fetch_parse_section(a, fs, whyp) == -1)
		return -1;
	fetch_section_label(fs);
	fr->nsections++;
	if (!fs->peek)
		fr->sets_seen = 1;
	return 0;
}

/* RFC 7162 3.1.4.1, 3.2.6: (CHANGEDSINCE n [VANISHED]) */
static int
fetch_parse_modifiers(struct imap_session *s, const struct imap_arg *a,
    struct fetch_req *fr, const char **whyp)
{
	const struct imap_arg	*list;
	size_t			 n, i;

	if (!imap_arg_get_list(a, &list, &n)) {
		*whyp = "FETCH modifiers must be a list";
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (imap_arg_atom_equals(&list[i], "CHANGEDSINCE") && i + 1 < n &&
		    imap_arg_get_number64(&list[i + 1], &fr->changedsince)) {
			i++;
			continue;
		}
		if (imap_arg_atom_equals(&list[i], "VANISHED")) {
			if (!fr->uid_mode || !s->qresync) {
				*whyp = "VANISHED needs UID FETCH and ENABLE "
				    "QRESYNC";
				return -1;
			}
			fr->vanished = 1;
			continue;
		}
		*whyp = "Unknown FETCH modifier";
		return -1;
	}
	if (fr->vanished && fr->changedsince == 0) {
		*whyp = "VANISHED needs CHANGEDSINCE";
		return -1;
	}
	if (fr->changedsince != 0) {
		/* RFC 7162 3.1.4.1: CHANGEDSINCE implies MODSEQ. */
		fr->items |= F_MODSEQ;
		s->condstore = 1;
	}
	return 0;
}

/* Everything a message needs for one response, read in one txn. */
struct fetch_msg {
	struct imap_session	*s;
	uint32_t		 uid;
	struct store_msg	 m;
	int			 want_mime;
	int			 want_text;
	int			 root_only;	/* the root's split is enough */
	int			 set_seen;
	uint8_t			*text;
	size_t			 textlen;
	struct mime_msg		*mime;
};

static int
fetch_msg_txn(struct store_txn *txn, void *arg)
{
	struct fetch_msg	*fm = arg;
	struct imap_session	*s = fm->s;
	uint8_t			*aux = NULL;
	size_t			 auxlen = 0;
	struct pack		 pk;
	int			 ret;

	if ((ret = store_msg_get(txn, s->account_id, s->view.mailbox_id,
	    fm->uid, &fm->m)) != 0)
		return ret;
	if (fm->set_seen && !(fm->m.flags & STORE_F_SEEN) &&
	    (ret = store_msg_store(txn, s->account_id, s->view.mailbox_id,
	    fm->uid, fm->m.flags | STORE_F_SEEN, fm->m.keywords, 0,
	    &fm->m)) != 0)
		return ret;
	mime_msg_free(&fm->mime);
	if (fm->root_only) {
		/*
		 * BODY[], BODY[HEADER...], BODY[TEXT], RFC822.HEADER/TEXT:
		 * the root's header and body split from the text itself.
		 * Reading the cached structure would open the message's
		 * sealed key a second time (crypto_box_seal_open, ~60 us).
		 */
		if (fm->text == NULL) {
			if ((ret = store_msg_read(txn, s->key, fm->m.blob_id,
			    &fm->text, &fm->textlen)) != 0)
				return ret;
			mime_nuls_replace(fm->text, fm->textlen);
		}
		fm->mime = mime_parse_root(fm->text, fm->textlen);
	}
	if (fm->want_mime && fm->mime == NULL) {
		if ((ret = store_blob_aux_get(txn, s->key, fm->m.blob_id, &aux,
		    &auxlen)) != 0)
			return ret;
		if (aux != NULL)
			fm->mime = mime_cache_decode(aux, auxlen, fm->m.size);
		free(aux);
	}
	if (fm->text == NULL && (fm->want_text || (fm->want_mime &&
	    fm->mime == NULL))) {
		if ((ret = store_msg_read(txn, s->key, fm->m.blob_id, &fm->text,
		    &fm->textlen)) != 0)
			return ret;
	}
	if (fm->want_mime && fm->mime == NULL) {
		/* No cache yet (or a damaged one): build it and keep it. */
		fm->mime = mime_parse(fm->text, fm->textlen);
		pack_init(&pk);
		mime_cache_encode(fm->mime, &pk);
		ret = store_blob_aux_set(txn, s->key, fm->m.blob_id, pk.buf,
		    pk.len);
		pack_free(&pk);
		if (ret != 0)
			return ret;
	}
	/*
	 * RFC 3501 4.3: no NUL in a literal; 0x80 like Dovecot.  After the
	 * parse: the parser sees what was delivered.
	 */
	if (fm->text != NULL)
		mime_nuls_replace(fm->text, fm->textlen);
	return 0;
}

static void
fetch_msg_clear(struct fetch_msg *fm)
{
	if (fm->text != NULL) {
		sodium_memzero(fm->text, fm->textlen);
		free(fm->text);
	}
	fm->text = NULL;
	fm->textlen = 0;
	mime_msg_free(&fm->mime);
}

/* Writes [off, off+len) of data as a literal, cut by a partial. */
/*
 * RFC 3501 9: a literal holds no NUL (only BINARY's literal8 may).  Mail
 * with NULs exists; like Dovecot, send each as 0x80, keeping the size.
 */
static void
fetch_write_nonul(struct imap_session *s, const uint8_t *data, size_t len)
{
	const uint8_t	*nul;
	size_t		 n;

	while (len > 0) {
		if ((nul = memchr(data, '\0', len)) == NULL) {
			imap_write(s, data, len);
			return;
		}
		n = (size_t)(nul - data);
		imap_write(s, data, n);
		imap_write(s, "\x80", 1);
		data += n + 1;
		len -= n + 1;
	}
}

static void
fetch_write_range(struct imap_session *s, const struct fetch_section *fs,
    const uint8_t *data, uint64_t off, uint64_t len)
{
	if (fs != NULL && fs->partial) {
		/* RFC 3501 6.4.5: past the end is an empty string. */
		if (fs->offset >= len)
			len = 0;
		else {
			off += fs->offset;
			len -= fs->offset;
			if (len > fs->length)
				len = fs->length;
		}
	}
	imap_printf(s, "{%llu}\r\n", (unsigned long long)len);
	fetch_write_nonul(s, data + off, (size_t)len);
}

static void
fetch_write_section(struct imap_session *s, const struct fetch_section *fs,
    struct fetch_msg *fm)
{
	static const enum mime_section map[] = {
		[FS_ALL] = MIME_SECTION_BODY,
		[FS_HEADER] = MIME_SECTION_HEADER,
		[FS_HEADER_FIELDS] = MIME_SECTION_HEADER,
		[FS_HEADER_FIELDS_NOT] = MIME_SECTION_HEADER,
		[FS_TEXT] = MIME_SECTION_TEXT,
		[FS_MIME] = MIME_SECTION_MIME,
	};
	struct pack	 pk;
	uint64_t	 off, len;
	int		 ret;

	imap_printf(s, "%s", fs->label);
	if (fs->partial)
		imap_printf(s, "<%u>", fs->offset);
	imap_write(s, " ", 1);
	ret = fm->mime == NULL ? -1 : mime_section_range(fm->mime, fs->path,
	    strlen(fs->path), map[fs->type], &off, &len);
	if (ret == -1 || (ret == 0 && off + len > fm->textlen)) {
		/*
		 * RFC 3501 6.4.5: a part that does not exist is empty;
		 * Dovecot says "" but {0} for a partial of it, and so do we.
		 */
		imap_printf(s, "%s", fs->partial ? "{0}\r\n" : "\"\"");
		return;
	}
	if (ret == 1) {
		/* HEADER or TEXT of a part that is no message: empty. */
		imap_printf(s, "{0}\r\n");
		return;
	}
	if (fs->type != FS_HEADER_FIELDS && fs->type != FS_HEADER_FIELDS_NOT) {
		fetch_write_range(s, fs, fm->text, off, len);
		return;
	}
	pack_init(&pk);
	mime_header_fields(fm->text + off, (size_t)len, fs->fields, fs->nfields,
	    fs->type == FS_HEADER_FIELDS_NOT, &pk);
	fetch_write_range(s, fs, pk.buf, 0, pk.len);
	pack_free(&pk);
}

static void
fetch_write_msg(struct imap_session *s, struct fetch_req *fr, uint32_t seq,
    struct fetch_msg *fm, int flags_changed)
{
	const struct mime_part	*root;
	char			 date[IMAP_DATETIME_LEN + 1];
	const char		*sp = "";
	size_t			 i;

	imap_printf(s, "* %u FETCH (", seq);
	if ((fr->items & F_UID) || fr->uid_mode) {
		imap_printf(s, "UID %u", fm->m.uid);
		sp = " ";
	}
	if ((fr->items & F_FLAGS) || flags_changed) {
		imap_printf(s, "%sFLAGS ", sp);
		imap_write_flags(s, fm->m.flags, fm->m.keywords);
		sp = " ";
	}
	if ((fr->items & F_MODSEQ) || (s->condstore && flags_changed)) {
		imap_printf(s, "%sMODSEQ (%llu)", sp,
		    (unsigned long long)fm->m.modseq);
		sp = " ";
	}
	if (fr->items & F_INTERNALDATE) {
		imap_printf(s, "%sINTERNALDATE \"%s\"", sp, imap_datetime_format(
		    (time_t)fm->m.internaldate, date, sizeof(date)));
		sp = " ";
	}
	if (fr->items & F_SIZE) {
		imap_printf(s, "%sRFC822.SIZE %llu", sp,
		    (unsigned long long)fm->m.size);
		sp = " ";
	}
	if ((fr->items & F_ENVELOPE) && fm->mime != NULL) {
		imap_printf(s, "%sENVELOPE ", sp);
		imap_write(s, fm->mime->envelope, fm->mime->envelope_len);
		sp = " ";
	}
	if ((fr->items & F_BODYSTRUCTURE) && fm->mime != NULL) {
		imap_printf(s, "%sBODYSTRUCTURE ", sp);
		imap_write(s, fm->mime->bodystructure,
		    fm->mime->bodystructure_len);
		sp = " ";
	}
	if ((fr->items & F_BODY) && fm->mime != NULL) {
		imap_printf(s, "%sBODY ", sp);
		imap_write(s, fm->mime->body, fm->mime->body_len);
		sp = " ";
	}
	root = fm->mime != NULL ? &fm->mime->parts[0] : NULL;
	if ((fr->items & F_RFC822) && fm->text != NULL) {
		imap_printf(s, "%sRFC822 ", sp);
		fetch_write_range(s, NULL, fm->text, 0, fm->textlen);
		sp = " ";
	}
	if ((fr->items & F_RFC822_HEADER) && root != NULL) {
		imap_printf(s, "%sRFC822.HEADER ", sp);
		fetch_write_range(s, NULL, fm->text, root->hdr_off, root->hdr_len);
		sp = " ";
	}
	if ((fr->items & F_RFC822_TEXT) && root != NULL) {
		imap_printf(s, "%sRFC822.TEXT ", sp);
		fetch_write_range(s, NULL, fm->text, root->body_off,
		    root->body_len);
		sp = " ";
	}
	for (i = 0; i < fr->nsections; i++) {
		imap_printf(s, "%s", sp);
		fetch_write_section(s, &fr->sections[i], fm);
		sp = " ";
	}
	imap_printf(s, ")\r\n");
}

static enum imap_cmd_status
fetch_run(struct imap_session *s, struct fetch_req *fr)
{
	struct fetch_msg	 fm;
	struct imap_view_msg	*vm;
	uint32_t		 seq, done = 0, oldflags;
	uint64_t		 oldkw;
	size_t			 i;
	int			 ret, key;

	memset(&fm, 0, sizeof(fm));
	fm.s = s;
	fm.want_mime = (fr->items & (F_NEEDS_MIME | F_RFC822_HEADER |
	    F_RFC822_TEXT)) != 0 || fr->nsections > 0;
	fm.want_text = (fr->items & F_NEEDS_TEXT) != 0 || fr->nsections > 0;
	fm.root_only = fm.want_mime && fm.want_text &&
	    (fr->items & F_NEEDS_MIME) == 0;
	for (i = 0; i < fr->nsections; i++)
		if (fr->sections[i].path[0] != '\0')
			fm.root_only = 0;
	fm.set_seen = fr->sets_seen && !s->view.readonly;
	for (seq = fr->next; seq <= s->view.count; seq++) {
		vm = &s->view.msgs[seq - 1];
		key = fr->uid_mode ? (int)imap_seqset_contains(fr->set, vm->uid) :
		    imap_seqset_contains(fr->set, seq);
		if (!key)
			continue;
		if (fr->changedsince != 0 && vm->modseq <= fr->changedsince)
			continue;
		if (vm->expunged) {
			fr->missing = 1;
			continue;
		}
		if (done == FETCH_BATCH || imap_output_full(s)) {
			fr->next = seq;
			return CMD_MORE;
		}
		fm.uid = vm->uid;
		oldflags = vm->flags;
		oldkw = vm->keywords;
		ret = imap_txn(s, fetch_msg_txn, &fm);
		if (ret == STORE_ENOTFOUND) {
			fr->missing = 1;
			fetch_msg_clear(&fm);
			continue;
		}
		if (ret != 0) {
			fr->failed = ret;
			fetch_msg_clear(&fm);
			break;
		}
		/* Our own \Seen: report it here, not again as an update. */
		imap_view_update(&s->view, seq, &fm.m);
		fetch_write_msg(s, fr, seq, &fm, fm.m.flags != oldflags ||
		    fm.m.keywords != oldkw);
		fetch_msg_clear(&fm);
		done++;
	}
	fr->next = s->view.count + 1;
	if (fr->failed)
		imap_tagged_store_error(s, fr->failed);
	else if (fr->missing)
		imap_tagged(s, "NO", "[EXPUNGEISSUED] Some messages were "
		    "expunged");
	else
		imap_tagged(s, "OK", "Fetch completed");
	return CMD_DONE;
}

struct fetch_vanished {
	struct imap_seqset	*set;
	uint32_t		*uids;
	size_t			 n;
};

static int
fetch_vanished_one(uint32_t uid, uint64_t modseq, int expunged, void *arg)
{
	struct fetch_vanished	*fv = arg;

	if (expunged && imap_seqset_contains(fv->set, uid)) {
		fv->uids = xreallocarray(fv->uids, fv->n + 1, sizeof(*fv->uids));
		fv->uids[fv->n++] = uid;
	}
	return 0;
}

struct fetch_vanished_arg {
	struct imap_session	*s;
	struct fetch_req	*fr;
	struct fetch_vanished	 fv;
};

static int
fetch_vanished_txn(struct store_txn *txn, void *arg)
{
	struct fetch_vanished_arg *va = arg;

	free(va->fv.uids);
	va->fv.uids = NULL;
	va->fv.n = 0;
	va->fv.set = va->fr->set;
	return store_changes_iter(txn, va->s->account_id, va->s->view.mailbox_id,
	    va->fr->changedsince, fetch_vanished_one, &va->fv);
}

/* Expunged UIDs the view never saw, sorted by the MODSEQ walk: sort. */
static int
fetch_uid_cmp(const void *a, const void *b)
{
	uint32_t	 x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

enum imap_cmd_status
imap_fetch(struct imap_session *s, const struct imap_command *cmd, int uid_mode)
{
	struct fetch_req	*fr = s->cmd_state;
	const struct imap_arg	*a, *items;
	const char		*set, *why = NULL;
	size_t			 n, i;

	if (fr != NULL)
		return fetch_run(s, fr);	/* the output drained */
	a = cmd->args;
	if (uid_mode)
		a++;
	if (!imap_arg_get_atom(&a[0], &set) || imap_arg_is_eol(&a[1])) {
		imap_tagged(s, "BAD", "FETCH takes a sequence set and items");
		return CMD_DONE;
	}
	fr = xcalloc(1, sizeof(*fr));
	fr->uid_mode = uid_mode;
	fr->next = 1;
	s->cmd_state = fr;
	s->cmd_state_free = fetch_req_free;
	if (strcmp(set, "$") == 0)
		fr->set = imap_saved_set(s, uid_mode);
	else if ((fr->set = imap_set_parse(set, uid_mode ? imap_view_max_uid(&s->view) :
	    s->view.count)) == NULL) {
		imap_tagged(s, "BAD", "Invalid sequence set");
		return CMD_DONE;
	}
	if (a[1].type == IMAP_ARG_LIST) {
		(void)imap_arg_get_list(&a[1], &items, &n);
		if (n == 0)
			why = "Empty FETCH item list";
		for (i = 0; why == NULL && i < n; i++)
			if (fetch_parse_item(&items[i], fr, &why) == -1)
				break;
	} else
		(void)fetch_parse_item(&a[1], fr, &why);
	if (why == NULL && !imap_arg_is_eol(&a[2]) &&
	    (fetch_parse_modifiers(s, &a[2], fr, &why) == -1 ||
	    !imap_arg_is_eol(&a[3])) && why == NULL)
		why = "Too many FETCH arguments";
	if (why != NULL) {
		imap_tagged(s, "BAD", "%s", why);
		return CMD_DONE;
	}
	if (fr->vanished) {
		struct fetch_vanished_arg va;
		int		 ret;

		memset(&va, 0, sizeof(va));
		va.s = s;
		va.fr = fr;
		if ((ret = imap_txn(s, fetch_vanished_txn, &va)) != 0) {
			free(va.fv.uids);
			imap_tagged_store_error(s, ret);
			return CMD_DONE;
		}
		if (va.fv.n > 0) {
			qsort(va.fv.uids, va.fv.n, sizeof(*va.fv.uids),
			    fetch_uid_cmp);
			imap_printf(s, "* VANISHED (EARLIER) ");
			imap_set_write_list(conn_out(s->conn), va.fv.uids,
			    va.fv.n);
			imap_printf(s, "\r\n");
		}
		free(va.fv.uids);
	}
	return fetch_run(s, fr);
}

enum imap_cmd_status
cmd_fetch(struct imap_session *s, const struct imap_command *cmd)
{
	return imap_fetch(s, cmd, 0);
}
