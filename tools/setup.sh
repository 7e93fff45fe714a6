#!/bin/sh
# Installs what building, running and testing the kernel needs, if missing.
# Idempotent and quick when everything is there; every make target runs it.
set -e

need_apt=""
command -v qemu-system-x86_64 >/dev/null 2>&1 || need_apt="$need_apt qemu-system-x86"
[ -x /bin/busybox ] && /bin/busybox --list >/dev/null 2>&1 || need_apt="$need_apt busybox-static"
command -v musl-gcc >/dev/null 2>&1 || need_apt="$need_apt musl-tools"
command -v gcc >/dev/null 2>&1 || need_apt="$need_apt gcc"
# Static glibc test programs link against libc.a.
[ -f /usr/lib/x86_64-linux-gnu/libc.a ] || need_apt="$need_apt libc6-dev"
command -v make >/dev/null 2>&1 || need_apt="$need_apt make"
command -v file >/dev/null 2>&1 || need_apt="$need_apt file"

if [ -n "$need_apt" ]; then
    echo "setup: installing$need_apt"
    SUDO=""
    [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $need_apt >/dev/null
fi

# Busybox must be Debian's static build: the guest has no dynamic loader
# for it.
if ! file -L /bin/busybox | grep -q 'statically linked'; then
    echo "setup: /bin/busybox is not static; install busybox-static" >&2
    exit 1
fi

if ! rustup target list --installed 2>/dev/null | grep -qx x86_64-unknown-none; then
    echo "setup: adding the Rust target x86_64-unknown-none"
    rustup target add x86_64-unknown-none
fi
