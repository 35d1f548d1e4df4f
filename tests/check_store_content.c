/*
 * check_store_content.c: unit tests of libstore (store/store.h):
 * sealed content, the record codec and what is at rest.
 * The fixtures are in check-store-util.c.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <db.h>
#include <sodium.h>

#include "log.h"
#include "store.h"
#include "store-private.h"	/* white-box: raw records for tamper tests */
#include "xmalloc.h"
#include "check-store-util.h"
#include "check-util.h"

Suite	*store_content_suite(void);

START_TEST(test_read_sizes)
{
	static const size_t	 sizes[] = { 0, 1, 65535, 65536, 65537,
	    3 * 65536 + 5 };
	struct acct		 ac;
	struct store_msg	 m;
	struct store_blob	*b;
	struct append_arg	 aa;
	uint8_t			*data;
	size_t			 i, off, n;
	int			 ret;

	acct_create(st, "uma@example.org", &ac);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		data = xmalloc(sizes[i] + 1);
		fill_pattern(data, sizes[i], (uint32_t)i);
		ret = try_append(st, &ac, ac.inbox, data, sizes[i], 0, 0, &m);
		ck_assert_int_eq(ret, 0);
		ck_assert_uint_eq(m.size, sizes[i]);
		check_content(st, ac.sk, m.blob_id, data, sizes[i]);

		/* Written in odd pieces, the blob reads the same. */
		b = store_blob_new(ac.id, ac.sk->pk);
		for (off = 0; off < sizes[i]; off += n) {
			n = sizes[i] - off < 1000 ? sizes[i] - off : 1000;
			store_blob_write(b, data + off, n);
		}
		store_blob_finish(b, NULL, 0);
		ck_assert_uint_eq(store_blob_size(b), sizes[i]);
		memset(&aa, 0, sizeof(aa));
		aa.acct = ac.id;
		aa.mbox = ac.inbox;
		aa.blob = b;
		ck_assert_int_eq(store_txn_run(st, append_txn, &aa), 0);
		store_blob_free(&b);
		check_content(st, ac.sk, aa.msg.blob_id, data, sizes[i]);
		free(data);
	}
	check_clean(st);
	acct_free(&ac);
}
END_TEST

struct chunks_arg {
	uint64_t	 acct;
	uint64_t	 blob;
	size_t		 n;
};

static int
chunks_txn(struct store_txn *txn, void *arg)
{
	struct chunks_arg	*ca = arg;
	uint8_t			 prefix[KEY_BLOB];

	ca->n = 0;
	store_key_blob(prefix, ca->acct, ca->blob);
	return store_db_iter(txn, DBI_CHUNKS, prefix, sizeof(prefix), NULL, 0,
	    count_one, &ca->n);
}

START_TEST(test_chunk_layout)
{
	static const struct {
		size_t		 size;
		size_t		 chunks;
	} want[] = {
		{ 0, 1 }, { 65535, 1 }, { 65536, 1 }, { 65537, 2 },
		{ 3 * 65536 + 5, 4 },
	};
	struct acct		 ac;
	struct store_msg	 m;
	struct chunks_arg	 ca;
	uint8_t			*data;
	size_t			 i;

	acct_create(st, "vera@example.org", &ac);
	data = xcalloc(1, 3 * 65536 + 5);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		ck_assert_int_eq(try_append(st, &ac, ac.inbox, data,
		    want[i].size, 0, 0, &m), 0);
		ca.acct = ac.id;
		ca.blob = m.blob_id;
		ck_assert_int_eq(store_txn_run(st, chunks_txn, &ca), 0);
		ck_assert_uint_eq(ca.n, want[i].chunks);
	}
	free(data);
	acct_free(&ac);
}
END_TEST

/* store_blob_reader: a chunk at a time, and held past its deletion. */
struct reader_arg {
	const struct acct		*ac;
	uint64_t			 blob;
	uint32_t			 uid;
	struct store_blob_reader	*r;
	int				 freed;		/* the hook ran */
	int				 hold;		/* and holds */
};

static int
reader_open_txn(struct store_txn *txn, void *arg)
{
	struct reader_arg	*ra = arg;

	store_blob_reader_free(&ra->r);
	return store_blob_reader_open(txn, ra->ac->sk, ra->blob, &ra->r);
}

static int
reader_freed(struct store_txn *txn, uint64_t acct, uint64_t blob, void *arg)
{
	struct reader_arg	*ra = arg;

	if (acct != ra->ac->id || blob != ra->blob)
		return 0;
	ra->freed = 1;
	return ra->hold ? store_blob_reader_hold(txn, ra->r, 0) : 0;
}

static int
reader_expunge_txn(struct store_txn *txn, void *arg)
{
	struct reader_arg	*ra = arg;

	return store_msg_expunge(txn, ra->ac->id, ra->ac->inbox, ra->uid);
}

struct reader_chunk_arg {
	struct store_blob_reader	*r;
	uint32_t			 i;
	uint8_t				*out;
	size_t				 len;
};

static int
reader_chunk_txn(struct store_txn *txn, void *arg)
{
	struct reader_chunk_arg	*rc = arg;

	return store_blob_reader_chunk(txn, rc->r, rc->i, rc->out, &rc->len);
}

/* Every chunk of r (in a txn, or from what it holds) is data's. */
static void
reader_check(struct store_blob_reader *r, const uint8_t *data, size_t size,
    int in_txn)
{
	struct reader_chunk_arg	 rc;
	uint8_t			*out = xmalloc(VAULT_CHUNK);
	uint32_t		 i, n = vault_chunk_count(size);

	ck_assert_uint_eq(store_blob_reader_size(r), size);
	for (i = 0; i < n; i++) {
		rc.r = r;
		rc.i = i;
		rc.out = out;
		ck_assert_int_eq(in_txn ? store_txn_run(st, reader_chunk_txn,
		    &rc) : store_blob_reader_chunk(NULL, r, i, out, &rc.len), 0);
		ck_assert_uint_eq(rc.len, i + 1 < n ? VAULT_CHUNK :
		    size - (size_t)i * VAULT_CHUNK);
		ck_assert(memcmp(out, data + (size_t)i * VAULT_CHUNK,
		    rc.len) == 0);
	}
	/* Past the last chunk: no such chunk. */
	ck_assert_int_eq(store_blob_reader_chunk(NULL, r, n, out, &rc.len),
	    STORE_ECORRUPT);
	free(out);
}

START_TEST(test_reader)
{
	static const size_t	 sizes[] = { 0, 1, 65536, 65537,
	    3 * 65536 + 5 };
	struct acct		 ac;
	struct store_msg	 m;
	struct reader_arg	 ra;
	struct reader_chunk_arg	 rc;
	uint8_t			*data, *buf = xmalloc(VAULT_CHUNK);
	size_t			 i;
	int			 hold;

	acct_create(st, "rhea@example.org", &ac);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		for (hold = 0; hold <= 1; hold++) {
			data = xmalloc(sizes[i] + 1);
			fill_pattern(data, sizes[i], (uint32_t)i);
			ck_assert_int_eq(try_append(st, &ac, ac.inbox, data,
			    sizes[i], 0, 0, &m), 0);
			memset(&ra, 0, sizeof(ra));
			ra.ac = &ac;
			ra.blob = m.blob_id;
			ra.uid = m.uid;
			ra.hold = hold;
			ck_assert_int_eq(store_txn_run(st, reader_open_txn, &ra),
			    0);
			/* Not held: a chunk needs the database. */
			ck_assert_int_eq(store_blob_reader_chunk(NULL, ra.r, 0,
			    buf, &rc.len), STORE_ECORRUPT);
			reader_check(ra.r, data, sizes[i], 1);
			store_set_blob_freed(st, reader_freed, &ra);
			ck_assert_int_eq(store_txn_run(st, reader_expunge_txn,
			    &ra), 0);
			store_set_blob_freed(st, NULL, NULL);
			ck_assert_int_eq(ra.freed, 1);
			if (hold)
				/* Gone from the store, whole in the reader. */
				reader_check(ra.r, data, sizes[i], 0);
			else {
				rc.r = ra.r;
				rc.i = 0;
				rc.out = buf;
				ck_assert_int_eq(store_txn_run(st,
				    reader_chunk_txn, &rc), STORE_ECORRUPT);
			}
			store_blob_reader_free(&ra.r);
			ck_assert_ptr_null(ra.r);
			free(data);
		}
	free(buf);
	check_clean(st);
	acct_free(&ac);
}
END_TEST

START_TEST(test_read_wrong_key)
{
	struct acct		 a, b;
	struct store_msg	 m;
	struct vault_seckey	*wrong;
	uint8_t			*data;
	size_t			 len;

	acct_create(st, "walt@example.org", &a);
	acct_create(st, "xena@example.org", &b);
	m = append_str(&a, a.inbox, "for walt only", 0);
	check_content(st, a.sk, m.blob_id, "for walt only", 13);
	/* Another account's key, presented for this account. */
	wrong = vault_seckey_dup(b.sk);
	wrong->account_id = a.id;
	ck_assert_int_eq(try_read(st, wrong, m.blob_id, &data, &len),
	    STORE_ECORRUPT);
	ck_assert_ptr_null(data);
	vault_seckey_free(&wrong);
	/* Under its own id it does not even find the blob. */
	ck_assert_int_ne(try_read(st, b.sk, m.blob_id, &data, &len), 0);
	ck_assert_ptr_null(data);
	/* A key of the right account that is not its key. */
	wrong = vault_keypair_new(a.id);
	ck_assert_int_eq(try_read(st, wrong, m.blob_id, &data, &len),
	    STORE_ECORRUPT);
	vault_seckey_free(&wrong);
	acct_free(&a);
	acct_free(&b);
}
END_TEST

/* Raw surgery on records, as an attacker with file access would do it. */
struct surgery {
	enum { S_FLIP, S_SWAP, S_TRUNCATE } op;
	uint64_t	 acct;
	uint64_t	 blob, blob2;
	uint32_t	 index;
};

static int
surgery_txn(struct store_txn *txn, void *arg)
{
	struct surgery		*sg = arg;
	struct store_blob_rec	 rec;
	struct pack		 pk;
	uint8_t			 k[KEY_CHUNK], k2[KEY_CHUNK], bk[KEY_BLOB];
	void			*v, *v2;
	size_t			 vlen, vlen2;
	int			 ret;

	store_key_blob(k, sg->acct, sg->blob);
	pack_be32(k + KEY_BLOB, sg->index);
	if ((ret = store_db_get(txn, DBI_CHUNKS, k, sizeof(k), &v, &vlen)) != 0)
		return ret;
	switch (sg->op) {
	case S_FLIP:
		((uint8_t *)v)[vlen / 2] ^= 0x01;
		ret = store_db_put(txn, DBI_CHUNKS, k, sizeof(k), v, vlen);
		break;
	case S_SWAP:
		store_key_blob(k2, sg->acct, sg->blob2);
		pack_be32(k2 + KEY_BLOB, sg->index);
		if ((ret = store_db_get(txn, DBI_CHUNKS, k2, sizeof(k2), &v2,
		    &vlen2)) != 0)
			break;
		if ((ret = store_db_put(txn, DBI_CHUNKS, k, sizeof(k), v2,
		    vlen2)) == 0)
			ret = store_db_put(txn, DBI_CHUNKS, k2, sizeof(k2), v,
			    vlen);
		free(v2);
		break;
	case S_TRUNCATE:
		/* Drop the last chunk and make the record agree. */
		if ((ret = store_db_del(txn, DBI_CHUNKS, k, sizeof(k))) != 0)
			break;
		free(v);
		store_key_blob(bk, sg->acct, sg->blob);
		if ((ret = store_db_get(txn, DBI_BLOBS, bk, sizeof(bk), &v,
		    &vlen)) != 0)
			return ret;
		if ((ret = store_blob_rec_decode(v, vlen, &rec)) != 0)
			break;
		rec.nchunks = sg->index;
		rec.size = (uint64_t)sg->index * VAULT_CHUNK;
		pack_init(&pk);
		store_blob_rec_encode(&rec, &pk);
		ret = store_db_put(txn, DBI_BLOBS, bk, sizeof(bk), pk.buf,
		    pk.len);
		pack_free(&pk);
		break;
	}
	free(v);
	return ret;
}

START_TEST(test_tampered_content)
{
	struct acct		 ac;
	struct store_msg	 x, y, z;
	struct surgery		 sg;
	uint8_t			*data, *buf;
	size_t			 len, size = 3 * 65536 + 5;

	acct_create(st, "yann@example.org", &ac);
	buf = xmalloc(size);
	fill_pattern(buf, size, 1);
	ck_assert_int_eq(try_append(st, &ac, ac.inbox, buf, size, 0, 0, &x),
	    0);
	fill_pattern(buf, size, 2);
	ck_assert_int_eq(try_append(st, &ac, ac.inbox, buf, size, 0, 0, &y),
	    0);
	ck_assert_int_eq(try_append(st, &ac, ac.inbox, buf, size, 0, 0, &z),
	    0);
	check_content(st, ac.sk, y.blob_id, buf, size);

	/* One bit of one chunk. */
	memset(&sg, 0, sizeof(sg));
	sg.op = S_FLIP;
	sg.acct = ac.id;
	sg.blob = x.blob_id;
	sg.index = 1;
	ck_assert_int_eq(store_txn_run(st, surgery_txn, &sg), 0);
	ck_assert_int_eq(try_read(st, ac.sk, x.blob_id, &data, &len),
	    STORE_ECORRUPT);
	ck_assert_ptr_null(data);
	/* Chunk 2 of two blobs swapped: both fail. */
	sg.op = S_SWAP;
	sg.blob = y.blob_id;
	sg.blob2 = z.blob_id;
	sg.index = 2;
	ck_assert_int_eq(store_txn_run(st, surgery_txn, &sg), 0);
	ck_assert_int_eq(try_read(st, ac.sk, y.blob_id, &data, &len),
	    STORE_ECORRUPT);
	ck_assert_int_eq(try_read(st, ac.sk, z.blob_id, &data, &len),
	    STORE_ECORRUPT);
	/* Swapped back, they read again: the test changed only that. */
	ck_assert_int_eq(store_txn_run(st, surgery_txn, &sg), 0);
	check_content(st, ac.sk, z.blob_id, buf, size);
	/* Cut after chunk 2 (chunks 0-2 are whole): the final mark is gone. */
	sg.op = S_TRUNCATE;
	sg.blob = z.blob_id;
	sg.index = 3;
	ck_assert_int_eq(store_txn_run(st, surgery_txn, &sg), 0);
	ck_assert_int_eq(try_read(st, ac.sk, z.blob_id, &data, &len),
	    STORE_ECORRUPT);
	ck_assert_ptr_null(data);
	free(buf);
	acct_free(&ac);
}
END_TEST

/* ---- aux data ---- */

struct aux_arg {
	const struct vault_seckey *sk;
	uint64_t	 blob;
	const char	*set;
	uint8_t		*data;
	size_t		 len;
};

static int
aux_txn(struct store_txn *txn, void *arg)
{
	struct aux_arg	*xa = arg;

	free(xa->data);
	xa->data = NULL;
	if (xa->set != NULL)
		return store_blob_aux_set(txn, xa->sk, xa->blob, xa->set,
		    strlen(xa->set));
	return store_blob_aux_get(txn, xa->sk, xa->blob, &xa->data, &xa->len);
}

START_TEST(test_aux)
{
	static const char	 env[] = "(NIL \"subject\" NIL)";
	struct acct		 ac;
	struct append_arg	 aa;
	struct store_blob	*b;
	struct aux_arg		 xa;
	struct store_msg	 plain;
	struct vault_seckey	*wrong;

	acct_create(st, "zoe@example.org", &ac);
	b = store_blob_seal(ac.id, ac.sk->pk, "body", 4, env, strlen(env));
	memset(&aa, 0, sizeof(aa));
	aa.acct = ac.id;
	aa.mbox = ac.inbox;
	aa.blob = b;
	ck_assert_int_eq(store_txn_run(st, append_txn, &aa), 0);
	store_blob_free(&b);

	memset(&xa, 0, sizeof(xa));
	xa.sk = ac.sk;
	xa.blob = aa.msg.blob_id;
	ck_assert_int_eq(store_txn_run(st, aux_txn, &xa), 0);
	ck_assert_uint_eq(xa.len, strlen(env));
	ck_assert_mem_eq(xa.data, env, xa.len);
	/* A cache built later replaces it. */
	xa.set = "(rebuilt)";
	ck_assert_int_eq(store_txn_run(st, aux_txn, &xa), 0);
	xa.set = NULL;
	ck_assert_int_eq(store_txn_run(st, aux_txn, &xa), 0);
	ck_assert_uint_eq(xa.len, 9);
	ck_assert_mem_eq(xa.data, "(rebuilt)", 9);
	free(xa.data);
	xa.data = NULL;
	/* The content is untouched by it. */
	check_content(st, ac.sk, aa.msg.blob_id, "body", 4);
	/* Another key gets nothing. */
	wrong = vault_keypair_new(ac.id);
	xa.sk = wrong;
	ck_assert_int_eq(store_txn_run(st, aux_txn, &xa), STORE_ECORRUPT);
	ck_assert_ptr_null(xa.data);
	xa.set = "(forged)";
	ck_assert_int_eq(store_txn_run(st, aux_txn, &xa), STORE_ECORRUPT);
	vault_seckey_free(&wrong);
	/* A message without aux data. */
	plain = append_str(&ac, ac.inbox, "no aux", 0);
	xa.sk = ac.sk;
	xa.set = NULL;
	xa.blob = plain.blob_id;
	xa.len = 99;
	ck_assert_int_eq(store_txn_run(st, aux_txn, &xa), 0);
	ck_assert_ptr_null(xa.data);
	ck_assert_uint_eq(xa.len, 0);
	/* A blob that does not exist. */
	xa.blob = plain.blob_id ^ 1;
	ck_assert_int_eq(store_txn_run(st, aux_txn, &xa), STORE_ENOTFOUND);
	check_clean(st);
	acct_free(&ac);
}
END_TEST

/* ================================================================ */
/* Nothing in clear on disk                                           */
/* ================================================================ */

START_TEST(test_raw_marker)
{
	struct acct		 ac;
	struct append_arg	 aa;
	struct store_blob	*b;
	struct scan		 sc;
	struct aux_arg		 xa;
	struct msgid_arg	 ma;
	char			 marker[64], b64[128], msgid[128], *msg, aux[256];
	size_t			 b64len;
	uint32_t		 sent;
	int			 i;

	make_marker(marker, sizeof(marker));
	sodium_bin2base64(b64, sizeof(b64), (const uint8_t *)marker,
	    strlen(marker), sodium_base64_VARIANT_ORIGINAL);
	/* Without padding: what a longer attachment would hold. */
	b64len = strlen(b64);
	while (b64len > 0 && b64[b64len - 1] == '=')
		b64[--b64len] = '\0';
	b64[b64len - b64len % 4] = '\0';
	snprintf(msgid, sizeof(msgid), "<%s@home.example>", marker);
	if (asprintf(&msg,
	    "From: \"%s\" <sender@home.example>\r\n"
	    "To: marker@example.org\r\n"
	    "Subject: Re: %s\r\n"
	    "Message-ID: %s\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: multipart/mixed; boundary=\"b1\"\r\n"
	    "\r\n"
	    "--b1\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "\r\n"
	    "The body says %s.\r\n"
	    "--b1\r\n"
	    "Content-Type: application/octet-stream; name=\"%s.pdf\"\r\n"
	    "Content-Disposition: attachment; filename=\"%s.pdf\"\r\n"
	    "Content-Transfer-Encoding: base64\r\n"
	    "\r\n"
	    "%s\r\n"
	    "--b1--\r\n", marker, marker, msgid, marker, marker, marker,
	    b64) == -1)
		ck_abort_msg("asprintf");
	snprintf(aux, sizeof(aux), "(\"date\" \"Re: %s\" ((\"%s\" NIL "
	    "\"sender\" \"home.example\")))", marker, marker);

	acct_create(st, "marker@example.org", &ac);
	(void)mbox_create(ac.id, "ScanControlFolder");
	ck_assert_int_eq(mbox_find(ac.id, "Gesendet", &sent), 0);
	for (i = 0; i < 3; i++) {
		/* As deliver does it: sealed first, appended in a txn. */
		b = store_blob_seal(ac.id, ac.sk->pk, msg, strlen(msg), aux,
		    strlen(aux));
		memset(&aa, 0, sizeof(aa));
		aa.acct = ac.id;
		aa.mbox = i == 2 ? sent : ac.inbox;
		aa.blob = b;
		ck_assert_int_eq(store_txn_run(st, append_txn, &aa), 0);
		store_blob_free(&b);
	}
	check_content(st, ac.sk, aa.msg.blob_id, msg, strlen(msg));
	/* A cache rebuilt later, and the Sent de-duplication index. */
	memset(&xa, 0, sizeof(xa));
	xa.sk = ac.sk;
	xa.blob = aa.msg.blob_id;
	xa.set = aux;
	ck_assert_int_eq(store_txn_run(st, aux_txn, &xa), 0);
	memset(&ma, 0, sizeof(ma));
	ma.acct = ac.id;
	ma.put = 1;
	ma.mbox = sent;
	ma.uid = aa.msg.uid;
	store_msgid_hash(msgid, strlen(msgid), ma.hash);
	ck_assert_int_eq(store_txn_run(st, msgid_txn, &ma), 0);
	ck_assert_int_eq(store_maintain(st, 1), 0);
	store_close(&st);

	memset(&sc, 0, sizeof(sc));
	sc.needle[0] = marker;
	sc.needle[1] = b64;
	sc.needle[2] = "ScanControlFolder";	/* control: the scan works */
	sc.needle[3] = "marker@example.org";	/* sealed (erase key) */
	scan_dir(statedir, &sc);
	/* The databases, their regions and the log all were read. */
	ck_assert_uint_gt(sc.files, 12);
	ck_assert_uint_gt(sc.bytes, 3 * strlen(msg));
	ck_assert_msg(sc.found[0] == 0, "the marker is on disk in clear");
	ck_assert_msg(sc.found[1] == 0, "the marker's base64 is on disk");
	ck_assert_uint_gt(sc.found[2], 0);
	ck_assert_uint_eq(sc.found[3], 0);
	free(msg);
	st = open_store(statedir);
	acct_free(&ac);
}
END_TEST

/* ================================================================ */
/* Record codecs: bytes from disk may be anything                     */
/* ================================================================ */

enum rec_kind { REC_ACCOUNT, REC_MAILBOX, REC_MSG, REC_BLOB, REC_CORR,
	REC_QUEUE };

static int
rec_decode(enum rec_kind kind, const uint8_t *buf, size_t len)
{
	struct store_account	 a;
	struct store_mailbox	 m;
	struct store_msg	 msg;
	struct store_blob_rec	 b;
	struct store_corr	 c;
	struct store_queue_entry e;
	int			 ret = STORE_EIO;

	memset(&e, 0, sizeof(e));
	memset(&a, 0, sizeof(a));
	memset(&m, 0, sizeof(m));
	memset(&c, 0, sizeof(c));
	switch (kind) {
	case REC_ACCOUNT:
		ret = store_account_decode(buf, len, &a);
		store_account_clear(&a);
		break;
	case REC_MAILBOX:
		ret = store_mailbox_decode(buf, len, &m);
		store_mailbox_clear(&m);
		break;
	case REC_MSG:
		ret = store_msg_decode(buf, len, &msg);
		break;
	case REC_BLOB:
		ret = store_blob_rec_decode(buf, len, &b);
		break;
	case REC_CORR:
		ret = store_corr_decode(buf, len, &c);
		store_corr_clear(&c);
		break;
	case REC_QUEUE:
		ret = store_queue_decode(buf, len, &e);
		store_queue_entry_clear(&e);
		break;
	}
	return ret;
}

/*
 * A valid record decodes; every shorter prefix, a longer record and
 * another version do not; any flipped byte may decode or not but must
 * not crash or leak (the sanitizers watch).
 */
static void
check_codec(enum rec_kind kind, const struct pack *pk)
{
	uint8_t	*buf;
	size_t	 i;
	int	 bit;

	ck_assert_int_eq(rec_decode(kind, pk->buf, pk->len), 0);
	buf = xmalloc(pk->len + 1);
	for (i = 0; i < pk->len; i++) {
		memcpy(buf, pk->buf, i);
		ck_assert_msg(rec_decode(kind, buf, i) == STORE_ECORRUPT,
		    "kind %d: a prefix of %zu of %zu bytes decoded", kind, i,
		    pk->len);
	}
	memcpy(buf, pk->buf, pk->len);
	buf[pk->len] = 0;
	ck_assert_int_eq(rec_decode(kind, buf, pk->len + 1), STORE_ECORRUPT);
	buf[0] = 0xff;	/* no record has this version */
	ck_assert_int_eq(rec_decode(kind, buf, pk->len), STORE_ECORRUPT);
	for (i = 0; i < pk->len; i++)
		for (bit = 0; bit < 8; bit += 7) {
			memcpy(buf, pk->buf, pk->len);
			buf[i] ^= (uint8_t)(1 << bit);
			(void)rec_decode(kind, buf, pk->len);
		}
	free(buf);
}

START_TEST(test_codec_robust)
{
	struct store_account	 a;
	struct store_mailbox	 m, m2;
	struct store_msg	 msg;
	struct store_blob_rec	 b;
	struct store_corr	 c;
	struct pack		 pk;
	uint8_t			 aux[VAULT_AUX_OVERHEAD + 3];

	memset(&a, 0, sizeof(a));
	a.id = 7;
	a.address = xstrdup("codec@example.org");
	a.inviter = xstrdup("x@home.example");
	a.state = STORE_ACCT_ACTIVE;
	a.pin_verifier = xstrdup("$argon2id$...");
	a.pin_armored = xstrdup("-----BEGIN PGP MESSAGE-----");
	pack_init(&pk);
	store_account_encode(&a, &pk);
	check_codec(REC_ACCOUNT, &pk);
	pack_free(&pk);
	/*
	 * issue 11: the gateway's unsent invitation survives a round trip
	 * (a version 2 record), no shorter prefix of it decodes, and a
	 * flag byte other than 1 is corrupt.
	 */
	a.invite_unsent = 1;
	pack_init(&pk);
	store_account_encode(&a, &pk);
	ck_assert_int_eq(pk.buf[0], 2);
	{
		struct store_account	 a2;
		uint8_t			*buf = xmalloc(pk.len);
		size_t			 i;

		memset(&a2, 0, sizeof(a2));
		ck_assert_int_eq(store_account_decode(pk.buf, pk.len, &a2), 0);
		ck_assert_int_eq(a2.invite_unsent, 1);
		ck_assert_str_eq(a2.address, "codec@example.org");
		for (i = 0; i < pk.len; i++)
			ck_assert_int_eq(store_account_decode(pk.buf, i, &a2),
			    STORE_ECORRUPT);
		memcpy(buf, pk.buf, pk.len);
		buf[pk.len - 1] = 2;
		ck_assert_int_eq(store_account_decode(buf, pk.len, &a2),
		    STORE_ECORRUPT);
		store_account_clear(&a2);
		free(buf);
	}
	pack_free(&pk);
	/*
	 * issue 14: the new-mail notice's fields make a version 3 record
	 * (with invite_unsent in it), which round-trips and is as strict.
	 */
	a.invite_unsent = 0;
	a.client_seen = 1000;
	a.notice_sent = 2000;
	a.notices_off = 1;
	pack_init(&pk);
	store_account_encode(&a, &pk);
	ck_assert_int_eq(pk.buf[0], 3);
	check_codec(REC_ACCOUNT, &pk);
	{
		struct store_account	 a3;

		memset(&a3, 0, sizeof(a3));
		ck_assert_int_eq(store_account_decode(pk.buf, pk.len, &a3), 0);
		ck_assert_int_eq(a3.client_seen, 1000);
		ck_assert_int_eq(a3.notice_sent, 2000);
		ck_assert_int_eq(a3.notices_off, 1);
		ck_assert_int_eq(a3.invite_unsent, 0);
		ck_assert_int_eq(a3.locked, 0);
		pk.buf[pk.len - 1] = 3;
		ck_assert_int_eq(store_account_decode(pk.buf, pk.len, &a3), 0);
		ck_assert_int_eq(a3.locked, 1);
		pk.buf[pk.len - 1] = 4;
		ck_assert_int_eq(store_account_decode(pk.buf, pk.len, &a3),
		    STORE_ECORRUPT);
		store_account_clear(&a3);
	}
	pack_free(&pk);
	/* Device passwords make a version 4 record, as strict. */
	a.next_device_id = 3;
	a.ndevices = 2;
	a.devices[0].id = 1;
	a.devices[0].name = xstrdup("phone");
	a.devices[1].id = 2;
	a.devices[1].name = xstrdup("laptop");
	memset(a.devices[1].wrapped_sk, 0x5a, sizeof(a.devices[1].wrapped_sk));
	pack_init(&pk);
	store_account_encode(&a, &pk);
	ck_assert_int_eq(pk.buf[0], 4);
	check_codec(REC_ACCOUNT, &pk);
	{
		struct store_account	 a4;

		memset(&a4, 0, sizeof(a4));
		ck_assert_int_eq(store_account_decode(pk.buf, pk.len, &a4), 0);
		ck_assert_uint_eq(a4.ndevices, 2);
		ck_assert_uint_eq(a4.next_device_id, 3);
		ck_assert_str_eq(a4.devices[1].name, "laptop");
		ck_assert_int_eq(a4.devices[1].wrapped_sk[7], 0x5a);
		ck_assert_ptr_nonnull(store_account_device(&a4, 1));
		ck_assert_ptr_null(store_account_device(&a4, 3));
		/* Removing one leaves no copy of its wrap behind. */
		ck_assert_int_eq(store_account_device_remove(&a4, 1), 0);
		ck_assert_int_eq(store_account_device_remove(&a4, 1),
		    STORE_ENOTFOUND);
		ck_assert_uint_eq(a4.ndevices, 1);
		ck_assert_str_eq(a4.devices[0].name, "laptop");
		ck_assert_int_eq(a4.devices[1].wrapped_sk[7], 0);
		ck_assert_ptr_null(a4.devices[1].name);
		store_account_clear(&a4);
	}
	/* An id not below next_device_id is corrupt. */
	a.devices[1].id = 3;
	pack_free(&pk);
	pack_init(&pk);
	store_account_encode(&a, &pk);
	{
		struct store_account	 a5;

		memset(&a5, 0, sizeof(a5));
		ck_assert_int_eq(store_account_decode(pk.buf, pk.len, &a5),
		    STORE_ECORRUPT);
	}
	pack_free(&pk);
	/*
	 * The lost-password mail's time makes a version 5 record, with or
	 * without device passwords, as strict: it survives a restart.
	 */
	a.devices[1].id = 2;
	a.lost_sent = 3000;
	pack_init(&pk);
	store_account_encode(&a, &pk);
	ck_assert_int_eq(pk.buf[0], 5);
	check_codec(REC_ACCOUNT, &pk);
	{
		struct store_account	 a6;

		memset(&a6, 0, sizeof(a6));
		ck_assert_int_eq(store_account_decode(pk.buf, pk.len, &a6), 0);
		ck_assert_int_eq(a6.lost_sent, 3000);
		ck_assert_uint_eq(a6.ndevices, 2);
		ck_assert_int_eq(a6.notice_sent, 2000);
		store_account_clear(&a6);
	}
	pack_free(&pk);
	store_account_clear(&a);
	memset(&a, 0, sizeof(a));
	a.id = 8;
	a.address = xstrdup("lost@example.org");
	a.inviter = xstrdup("x@home.example");
	a.state = STORE_ACCT_ACTIVE;
	a.pin_verifier = xstrdup("");
	a.pin_armored = xstrdup("");
	a.lost_sent = 4000;
	pack_init(&pk);
	store_account_encode(&a, &pk);
	ck_assert_int_eq(pk.buf[0], 5);
	check_codec(REC_ACCOUNT, &pk);
	{
		struct store_account	 a7;

		memset(&a7, 0, sizeof(a7));
		ck_assert_int_eq(store_account_decode(pk.buf, pk.len, &a7), 0);
		ck_assert_int_eq(a7.lost_sent, 4000);
		ck_assert_uint_eq(a7.ndevices, 0);
		store_account_clear(&a7);
	}
	pack_free(&pk);
	store_account_clear(&a);

	/* A queue entry: version 1, and 2 with flags (a notice). */
	{
		struct store_queue_entry	 e, e2;

		memset(&e, 0, sizeof(e));
		e.account_id = 9;
		e.mail_from = xstrdup("from-codec@example.org");
		e.message_id = xstrdup("<codec@example.org>");
		e.last_error = xstrdup("");
		e.nrcpts = 2;
		e.rcpts = xcalloc(2, sizeof(*e.rcpts));
		e.rcpts[0].address = xstrdup("rcpt-codec@home.example");
		e.rcpts[0].reply = xstrdup("");
		e.rcpts[1].address = xstrdup("cc-codec@home.example");
		e.rcpts[1].reply = xstrdup("250 2.0.0 codec queued");
		e.rcpts[1].status = STORE_RCPT_SENT;
		pack_init(&pk);
		store_queue_encode(&e, &pk);
		ck_assert_int_eq(pk.buf[0], 1);
		check_codec(REC_QUEUE, &pk);
		pack_free(&pk);
		e.flags = STORE_QUEUE_F_NOTICE;
		pack_init(&pk);
		store_queue_encode(&e, &pk);
		ck_assert_int_eq(pk.buf[0], 2);
		memset(&e2, 0, sizeof(e2));
		ck_assert_int_eq(store_queue_decode(pk.buf, pk.len, &e2), 0);
		ck_assert_uint_eq(e2.flags, STORE_QUEUE_F_NOTICE);
		ck_assert_str_eq(e2.rcpts[1].address, "cc-codec@home.example");
		ck_assert_int_eq(store_queue_decode(pk.buf, pk.len - 4, &e2),
		    STORE_ECORRUPT);
		store_queue_entry_clear(&e2);
		pack_free(&pk);
		store_queue_entry_clear(&e);
	}

	memset(&m, 0, sizeof(m));
	m.name = xstrdup("Work/Sub");
	m.uidvalidity = 3;
	m.uidnext = 9;
	m.highestmodseq = 12;
	m.nkeywords = 2;
	m.keywords[0] = xstrdup("$Label1");
	m.keywords[1] = xstrdup("Work");
	pack_init(&pk);
	store_mailbox_encode(&m, &pk);
	check_codec(REC_MAILBOX, &pk);
	memset(&m2, 0, sizeof(m2));
	ck_assert_int_eq(store_mailbox_decode(pk.buf, pk.len, &m2), 0);
	ck_assert_str_eq(m2.name, "Work/Sub");
	ck_assert_uint_eq(m2.uidnext, 9);
	ck_assert_uint_eq(m2.nkeywords, 2);
	ck_assert_str_eq(m2.keywords[1], "Work");
	store_mailbox_clear(&m2);
	pack_free(&pk);
	store_mailbox_clear(&m);

	memset(&msg, 0, sizeof(msg));
	msg.flags = STORE_F_SEEN;
	msg.size = 100;
	msg.blob_id = 0x1122334455667788ULL;
	pack_init(&pk);
	store_msg_encode(&msg, &pk);
	check_codec(REC_MSG, &pk);
	pack_free(&pk);

	memset(&b, 0, sizeof(b));
	memset(aux, 0xa5, sizeof(aux));
	b.refcount = 2;
	b.size = 70000;
	b.nchunks = 2;
	b.aux = aux;
	b.auxlen = sizeof(aux);
	pack_init(&pk);
	store_blob_rec_encode(&b, &pk);
	check_codec(REC_BLOB, &pk);
	pack_free(&pk);

	memset(&c, 0, sizeof(c));
	memcpy(c.fingerprint, "0123456789ABCDEF0123456789ABCDEF01234567", 41);
	pack_init(&pk);
	store_corr_encode(&c, &pk);
	check_codec(REC_CORR, &pk);
	pack_free(&pk);
}
END_TEST

Suite *
store_content_suite(void)
{
	Suite	*s = suite_create("store_content");
	TCase	*tc;

	tc = check_store_tcase(s, "content", 60);
	tcase_add_test(tc, test_read_sizes);
	tcase_add_test(tc, test_chunk_layout);
	tcase_add_test(tc, test_reader);
	tcase_add_test(tc, test_read_wrong_key);
	tcase_add_test(tc, test_tampered_content);
	tcase_add_test(tc, test_aux);

	tc = tcase_create("codec");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_codec_robust);
	suite_add_tcase(s, tc);

	tc = check_store_tcase(s, "at_rest", 120);
	tcase_add_test(tc, test_raw_marker);

	return s;
}

int
main(void)
{
	return check_store_main("check_store_content", store_content_suite());
}
