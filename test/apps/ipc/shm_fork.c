/*
 * System V shared memory between processes: fork inherits attachments
 * (shm_nattch counts the child's), parent and child see each other's
 * writes, execve and exit detach (shm_lpid and shm_dtime record it), a
 * segment outlives its creator until IPC_RMID, and one removed while
 * attached lasts until its last detach, in whichever process that is.
 *
 * Run as `shm_fork`; it re-executes itself as `shm_fork exec-child FD`.
 */
#define _GNU_SOURCE
#include <sys/mman.h>

#include "ipcutil.h"

#define PAGE 4096UL

static unsigned long nattch(int id)
{
	struct shmid_ds ds;
	return shmctl(id, IPC_STAT, &ds) == 0 ? ds.shm_nattch : 999;
}

int main(int argc, char **argv)
{
	if (argc > 2 && strcmp(argv[1], "exec-child") == 0) {
		/* After execve: tell the parent, then wait until it has looked. */
		int fd = atoi(argv[2]);
		char b;
		write(fd, "x", 1);
		read(fd + 1, &b, 1);
		return 0;
	}
	ipc_isolate();
	int to_child[2], to_parent[2];
	char b;

	/* fork inherits the attachment */
	int id = shmget(IPC_PRIVATE, 2 * PAGE, 0600);
	char *p = shmat(id, NULL, 0);
	CHECK(id >= 0 && p != (void *)-1, "a segment, attached");
	strcpy(p, "from the parent");
	pipe(to_child);
	pipe(to_parent);
	pid_t c = fork();
	if (c == 0) {
		int ok = strcmp(p, "from the parent") == 0;
		strcpy(p + PAGE, "from the child");
		write(to_parent[1], "w", 1);
		read(to_child[0], &b, 1);
		_exit(ok ? 0 : 1);
	}
	read(to_parent[0], &b, 1);
	CHECK(nattch(id) == 2, "the child's inherited attachment counts: nattch 2");
	CHECK(strcmp(p + PAGE, "from the child") == 0, "the parent sees the child's write");
	write(to_child[1], "g", 1);
	CHECK(wait_status(c) == 0, "the child saw the parent's data");
	struct shmid_ds ds;
	shmctl(id, IPC_STAT, &ds);
	CHECK(ds.shm_nattch == 1 && ds.shm_lpid == c && ds.shm_dtime > 0,
	      "its exit detached it: nattch %lu, lpid is the child", (unsigned long)ds.shm_nattch);

	/* execve detaches */
	c = fork();
	if (c == 0) {
		char fd[16];
		dup2(to_parent[1], 10);
		dup2(to_child[0], 11);
		snprintf(fd, sizeof fd, "%d", 10);
		char *args[] = { argv[0], "exec-child", fd, NULL };
		execv(argv[0], args);
		_exit(127);
	}
	read(to_parent[0], &b, 1);
	CHECK(nattch(id) == 1, "after the child's execve, only the parent's attachment is left");
	write(to_child[1], "g", 1);
	CHECK(wait_status(c) == 0, "the exec'd child ran");

	/* A segment outlives its creator. */
	key_t key = test_key(1);
	c = fork();
	if (c == 0) {
		int s = shmget(key, PAGE, IPC_CREAT | IPC_EXCL | 0600);
		char *q = shmat(s, NULL, 0);
		if (s < 0 || q == (void *)-1)
			_exit(1);
		strcpy(q, "left behind");
		_exit(0);
	}
	CHECK(wait_status(c) == 0, "a child made a segment, wrote to it and exited");
	int left = shmget(key, 0, 0);
	CHECK(left >= 0, "the segment is still there");
	shmctl(left, IPC_STAT, &ds);
	CHECK(ds.shm_cpid == c && ds.shm_nattch == 0, "its creator is the child; nothing has it attached");
	char *q = shmat(left, NULL, SHM_RDONLY);
	CHECK(q != (void *)-1 && strcmp(q, "left behind") == 0, "its data is intact");
	shmdt(q);
	CHECK(shmctl(left, IPC_RMID, NULL) == 0, "IPC_RMID");
	CHECK_ERRNO(shmget(key, 0, 0), ENOENT, "now it is gone");

	/* Removed while attached in two processes: lasts until the last detach. */
	c = fork();
	if (c == 0) {
		/* the child keeps the inherited attachment until told */
		read(to_child[0], &b, 1);
		int ok = strcmp(p, "from the parent") == 0;
		strcpy(p, "written after IPC_RMID");
		_exit(ok ? 0 : 1);
	}
	CHECK(nattch(id) == 2, "attached in parent and child");
	CHECK(shmctl(id, IPC_RMID, NULL) == 0, "IPC_RMID");
	CHECK(shmdt(p) == 0, "the parent detaches");
	shmctl(id, IPC_STAT, &ds);
	CHECK((ds.shm_perm.mode & SHM_DEST) && ds.shm_nattch == 1, "the segment lasts, SHM_DEST, nattch 1");
	write(to_child[1], "g", 1);
	CHECK(wait_status(c) == 0, "the child still uses it");
	CHECK_ERRNO(shmctl(id, IPC_STAT, &ds), EINVAL, "the child's exit, the last detach, destroyed it");

	/* Many processes attach and detach one segment. */
	int many = shmget(IPC_PRIVATE, PAGE, 0600);
	volatile int *n = shmat(many, NULL, 0);
	pid_t kids[8];
	for (int i = 0; i < 8; i++) {
		kids[i] = fork();
		if (kids[i] == 0) {
			volatile int *m = shmat(many, NULL, 0);
			for (int j = 0; j < 1000; j++)
				__sync_fetch_and_add(m, 1);
			shmdt((void *)m);
			_exit(0);
		}
	}
	int ok = 1;
	for (int i = 0; i < 8; i++)
		ok &= wait_status(kids[i]) == 0;
	CHECK(ok && *n == 8000, "8 children add 1000 each through their own attachments (%d)", *n);
	CHECK(nattch(many) == 1, "only the parent's attachment is left");
	shmctl(many, IPC_RMID, NULL);
	return check_exit();
}
