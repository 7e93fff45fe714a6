/*
 * Capability helpers for the cred/ tests (header only, musl and glibc,
 * which have no <sys/capability.h>; the structs are Linux's
 * <linux/capability.h> ones).
 *
 *   cap_get(pid, &c)        capget, version 3, into a struct caps
 *   cap_set(eff, prm, inh)  capset of the caller, version 3
 *   status_hex(name)        a hexadecimal /proc/self/status field
 *                           ("CapEff"), or ~0 if missing
 *   cap_normalize()         drops to KNOWN_CAPS (every capability of
 *                           Linux 6.1-6.18 but CAP_SYS_RESOURCE, which a
 *                           development host's root may lack) in the
 *                           bounding, permitted and effective sets and
 *                           clears the inheritable and ambient sets, so
 *                           that a host and the guest start alike
 */
#ifndef TEST_APPS_CAPUTIL_H
#define TEST_APPS_CAPUTIL_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

struct cap_header {
	uint32_t version;
	int pid;
};

struct cap_data {
	uint32_t effective;
	uint32_t permitted;
	uint32_t inheritable;
};

_Static_assert(sizeof(struct cap_header) == 8, "cap header layout");
_Static_assert(sizeof(struct cap_data) == 12, "cap data layout");

#define CAP_V1 0x19980330u
#define CAP_V2 0x20071026u
#define CAP_V3 0x20080522u

#define C_CHOWN 0
#define C_DAC_OVERRIDE 1
#define C_DAC_READ_SEARCH 2
#define C_FOWNER 3
#define C_FSETID 4
#define C_KILL 5
#define C_SETGID 6
#define C_SETUID 7
#define C_SETPCAP 8
#define C_LINUX_IMMUTABLE 9
#define C_NET_BIND_SERVICE 10
#define C_IPC_OWNER 15
#define C_SYS_CHROOT 18
#define C_SYS_ADMIN 21
#define C_SYS_NICE 23
#define C_SYS_RESOURCE 24
#define C_MKNOD 27
#define C_MAC_OVERRIDE 32
#define C_LAST 40

#define CAPBIT(c) (1ULL << (c))
#define ALL_CAPS ((1ULL << (C_LAST + 1)) - 1)
#define KNOWN_CAPS (ALL_CAPS & ~CAPBIT(C_SYS_RESOURCE))
/* Linux's CAP_FS_SET. */
#define FS_CAPS (CAPBIT(C_CHOWN) | CAPBIT(C_DAC_OVERRIDE) | CAPBIT(C_DAC_READ_SEARCH) | \
		 CAPBIT(C_FOWNER) | CAPBIT(C_FSETID) | CAPBIT(C_LINUX_IMMUTABLE) |   \
		 CAPBIT(C_MAC_OVERRIDE) | CAPBIT(C_MKNOD))

#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_IS_SET 1
#define PR_CAP_AMBIENT_RAISE 2
#define PR_CAP_AMBIENT_LOWER 3
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif

#define SECBIT_KEEP_CAPS (1 << 4)
#define SECBIT_KEEP_CAPS_LOCKED (1 << 5)

struct caps {
	uint64_t eff, prm, inh;
};

__attribute__((unused))
static int cap_get(int pid, struct caps *c)
{
	struct cap_header h = { CAP_V3, pid };
	struct cap_data d[2];
	if (syscall(SYS_capget, &h, d))
		return -1;
	c->eff = d[0].effective | (uint64_t)d[1].effective << 32;
	c->prm = d[0].permitted | (uint64_t)d[1].permitted << 32;
	c->inh = d[0].inheritable | (uint64_t)d[1].inheritable << 32;
	return 0;
}

__attribute__((unused))
static int cap_set(uint64_t eff, uint64_t prm, uint64_t inh)
{
	struct cap_header h = { CAP_V3, 0 };
	struct cap_data d[2] = {
		{ (uint32_t)eff, (uint32_t)prm, (uint32_t)inh },
		{ (uint32_t)(eff >> 32), (uint32_t)(prm >> 32), (uint32_t)(inh >> 32) },
	};
	return syscall(SYS_capset, &h, d);
}

/* Removes `cap` from the effective set only. */
__attribute__((unused))
static int cap_drop_eff(int cap)
{
	struct caps c;
	if (cap_get(0, &c))
		return -1;
	return cap_set(c.eff & ~CAPBIT(cap), c.prm, c.inh);
}

__attribute__((unused))
static unsigned long long status_hex(const char *name)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	size_t n = strlen(name);
	unsigned long long v = ~0ULL;
	while (f && fgets(line, sizeof line, f))
		if (!strncmp(line, name, n) && line[n] == ':') {
			sscanf(line + n + 1, "%llx", &v);
			break;
		}
	if (f)
		fclose(f);
	return v;
}

__attribute__((unused))
static int cap_normalize(void)
{
	for (int c = 0; c <= C_LAST; c++)
		if (!(KNOWN_CAPS & CAPBIT(c)) && prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 1 &&
		    prctl(PR_CAPBSET_DROP, c, 0, 0, 0))
			return -1;
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	return cap_set(KNOWN_CAPS, KNOWN_CAPS, 0);
}

#endif
