/*
 * The uid and gid calls and their effect on the capability sets
 * (capabilities(7), "Effect of user ID changes on capabilities"):
 * root dropping to a uid, keep-caps, the effective uid leaving and
 * coming back to 0, setfsuid/setfsgid return values and the file-system
 * capabilities, setuid(-1), the CAP_SETUID/CAP_SETGID rules, setgroups.
 * Runs as root; each scenario runs in a forked child.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "caputil.h"
#include "check.h"

static char secret[64];

static int run_child(void (*fn)(void))
{
	pid_t p = fork();
	int st;
	if (p == 0) {
		check_failed_ = 0;
		fn();
		_exit(check_failed_ ? 1 : 0);
	}
	if (p < 0 || waitpid(p, &st, 0) != p)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int ids_are(uid_t r, uid_t e, uid_t s)
{
	uid_t a, b, c;
	return getresuid(&a, &b, &c) == 0 && a == r && b == e && c == s;
}

static int gids_are(gid_t r, gid_t e, gid_t s)
{
	gid_t a, b, c;
	return getresgid(&a, &b, &c) == 0 && a == r && b == e && c == s;
}

static int sets_are(uint64_t prm, uint64_t eff, uint64_t amb)
{
	return status_hex("CapPrm") == prm && status_hex("CapEff") == eff &&
	       status_hex("CapAmb") == amb && status_hex("CapBnd") == KNOWN_CAPS;
}

/* The raw calls: the C libraries' wrappers may broadcast or check. */
static long raw_setuid(long u) { return syscall(SYS_setuid, u); }
static long raw_setgid(long g) { return syscall(SYS_setgid, g); }
static long raw_setfsuid(long u) { return syscall(SYS_setfsuid, u); }
static long raw_setfsgid(long g) { return syscall(SYS_setfsgid, g); }

static int pdeath(void)
{
	int s = -1;
	prctl(PR_GET_PDEATHSIG, &s, 0, 0, 0);
	return s;
}

static void child_drop_to_user(void)
{
	CHECK(prctl(PR_SET_PDEATHSIG, SIGUSR1, 0, 0, 0) == 0, "parent-death signal SIGUSR1");
	CHECK(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 1, "dumpable");
	CHECK(raw_setuid(0) == 0 && setresuid(-1, -1, -1) == 0 && cap_set(KNOWN_CAPS, KNOWN_CAPS, 0) == 0,
	      "changes that change nothing");
	CHECK(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 1 && pdeath() == SIGUSR1,
	      "still dumpable, parent-death signal kept");
	CHECK(raw_setuid(1000) == 0, "root setuid(1000)");
	CHECK(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 0 && pdeath() == 0,
	      "a new effective uid: not dumpable, parent-death signal cleared");
	CHECK(ids_are(1000, 1000, 1000), "all uids are 1000");
	CHECK(sets_are(0, 0, 0), "permitted, effective, ambient cleared; bounding kept");
	CHECK(status_hex("CapInh") == 0, "inheritable untouched");
	CHECK_ERRNO(raw_setuid(0), EPERM, "no way back to uid 0");
	CHECK_ERRNO(cap_set(CAPBIT(C_CHOWN), CAPBIT(C_CHOWN), 0), EPERM,
		    "no capability can be regained");
	CHECK(raw_setuid(1000) == 0, "setuid to the own uid");
	CHECK_ERRNO(raw_setuid(2000), EPERM, "setuid to another uid");
}

static void child_keepcaps(void)
{
	CHECK(cap_set(KNOWN_CAPS, KNOWN_CAPS, CAPBIT(C_KILL)) == 0 &&
		      prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, C_KILL, 0, 0) == 0,
	      "CAP_KILL inheritable and ambient");
	CHECK(prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) == 0, "PR_SET_KEEPCAPS 1");
	CHECK(setresuid(1000, 1000, 1000) == 0, "setresuid(1000, 1000, 1000)");
	CHECK(sets_are(KNOWN_CAPS, 0, 0),
	      "keepcaps keeps permitted; effective and ambient cleared (prm %llx eff %llx amb %llx)",
	      status_hex("CapPrm"), status_hex("CapEff"), status_hex("CapAmb"));
	CHECK(prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0) == 1, "keepcaps still set");
	CHECK(cap_set(CAPBIT(C_CHOWN) | CAPBIT(C_SETUID), KNOWN_CAPS, 0) == 0,
	      "effective raised again from permitted");
	CHECK(status_hex("CapEff") == (CAPBIT(C_CHOWN) | CAPBIT(C_SETUID)), "CapEff shows them");
	CHECK(raw_setuid(2000) == 0 && ids_are(2000, 2000, 2000), "CAP_SETUID lets uid 1000 setuid(2000)");
	CHECK(status_hex("CapPrm") == KNOWN_CAPS, "nonzero to nonzero keeps the sets");
	CHECK(status_hex("CapEff") == (CAPBIT(C_CHOWN) | CAPBIT(C_SETUID)),
	      "effective kept too");
}

static void child_euid_toggle(void)
{
	CHECK(setresuid(-1, 1000, -1) == 0 && ids_are(0, 1000, 0), "seteuid(1000)");
	CHECK(sets_are(KNOWN_CAPS, 0, 0), "effective cleared, permitted kept");
	CHECK(status_hex("CapInh") == 0, "inheritable untouched");
}

static void child_euid_back(void)
{
	CHECK(setresuid(-1, 1000, -1) == 0, "seteuid(1000)");
	CHECK(status_hex("CapEff") == 0, "effective empty");
	CHECK(setresuid(-1, 0, -1) == 0 && ids_are(0, 0, 0), "seteuid(0) (the saved uid)");
	CHECK(sets_are(KNOWN_CAPS, KNOWN_CAPS, 0), "effective restored from permitted");
	/* Effective restored from a reduced permitted set. */
	CHECK(cap_set(CAPBIT(C_SETUID), CAPBIT(C_SETUID) | CAPBIT(C_CHOWN), 0) == 0,
	      "permitted CAP_SETUID CAP_CHOWN, effective CAP_SETUID");
	CHECK(setreuid(-1, 1000) == 0 && ids_are(0, 1000, 1000), "setreuid(-1, 1000) moves the saved uid");
	CHECK(status_hex("CapEff") == 0 && status_hex("CapPrm") == (CAPBIT(C_SETUID) | CAPBIT(C_CHOWN)),
	      "effective empty, permitted kept (ruid 0)");
	CHECK(setreuid(-1, 0) == 0 && ids_are(0, 0, 1000),
	      "setreuid(-1, 0): back to the real uid, the saved uid stays");
	CHECK(status_hex("CapEff") == (CAPBIT(C_SETUID) | CAPBIT(C_CHOWN)),
	      "effective is the whole permitted set");
}

static void child_fsuid(void)
{
	int fd;
	CHECK(raw_setfsuid(-1) == 0, "setfsuid(-1) returns the fsuid 0");
	CHECK(prctl(PR_SET_PDEATHSIG, SIGUSR1, 0, 0, 0) == 0, "parent-death signal SIGUSR1");
	CHECK(raw_setfsuid(1000) == 0, "setfsuid(1000) returns 0");
	CHECK(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 0 && pdeath() == 0,
	      "a new fsuid: not dumpable, parent-death signal cleared");
	CHECK(raw_setfsuid(-1) == 1000, "fsuid is now 1000");
	CHECK(status_hex("CapEff") == (KNOWN_CAPS & ~FS_CAPS),
	      "the file-system caps left the effective set (eff %llx)", status_hex("CapEff"));
	CHECK(status_hex("CapPrm") == KNOWN_CAPS, "permitted untouched");
	CHECK(ids_are(0, 0, 0), "real, effective, saved uid untouched");
	fd = open(secret, O_RDONLY);
	CHECK(fd == -1 && errno == EACCES, "fsuid 1000 cannot read a 0600 root file");
	if (fd >= 0)
		close(fd);
	fd = open("/tmp", O_RDONLY | O_DIRECTORY);
	CHECK(fd >= 0, "but can open /tmp");
	if (fd >= 0)
		close(fd);
	CHECK(raw_setfsuid(0) == 1000, "setfsuid(0) returns 1000");
	CHECK(status_hex("CapEff") == KNOWN_CAPS, "the file-system caps are back");
	fd = open(secret, O_RDONLY);
	CHECK(fd >= 0, "fsuid 0 reads it again");
	if (fd >= 0)
		close(fd);
	/* setresuid moves the fsuid with the euid. */
	CHECK(setresuid(-1, 1000, -1) == 0 && raw_setfsuid(-1) == 1000, "seteuid moves the fsuid");
	CHECK(setresuid(-1, 0, -1) == 0 && raw_setfsuid(-1) == 0, "and back");
	/* Group. */
	CHECK(raw_setfsgid(-1) == 0, "setfsgid(-1) returns 0");
	CHECK(raw_setfsgid(3000) == 0 && raw_setfsgid(-1) == 3000, "setfsgid(3000)");
	CHECK(gids_are(0, 0, 0), "other gids untouched");
	/* Without the capability. */
	CHECK(setresuid(1000, 1000, 1000) == 0, "drop to uid 1000");
	CHECK(raw_setfsuid(2000) == 1000, "refused setfsuid(2000) returns the fsuid 1000");
	CHECK(raw_setfsuid(-1) == 1000, "fsuid still 1000");
	CHECK(raw_setfsgid(4000) == 3000, "setfsgid(4000) without CAP_SETGID returns 3000");
	CHECK(raw_setfsgid(-1) == 3000, "fsgid still 3000");
	CHECK(raw_setfsgid(0) == 3000 && raw_setfsgid(-1) == 0, "setfsgid to the real gid");
}

static void child_invalid_ids(void)
{
	CHECK_ERRNO(raw_setuid(-1), EINVAL, "setuid(-1)");
	CHECK_ERRNO(raw_setgid(-1), EINVAL, "setgid(-1)");
	CHECK(setresuid(-1, -1, -1) == 0 && ids_are(0, 0, 0), "setresuid(-1, -1, -1) changes nothing");
	CHECK(setreuid(-1, -1) == 0 && ids_are(0, 0, 0), "setreuid(-1, -1) changes nothing");
	CHECK(setresgid(-1, -1, -1) == 0 && gids_are(0, 0, 0), "setresgid(-1, -1, -1)");
	CHECK(status_hex("CapEff") == KNOWN_CAPS, "caps untouched");
	CHECK(setresuid(1000, 1000, 1000) == 0, "drop to uid 1000");
	CHECK_ERRNO(raw_setuid(-1), EINVAL, "setuid(-1) unprivileged: EINVAL, not EPERM");
}

static void child_no_setuid_cap(void)
{
	CHECK(cap_drop_eff(C_SETUID) == 0, "drop CAP_SETUID from effective");
	CHECK_ERRNO(raw_setuid(1000), EPERM, "root without CAP_SETUID: setuid(1000)");
	CHECK_ERRNO(setresuid(-1, 1000, -1), EPERM, "seteuid(1000)");
	CHECK_ERRNO(setreuid(1000, -1), EPERM, "setreuid(1000, -1)");
	CHECK(raw_setfsuid(1000) == 0 && raw_setfsuid(-1) == 0,
	      "setfsuid(1000) refused (returns 0, fsuid stays 0)");
	CHECK(raw_setuid(0) == 0 && ids_are(0, 0, 0), "setuid(0) is fine");
	CHECK(cap_drop_eff(C_SETGID) == 0, "drop CAP_SETGID from effective");
	CHECK_ERRNO(raw_setgid(1000), EPERM, "setgid(1000)");
	CHECK_ERRNO(setregid(1000, -1), EPERM, "setregid(1000, -1)");
	CHECK_ERRNO(setgroups(0, NULL), EPERM, "setgroups without CAP_SETGID");
	CHECK_ERRNO(syscall(SYS_setgroups, 70000, NULL), EPERM, "setgroups: EPERM before EINVAL");
	CHECK(raw_setgid(0) == 0, "setgid(0)");
}

static void child_unprivileged_rules(void)
{
	CHECK(setresuid(1000, 2000, 3000) == 0 && ids_are(1000, 2000, 3000), "setresuid(1000, 2000, 3000)");
	CHECK(sets_are(0, 0, 0), "all caps gone");
	CHECK(raw_setuid(3000) == 0 && ids_are(1000, 3000, 3000), "setuid(saved) sets only the euid");
	CHECK_ERRNO(raw_setuid(2000), EPERM, "setuid(2000) is none of real and saved");
	CHECK(setresuid(3000, 1000, -1) == 0 && ids_are(3000, 1000, 3000), "setresuid swaps");
	CHECK_ERRNO(setresuid(-1, 2000, -1), EPERM, "setresuid to an unknown uid");
	CHECK(setreuid(1000, -1) == 0 && ids_are(1000, 1000, 1000),
	      "setreuid(ruid=euid): saved follows the effective uid");
}

static void child_gid_rules(void)
{
	CHECK(setregid(100, 200) == 0 && gids_are(100, 200, 200), "setregid(100, 200) moves the saved gid");
	CHECK(setresgid(1, 2, 3) == 0 && gids_are(1, 2, 3), "setresgid(1, 2, 3)");
	CHECK(raw_setgid(5) == 0 && gids_are(5, 5, 5), "setgid with CAP_SETGID sets all");
	CHECK(status_hex("CapEff") == KNOWN_CAPS, "gid changes leave the caps");
	CHECK(setresgid(5, 6, 7) == 0, "setresgid(5, 6, 7)");
	CHECK(cap_drop_eff(C_SETGID) == 0, "drop CAP_SETGID");
	CHECK(raw_setgid(7) == 0 && gids_are(5, 7, 7), "setgid(saved) sets only the egid");
	CHECK_ERRNO(raw_setgid(6), EPERM, "setgid(6)");
	CHECK(setregid(-1, 5) == 0 && gids_are(5, 5, 7), "setregid(-1, rgid) keeps the saved gid");
	CHECK(setregid(-1, 7) == 0 && gids_are(5, 7, 7), "setregid(-1, sgid)");
	CHECK(setregid(7, -1) == 0 && gids_are(7, 7, 7), "setregid(egid, -1) moves the saved gid");
}

static void child_groups(void)
{
	gid_t in[3] = { 30, 10, 20 }, out[8];
	int n;
	CHECK_ERRNO(syscall(SYS_setgroups, 70000, NULL), EINVAL, "setgroups(70000)");
	CHECK_ERRNO(syscall(SYS_setgroups, -1, NULL), EINVAL, "setgroups(-1)");
	CHECK_ERRNO(syscall(SYS_setgroups, 2, (void *)8), EFAULT, "setgroups bad pointer");
	CHECK(syscall(SYS_setgroups, 3, in) == 0, "setgroups(30, 10, 20)");
	n = getgroups(8, out);
	CHECK(n == 3 && out[0] == 10 && out[1] == 20 && out[2] == 30,
	      "getgroups gives them sorted (%u %u %u)", out[0], out[1], out[2]);
	CHECK(syscall(SYS_setgroups, 0, NULL) == 0 && getgroups(0, NULL) == 0, "setgroups(0)");
}

int main(void)
{
	int fd;
	if (geteuid() != 0) {
		INFO("needs root");
		return 1;
	}
	CHECK(cap_normalize() == 0, "drop to the known capability set");
	snprintf(secret, sizeof secret, "/tmp/cap_setuid.%d", getpid());
	fd = open(secret, O_CREAT | O_WRONLY | O_TRUNC, 0600);
	CHECK(fd >= 0, "create a 0600 root file");
	if (fd >= 0)
		close(fd);
	CHECK(run_child(child_drop_to_user) == 0, "root drops to uid 1000");
	CHECK(run_child(child_keepcaps) == 0, "keepcaps");
	CHECK(run_child(child_euid_toggle) == 0, "effective uid leaves 0");
	CHECK(run_child(child_euid_back) == 0, "effective uid comes back to 0");
	CHECK(run_child(child_fsuid) == 0, "setfsuid and setfsgid");
	CHECK(run_child(child_invalid_ids) == 0, "invalid ids");
	CHECK(run_child(child_no_setuid_cap) == 0, "root without CAP_SETUID/CAP_SETGID");
	CHECK(run_child(child_unprivileged_rules) == 0, "unprivileged setuid rules");
	CHECK(run_child(child_gid_rules) == 0, "gid rules");
	CHECK(run_child(child_groups) == 0, "setgroups");
	unlink(secret);
	return check_exit();
}
