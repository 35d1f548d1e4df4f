/*
 * proc.c: hardening and privilege drop shared by every program.
 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "proc.h"

void
proc_harden(void)
{
	struct rlimit	 rl = { 0, 0 };

	/* Unwrapped keys and passwords must never reach a core file. */
	if (setrlimit(RLIMIT_CORE, &rl) == -1)
		log_warn("setrlimit RLIMIT_CORE");
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		log_warn("prctl PR_SET_DUMPABLE");
	/*
	 * issue 7: nothing we exec (gpg) can gain privileges, also when we
	 * were started unprivileged and have none to drop.  It does not
	 * keep root from dropping them in proc_drop_privileges().
	 */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		log_warn("prctl PR_SET_NO_NEW_PRIVS");
	umask(077);
}

int
proc_drop_privileges(const char *user, const char *group)
{
	struct passwd	*pw;
	struct group	*gr;
	gid_t		 gid;

	if (geteuid() != 0)
		return 0;
	if ((pw = getpwnam(user)) == NULL) {
		log_warnx("user \"%s\" does not exist: create it (see "
		    "guestbox(7)) or set user in guestbox.conf", user);
		return -1;
	}
	gid = pw->pw_gid;
	if (group != NULL) {
		if ((gr = getgrnam(group)) == NULL) {
			log_warnx("group \"%s\" does not exist", group);
			return -1;
		}
		gid = gr->gr_gid;
	}
	if (pw->pw_uid == 0)
		return 0;	/* configured to stay root: a test set-up */
	if (setgroups(1, &gid) == -1 || setresgid(gid, gid, gid) == -1 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) == -1) {
		log_warn("dropping privileges to %s", user);
		return -1;
	}
	/* setuid re-enables dumping on some kernels: switch it off again. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		log_warn("prctl PR_SET_DUMPABLE");
	return 0;
}
