/*
 * log.c: syslog or stderr logging, OpenSMTPD's log.c in spirit.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"

static void	log_emit(int, const char *, const char *, va_list)
		    printflike(2, 0);

static const char *log_progname = "guestbox";
static int log_to_stderr = 1;
static int log_verbose;

void
log_init(const char *progname, int to_stderr, int verbose)
{
	log_progname = progname;
	log_to_stderr = to_stderr;
	log_verbose = verbose;
	if (!to_stderr)
		openlog(progname, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

void
log_set_verbose(int verbose)
{
	log_verbose = verbose;
}

int
log_get_verbose(void)
{
	return log_verbose;
}

/* Formats one line; suffix (may be NULL) is strerror() text. */
static void
log_emit(int pri, const char *fmt, const char *suffix, va_list ap)
{
	char		 msg[2048];
	char		*p;
	size_t		 len;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (suffix != NULL) {
		len = strlen(msg);
		snprintf(msg + len, sizeof(msg) - len, ": %s", suffix);
	}
	/* Never let a peer's bytes forge log lines or terminal escapes. */
	for (p = msg; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	if (log_to_stderr) {
		fprintf(stderr, "%s[%ld]: %s\n", log_progname, (long)getpid(),
		    msg);
		fflush(stderr);
	} else
		syslog(pri, "%s", msg);
}

void
log_vlog(int pri, const char *fmt, va_list ap)
{
	log_emit(pri, fmt, NULL, ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list	 ap;
	int	 saved_errno = errno;

	va_start(ap, fmt);
	log_emit(LOG_WARNING, fmt, strerror(saved_errno), ap);
	va_end(ap);
	errno = saved_errno;
}

void
log_warnx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_emit(LOG_WARNING, fmt, NULL, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_emit(LOG_INFO, fmt, NULL, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list	 ap;

	if (!log_verbose)
		return;
	va_start(ap, fmt);
	log_emit(LOG_DEBUG, fmt, NULL, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list	 ap;
	int	 saved_errno = errno;

	va_start(ap, fmt);
	log_emit(LOG_CRIT, fmt, strerror(saved_errno), ap);
	va_end(ap);
	exit(70);	/* EX_SOFTWARE */
}

void
fatalx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_emit(LOG_CRIT, fmt, NULL, ap);
	va_end(ap);
	exit(70);	/* EX_SOFTWARE */
}
