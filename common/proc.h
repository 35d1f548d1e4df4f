/*
 * proc.h: process set-up every guestbox program does before touching
 * secrets: no core dumps, private files, and dropping root.
 */
#ifndef GUESTBOX_PROC_H
#define GUESTBOX_PROC_H

/* RLIMIT_CORE 0, not dumpable (no core, no ptrace by peers), umask 077. */
void	proc_harden(void);
/*
 * Switches to user and group (names) if running as root; returns -1 with
 * a logged reason if that fails.  A no-op for other users.
 */
int	proc_drop_privileges(const char *user, const char *group);

#endif
