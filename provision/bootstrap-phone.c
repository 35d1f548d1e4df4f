/*
 * bootstrap-phone.c: the Apple profile for a phone or tablet, through a
 * one-time link that works without the browser's cookie (issue 14).
 *
 *	GET  /p/TOKEN	the profile, once, with the device password in it
 *
 * The guest asks for a link on the success page or on the guest's page,
 * with the password once more (bootstrap-account.c): a device password
 * is made for it ("iPhone profile ..."), and the page shows the link and
 * its QR code.  The device password waits here, in secret memory, for
 * phone_link_lifetime; only a hash of the token is kept.  Used once, it
 * leaves this process in the profile.  A link that expires, or that a
 * newer one of the same account replaces, takes its password with it:
 * the device password is revoked (within phone_sweep_secs() of its end),
 * so an unused link leaves nothing that opens the mailbox.  A restart
 * forgets the waiting links; their passwords stay on the guest's page,
 * where they can be revoked.
 *
 * HEAD answers as GET would but does not use the link up: a link
 * checker is not a phone.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <qrencode.h>
#include <sodium.h>

#include "bootstrap.h"
#include "log.h"
#include "xmalloc.h"

#define PHONE_TOKEN_BYTES	32
#define PHONE_QR_QUIET		4	/* modules of white (ISO/IEC 18004) */
#define PHONE_QR_SCALE		6	/* pixels per module on the page */
#define PHONE_SWEEP_SECS	30	/* how late an expired link goes at most */

struct phone_link {
	uint8_t			 hash[crypto_generichash_BYTES];
	uint64_t		 account_id;
	uint32_t		 device_id;
	char			 address[ADDR_MAX + 1];
	char			*pw;		/* xsecret */
	size_t			 pwlen;
	int64_t			 expires;
	struct phone_link	*next;
};

static void
phone_token_hash(const char *token, size_t len,
    uint8_t hash[crypto_generichash_BYTES])
{
	crypto_generichash(hash, crypto_generichash_BYTES,
	    (const uint8_t *)token, len, NULL, 0);
}

/* Unlinks *lp and frees it; revoke: its device password goes too. */
static void
phone_link_drop(struct bootstrapd *bd, struct phone_link **lp, int revoke)
{
	struct phone_link	*l = *lp;

	*lp = l->next;
	bd->nphone_links--;
	if (revoke)
		account_device_revoke(bd, l->account_id, l->device_id);
	xsecret_free(l->pw);
	sodium_memzero(l, sizeof(*l));
	free(l);
}

/* Links past their time, and (account_id != 0) that account's one. */
static void
phone_links_sweep(struct bootstrapd *bd, int64_t now, uint64_t account_id)
{
	struct phone_link	**lp = &bd->phone_links;

	while (*lp != NULL)
		if ((*lp)->expires <= now || (account_id != 0 &&
		    (*lp)->account_id == account_id)) {
			log_info("the phone link of %s is gone unused: device "
			    "password %u revoked", (*lp)->address,
			    (*lp)->device_id);
			phone_link_drop(bd, lp, 1);
		} else
			lp = &(*lp)->next;
}

/*
 * While links wait, a timer revokes the expired ones' passwords within
 * phone_sweep_secs(), so they leave the guest's page without a request.
 * A short phone_link_lifetime is swept as often as it lasts.
 */
static time_t
phone_sweep_secs(const struct bootstrapd *bd)
{
	uint64_t	 life = bd->d.conf->phone_link_lifetime;

	return (time_t)(life < PHONE_SWEEP_SECS ? life : PHONE_SWEEP_SECS);
}

static void
phone_sweep_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct bootstrapd	*bd = arg;

	(void)fd;
	(void)ev;
	phone_links_sweep(bd, (int64_t)time(NULL), 0);
	if (bd->nphone_links == 0 && bd->phone_sweep != NULL) {
		event_free(bd->phone_sweep);
		bd->phone_sweep = NULL;
	}
}

int
phone_link_add(struct bootstrapd *bd, uint64_t account_id,
    const char *address, uint32_t device_id, char **pwp, size_t pwlen,
    char path[PHONE_PATH_MAX])
{
	struct phone_link	*l;
	uint8_t			 raw[PHONE_TOKEN_BYTES];
	char			 token[sodium_base64_ENCODED_LEN(PHONE_TOKEN_BYTES,
				    sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
	int64_t			 now = (int64_t)time(NULL);

	/* One link per account: a new one replaces (revokes) the old. */
	phone_links_sweep(bd, now, account_id);
	if (bd->nphone_links >= BS_PHONE_LINKS_MAX) {
		log_warnx("%zu phone links wait already: none for %s",
		    bd->nphone_links, address);
		return -1;
	}
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(token, sizeof(token), raw, sizeof(raw),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof(raw));
	l = xcalloc(1, sizeof(*l));
	phone_token_hash(token, strlen(token), l->hash);
	l->account_id = account_id;
	l->device_id = device_id;
	snprintf(l->address, sizeof(l->address), "%s", address);
	l->pw = *pwp;
	*pwp = NULL;
	l->pwlen = pwlen;
	l->expires = now + (int64_t)bd->d.conf->phone_link_lifetime;
	l->next = bd->phone_links;
	bd->phone_links = l;
	bd->nphone_links++;
	snprintf(path, PHONE_PATH_MAX, "/p/%s", token);
	sodium_memzero(token, sizeof(token));
	if (bd->phone_sweep == NULL) {
		struct timeval	 tv = { phone_sweep_secs(bd), 0 };

		if ((bd->phone_sweep = event_new(bd->d.base, -1, EV_PERSIST,
		    phone_sweep_cb, bd)) == NULL)
			fatalx("event_new");
		evtimer_add(bd->phone_sweep, &tv);
	}
	return 0;
}

void
phone_links_free(struct bootstrapd *bd)
{
	/* Nobody can use them after this: their passwords go as well. */
	while (bd->phone_links != NULL)
		phone_link_drop(bd, &bd->phone_links, 1);
	if (bd->phone_sweep != NULL) {
		event_free(bd->phone_sweep);
		bd->phone_sweep = NULL;
	}
}

/*
 * The link as a QR code, inline SVG (nothing to fetch: the CSP allows
 * no images): one path of the dark modules, a row's runs merged.
 */
static void
phone_qr(struct evbuffer *b, struct bs_req *r, const char *text)
{
	QRcode	*qr;
	int	 x, y, run, w, side;

	/* Level M: 15 % of the code may be lost (a screen's glare). */
	if ((qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8,
	    1)) == NULL) {
		log_warn("QR code of a phone link");
		return;
	}
	w = qr->width;
	side = w + 2 * PHONE_QR_QUIET;
	evbuffer_add_printf(b, "<p><svg xmlns=\"http://www.w3.org/2000/svg\" "
	    "id=\"phone-qr\" class=\"qr\" viewBox=\"0 0 %d %d\" width=\"%d\" "
	    "height=\"%d\" role=\"img\" aria-labelledby=\"phone-qr-title\" "
	    "shape-rendering=\"crispEdges\"><title id=\"phone-qr-title\">",
	    side, side, side * PHONE_QR_SCALE, side * PHONE_QR_SCALE);
	html_text(b, r, T_PHONE_QR_LABEL, NULL, 0);
	evbuffer_add_printf(b, "</title><rect width=\"%d\" height=\"%d\" "
	    "fill=\"#fff\"/><path fill=\"#000\" d=\"", side, side);
	for (y = 0; y < w; y++)
		for (x = 0; x < w; x += run > 0 ? run : 1) {
			/* Bit 0 of each byte: the module is dark. */
			for (run = 0; x + run < w &&
			    (qr->data[y * w + x + run] & 1); run++)
				;
			if (run > 0)
				evbuffer_add_printf(b, "M%d %dh%dv1h-%dz",
				    x + PHONE_QR_QUIET, y + PHONE_QR_QUIET,
				    run, run);
		}
	evbuffer_add_printf(b, "\"/></svg></p>\n");
	QRcode_free(qr);
}

void
phone_link_shown(struct bs_req *r, const char *path, const char *back)
{
	struct evbuffer	*b;
	char		*url, minutes[24];
	const char	*args[1] = { minutes };

	xasprintf(&url, "%s%s", r->conf->public_url, path);
	/* Whole minutes, rounded up: a lifetime under one says 1. */
	snprintf(minutes, sizeof(minutes), "%llu", (unsigned long long)
	    ((r->conf->phone_link_lifetime + 59) / 60));
	b = html_begin(r, T_PHONE_TITLE);
	html_para(b, r, T_PHONE_SCAN, NULL);
	phone_qr(b, r, url);
	evbuffer_add_printf(b, "<p class=\"secret\"><a id=\"phone-link\" "
	    "href=\"");
	html_escape(b, url);
	evbuffer_add_printf(b, "\">");
	html_escape(b, url);
	evbuffer_add_printf(b, "</a></p>\n<p>");
	html_text(b, r, T_PHONE_ONCE, args, 1);
	evbuffer_add_printf(b, "</p>\n<p><a href=\"%s\" id=\"back\">", back);
	html_text(b, r, T_PHONE_BACK, NULL, 0);
	evbuffer_add_printf(b, "</a></p>\n");
	sodium_memzero(url, strlen(url));
	free(url);
	html_end(r, b, 200, "OK");
}

void
phone_section(struct evbuffer *b, struct bs_req *r, const char *address,
    const char *action, const char *form)
{
	evbuffer_add_printf(b, "<h2>");
	html_text(b, r, T_PHONE_HEAD, NULL, 0);
	evbuffer_add_printf(b, "</h2>\n");
	html_para(b, r, T_PHONE_TEXT, NULL);
	html_password_form(b, r, address, action, form, "phone",
	    T_PHONE_SUBMIT);
}

/* Used, expired, revoked and unknown links look alike. */
static void
phone_gone(struct bs_req *r)
{
	struct evbuffer	*b;
	const char	*args[1] = { r->conf->public_url };

	b = html_begin(r, T_PHONE_GONE_TITLE);
	evbuffer_add_printf(b, "<p>");
	html_text(b, r, T_PHONE_GONE_TEXT, args, 1);
	evbuffer_add_printf(b, "</p>\n");
	html_end(r, b, 404, "Not Found");
}

/* The account still active and the device password still there. */
struct phone_check {
	uint64_t	 account_id;
	uint32_t	 device_id;
	int		 usable;
};

static int
phone_check_txn(struct store_txn *txn, void *arg)
{
	struct phone_check	*pc = arg;
	struct store_account	 a;
	uint32_t		 i;
	int			 ret;

	memset(&a, 0, sizeof(a));
	pc->usable = 0;
	if ((ret = store_account_get(txn, pc->account_id, &a)) != 0)
		return ret == STORE_ENOTFOUND ? 0 : ret;
	if (a.state == STORE_ACCT_ACTIVE)
		for (i = 0; i < a.ndevices; i++)
			if (a.devices[i].id == pc->device_id)
				pc->usable = 1;
	store_account_clear(&a);
	return 0;
}

void
phone_get(struct bs_req *r)
{
	struct bootstrapd	*bd = r->bd;
	struct phone_link	**lp;
	struct phone_check	 pc;
	const char		*tok = r->path + strlen("/p/");
	uint8_t			 hash[crypto_generichash_BYTES];
	size_t			 len = strlen(tok);
	int			 ret;

	phone_links_sweep(bd, (int64_t)time(NULL), 0);
	phone_token_hash(tok, len, hash);
	for (lp = &bd->phone_links; *lp != NULL; lp = &(*lp)->next)
		if (sodium_memcmp((*lp)->hash, hash, sizeof(hash)) == 0)
			break;
	if (*lp == NULL) {
		log_info("%s: an unknown, used or expired phone link", r->peer);
		phone_gone(r);
		return;
	}
	memset(&pc, 0, sizeof(pc));
	pc.account_id = (*lp)->account_id;
	pc.device_id = (*lp)->device_id;
	if ((ret = store_txn_run(bd->d.store, phone_check_txn, &pc)) != 0) {
		/* The link stays: the phone may try again. */
		log_warnx("%s: the phone link of %s: %s", r->peer,
		    (*lp)->address, store_strerror(ret));
		bs_error(r, 503, "Service Unavailable", T_ERR_BUSY_TITLE,
		    T_ERR_BUSY_TEXT);
		return;
	}
	if (!pc.usable) {
		/* Revoked on the page, disabled, deleted: nothing to give. */
		log_info("%s: the phone link of %s: its password is gone",
		    r->peer, (*lp)->address);
		phone_link_drop(bd, lp, 0);
		phone_gone(r);
		return;
	}
	profile_send(r, (*lp)->address, (*lp)->pw);
	if (r->head)
		return;
	log_info("%s: the phone link of %s used: device password %u",
	    r->peer, (*lp)->address, (*lp)->device_id);
	phone_link_drop(bd, lp, 0);
}
