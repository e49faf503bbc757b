#!/usr/bin/env bash
# Fuzzes every cargo-fuzz target of fuzz/ for a fixed time each, starting from the seed corpora in
# fuzz/corpus/<target>/ (which it never writes to: what the run finds goes to a scratch corpus).
#
#   fuzz/smoke.sh                  the bounded CI run: every target for 20 s (5 targets: under
#                                  2 minutes in all, after the build)
#   fuzz/smoke.sh --seconds 600    the longer run: every target for 10 minutes
#   fuzz/smoke.sh --seconds 60 manifest resources      only these targets
#
# Options: --seconds N (time per target), --keep DIR (keep the grown corpora in DIR/<target>/,
# to look at them or to add good finds to fuzz/corpus by hand), --no-install.
# Needs the nightly toolchain (`rustup toolchain install nightly`); installs cargo-fuzz when
# missing. Exits non-zero when a target crashed, printing the reproducer's path; the closing line
# is `N passed, N failed`.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
seconds=20
keep=""
install=1
targets=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --seconds) seconds="$2"; shift 2 ;;
        --seconds=*) seconds="${1#--seconds=}"; shift ;;
        --keep) keep="$2"; shift 2 ;;
        --keep=*) keep="${1#--keep=}"; shift ;;
        --no-install) install=0; shift ;;
        -h|--help) sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) echo "smoke.sh: unknown option $1" >&2; exit 2 ;;
        *) targets+=("$1"); shift ;;
    esac
done
if ! [[ "$seconds" =~ ^[1-9][0-9]*$ ]]; then
    echo "smoke.sh: --seconds needs a positive whole number, not '$seconds'" >&2
    exit 2
fi

if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "smoke.sh: the nightly toolchain is missing (rustup toolchain install nightly)" >&2
    exit 2
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    if [[ $install -eq 0 ]]; then
        echo "smoke.sh: cargo-fuzz is missing (cargo install cargo-fuzz --locked)" >&2
        exit 2
    fi
    echo "smoke.sh: installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

cd "$root"
if [[ ${#targets[@]} -eq 0 ]]; then
    mapfile -t targets < <(cargo fuzz list)
fi

echo "smoke.sh: building ${targets[*]}"
build_start=$SECONDS
cargo +nightly fuzz build
echo "smoke.sh: built in $((SECONDS - build_start)) s; fuzzing each target for $seconds s"

scratch="$(mktemp -d "${TMPDIR:-/tmp}/fuzz-smoke.XXXXXX")"
trap 'rm -rf "$scratch"' EXIT
passed=0
failed=0
failures=()
fuzz_start=$SECONDS
for target in "${targets[@]}"; do
    seeds="$here/corpus/$target"
    work="$scratch/corpus/$target"
    mkdir -p "$work" "$seeds"
    log="$scratch/$target.log"
    start=$SECONDS
    # The first corpus directory is where libFuzzer writes what it finds: the scratch one.
    if cargo +nightly fuzz run "$target" "$work" "$seeds" -- \
        -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 >"$log" 2>&1; then
        runs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)"
        echo "ok   $target: ${runs:-?} runs in $((SECONDS - start)) s"
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        failures+=("$target")
        echo "FAIL $target after $((SECONDS - start)) s (its whole log: $here/artifacts/$target.log):"
        mkdir -p "$here/artifacts"
        cp "$log" "$here/artifacts/$target.log"
        # The panic or the sanitizer's report, without the run's progress lines.
        grep -v '^#[0-9]' "$log" | grep -E -A 6 'panicked at|ERROR: (libFuzzer|AddressSanitizer|LeakSanitizer)' |
            head -n 30 | sed 's/^/    /' || true
        reproducer="$(grep -o "Test unit written to [^ ]*" "$log" | tail -n 1 | sed 's/^Test unit written to //' || true)"
        if [[ -n "$reproducer" ]]; then
            echo "    reproducer: $reproducer"
            echo "    replay:     cargo +nightly fuzz run $target $reproducer"
            echo "    minimize:   cargo +nightly fuzz tmin $target $reproducer"
        fi
    fi
    if [[ -n "$keep" ]]; then
        mkdir -p "$keep/$target"
        cp "$work"/* "$keep/$target/" 2>/dev/null || true
    fi
done

echo "smoke.sh: fuzzed for $((SECONDS - fuzz_start)) s"
if [[ $failed -gt 0 ]]; then
    echo "smoke.sh: crashed: ${failures[*]} (reproducers under $here/artifacts/)"
fi
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
