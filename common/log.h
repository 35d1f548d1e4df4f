/*
 * log.h: logging for every guestbox program.
 *
 * Programs log to syslog unless log_init() was told to use stderr (the -d
 * flag of the daemons, and every run of the admin CLI).  fatal() is for our
 * own broken invariants and allocation failure only, never for bad input.
 */
#ifndef GUESTBOX_LOG_H
#define GUESTBOX_LOG_H

#include <stdarg.h>

#define printflike(a, b) __attribute__((format(printf, a, b)))

void	log_init(const char *progname, int to_stderr, int verbose);
void	log_set_verbose(int verbose);
int	log_get_verbose(void);

void	log_warn(const char *, ...) printflike(1, 2);	/* appends strerror(errno) */
void	log_warnx(const char *, ...) printflike(1, 2);
void	log_info(const char *, ...) printflike(1, 2);
void	log_debug(const char *, ...) printflike(1, 2);
void	log_vlog(int pri, const char *, va_list) printflike(2, 0);

__attribute__((noreturn)) void	fatal(const char *, ...) printflike(1, 2);
__attribute__((noreturn)) void	fatalx(const char *, ...) printflike(1, 2);

#endif
