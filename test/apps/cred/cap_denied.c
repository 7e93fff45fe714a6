/*
 * Privilege checks are capability checks: a process that is not root is
 * denied (chown, chmod and opening another user's file, killing another
 * user's process, raising a hard limit, removing another's file from a
 * sticky directory), and so is root once the capability is out of its
 * effective set (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_CHOWN,
 * CAP_FOWNER, CAP_FSETID, CAP_KILL, CAP_SYS_CHROOT, CAP_SYS_ADMIN,
 * CAP_SYS_RESOURCE, CAP_NET_BIND_SERVICE, CAP_SYS_PTRACE). Inspecting
 * another process as a tracer would (get_robust_list) needs the same ids
 * and a dumpable target, or CAP_SYS_PTRACE. Runs as root; each scenario
 * in a forked child.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/fsuid.h>
#include <sys/ipc.h>
#include <sys/mount.h>
#include <sys/msg.h>
#include <sys/socket.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "caputil.h"
#include "check.h"

static char dir[64], theirs[96], mine[96], sticky[96], sticky_file[96], closed[96],
	closed_file[128];
static pid_t victim;

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

static int try_open(const char *path, int flags)
{
	int fd = open(path, flags);
	if (fd >= 0)
		close(fd);
	return fd >= 0 ? 0 : -1;
}

static mode_t mode_of(const char *path)
{
	struct stat st;
	return stat(path, &st) ? (mode_t)-1 : st.st_mode & 07777;
}

static int raise_hard_nofile(void)
{
	struct rlimit r;
	if (getrlimit(RLIMIT_NOFILE, &r))
		return -1;
	r.rlim_max += 1;
	return setrlimit(RLIMIT_NOFILE, &r);
}

static const struct timespec times2[2] = { { 1, 0 }, { 2, 0 } };

/* bind() of a fresh socket of `type` to 127.0.0.1:port; -1 with errno. */
static int bind_port(int type, int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int s = socket(AF_INET, type, 0), r, e;
	if (s < 0)
		return -1;
	r = bind(s, (struct sockaddr *)&a, sizeof a);
	e = errno;
	close(s);
	errno = e;
	return r;
}

static uid_t owner_of(const char *path)
{
	struct stat st;
	return lstat(path, &st) ? (uid_t)-1 : st.st_uid;
}

static void child_not_root(void)
{
	struct rlimit r;
	CHECK(setresuid(1000, 1000, 1000) == 0, "drop to uid 1000");
	CHECK_ERRNO(chown(theirs, 1000, -1), EPERM, "chown of another's file");
	CHECK_ERRNO(chown(mine, -1, 1000), EPERM, "chgrp of root's file");
	CHECK_ERRNO(chmod(theirs, 0666), EPERM, "chmod of another's file");
	CHECK_ERRNO(try_open(theirs, O_RDONLY), EACCES, "open another's 0600 file");
	CHECK_ERRNO(utimensat(AT_FDCWD, theirs, times2, 0), EPERM, "utimensat explicit times");
	CHECK_ERRNO(utimensat(AT_FDCWD, theirs, NULL, 0), EACCES, "utimensat now, not writable");
	CHECK_ERRNO(kill(victim, 0), EPERM, "kill(0) of another user's process");
	CHECK_ERRNO(kill(victim, SIGTERM), EPERM, "SIGTERM to another user's process");
	CHECK_ERRNO(raise_hard_nofile(), EPERM, "raise the hard RLIMIT_NOFILE");
	CHECK(getrlimit(RLIMIT_NOFILE, &r) == 0 &&
		      (r.rlim_cur = r.rlim_max = r.rlim_max - 1, setrlimit(RLIMIT_NOFILE, &r)) == 0,
	      "lower the hard limit");
	CHECK_ERRNO(prlimit(victim, RLIMIT_NOFILE, NULL, &r), EPERM, "prlimit of another user");
	CHECK_ERRNO(unlink(sticky_file), EPERM, "unlink another's file in a sticky directory");
	CHECK_ERRNO(chroot("/"), EPERM, "chroot");
	CHECK_ERRNO(bind_port(SOCK_STREAM, 80), EACCES, "bind TCP port 80");
	CHECK_ERRNO(bind_port(SOCK_DGRAM, 1023), EACCES, "bind UDP port 1023");
	CHECK(bind_port(SOCK_STREAM, 0) == 0, "bind TCP port 0");
}

static void child_owners(void)
{
	char f[128], l[128];
	int fd;
	snprintf(f, sizeof f, "%s/new", sticky);
	snprintf(l, sizeof l, "%s/link", sticky);
	CHECK(setfsuid(1000) == 0 && setfsgid(1000) == 0, "root: fsuid and fsgid 1000");
	fd = open(f, O_CREAT | O_WRONLY, 0644);
	CHECK(fd >= 0, "create a file");
	close(fd);
	CHECK(owner_of(f) == 1000, "it belongs to the fsuid (%d)", (int)owner_of(f));
	CHECK(symlink("target", l) == 0 && owner_of(l) == 1000,
	      "a symlink belongs to the fsuid (%d)", (int)owner_of(l));
	CHECK(unlink(f) == 0 && unlink(l) == 0, "remove them (own files in a sticky directory)");
}

static long robust_of(pid_t pid)
{
	void *head;
	size_t len;
	return syscall(SYS_get_robust_list, pid, &head, &len);
}

/* A process that became uid 1000 (so not dumpable), then dumpable on
 * request. */
static int cmd[2], ack[2];
static pid_t target;

static void start_target(void)
{
	char b = 0;
	if (pipe(cmd) || pipe(ack))
		return;
	target = fork();
	if (target == 0) {
		setresuid(1000, 1000, 1000);
		write(ack[1], &b, 1);
		read(cmd[0], &b, 1);
		prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
		write(ack[1], &b, 1);
		read(cmd[0], &b, 1);
		_exit(0);
	}
	read(ack[0], &b, 1);
}

static void child_trace(void)
{
	char b = 0;
	pid_t p;
	int st;
	CHECK(robust_of(target) == 0, "root reads a uid 1000 process's robust list");
	CHECK(cap_drop_eff(19) == 0, "drop CAP_SYS_PTRACE");
	CHECK_ERRNO(robust_of(target), EPERM, "without CAP_SYS_PTRACE: EPERM");
	p = fork();
	if (p == 0) {
		check_failed_ = 0;
		setresuid(1000, 1000, 1000);
		CHECK_ERRNO(robust_of(target), EPERM, "same user, target not dumpable: EPERM");
		write(cmd[1], &b, 1);
		read(ack[0], &b, 1);
		CHECK(robust_of(target) == 0, "same user, target dumpable again");
		_exit(check_failed_ ? 1 : 0);
	}
	CHECK(p > 0 && waitpid(p, &st, 0) == p && WIFEXITED(st) && WEXITSTATUS(st) == 0,
	      "a uid 1000 process");
	write(cmd[1], &b, 1);
	waitpid(target, NULL, 0);
}

static void child_ipc(void)
{
	struct msqid_ds ds;
	struct {
		long type;
		char text[4];
	} m = { 1, "abc" };
	int id = msgget(IPC_PRIVATE, 0);
	CHECK(id >= 0, "a message queue with mode 0000");
	CHECK(msgctl(id, IPC_STAT, &ds) == 0, "CAP_IPC_OWNER: IPC_STAT");
	CHECK(msgsnd(id, &m, 4, IPC_NOWAIT) == 0, "CAP_IPC_OWNER: msgsnd");
	ds.msg_qbytes += 1;
	CHECK_ERRNO(msgctl(id, IPC_SET, &ds), EPERM, "without CAP_SYS_RESOURCE: msg_qbytes past msgmnb");
	CHECK(cap_drop_eff(C_IPC_OWNER) == 0, "drop CAP_IPC_OWNER");
	CHECK_ERRNO(msgctl(id, IPC_STAT, &ds), EACCES, "IPC_STAT");
	CHECK_ERRNO(msgsnd(id, &m, 4, IPC_NOWAIT), EACCES, "msgsnd");
	CHECK(msgctl(id, IPC_RMID, NULL) == 0, "the owner removes it");
}

static void child_no_bind_service(void)
{
	CHECK(cap_drop_eff(C_NET_BIND_SERVICE) == 0, "drop CAP_NET_BIND_SERVICE");
	CHECK_ERRNO(bind_port(SOCK_STREAM, 80), EACCES, "bind TCP port 80");
	CHECK_ERRNO(bind_port(SOCK_DGRAM, 1), EACCES, "bind UDP port 1");
	CHECK(bind_port(SOCK_STREAM, 0) == 0, "bind TCP port 0");
}

static void child_no_dac_override(void)
{
	CHECK(cap_drop_eff(C_DAC_OVERRIDE) == 0, "drop CAP_DAC_OVERRIDE");
	CHECK(try_open(theirs, O_RDONLY) == 0, "read another's 0600 file (CAP_DAC_READ_SEARCH)");
	CHECK_ERRNO(try_open(theirs, O_WRONLY), EACCES, "write another's 0600 file");
	CHECK_ERRNO(try_open(theirs, O_RDWR), EACCES, "read-write another's 0600 file");
	CHECK(try_open(closed_file, O_RDONLY) == 0, "search a 0700 directory of another");
	CHECK_ERRNO(mkdir(strcat(strcpy((char[160]){ 0 }, closed), "/sub"), 0755), EACCES,
		    "create in a 0700 directory of another");
	CHECK(try_open(mine, O_WRONLY) == 0, "write an own file");
}

static void child_no_dac(void)
{
	struct caps c;
	CHECK(cap_get(0, &c) == 0 &&
		      cap_set(c.eff & ~CAPBIT(C_DAC_OVERRIDE) & ~CAPBIT(C_DAC_READ_SEARCH), c.prm, 0) == 0,
	      "drop CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH");
	CHECK_ERRNO(try_open(theirs, O_RDONLY), EACCES, "read another's 0600 file");
	CHECK_ERRNO(try_open(closed_file, O_RDONLY), EACCES, "search a 0700 directory of another");
	CHECK(try_open(mine, O_RDWR) == 0, "an own file still opens");
}

static void child_no_chown(void)
{
	CHECK(cap_drop_eff(C_CHOWN) == 0, "drop CAP_CHOWN");
	CHECK_ERRNO(chown(theirs, 0, -1), EPERM, "chown of another's file");
	CHECK_ERRNO(chown(mine, 2000, -1), EPERM, "give an own file away");
	CHECK_ERRNO(chown(mine, -1, 1234), EPERM, "chgrp to a group not one's own");
	CHECK(chown(mine, 0, -1) == 0, "chown to the owner it has");
	CHECK(chown(mine, -1, 0) == 0, "chgrp to an own group");
	CHECK(chown(mine, -1, 0) == 0 && chown(mine, 0, 0) == 0, "both unchanged");
}

static void child_no_fowner(void)
{
	CHECK(cap_drop_eff(C_FOWNER) == 0, "drop CAP_FOWNER");
	CHECK_ERRNO(chmod(theirs, 0644), EPERM, "chmod of another's file");
	CHECK_ERRNO(utimensat(AT_FDCWD, theirs, times2, 0), EPERM, "utimensat explicit times");
	CHECK(utimensat(AT_FDCWD, theirs, NULL, 0) == 0,
	      "utimensat now: CAP_DAC_OVERRIDE makes it writable");
	CHECK_ERRNO(unlink(sticky_file), EPERM, "unlink another's file in a sticky directory");
	CHECK(chmod(mine, 0640) == 0, "chmod of an own file");
}

static void child_fowner(void)
{
	CHECK(chmod(theirs, 0640) == 0, "CAP_FOWNER: chmod of another's file");
	CHECK(utimensat(AT_FDCWD, theirs, times2, 0) == 0, "CAP_FOWNER: utimensat explicit times");
}

static void child_fsetid(void)
{
	CHECK(chown(mine, 0, 2000) == 0, "give the own file group 2000");
	CHECK(chmod(mine, 02755) == 0 && mode_of(mine) == 02755,
	      "with CAP_FSETID the set-group-id bit stays (%o)", mode_of(mine));
	CHECK(cap_drop_eff(C_FSETID) == 0, "drop CAP_FSETID");
	CHECK(chmod(mine, 02755) == 0 && mode_of(mine) == 0755,
	      "without it, not in the group: the bit is dropped (%o)", mode_of(mine));
	CHECK(chown(mine, 0, 0) == 0 && chmod(mine, 02755) == 0 && mode_of(mine) == 02755,
	      "in the group, the bit stays");
	CHECK(chmod(mine, 0644) == 0, "back to 0644");
}

static void child_no_kill(void)
{
	CHECK(kill(victim, 0) == 0, "with CAP_KILL, kill(0) of another user's process");
	CHECK(cap_drop_eff(C_KILL) == 0, "drop CAP_KILL");
	CHECK_ERRNO(kill(victim, 0), EPERM, "kill(0) of another user's process");
	CHECK_ERRNO(kill(victim, SIGTERM), EPERM, "SIGTERM to another user's process");
	CHECK(kill(getpid(), 0) == 0, "kill(0) of itself");
}

static void child_no_chroot(void)
{
	CHECK(cap_drop_eff(C_SYS_CHROOT) == 0, "drop CAP_SYS_CHROOT");
	CHECK_ERRNO(chroot("/"), EPERM, "chroot(/)");
	CHECK_ERRNO(chroot("/nonexistent-dir"), ENOENT, "chroot of a missing path: ENOENT first");
	CHECK_ERRNO(chroot(mine), ENOTDIR, "chroot of a file: ENOTDIR first");
}

static void child_no_admin(void)
{
	CHECK(cap_drop_eff(C_SYS_ADMIN) == 0, "drop CAP_SYS_ADMIN");
	CHECK_ERRNO(sethostname("x", 1), EPERM, "sethostname");
	CHECK_ERRNO(mount("none", dir, "tmpfs", 0, NULL), EPERM, "mount");
}

static void child_no_resource(void)
{
	int p[2];
	CHECK(status_hex("CapEff") == KNOWN_CAPS, "root, all but CAP_SYS_RESOURCE");
	CHECK_ERRNO(raise_hard_nofile(), EPERM, "raise the hard RLIMIT_NOFILE");
	CHECK(pipe(p) == 0, "pipe");
	CHECK_ERRNO(fcntl(p[0], F_SETPIPE_SZ, 4 << 20), EPERM, "F_SETPIPE_SZ past pipe-max-size");
	CHECK(fcntl(p[0], F_SETPIPE_SZ, 1 << 20) >= 0, "F_SETPIPE_SZ up to pipe-max-size");
}

int main(void)
{
	int fd, go[2];
	char b = 0;
	if (geteuid() != 0) {
		INFO("needs root");
		return 1;
	}
	CHECK(cap_normalize() == 0, "drop to the known capability set");
	snprintf(dir, sizeof dir, "/tmp/cap_denied.%d", getpid());
	snprintf(theirs, sizeof theirs, "%s/theirs", dir);
	snprintf(mine, sizeof mine, "%s/mine", dir);
	snprintf(sticky, sizeof sticky, "%s/sticky", dir);
	snprintf(sticky_file, sizeof sticky_file, "%s/sticky/f", dir);
	snprintf(closed, sizeof closed, "%s/closed", dir);
	snprintf(closed_file, sizeof closed_file, "%s/closed/f", dir);
	CHECK(mkdir(dir, 0755) == 0, "make the directory");
	fd = open(theirs, O_CREAT | O_WRONLY, 0600);
	CHECK(fd >= 0 && fchown(fd, 2000, 2000) == 0, "a 0600 file of uid 2000");
	close(fd);
	fd = open(mine, O_CREAT | O_WRONLY, 0644);
	CHECK(fd >= 0, "a 0644 file of root");
	close(fd);
	CHECK(mkdir(sticky, 0777) == 0 && chmod(sticky, 01777) == 0 && chown(sticky, 3000, 3000) == 0,
	      "a sticky directory of uid 3000");
	fd = open(sticky_file, O_CREAT | O_WRONLY, 0666);
	CHECK(fd >= 0 && fchown(fd, 2000, 2000) == 0, "a file of uid 2000 in it");
	close(fd);
	CHECK(mkdir(closed, 0700) == 0 && chown(closed, 2000, 2000) == 0, "a 0700 directory of uid 2000");
	fd = open(closed_file, O_CREAT | O_WRONLY, 0644);
	CHECK(fd >= 0, "with a file in it");
	close(fd);

	if (pipe(go))
		return 1;
	victim = fork();
	if (victim == 0) {
		setresuid(2000, 2000, 2000);
		read(go[0], &b, 1);
		_exit(0);
	}

	CHECK(run_child(child_not_root) == 0, "a user process is denied");
	CHECK(run_child(child_no_dac_override) == 0, "root without CAP_DAC_OVERRIDE");
	CHECK(run_child(child_no_dac) == 0, "root without CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH");
	CHECK(run_child(child_no_chown) == 0, "root without CAP_CHOWN");
	CHECK(run_child(child_no_fowner) == 0, "root without CAP_FOWNER");
	CHECK(run_child(child_fowner) == 0, "root with CAP_FOWNER");
	CHECK(run_child(child_fsetid) == 0, "CAP_FSETID and chmod");
	CHECK(run_child(child_no_kill) == 0, "root without CAP_KILL");
	CHECK(run_child(child_no_chroot) == 0, "root without CAP_SYS_CHROOT");
	CHECK(run_child(child_no_admin) == 0, "root without CAP_SYS_ADMIN");
	CHECK(run_child(child_no_resource) == 0, "root without CAP_SYS_RESOURCE");
	CHECK(run_child(child_no_bind_service) == 0, "root without CAP_NET_BIND_SERVICE");
	CHECK(run_child(child_owners) == 0, "new files belong to the file-system ids");
	CHECK(run_child(child_ipc) == 0, "System V IPC");
	start_target();
	CHECK(run_child(child_trace) == 0, "inspecting another process");
	waitpid(target, NULL, 0);

	write(go[1], &b, 1);
	waitpid(victim, NULL, 0);
	CHECK(unlink(sticky_file) == 0, "root removes the file from the sticky directory");
	unlink(closed_file);
	rmdir(closed);
	rmdir(sticky);
	unlink(theirs);
	unlink(mine);
	rmdir(dir);
	return check_exit();
}
