# Build, run and test the framekernel.
#
#   make run      boot the kernel with the default initramfs (busybox + tests)
#   make test     everything CI runs: lints, host tests, ktests, test apps
#   make ktest    in-kernel unit tests only
#   make build    build the kernel
#   make gdb      boot and wait for a debugger on :1234
#   make bench    benchmarks against Linux
#   make fuzz     boot the syscall fuzzer as init (see README.md)
#
# Variables: ACCEL (auto|tcg|kvm), MEM (2G), SMP (2), LOG_LEVEL, KCMDLINE,
# TIMEOUT (seconds; by default none for an interactive console, else 600),
# INITRAMFS_EXTRA (a directory merged over the initramfs),
# CPU (QEMU model). make fuzz: FUZZ_SEED (1), FUZZ_DURATION (seconds, 600),
# FUZZ_WORKERS (8), FUZZ_ARGS (more fuzzer options, e.g. -v or -x 40),
# FUZZ_TIMEOUT (QEMU's limit, default FUZZ_DURATION + 120).

ACCEL ?= auto
MEM ?= 2G
SMP ?= 2
LOG_LEVEL ?= warn
KCMDLINE ?=
TIMEOUT ?=
INITRAMFS_EXTRA ?=
CPU ?=
FUZZ_SEED ?= 1
FUZZ_DURATION ?= 600
FUZZ_WORKERS ?= 8
FUZZ_ARGS ?=
FUZZ_TIMEOUT ?= $(shell echo $$(($(FUZZ_DURATION) + 120)))

BUILD := build
OSDK := osdk/target/release/osdk
ROOTFS := $(BUILD)/rootfs
APPS := $(BUILD)/apps

QEMU_ARGS = --accel $(ACCEL) --mem $(MEM) --smp $(SMP) $(if $(TIMEOUT),--timeout $(TIMEOUT)) \
	$(if $(CPU),--cpu $(CPU))
CMDLINE = log_level=$(LOG_LEVEL) $(KCMDLINE)

.PHONY: all setup build run ktest test check host-test apps rootfs gdb bench fuzz clean osdk

all: build

setup:
	@sh tools/setup.sh

osdk: setup
	@cargo build --quiet --release --manifest-path osdk/Cargo.toml

build: osdk
	@$(OSDK) build

apps: setup
	@$(MAKE) --no-print-directory -C test/apps OUT=$(abspath $(APPS))

rootfs: apps
	@sh tools/mkrootfs.sh $(ROOTFS) $(APPS)

run: osdk rootfs
	@$(OSDK) run --initramfs $(ROOTFS) $(if $(INITRAMFS_EXTRA),--initramfs $(INITRAMFS_EXTRA)) \
		--cmdline "$(CMDLINE)" $(QEMU_ARGS)

gdb: osdk rootfs
	@$(OSDK) run --gdb --profile dev --initramfs $(ROOTFS) --cmdline "$(CMDLINE)" $(QEMU_ARGS)

ktest: osdk
	@$(OSDK) test --ktest --cmdline "$(CMDLINE)" $(QEMU_ARGS)

check: setup
	@cargo fmt --all --check
	@cargo fmt --manifest-path osdk/Cargo.toml --check
	@cargo clippy --quiet -p kernel -p ostd --target x86_64-unknown-none -- -D warnings
	@cargo clippy --quiet -p kernel -p ostd --target x86_64-unknown-none --features ktest -- -D warnings
	@cargo clippy --quiet --manifest-path osdk/Cargo.toml -- -D warnings

host-test: setup
	@sh tools/host-tests.sh

test: osdk rootfs
	@SMP=$(SMP) sh tools/test-all.sh

bench: osdk
	@$(MAKE) --no-print-directory -C test/apps/benchmark OUT=$(abspath $(BUILD)/bench-root)
	@bash tools/bench.sh

# The fuzzer as PID 1; the run fails on an unkillable worker, a kernel
# panic or a timeout (osdk --summary).
fuzz: osdk rootfs
	@$(OSDK) run --summary --initramfs $(ROOTFS) \
		--cmdline "log_level=$(LOG_LEVEL) $(KCMDLINE) init=/test/fuzz/fuzz -- -s $(FUZZ_SEED) -d $(FUZZ_DURATION) -w $(FUZZ_WORKERS) $(FUZZ_ARGS)" \
		--accel $(ACCEL) --mem $(MEM) --smp $(SMP) --timeout $(FUZZ_TIMEOUT) $(if $(CPU),--cpu $(CPU))

clean:
	cargo clean
	cargo clean --manifest-path osdk/Cargo.toml
	rm -rf $(BUILD)
