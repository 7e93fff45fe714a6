#!/bin/sh
# Host unit tests: the pure crates under */libs/ and the osdk tool.
# Prints cargo's own result lines.
set -e
cd "$(dirname "$0")/.."

pkgs=""
for manifest in ostd/libs/*/Cargo.toml kernel/libs/*/Cargo.toml; do
    [ -f "$manifest" ] || continue
    name=$(sed -n 's/^name *= *"\(.*\)"/\1/p' "$manifest" | head -n 1)
    # Proc-macro crates have nothing to test on their own.
    grep -q '^proc-macro *= *true' "$manifest" && continue
    pkgs="$pkgs -p $name"
done
cargo test --quiet $pkgs
cargo test --quiet --manifest-path osdk/Cargo.toml
