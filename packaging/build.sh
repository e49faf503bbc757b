#!/usr/bin/env bash
# Builds the Debian packages into target/debian/ (or the --output DIR given):
#   agent-harness_<version>_<arch>.deb      the harness, the suite's modules and helper, man pages
#   agent-harness-dev_<version>_<arch>.deb  the module ABI's C header and pkg-config file
# Any arguments go to each `cargo deb` (for example --deb-revision=2, --output=DIR).
# Installs cargo-deb (cargo install) and dpkg-dev (for dpkg-shlibdeps) when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v dpkg-shlibdeps >/dev/null 2>&1; then
  echo "== installing dpkg-dev (dpkg-shlibdeps finds the packages' dependencies)"
  if [ "$(id -u)" -ne 0 ]; then echo "packaging/build.sh: dpkg-dev is missing; apt-get install dpkg-dev" >&2; exit 1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends dpkg-dev \
    || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends dpkg-dev; }
fi
if ! cargo deb --version >/dev/null 2>&1; then
  echo "== cargo install cargo-deb"
  cargo install cargo-deb --locked
fi

echo "== cargo build --release --workspace"
cargo build --release --workspace

# The launch helper ships built with musl (scripts/build-helper.sh says why).
helper=$(scripts/build-helper.sh)

target_dir=$(cargo metadata --no-deps --format-version 1 | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
echo "== staging the packages' files ($target_dir/release/deb/)"
"$target_dir/release/agent-harness-deb" --helper "$helper" >/dev/null

for package in agent-harness-packaging agent-harness-dev-packaging; do
  echo "== cargo deb -p $package"
  cargo deb -p "$package" --no-build --strip "$@"
done
