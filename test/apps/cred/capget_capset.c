/*
 * capget/capset (header versions, layouts, errors, the subset rules),
 * PR_CAPBSET_READ/DROP, PR_CAP_AMBIENT, keep-caps and the secure bits,
 * and the Cap lines of /proc/self/status. Runs as root; it first drops
 * to a known set of capabilities (cap_normalize) so that a host and the
 * guest agree. Scenarios that change the sets run in forked children.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "caputil.h"
#include "check.h"

#define LOW(x) ((uint32_t)(x))
#define HIGH(x) ((uint32_t)((x) >> 32))

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

static long capget_raw(void *h, void *d)
{
	return syscall(SYS_capget, h, d);
}

static long capset_raw(void *h, void *d)
{
	return syscall(SYS_capset, h, d);
}

static void test_capget(void)
{
	struct cap_header h;
	struct cap_data d[3];
	struct caps c;

	CHECK(cap_get(0, &c) == 0 && c.eff == KNOWN_CAPS && c.prm == KNOWN_CAPS && c.inh == 0,
	      "capget v3 pid 0: eff %llx prm %llx inh %llx", (unsigned long long)c.eff,
	      (unsigned long long)c.prm, (unsigned long long)c.inh);
	CHECK(cap_get(getpid(), &c) == 0 && c.eff == KNOWN_CAPS, "capget of own pid");
	CHECK(cap_get(gettid(), &c) == 0 && c.prm == KNOWN_CAPS, "capget of own tid");

	/* Version 1 moves one 12-byte struct, versions 2 and 3 two. */
	memset(d, 0xaa, sizeof d);
	h = (struct cap_header){ CAP_V1, 0 };
	CHECK(capget_raw(&h, d) == 0 && d[0].effective == LOW(KNOWN_CAPS) &&
		      d[0].permitted == LOW(KNOWN_CAPS) && d[0].inheritable == 0 &&
		      d[1].effective == 0xaaaaaaaa,
	      "capget v1 writes 12 bytes (d[1].eff %x)", d[1].effective);
	memset(d, 0xaa, sizeof d);
	h = (struct cap_header){ CAP_V2, 0 };
	CHECK(capget_raw(&h, d) == 0 && d[1].effective == HIGH(KNOWN_CAPS) &&
		      d[1].permitted == HIGH(KNOWN_CAPS) && d[1].inheritable == 0 &&
		      d[2].effective == 0xaaaaaaaa,
	      "capget v2 writes 24 bytes");
	memset(d, 0xaa, sizeof d);
	h = (struct cap_header){ CAP_V3, 0 };
	CHECK(capget_raw(&h, d) == 0 && d[1].effective == HIGH(KNOWN_CAPS) &&
		      d[2].effective == 0xaaaaaaaa && h.version == CAP_V3,
	      "capget v3 writes 24 bytes, keeps the version");

	/* Bad versions: the preferred one is written back. */
	h = (struct cap_header){ 0x12345678, 0 };
	CHECK_ERRNO(capget_raw(&h, d), EINVAL, "capget bad version");
	CHECK(h.version == CAP_V3, "capget bad version writes back v3 (%x)", h.version);
	h = (struct cap_header){ 0, 0 };
	CHECK(capget_raw(&h, NULL) == 0 && h.version == CAP_V3,
	      "capget bad version with NULL data returns 0, writes back v3");
	h = (struct cap_header){ CAP_V1, 0 };
	CHECK(capget_raw(&h, NULL) == 0 && h.version == CAP_V1, "capget v1 with NULL data returns 0");
	CHECK_ERRNO(capget_raw(NULL, d), EFAULT, "capget NULL header");
	CHECK_ERRNO(capget_raw((void *)1, d), EFAULT, "capget bad header pointer");
	h = (struct cap_header){ CAP_V3, 0 };
	CHECK_ERRNO(capget_raw(&h, (void *)8), EFAULT, "capget bad data pointer");
	h = (struct cap_header){ CAP_V3, -1 };
	CHECK_ERRNO(capget_raw(&h, d), EINVAL, "capget pid -1");
	h = (struct cap_header){ CAP_V3, 0x3ffffff0 };
	CHECK_ERRNO(capget_raw(&h, d), ESRCH, "capget nonexistent pid");
	/* Bad version is reported before a bad pid. */
	h = (struct cap_header){ 1, -1 };
	CHECK_ERRNO(capget_raw(&h, d), EINVAL, "capget bad version and pid -1");
}

static void test_capget_other(void)
{
	int go[2], ready[2];
	char b = 0;
	struct caps c;
	if (pipe(go) || pipe(ready))
		return;
	pid_t p = fork();
	if (p == 0) {
		cap_set(CAPBIT(C_KILL), CAPBIT(C_KILL) | CAPBIT(C_CHOWN), CAPBIT(C_CHOWN));
		write(ready[1], &b, 1);
		read(go[0], &b, 1);
		_exit(0);
	}
	read(ready[0], &b, 1);
	CHECK(cap_get(p, &c) == 0 && c.eff == CAPBIT(C_KILL) &&
		      c.prm == (CAPBIT(C_KILL) | CAPBIT(C_CHOWN)) && c.inh == CAPBIT(C_CHOWN),
	      "capget of another process shows its sets");
	CHECK(cap_get(0, &c) == 0 && c.eff == KNOWN_CAPS, "the caller's own sets are unchanged");
	write(go[1], &b, 1);
	waitpid(p, NULL, 0);
}

static void test_capset_errors(void)
{
	struct cap_header h;
	struct cap_data d[2] = {
		{ LOW(KNOWN_CAPS), LOW(KNOWN_CAPS), 0 },
		{ HIGH(KNOWN_CAPS), HIGH(KNOWN_CAPS), 0 },
	};

	h = (struct cap_header){ 0xdead, 0 };
	CHECK_ERRNO(capset_raw(&h, d), EINVAL, "capset bad version");
	CHECK(h.version == CAP_V3, "capset bad version writes back v3");
	CHECK_ERRNO(capset_raw(NULL, d), EFAULT, "capset NULL header");
	h = (struct cap_header){ CAP_V3, getppid() };
	CHECK_ERRNO(capset_raw(&h, d), EPERM, "capset of another pid");
	h = (struct cap_header){ CAP_V3, 0x3ffffff0 };
	CHECK_ERRNO(capset_raw(&h, d), EPERM, "capset of a nonexistent pid");
	h = (struct cap_header){ CAP_V3, 0 };
	CHECK_ERRNO(capset_raw(&h, NULL), EFAULT, "capset NULL data");
	h = (struct cap_header){ CAP_V3, getppid() };
	CHECK_ERRNO(capset_raw(&h, NULL), EPERM, "capset: pid checked before data");
	h = (struct cap_header){ CAP_V3, gettid() };
	CHECK(capset_raw(&h, d) == 0, "capset of own tid, same sets");
	h = (struct cap_header){ CAP_V3, 0 };
	/* Bits past the last capability are ignored. */
	d[1].permitted |= 1u << (41 - 32);
	d[1].effective |= 1u << (41 - 32);
	CHECK(capset_raw(&h, d) == 0, "capset with capability 41 set");
	CHECK(status_hex("CapPrm") == KNOWN_CAPS && status_hex("CapEff") == KNOWN_CAPS,
	      "capability 41 was dropped");
	d[1].permitted = HIGH(KNOWN_CAPS);
	d[1].effective = HIGH(KNOWN_CAPS);
	d[0].effective |= CAPBIT(C_SYS_RESOURCE);
	CHECK_ERRNO(capset_raw(&h, d), EPERM, "capset effective not in permitted");
}

static void child_capset_rules(void)
{
	struct caps c;
	uint64_t less = KNOWN_CAPS & ~CAPBIT(C_CHOWN);

	CHECK(cap_set(less, less, 0) == 0, "drop CAP_CHOWN from permitted");
	CHECK_ERRNO(cap_set(less, KNOWN_CAPS, 0), EPERM, "permitted cannot grow back");
	CHECK_ERRNO(cap_set(KNOWN_CAPS, less, 0), EPERM, "effective must be permitted");
	/* CAP_SETPCAP lets the inheritable set take a bounding capability. */
	CHECK(cap_set(less, less, CAPBIT(C_CHOWN)) == 0,
	      "with CAP_SETPCAP, inheritable may hold a non-permitted cap");
	CHECK(cap_get(0, &c) == 0 && c.inh == CAPBIT(C_CHOWN), "inheritable is CAP_CHOWN");
	CHECK(cap_set(less & ~CAPBIT(C_SETPCAP), less, CAPBIT(C_CHOWN)) == 0,
	      "keeping an inheritable cap needs no CAP_SETPCAP");
	CHECK(cap_set(less & ~CAPBIT(C_SETPCAP), less, CAPBIT(C_CHOWN) | CAPBIT(C_KILL)) == 0,
	      "adding a permitted inheritable cap needs no CAP_SETPCAP");
}

static void child_capset_inheritable(void)
{
	uint64_t noset = KNOWN_CAPS & ~CAPBIT(C_SETPCAP) & ~CAPBIT(C_CHOWN);
	CHECK(cap_set(noset, KNOWN_CAPS & ~CAPBIT(C_CHOWN), 0) == 0,
	      "drop CAP_SETPCAP from effective, CAP_CHOWN from permitted");
	CHECK_ERRNO(cap_set(noset, KNOWN_CAPS & ~CAPBIT(C_CHOWN), CAPBIT(C_CHOWN)), EPERM,
		    "without CAP_SETPCAP, inheritable only from permitted");
	CHECK(cap_set(noset, KNOWN_CAPS & ~CAPBIT(C_CHOWN), CAPBIT(C_KILL)) == 0,
	      "without CAP_SETPCAP, a permitted cap may become inheritable");
}

static void child_capset_bounding(void)
{
	CHECK(prctl(PR_CAPBSET_DROP, C_NET_BIND_SERVICE, 0, 0, 0) == 0, "PR_CAPBSET_DROP");
	CHECK(prctl(PR_CAPBSET_READ, C_NET_BIND_SERVICE, 0, 0, 0) == 0,
	      "PR_CAPBSET_READ after the drop gives 0");
	CHECK(status_hex("CapBnd") == (KNOWN_CAPS & ~CAPBIT(C_NET_BIND_SERVICE)),
	      "CapBnd shows the drop");
	CHECK(cap_get(0, &(struct caps){ 0 }) == 0, "capget after the drop");
	CHECK_ERRNO(cap_set(KNOWN_CAPS, KNOWN_CAPS, CAPBIT(C_NET_BIND_SERVICE)), EPERM,
		    "inheritable cap outside the bounding set, even with CAP_SETPCAP");
	CHECK(status_hex("CapPrm") == KNOWN_CAPS, "the drop leaves the permitted set");
	CHECK_ERRNO(prctl(PR_CAPBSET_DROP, 41, 0, 0, 0), EINVAL, "PR_CAPBSET_DROP 41");
	CHECK(cap_drop_eff(C_SETPCAP) == 0, "drop CAP_SETPCAP from effective");
	CHECK_ERRNO(prctl(PR_CAPBSET_DROP, C_KILL, 0, 0, 0), EPERM,
		    "PR_CAPBSET_DROP without CAP_SETPCAP");
	CHECK_ERRNO(prctl(PR_CAPBSET_DROP, 41, 0, 0, 0), EPERM,
		    "PR_CAPBSET_DROP without CAP_SETPCAP: EPERM before EINVAL");
}

static void child_capset_v1(void)
{
	struct cap_header h = { CAP_V1, 0 };
	struct cap_data d = { LOW(KNOWN_CAPS), LOW(KNOWN_CAPS), 0 };
	struct caps c;
	CHECK(capset_raw(&h, &d) == 0, "capset v1");
	CHECK(cap_get(0, &c) == 0 && c.prm == LOW(KNOWN_CAPS) && c.eff == LOW(KNOWN_CAPS),
	      "capset v1 clears capabilities 32 and up (prm %llx)", (unsigned long long)c.prm);
}

static void child_ambient(void)
{
	CHECK(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, C_CHOWN, 0, 0) == 0,
	      "ambient CAP_CHOWN not set");
	CHECK_ERRNO(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, C_CHOWN, 0, 0), EPERM,
		    "raise needs the cap inheritable");
	CHECK(cap_set(KNOWN_CAPS, KNOWN_CAPS, CAPBIT(C_CHOWN) | CAPBIT(C_KILL)) == 0,
	      "make CAP_CHOWN, CAP_KILL inheritable");
	CHECK(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, C_CHOWN, 0, 0) == 0, "raise CAP_CHOWN");
	CHECK(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, C_KILL, 0, 0) == 0, "raise CAP_KILL");
	CHECK(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, C_CHOWN, 0, 0) == 1, "IS_SET CAP_CHOWN");
	CHECK(status_hex("CapAmb") == (CAPBIT(C_CHOWN) | CAPBIT(C_KILL)), "CapAmb line");
	CHECK(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_LOWER, C_CHOWN, 0, 0) == 0, "lower CAP_CHOWN");
	CHECK(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, C_CHOWN, 0, 0) == 0,
	      "CAP_CHOWN no longer ambient");
	CHECK(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_LOWER, C_CHOWN, 0, 0) == 0,
	      "lowering an unset ambient cap is fine");
	CHECK(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, C_CHOWN, 0, 0) == 0, "raise again");
	/* Dropping a cap from the inheritable set drops it from ambient. */
	CHECK(cap_set(KNOWN_CAPS, KNOWN_CAPS, CAPBIT(C_KILL)) == 0, "CAP_CHOWN not inheritable");
	CHECK(status_hex("CapAmb") == CAPBIT(C_KILL), "capset trimmed the ambient set");
	/* ... and from the permitted set as well. */
	CHECK(cap_set(KNOWN_CAPS & ~CAPBIT(C_KILL), KNOWN_CAPS & ~CAPBIT(C_KILL), CAPBIT(C_KILL)) == 0,
	      "CAP_KILL not permitted");
	CHECK(status_hex("CapAmb") == 0, "ambient is empty");
	CHECK_ERRNO(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, C_KILL, 0, 0), EPERM,
		    "raise needs the cap permitted");
	CHECK_ERRNO(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, 41, 0, 0), EINVAL, "IS_SET 41");
	CHECK_ERRNO(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, C_KILL, 1, 0), EINVAL,
		    "IS_SET with arg4");
	CHECK_ERRNO(prctl(PR_CAP_AMBIENT, 99, C_KILL, 0, 0), EINVAL, "unknown ambient op");
	CHECK_ERRNO(prctl(PR_CAP_AMBIENT, 99, 41, 0, 0), EINVAL, "unknown op, bad cap");
	CHECK_ERRNO(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 1, 0, 0), EINVAL,
		    "CLEAR_ALL with arg3");
	CHECK(cap_set(KNOWN_CAPS & ~CAPBIT(C_KILL), KNOWN_CAPS & ~CAPBIT(C_KILL), CAPBIT(C_CHOWN)) == 0 &&
		      prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, C_CHOWN, 0, 0) == 0,
	      "raise CAP_CHOWN once more");
	CHECK(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) == 0 &&
		      status_hex("CapAmb") == 0,
	      "CLEAR_ALL");
	/* SECBIT_NO_CAP_AMBIENT_RAISE forbids raising. */
	CHECK(prctl(PR_SET_SECUREBITS, 1 << 6, 0, 0, 0) == 0, "set SECBIT_NO_CAP_AMBIENT_RAISE");
	CHECK_ERRNO(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, C_CHOWN, 0, 0), EPERM,
		    "raise refused by the secure bit");
}

static void child_securebits(void)
{
	CHECK(prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0) == 0, "keepcaps off at first");
	CHECK(prctl(PR_GET_SECUREBITS, 0, 0, 0, 0) == 0, "no secure bits at first");
	CHECK_ERRNO(prctl(PR_SET_KEEPCAPS, 2, 0, 0, 0), EINVAL, "PR_SET_KEEPCAPS 2");
	CHECK(prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) == 0 && prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0) == 1,
	      "PR_SET_KEEPCAPS 1");
	CHECK(prctl(PR_GET_SECUREBITS, 0, 0, 0, 0) == SECBIT_KEEP_CAPS,
	      "keepcaps is SECBIT_KEEP_CAPS");
	CHECK(prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) == 0 && prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0) == 0,
	      "PR_SET_KEEPCAPS 0");
	CHECK(prctl(PR_SET_SECUREBITS, SECBIT_KEEP_CAPS, 0, 0, 0) == 0 &&
		      prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0) == 1,
	      "PR_SET_SECUREBITS KEEP_CAPS sets keepcaps");
	CHECK_ERRNO(prctl(PR_SET_SECUREBITS, 1 << 12, 0, 0, 0), EPERM, "unknown secure bit");
	CHECK(prctl(PR_SET_SECUREBITS, SECBIT_KEEP_CAPS | SECBIT_KEEP_CAPS_LOCKED, 0, 0, 0) == 0,
	      "lock keepcaps");
	CHECK_ERRNO(prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0), EPERM, "locked keepcaps cannot change");
	CHECK_ERRNO(prctl(PR_SET_SECUREBITS, SECBIT_KEEP_CAPS, 0, 0, 0), EPERM,
		    "a lock cannot be released");
	CHECK_ERRNO(prctl(PR_SET_SECUREBITS, SECBIT_KEEP_CAPS_LOCKED, 0, 0, 0), EPERM,
		    "a locked bit cannot change");
	CHECK(prctl(PR_GET_SECUREBITS, 0, 0, 0, 0) == (SECBIT_KEEP_CAPS | SECBIT_KEEP_CAPS_LOCKED),
	      "secure bits unchanged");
	CHECK(cap_drop_eff(C_SETPCAP) == 0, "drop CAP_SETPCAP");
	CHECK_ERRNO(prctl(PR_SET_SECUREBITS, SECBIT_KEEP_CAPS | SECBIT_KEEP_CAPS_LOCKED, 0, 0, 0),
		    EPERM, "PR_SET_SECUREBITS needs CAP_SETPCAP");
}

static void test_status_lines(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	int n = 0, order_ok = 1, seen_sigcgt = 0, seen_nnp = 0, width_ok = 1;
	const char *names[] = { "CapInh:", "CapPrm:", "CapEff:", "CapBnd:", "CapAmb:" };
	while (f && fgets(line, sizeof line, f)) {
		if (!strncmp(line, "SigCgt:", 7))
			seen_sigcgt = 1;
		if (!strncmp(line, "NoNewPrivs:", 11))
			seen_nnp = 1;
		if (n < 5 && !strncmp(line, names[n], 7)) {
			if (!seen_sigcgt || seen_nnp)
				order_ok = 0;
			if (line[7] != '\t' || strlen(line + 8) != 17)
				width_ok = 0;
			n++;
		}
	}
	if (f)
		fclose(f);
	CHECK(n == 5 && order_ok, "the five Cap lines, in order, between SigCgt and NoNewPrivs");
	CHECK(width_ok, "Cap values are 16 hex digits after a tab");
	CHECK(status_hex("CapInh") == 0 && status_hex("CapPrm") == KNOWN_CAPS &&
		      status_hex("CapEff") == KNOWN_CAPS && status_hex("CapBnd") == KNOWN_CAPS &&
		      status_hex("CapAmb") == 0,
	      "Cap values match the sets");
}

int main(void)
{
	if (geteuid() != 0) {
		INFO("needs root");
		return 1;
	}
	CHECK(cap_normalize() == 0, "drop to the known capability set");
	CHECK(prctl(PR_CAPBSET_READ, C_CHOWN, 0, 0, 0) == 1, "PR_CAPBSET_READ CAP_CHOWN");
	CHECK(prctl(PR_CAPBSET_READ, C_SYS_RESOURCE, 0, 0, 0) == 0,
	      "PR_CAPBSET_READ CAP_SYS_RESOURCE (dropped)");
	CHECK(prctl(PR_CAPBSET_READ, C_LAST, 0, 0, 0) == 1, "PR_CAPBSET_READ the last cap");
	CHECK_ERRNO(prctl(PR_CAPBSET_READ, C_LAST + 1, 0, 0, 0), EINVAL, "PR_CAPBSET_READ 41");
	CHECK_ERRNO(prctl(PR_CAPBSET_READ, -1L, 0, 0, 0), EINVAL, "PR_CAPBSET_READ -1");
	test_capget();
	test_capget_other();
	test_capset_errors();
	test_status_lines();
	CHECK(run_child(child_capset_rules) == 0, "capset subset rules");
	CHECK(run_child(child_capset_inheritable) == 0, "capset inheritable rules");
	CHECK(run_child(child_capset_bounding) == 0, "bounding set");
	CHECK(run_child(child_capset_v1) == 0, "capset version 1");
	CHECK(run_child(child_ambient) == 0, "ambient set");
	CHECK(run_child(child_securebits) == 0, "keepcaps and secure bits");
	return check_exit();
}
