/*
 * execve and capabilities (capabilities(7), "Transformation of
 * capabilities during execve()", for programs without file
 * capabilities): root gets bounding | inheritable, all effective when its
 * effective uid is 0; another user keeps only the ambient set; a
 * set-user-id program clears the ambient set and sets AT_SECURE; keep-caps
 * is cleared; no_new_privs ignores the set-user-id bit. A program is
 * dumpable unless the caller's effective ids differed from its real ones or
 * the exec changed an effective id or gained a permitted capability, which
 * also clears the parent-death signal.
 *
 * The program execs itself as `cap_exec report`, which prints its ids,
 * sets and flags on one line. Runs as root.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "caputil.h"
#include "check.h"

static const char *self;
static char suid_copy[64], suid_root_copy[64];

struct report {
	unsigned r, e, s, fs;
	unsigned long long inh, prm, eff, bnd, amb;
	unsigned long secure;
	int keep, dumpable, pdeath;
};

static int report(void)
{
	uid_t r, e, s;
	int pdeath = -1;
	getresuid(&r, &e, &s);
	prctl(PR_GET_PDEATHSIG, &pdeath, 0, 0, 0);
	printf("R %u %u %u %ld P %llx %llx %llx %llx %llx S %lu K %d D %d Q %d\n", r, e, s,
	       syscall(SYS_setfsuid, -1), status_hex("CapInh"), status_hex("CapPrm"),
	       status_hex("CapEff"), status_hex("CapBnd"), status_hex("CapAmb"),
	       getauxval(AT_SECURE), prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0),
	       prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), pdeath);
	return 0;
}

/* Forks, runs `setup` in the child, then execs `prog report` there; parses
 * the line it prints. */
static int run_exec(void (*setup)(void), const char *prog, struct report *rep)
{
	int p[2], st, n = 0;
	char buf[512];
	ssize_t k;
	if (pipe(p))
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		setup();
		prctl(PR_SET_PDEATHSIG, SIGUSR1, 0, 0, 0);
		dup2(p[1], 1);
		execl(prog, prog, "report", (char *)NULL);
		printf("exec failed: errno %d\n", errno);
		_exit(127);
	}
	close(p[1]);
	while (n < (int)sizeof buf - 1 && (k = read(p[0], buf + n, sizeof buf - 1 - n)) > 0)
		n += k;
	buf[n] = 0;
	close(p[0]);
	waitpid(pid, &st, 0);
	INFO("%s", buf);
	memset(rep, 0, sizeof *rep);
	return sscanf(buf, "R %u %u %u %u P %llx %llx %llx %llx %llx S %lu K %d D %d Q %d", &rep->r,
		      &rep->e, &rep->s, &rep->fs, &rep->inh, &rep->prm, &rep->eff, &rep->bnd,
		      &rep->amb, &rep->secure, &rep->keep, &rep->dumpable, &rep->pdeath) == 13 &&
			       WIFEXITED(st) && WEXITSTATUS(st) == 0
		       ? 0
		       : -1;
}

static int ids(struct report *r, unsigned ru, unsigned eu, unsigned su)
{
	return r->r == ru && r->e == eu && r->s == su && r->fs == eu;
}

static void setup_root(void)
{
	cap_set(KNOWN_CAPS & ~CAPBIT(C_KILL), KNOWN_CAPS & ~CAPBIT(C_KILL), CAPBIT(C_CHOWN));
}

static void setup_root_bounded(void)
{
	prctl(PR_CAPBSET_DROP, C_NET_BIND_SERVICE, 0, 0, 0);
	cap_set(CAPBIT(C_CHOWN), KNOWN_CAPS, 0);
}

static void setup_real_root(void)
{
	setresuid(0, 1000, 1000);
}

static void setup_user_ambient(void)
{
	prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0);
	setresuid(1000, 1000, 1000);
	cap_set(0, KNOWN_CAPS, CAPBIT(C_CHOWN) | CAPBIT(C_KILL));
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, C_CHOWN, 0, 0);
}

static void setup_user(void)
{
	setresuid(1000, 1000, 1000);
}

static void setup_nnp_user(void)
{
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	setresuid(1000, 1000, 1000);
}

static int copy_file(const char *from, const char *to)
{
	char buf[65536];
	ssize_t n;
	int in = open(from, O_RDONLY), out = open(to, O_CREAT | O_WRONLY | O_TRUNC, 0755);
	if (in < 0 || out < 0)
		return -1;
	while ((n = read(in, buf, sizeof buf)) > 0)
		if (write(out, buf, n) != n)
			return -1;
	close(in);
	close(out);
	return n == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	struct report r;
	if (argc > 1 && !strcmp(argv[1], "report"))
		return report();
	if (geteuid() != 0) {
		INFO("needs root");
		return 1;
	}
	self = argv[0];
	CHECK(cap_normalize() == 0, "drop to the known capability set");

	CHECK(run_exec(setup_root, self, &r) == 0, "root exec");
	CHECK(ids(&r, 0, 0, 0) && r.prm == KNOWN_CAPS && r.eff == KNOWN_CAPS &&
		      r.inh == CAPBIT(C_CHOWN) && r.amb == 0 && r.bnd == KNOWN_CAPS && r.secure == 0,
	      "root: permitted and effective = bounding | inheritable, refilled");
	CHECK(r.dumpable == 0 && r.pdeath == 0, "root: a permitted set that grew: dumpable %d, parent-death signal %d", r.dumpable,
	      r.pdeath);

	CHECK(run_exec(setup_root_bounded, self, &r) == 0, "root exec, smaller bounding set");
	CHECK(r.prm == (KNOWN_CAPS & ~CAPBIT(C_NET_BIND_SERVICE)) && r.eff == r.prm &&
		      r.bnd == r.prm,
	      "root: the bounding set limits what exec gives");
	CHECK(r.dumpable == 1 && r.pdeath == SIGUSR1, "root: nothing gained: dumpable %d, parent-death signal %d", r.dumpable,
	      r.pdeath);

	CHECK(run_exec(setup_real_root, self, &r) == 0, "real uid 0, effective uid 1000");
	CHECK(ids(&r, 0, 1000, 1000) && r.prm == KNOWN_CAPS && r.eff == 0 && r.secure == 1,
	      "real root: all permitted, none effective, AT_SECURE");
	CHECK(r.dumpable == 0 && r.pdeath == 0, "euid differed from ruid: dumpable %d, parent-death signal %d", r.dumpable,
	      r.pdeath);

	CHECK(run_exec(setup_user_ambient, self, &r) == 0, "user with an ambient cap");
	CHECK(ids(&r, 1000, 1000, 1000) && r.prm == CAPBIT(C_CHOWN) && r.eff == CAPBIT(C_CHOWN) &&
		      r.amb == CAPBIT(C_CHOWN) && r.inh == (CAPBIT(C_CHOWN) | CAPBIT(C_KILL)) &&
		      r.secure == 0,
	      "user: permitted and effective = ambient");
	CHECK(r.keep == 0, "keepcaps cleared by execve");
	CHECK(r.dumpable == 1 && r.pdeath == SIGUSR1, "user: nothing gained: dumpable %d, parent-death signal %d", r.dumpable,
	      r.pdeath);

	CHECK(run_exec(setup_user, self, &r) == 0, "user without caps");
	CHECK(ids(&r, 1000, 1000, 1000) && r.prm == 0 && r.eff == 0 && r.amb == 0 &&
		      r.bnd == KNOWN_CAPS,
	      "user: nothing");
	CHECK(r.dumpable == 1 && r.pdeath == SIGUSR1, "user: dumpable %d, parent-death signal %d", r.dumpable,
	      r.pdeath);

	snprintf(suid_copy, sizeof suid_copy, "/tmp/cap_exec_suid.%d", getpid());
	snprintf(suid_root_copy, sizeof suid_root_copy, "/tmp/cap_exec_suid_root.%d", getpid());
	CHECK(copy_file(self, suid_copy) == 0 && chown(suid_copy, 2000, 2000) == 0 &&
		      chmod(suid_copy, 04755) == 0,
	      "a set-user-id copy owned by uid 2000");
	CHECK(copy_file(self, suid_root_copy) == 0 && chmod(suid_root_copy, 04755) == 0,
	      "a set-user-id copy owned by root");

	CHECK(run_exec(setup_user_ambient, suid_copy, &r) == 0, "user runs a set-user-id program");
	CHECK(ids(&r, 1000, 2000, 2000) && r.prm == 0 && r.eff == 0 && r.amb == 0 && r.secure == 1,
	      "set-user-id: euid 2000, ambient cleared, AT_SECURE");
	CHECK(r.dumpable == 0 && r.pdeath == 0, "set-user-id: dumpable %d, parent-death signal %d", r.dumpable,
	      r.pdeath);

	CHECK(run_exec(setup_user, suid_root_copy, &r) == 0, "user runs a set-user-id-root program");
	CHECK(ids(&r, 1000, 0, 0) && r.prm == KNOWN_CAPS && r.eff == KNOWN_CAPS && r.secure == 1,
	      "set-user-id-root: euid 0, all caps, AT_SECURE");
	CHECK(r.dumpable == 0 && r.pdeath == 0, "set-user-id-root: dumpable %d, parent-death signal %d", r.dumpable,
	      r.pdeath);

	CHECK(run_exec(setup_nnp_user, suid_root_copy, &r) == 0, "the same under no_new_privs");
	CHECK(ids(&r, 1000, 1000, 1000) && r.prm == 0 && r.eff == 0 && r.secure == 0,
	      "no_new_privs: the set-user-id bit is ignored");
	CHECK(r.dumpable == 1 && r.pdeath == SIGUSR1, "no_new_privs: dumpable %d, parent-death signal %d", r.dumpable,
	      r.pdeath);

	unlink(suid_copy);
	unlink(suid_root_copy);
	return check_exit();
}
