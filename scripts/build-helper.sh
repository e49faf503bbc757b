#!/usr/bin/env bash
# Builds the launch helper the package ships, `mesos-containerizer` for <arch>-unknown-linux-musl
# (static: it starts for every container, and glibc's start-up probes the CPU with dozens of
# `cpuid` instructions, each a trap to the hypervisor in a virtual machine; musl's asks nothing),
# adding the Rust target first when it is missing. Prints the helper's path on stdout, the only
# line there; cargo's progress goes to stderr. Honours CARGO_TARGET_DIR.
#
#   helper=$(scripts/build-helper.sh)
#
# packaging/build.sh (the package), bench/run (the bench's harness runs) and vm-tests (the guests)
# take the helper from here.
set -euo pipefail
cd "$(dirname "$0")/.."

target="$(uname -m)-unknown-linux-musl"
if ! command -v rustup >/dev/null 2>&1; then
  if ! rustc --print target-libdir --target "$target" 2>/dev/null | xargs -r test -d; then
    echo "scripts/build-helper.sh: the Rust target $target is not installed and there is no rustup to add it" >&2
    exit 1
  fi
elif ! rustup target list --installed | grep -qx "$target"; then
  echo "== rustup target add $target" >&2
  rustup target add "$target" >&2
fi
echo "== cargo build --release --target $target -p linux-containerizer --bin mesos-containerizer" >&2
cargo build --release --quiet --target "$target" -p linux-containerizer --bin mesos-containerizer \
  --message-format=json-render-diagnostics \
  | sed -n 's/.*"reason":"compiler-artifact".*"executable":"\([^"]*\/mesos-containerizer\)".*/\1/p' \
  | tail -n 1 | grep . \
  || { echo "scripts/build-helper.sh: cargo built no mesos-containerizer for $target" >&2; exit 1; }
