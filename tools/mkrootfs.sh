#!/bin/sh
# Builds the default guest root file system tree.
#
#   tools/mkrootfs.sh OUT_DIR [OVERLAY_DIR...]
#
# OUT_DIR is removed and recreated from scratch: busybox with a symlink for
# every applet, the usual top-level directories, a few files in /etc and an
# /init script. Each OVERLAY_DIR is then copied over the tree in order
# (e.g. the test programs built by `make -C test/apps OUT=...`).
#
# BUSYBOX may name another static busybox binary (default /bin/busybox).

set -eu

usage() {
	echo "usage: $0 OUT_DIR [OVERLAY_DIR...]" >&2
	exit 2
}

[ $# -ge 1 ] || usage
out=$1
shift
[ -n "$out" ] && [ "$out" != / ] || usage
busybox=${BUSYBOX:-/bin/busybox}

[ -x "$busybox" ] || { echo "$0: $busybox is not executable" >&2; exit 1; }
for overlay in "$@"; do
	[ -d "$overlay" ] || { echo "$0: overlay $overlay is not a directory" >&2; exit 1; }
done

rm -rf "$out"
mkdir -p "$out/sbin"

# PID 1's helper for the interactive console (see rootfs/shell-init.c).
here=$(cd "$(dirname "$0")/.." && pwd)
musl-gcc -static -O2 -Wall -o "$out/sbin/shell-init" "$here/rootfs/shell-init.c"

# Build the base tree inside a subshell so that relative OUT_DIR and
# OVERLAY_DIR paths both keep meaning what they meant to the caller.
(
cd "$out"

mkdir -p bin sbin usr/bin usr/sbin dev proc sys tmp root etc home/user
chmod 1777 tmp
chmod 700 root

cp "$busybox" bin/busybox
chmod 755 bin/busybox

# One relative symlink per applet, e.g. bin/sh -> busybox,
# sbin/init -> ../bin/busybox, usr/bin/awk -> ../../bin/busybox.
for applet in $("$busybox" --list-full); do
	case $applet in
	bin/busybox) continue ;;
	bin/*) target=busybox ;;
	*/*/*) target=../../bin/busybox ;;
	*/*) target=../bin/busybox ;;
	*) target=bin/busybox ;;
	esac
	mkdir -p "$(dirname "$applet")"
	[ -e "$applet" ] || [ -L "$applet" ] || ln -s "$target" "$applet"
done

cat >etc/passwd <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
user:x:1000:1000:user:/home/user:/bin/sh
PASSWD

cat >etc/group <<'GROUP'
root:x:0:
user:x:1000:
GROUP

echo framekernel >etc/hostname

cat >etc/profile <<'PROFILE'
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
export HOME="${HOME:-/root}"
PS1='\w # '
export PS1
PROFILE

cat >init <<'INIT'
#!/bin/sh
# First user program: mount what we can, then start an interactive shell.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin

mount -t proc proc /proc 2>/dev/null
mount -t sysfs sysfs /sys 2>/dev/null
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t devpts devpts /dev/pts 2>/dev/null
mount -t tmpfs tmpfs /tmp 2>/dev/null
[ -r /etc/hostname ] && hostname -F /etc/hostname 2>/dev/null

echo "framekernel: $(uname -sm 2>/dev/null) -- starting a shell"
cd /root 2>/dev/null || cd /
# PID 1 duties (job control on the console, reaping, poweroff) are done by
# shell-init, which exits with the shell's status when it exits.
exec /sbin/shell-init /bin/sh -l
INIT
chmod 755 init
)

for overlay in "$@"; do
	cp -a "$overlay/." "$out/"
done
