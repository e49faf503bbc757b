#!/usr/bin/env bash
# The packaging test, as root on a Debian machine (it installs and purges the packages here):
#  1. builds the packages (packaging/build.sh), and again with Debian revision 2 for the upgrade;
#  2. inspects them (dpkg-deb -c, -I) and runs lintian (no error, no warning that is not overridden
#     with a comment);
#  3. installs them, moves the build's target/ out of the way, and from a directory outside the
#     checkout runs the installed harness with the installed modules, flag-free: run, exit status,
#     resources and usage, the module test kit, man pages, and a C module built against -dev;
#  4. edits the conffile /etc/agent-harness/modules.json, sees the edit take effect, upgrades to
#     revision 2 and sees the edit kept and still in effect;
#  5. purges, and checks that every file the packages installed and every directory they created
#     is gone, and that no file was left in the work and runtime directories;
#  6. installs again, adds files of a user's own beside the package's, purges, and checks that
#     only the user's files are left.
# Cleans up after itself (purge, target/ back, temporary files) even when a step fails. Prints
# `N passed, N failed` and exits non-zero when any check failed.
set -uo pipefail
cd "$(dirname "$0")/.."
checkout=$PWD
export DEBIAN_FRONTEND=noninteractive
started=$(date +%s)

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok - $1"; }
not_ok() { failed=$((failed + 1)); echo "FAIL - $1"; }
# check DESCRIPTION COMMAND...: runs COMMAND, shows its output when it fails.
check() {
  local description=$1 output
  shift
  if output=$("$@" 2>&1); then ok "$description"; else not_ok "$description"; printf '%s\n' "$output" | sed 's/^/    /' | tail -30; fi
}
# fatal DESCRIPTION: a step everything after depends on failed.
fatal() { not_ok "$1"; exit 1; }

packages=(agent-harness agent-harness-dev)
etc_dir=/etc/agent-harness
work_dir=/var/lib/agent-harness
runtime_dir=/run/agent-harness
tmp=$(mktemp -d /tmp/agent-harness-pkgtest.XXXXXX)
target_dir=""
moved=""

cleanup() {
  local status=$?
  if [ -n "$moved" ] && [ -d "$moved" ] && [ ! -e "$target_dir" ]; then mv "$moved" "$target_dir"; fi
  for p in "${packages[@]}"; do
    if dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qv '^not-installed$'; then
      dpkg -P "$p" >/dev/null 2>&1 || echo "cleanup: could not purge $p" >&2
    fi
  done
  rm -f "$etc_dir/local-modules.json" "$work_dir/notes.txt"
  rmdir "$etc_dir" "$work_dir" 2>/dev/null
  rm -rf "$tmp"
  echo "packaging test: $(($(date +%s) - started)) s"
  echo "$passed passed, $failed failed"
  if [ "$failed" -gt 0 ] && [ "$status" -eq 0 ]; then status=1; fi
  exit "$status"
}
trap cleanup EXIT
trap 'not_ok "interrupted"; exit 130' INT TERM

[ "$(id -u)" -eq 0 ] || fatal "runs as root (it installs packages)"
for p in "${packages[@]}"; do
  if dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qv '^not-installed$'; then
    trap - EXIT
    echo "packaging test: $p is installed on this machine; purge it first (dpkg -P ${packages[*]})" >&2
    echo "0 passed, 1 failed"
    exit 1
  fi
done

echo "== tools"
missing=()
command -v lintian >/dev/null 2>&1 || missing+=(lintian)
command -v dpkg-shlibdeps >/dev/null 2>&1 || missing+=(dpkg-dev)
command -v pkg-config >/dev/null 2>&1 || missing+=(pkgconf)
command -v cc >/dev/null 2>&1 || missing+=(gcc libc6-dev)
command -v man >/dev/null 2>&1 || missing+=(man-db)
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || fatal "apt-get install ${missing[*]}"
fi
cargo deb --version >/dev/null 2>&1 || cargo install cargo-deb --locked || fatal "cargo install cargo-deb"

echo "== 1. build"
mkdir -p "$tmp/v1" "$tmp/v2" "$tmp/run"
packaging/build.sh --output="$tmp/v1" >"$tmp/build.log" 2>&1 || { tail -40 "$tmp/build.log"; fatal "packaging/build.sh"; }
ok "packaging/build.sh builds the packages"
target_dir=$(cargo metadata --no-deps --format-version 1 | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
for package in agent-harness-packaging agent-harness-dev-packaging; do
  cargo deb -p "$package" --no-build --strip --deb-revision=2 --output="$tmp/v2" \
    >>"$tmp/build.log" 2>&1 || fatal "cargo deb -p $package --deb-revision=2"
done
ok "the same packages build with a bumped version (Debian revision 2)"

upstream=$(cargo metadata --no-deps --format-version 1 | sed -n 's/.*"name":"agent-harness","version":"\([^"]*\)".*/\1/p')
version="$upstream-1"
arch=$(dpkg --print-architecture)
deb() { echo "$tmp/$1/${2}_${3}_${arch}.deb"; }
for p in "${packages[@]}"; do
  [ -f "$(deb v1 "$p" "$version")" ] || fatal "$(deb v1 "$p" "$version") was built"
  [ -f "$(deb v2 "$p" "$upstream-2")" ] || fatal "$(deb v2 "$p" "$upstream-2") was built"
done
check "debian/changelog's latest entry is the packages' version ($version)" \
  test "$(dpkg-parsechangelog -l packaging/debian/changelog -S Version)" = "$version"

echo "== 2. inspect"
harness_deb=$(deb v1 agent-harness "$version")
dev_deb=$(deb v1 agent-harness-dev "$version")
contents() { dpkg-deb -c "$1" | awk '{print $1, $6}' | sed 's| \./| /|'; }
contents "$harness_deb" >"$tmp/harness.contents"
contents "$dev_deb" >"$tmp/dev.contents"
echo "-- dpkg-deb -c agent-harness (files):"; grep -v '^d' "$tmp/harness.contents" | sed 's/^/    /'
echo "-- dpkg-deb -c agent-harness-dev (files):"; grep -v '^d' "$tmp/dev.contents" | sed 's/^/    /'
has() { grep -qxF -- "$2 $3" "$tmp/$1.contents"; }
modules_dir=$(dpkg-deb --fsys-tarfile "$harness_deb" | tar -tf - | sed -n 's|^\./\(usr/lib/[^/]*/agent-harness/modules\)/$|/\1|p')
triplet=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)
check "the modules have a multiarch folder of their own (/usr/lib/$triplet/agent-harness/modules)" \
  test "$modules_dir" = "/usr/lib/$triplet/agent-harness/modules"
check "/usr/bin/agent-harness, executable" has harness -rwxr-xr-x /usr/bin/agent-harness
check "mesos-containerizer beside the modules, executable" has harness -rwxr-xr-x "$modules_dir/mesos-containerizer"
dpkg-deb --fsys-tarfile "$harness_deb" | tar -xOf - ".$modules_dir/mesos-containerizer" >"$tmp/helper"
check "mesos-containerizer is the static musl build: it needs no shared library (no glibc start-up per container)" \
  sh -c "readelf -d '$tmp/helper' >'$tmp/helper.dynamic' 2>&1 && ! grep -q NEEDED '$tmp/helper.dynamic'"
check "/usr/bin/isolation-runc (the OCI runtime), executable" has harness -rwxr-xr-x /usr/bin/isolation-runc
dpkg-deb --fsys-tarfile "$harness_deb" | tar -xOf - ./etc/agent-harness/modules.json >"$tmp/modules.json"
manifest_files=$(sed -n 's/.*"file": "\([^"]*\)".*/\1/p' "$tmp/modules.json")
check "the default manifest names libraries by absolute path" test -n "$manifest_files"
for f in $manifest_files; do
  check "  $f is in the package, not executable" has harness -rw-r--r-- "$f"
done
check "every library file in the modules folder is in the default manifest" \
  bash -c 'diff <(grep "^-.*\.so$" "$1" | awk "{print \$2}" | sort) <(printf "%s\n" $2 | sort)' _ "$tmp/harness.contents" "$manifest_files"
links=$(dpkg-deb -c "$harness_deb" | awk -v d=".$modules_dir/" '$1 ~ /^l/ && index($6, d) == 1 {print $6 "=" $8}')
check "the family libraries are there, as links" test "$(printf "%s\n" $links | grep -c .)" -ge 7
for l in $links; do
  check "  ${l%%=*} links to libisolation_suite.so" test "${l#*=}" = libisolation_suite.so
done
for page in agent-harness agent-harness-run agent-harness-run-many agent-harness-recover agent-harness-test agent-harness-modules isolation-runc; do
  check "  man page $page(1)" has harness -rw-r--r-- "/usr/share/man/man1/$page.1.gz"
done
for p in "${packages[@]}"; do
  check "  $p has its copyright and changelog.Debian.gz" \
    bash -c 'dpkg-deb -c "$1" | grep -q "\./usr/share/doc/$2/copyright$" && dpkg-deb -c "$1" | grep -q "\./usr/share/doc/$2/changelog.Debian.gz$"' \
    _ "$(deb v1 "$p" "$version")" "$p"
done
check "the -dev package has the header" has dev -rw-r--r-- /usr/include/agent-harness/mesos_module.h
check "the -dev package has the pkg-config file" has dev -rw-r--r-- "/usr/lib/$triplet/pkgconfig/agent-harness-module.pc"
check "nothing in the packages lives under the checkout or /usr/local" \
  bash -c "! grep -E ' (/usr/local|$checkout)' '$tmp/harness.contents' '$tmp/dev.contents'"
field() { dpkg-deb -f "$1" "$2"; }
echo "-- dpkg-deb -I agent-harness:"; dpkg-deb -I "$harness_deb" | sed 's/^/    /'
echo "-- dpkg-deb -I agent-harness-dev:"; dpkg-deb -I "$dev_deb" | sed 's/^/    /'
check "agent-harness: version $version, architecture $arch" \
  test "$(field "$harness_deb" Version) $(field "$harness_deb" Architecture)" = "$version $arch"
check "agent-harness depends on libc6 (found by dpkg-shlibdeps), and only on what the binaries link" \
  bash -c "deps='$(field "$harness_deb" Depends)'; echo \"Depends: \$deps\"; [[ \$deps == *libc6* ]] && ! tr ',' '\n' <<<\"\$deps\" | sed 's/ *(.*//; s/^ *//' | grep -vxE 'libc6|libgcc-s1'"
check "agent-harness-dev depends on a libc's headers only, suggests agent-harness" \
  test "$(field "$dev_deb" Depends)|$(field "$dev_deb" Suggests)" = "libc6-dev | libc-dev|agent-harness"
check "the manifest is a conffile" bash -c "dpkg-deb -I '$harness_deb' conffiles | grep -qx /etc/agent-harness/modules.json"
check "agent-harness has postinst and postrm, the -dev package no scripts" \
  bash -c "dpkg-deb -I '$harness_deb' postinst >/dev/null && dpkg-deb -I '$harness_deb' postrm >/dev/null && ! dpkg-deb -I '$dev_deb' postinst >/dev/null 2>&1 && ! dpkg-deb -I '$dev_deb' postrm >/dev/null 2>&1"

echo "-- lintian"
# Every tag down to pedantic, with the overridden ones (O:) and each override's comment (N:).
lintian --display-level '>=pedantic' --show-overrides "$harness_deb" "$dev_deb" 2>&1 | grep -v 'running with root privileges' | sed 's/^/    /'
check "lintian: no error, and no warning that is not overridden" \
  bash -c 'set -o pipefail; lintian --fail-on error,warning "$@" 2>&1 | { grep -v "running with root privileges" || true; }' \
  _ "$harness_deb" "$dev_deb"
# An override is a line of its own; the block of overrides it is in starts with a comment.
check "every lintian override says why (a comment above its block)" \
  awk 'FNR == 1 { prev = "" } /^[^#[:space:]]/ && prev !~ /^#/ && prev !~ /^[^#[:space:]]/ { print FILENAME ": " $0; bad = 1 } { prev = $0 } END { exit bad }' \
  packaging/debian/*.lintian-overrides

echo "== 3. install, and run the installed files alone"
# Paths that exist before the install must exist after the purge; the others must be gone.
cat "$tmp/harness.contents" "$tmp/dev.contents" | awk '{print $2}' | sed 's|/$||' | sort -u >"$tmp/paths"
while read -r path; do [ -e "$path" ] && echo "$path"; done <"$tmp/paths" >"$tmp/preexisting"
for d in "$etc_dir" "$work_dir" "$runtime_dir"; do find "$d" 2>/dev/null; done | sort >"$tmp/before.find"
dpkg -i "$harness_deb" "$dev_deb" >"$tmp/dpkg.log" 2>&1 </dev/null || { cat "$tmp/dpkg.log"; fatal "dpkg -i"; }
ok "dpkg -i installs both packages"
check "postinst created the work dir $work_dir" test -d "$work_dir"
check "dpkg --verify: dpkg has checksums of every installed file, and they match" \
  bash -c 'dpkg --verify agent-harness agent-harness-dev && [ -s /var/lib/dpkg/info/agent-harness.md5sums ]'

[ -n "$target_dir" ] && [ -d "$target_dir" ] || fatal "the build's target dir is known"
moved="$target_dir.pkgtest-away-$$"
mv "$target_dir" "$moved" || fatal "move $target_dir out of the way"
ok "target/ moved out of the way ($target_dir -> $moved)"
cp examples/c_module/test_c_module.c "$tmp/"
cd "$tmp/run"
# The installed files alone: a clean environment, the system's PATH.
installed() { env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root "$@"; }
check "agent-harness is /usr/bin/agent-harness" test "$(installed sh -c 'command -v agent-harness')" = /usr/bin/agent-harness
check "agent-harness --version names $upstream" bash -c "env -i PATH=/usr/bin:/bin agent-harness --version | grep -F '$upstream'"
check "isolation-runc features, installed" bash -c "env -i PATH=/usr/bin:/bin isolation-runc features | grep -q '\"systemd\": false'"
check "agent-harness run -- true (no flags)" installed agent-harness run -- true
out=$(installed agent-harness run -- sh -c 'echo hello; cat /proc/self/cgroup' 2>&1)
check "run: the command's output, in a mesos/<id> cgroup" bash -c 'grep -qx hello <<<"$1" && grep -q ":/mesos/" <<<"$1"' _ "$out"
installed agent-harness run -- sh -c 'exit 3' >/dev/null 2>&1
check "run: the command's exit status (3)" test $? -eq 3
json=$(installed agent-harness run --json --resources='cpus:0.5;mem:64' --limits='cpus:1;mem:64' -- sh -c 'echo sandboxed' 2>&1)
sandbox=$(sed -n 's/.*"sandbox":"\([^"]*\)".*/\1/p' <<<"$json")
check "run --json: exit 0, a memory limit in usage, output in a sandbox under $work_dir" \
  bash -c 'echo "$1"; grep -q "\"exit_status\":0" <<<"$1" && grep -q "\"mem_limit_bytes\":67108864" <<<"$1" && [[ $2 == $3/sandboxes/* ]] && grep -qx sandboxed "$2/stdout"' \
  _ "$json" "$sandbox" "$work_dir"
kit=$(installed agent-harness test --isolation=org_apache_mesos_CgroupsCpuIsolator 2>&1)
kit_status=$?
printf '%s\n' "$kit" | tail -1 | sed 's/^/    /'
check "agent-harness test --isolation=org_apache_mesos_CgroupsCpuIsolator passes" \
  bash -c 'echo "$2"; [ "$1" -eq 0 ] && tail -1 <<<"$2" | grep -qE "^[1-9][0-9]* passed, 0 failed"' _ "$kit_status" "$kit"
printf '{"libraries": [{"file": "%s/libcgroups_isolator.so", "modules": [{"name": "org_apache_mesos_CgroupsCpuIsolator"}]}]}\n' "$modules_dir" >"$tmp/family.json"
check "a manifest naming a family's library (a link to the suite's) runs: run --isolation=cgroups/cpu" \
  installed agent-harness run --modules="file://$tmp/family.json" --isolation=cgroups/cpu -- true
check "man agent-harness finds the installed page" test "$(installed man -w agent-harness)" = /usr/share/man/man1/agent-harness.1.gz
# As lintian does, ignore troff's complaints about justifying a line (long option defaults).
for page in agent-harness agent-harness-run agent-harness-run-many agent-harness-recover agent-harness-test agent-harness-modules isolation-runc; do
  check "  man $page renders without warnings" \
    bash -c 'out=$(env -i PATH=/usr/bin:/bin MANWIDTH=80 man --warnings "$1" 2>&1 >/dev/null | grep -vE "cannot adjust line|can.t break line"); [ -z "$out" ] || { echo "$out"; false; }' _ "$page"
done
check "pkg-config knows agent-harness-module" \
  test "$(installed pkg-config --modversion agent-harness-module)" = "$(sed -n 's/^#define MM_MODULE_ABI_VERSION "\(.*\)"/\1/p' /usr/include/agent-harness/mesos_module.h)"
check "a C module builds against the installed header (pkg-config --cflags)" \
  installed sh -c "cc -shared -fPIC -fvisibility=hidden -Wall -Wextra -Werror \$(pkg-config --cflags agent-harness-module) -o '$tmp/libtestcmodule.so' '$tmp/test_c_module.c'"
printf '{"libraries": [{"file": "%s", "modules": [{"name": "org_example_CTestModule"}]}]}\n' "$tmp/libtestcmodule.so" >"$tmp/c-module.json"
check "the installed harness loads and creates it" \
  bash -c "env -i PATH=/usr/bin:/bin agent-harness modules --modules=file://$tmp/c-module.json --create | grep -q '\"org_example_CTestModule\"'"

echo "== 4. conffile: edit, upgrade"
uts=org_apache_mesos_NamespacesUtsIsolator
# The manifest is pretty-printed: a module's parameters are on the line after its name.
sed -i "/\"name\": \"$uts\"/{n;s|\"parameters\": \[\]|\"parameters\": [{\"key\": \"hostname\", \"value\": \"pkgtest-edited\"}]|}" \
  "$etc_dir/modules.json"
check "the manifest is edited (hostname of the uts isolator)" grep -q pkgtest-edited "$etc_dir/modules.json"
cp "$etc_dir/modules.json" "$tmp/edited.json"
check "the edit takes effect: run --isolation=$uts -- hostname prints pkgtest-edited" \
  test "$(installed agent-harness run --isolation=$uts -- hostname 2>&1)" = pkgtest-edited
dpkg -i "$(deb v2 agent-harness "$upstream-2")" "$(deb v2 agent-harness-dev "$upstream-2")" >"$tmp/dpkg.log" 2>&1 </dev/null
check "dpkg -i upgrades to $upstream-2 without a prompt" bash -c "[ $? -eq 0 ] || { cat '$tmp/dpkg.log'; false; }"
for p in "${packages[@]}"; do
  check "  $p is $upstream-2" test "$(dpkg-query -W -f='${Version} ${db:Status-Status}' "$p")" = "$upstream-2 installed"
done
check "the upgrade kept the edited manifest" cmp "$tmp/edited.json" "$etc_dir/modules.json"
check "no .dpkg-dist/.dpkg-new/.dpkg-old left beside it" bash -c "! ls $etc_dir | grep -q dpkg"
check "the edit still takes effect after the upgrade" \
  test "$(installed agent-harness run --isolation=$uts -- hostname 2>&1)" = pkgtest-edited
check "agent-harness run -- true after the upgrade" installed agent-harness run -- true

echo "== 5. purge"
dpkg -L "${packages[@]}" | sort -u >"$tmp/installed"
dpkg -P "${packages[@]}" >"$tmp/dpkg.log" 2>&1 </dev/null
check "dpkg -P purges both packages" bash -c "[ $? -eq 0 ] || { cat '$tmp/dpkg.log'; false; }"
for p in "${packages[@]}"; do
  check "  $p is gone from dpkg's database" bash -c "! dpkg-query -W -f='\${db:Status-Status}' $p 2>/dev/null | grep -qv '^not-installed$'"
done
left=$(while read -r path; do
  if grep -qxF "$path" "$tmp/preexisting"; then [ -e "$path" ] || echo "removed a path that was there before: $path"
  elif [ -e "$path" ] || [ -L "$path" ]; then echo "left: $path"; fi
done <"$tmp/installed")
check "every path dpkg -L listed is gone ($(wc -l <"$tmp/installed") paths; those there before stay)" test -z "$left"
[ -z "$left" ] || echo "$left" | sed 's/^/    /'
for d in "$etc_dir" "$work_dir" "$runtime_dir"; do find "$d" 2>/dev/null; done | sort >"$tmp/after.find"
check "nothing new left in $etc_dir, $work_dir, $runtime_dir" \
  bash -c "new=\$(comm -13 '$tmp/before.find' '$tmp/after.find'); [ -z \"\$new\" ] || { echo \"\$new\"; false; }"
check "$work_dir (created by postinst) is gone" test ! -e "$work_dir"
check "$etc_dir is gone" test ! -e "$etc_dir"

echo "== 6. a user's own files survive the purge"
dpkg -i "$(deb v2 agent-harness "$upstream-2")" >"$tmp/dpkg.log" 2>&1 </dev/null || { cat "$tmp/dpkg.log"; fatal "dpkg -i again"; }
installed agent-harness run -- true >/dev/null 2>&1
echo '{"libraries": []}' >"$etc_dir/local-modules.json"
echo "my notes" >"$work_dir/notes.txt"
dpkg -P agent-harness >"$tmp/dpkg.log" 2>&1 </dev/null
check "dpkg -P with a user's files present" bash -c "[ $? -eq 0 ] || { cat '$tmp/dpkg.log'; false; }"
check "  the user's $etc_dir/local-modules.json is kept, the package's manifest is gone" \
  bash -c "[ -f $etc_dir/local-modules.json ] && [ ! -e $etc_dir/modules.json ]"
check "  the user's $work_dir/notes.txt is kept, the harness's meta/ and sandboxes/ are gone" \
  bash -c "[ -f $work_dir/notes.txt ] && [ ! -e $work_dir/meta ] && [ ! -e $work_dir/sandboxes ]"
rm -f "$etc_dir/local-modules.json" "$work_dir/notes.txt"
rmdir "$etc_dir" "$work_dir"

cd "$checkout"
mv "$moved" "$target_dir" && moved=""
check "target/ is back" test -d "$target_dir/release"
