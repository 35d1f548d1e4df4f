/*
 * invite.c: what create and reinvite share on top of daemon/invite.c:
 * its errors as exit codes, and the invitation printed, or sent through
 * the smarthost.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "provision.h"
#include "smtp-client.h"
#include "util.h"
#include "xmalloc.h"

/* invite_prepare()'s errors as exit codes, with the reason printed. */
int
provision_invite_prepare(struct provision *pv, const char *pinmode,
    const char *inviter_fpr, struct invite *inv)
{
	char	 why[512];

	switch (invite_prepare(pv->conf, pinmode, inviter_fpr, inv, why,
	    sizeof(why))) {
	case INVITE_OK:
		return EX_OK;
	case INVITE_EPINMODE:
		provision_errx(pv, "%s", why);
		return EX_USAGE;
	case INVITE_ENOMEM:
		provision_errx(pv, "%s", why);
		return EX_OSERR;
	case INVITE_EKEY:
		break;
	}
	provision_errx(pv, "%s", why);
	return EX_DATAERR;
}

/*
 * What create and reinvite do before anything else: check --sender-name
 * (it goes into a From: display name, so one short line), pick where the
 * invitation goes and load the templates when a message is made.  The
 * invitation goes by mail when a smarthost is configured; without one the
 * link is printed, as the admin then hands it on.
 */
int
provision_invite_begin(struct provision *pv, int print,
    const char *sender_name, enum invite_output *outp, struct invite_mail *im)
{
	char	 why[512];

	memset(im, 0, sizeof(*im));
	if (sender_name != NULL && (strlen(sender_name) > 100 ||
	    strpbrk(sender_name, "\r\n") != NULL)) {
		provision_errx(pv, "--sender-name takes one line of at most 100 "
		    "bytes");
		return EX_USAGE;
	}
	*outp = print ? INVITE_OUT_PRINT : pv->conf->smarthost != NULL ?
	    INVITE_OUT_SEND : INVITE_OUT_LINK;
	if (*outp != INVITE_OUT_LINK &&
	    invite_mail_load(pv->conf, im, why, sizeof(why)) == -1) {
		provision_errx(pv, "%s", why);
		return EX_CONFIG;
	}
	return EX_OK;
}

void
invite_print(struct provision *pv, const struct store_account *a,
    const struct invite *inv, long long removed)
{
	char	 buf[32];

	if (pv->json) {
		printf("{");
		json_key_str(stdout, "address", a->address, 1);
		json_key_str(stdout, "link", inv->link, 1);
		json_key_str(stdout, "pin", inv->pin, 1);
		if (removed >= 0)
			json_key_num(stdout, "messages_removed", removed, 1);
		json_key_time(stdout, "expires", a->invite_expires, 0);
		printf("}\n");
		return;
	}
	printf("address: %s\nlink:    %s\npin:     %s\nexpires: %s\n",
	    a->address, inv->link, inv->pin[0] != '\0' ? inv->pin : "(none)",
	    time_iso8601(a->invite_expires, buf, sizeof(buf)));
}

int
invite_mail_send(struct provision *pv, const struct store_account *a,
    const char *msg, size_t len)
{
	char	 err[512];

	if (smtp_client_send_wait(pv->conf, pv->conf->invite_from, a->address,
	    msg, len, err, sizeof(err)) == -1) {
		provision_errx(pv, "the invitation to %s was not sent: %s",
		    a->address, err);
		return EX_TEMPFAIL;
	}
	return EX_OK;
}

/*
 * What create and reinvite print once the invitation went out by mail or
 * to stdout: everything but the link, which only the recipient gets.
 * With --print the message is on stdout, so this goes to stderr.
 */
void
invite_mail_report(struct provision *pv, const struct store_account *a,
    const struct invite *inv, int printed)
{
	FILE	*fp = printed ? stderr : stdout;
	char	 buf[32];

	if (pv->json && !printed) {
		printf("{");
		json_key_str(stdout, "address", a->address, 1);
		json_key_str(stdout, "pin", inv->pin, 1);
		json_key_time(stdout, "expires", a->invite_expires, 1);
		printf("\"sent\":true}\n");
		return;
	}
	fprintf(fp, "address: %s\npin:     %s\nexpires: %s\n%s\n", a->address,
	    inv->pin[0] != '\0' ? inv->pin : "(none)",
	    time_iso8601(a->invite_expires, buf, sizeof(buf)), printed ?
	    "invitation: printed on standard output" :
	    "invitation: sent through the smarthost");
}

int
invite_mail_deliver(struct provision *pv, const struct invite_mail *im,
    enum invite_output out, const struct store_account *a,
    const struct invite *inv, const char *sender, const char *sender_name,
    long long removed)
{
	char	*msg;
	size_t	 len;
	int	 ret;

	if (out == INVITE_OUT_LINK) {
		invite_print(pv, a, inv, removed);
		return EX_OK;
	}
	invite_mail_build(pv->conf, im, a, inv, sender, sender_name, &msg,
	    &len);
	if (out == INVITE_OUT_PRINT) {
		/* RFC 5322 on a terminal or a pipe: local line ends. */
		ret = EX_OK;
		for (size_t i = 0; i < len; i++)
			if (msg[i] != '\r' && putchar(msg[i]) == EOF)
				ret = EX_IOERR;
		if (fflush(stdout) == EOF)
			ret = EX_IOERR;
	} else
		ret = invite_mail_send(pv, a, msg, len);
	sodium_memzero(msg, len);
	free(msg);
	if (ret == EX_OK)
		invite_mail_report(pv, a, inv, out == INVITE_OUT_PRINT);
	return ret;
}
