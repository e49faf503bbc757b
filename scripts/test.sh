#!/usr/bin/env bash
# Runs every test of the project the way CI does: format and lint checks, one release build of the
# workspace (module libraries, harness, helpers), every test with cargo-nextest on this machine's
# kernel, a bounded fuzz run (fuzz/smoke.sh), the Debian packages (packaging/test.sh), then the privileged suites again inside qemu
# guests (vm-tests/run).
# Privileged tests need root; where they cannot run they are reported as skipped, never as passed.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy"
cargo clippy --workspace --all-targets --release -- -D warnings

echo "== cargo build --release (module libraries land in target/release/lib<name>.so)"
cargo build --workspace --release

echo "== cargo nextest"
cargo nextest run --workspace --release --no-fail-fast

echo "== fuzz smoke run (every cargo fuzz target for a few seconds; fuzz/smoke.sh --seconds 600 for a long run)"
fuzz/smoke.sh --seconds 12

echo "== packages (build the .debs, lintian, install, run from the installed files, upgrade, purge)"
packaging/test.sh

echo "== vm-tests (the privileged suites inside qemu guests: pure cgroup v2, and cgroup v1 on a second kernel)"
vm-tests/run
