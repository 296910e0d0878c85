#!/usr/bin/env bash
# test.sh -- the project's whole test suite, from a fresh Debian 12 machine, as root.
#
# Installs what is missing, builds the sanitizer build, starts a throwaway PostgreSQL 15
# (unix socket in a temp dir, a free port on 127.0.0.1), runs the cmocka tests (ctest),
# the shell-level suites in tests/sh/ and a bounded fuzz run, stops the server (on failure
# too) and exits non-zero on any failure.
#
#   deploy/test.sh [--no-fuzz] [--fuzz-seconds N] [--keep]
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$(pwd)

FUZZ=1 FUZZ_SECONDS=${CO_FUZZ_SECONDS:-60} KEEP=0
while [[ $# -gt 0 ]]; do
    case $1 in
        --no-fuzz) FUZZ=0; shift ;;
        --fuzz-seconds) FUZZ_SECONDS=$2; shift 2 ;;
        --keep) KEEP=1; shift ;;
        *) echo "test.sh: unknown option $1" >&2; exit 2 ;;
    esac
done

say() { printf '\n== %s\n' "$*"; }

# ---- packages (only what is missing) ------------------------------------------------
# shellcheck source=deploy/packages.sh
. "$SRC/deploy/packages.sh"
ensure_packages build-essential cmake pkg-config libpq-dev libyaml-dev libcjson-dev \
    libcmocka-dev postgresql-15 postgresql-client-15 postgresql-15-pgtap clang \
    libclang-rt-14-dev util-linux procps jq systemd valgrind python3 openssl time

# ---- build ------------------------------------------------------------------------
BUILD=$SRC/build-asan
say "building (AddressSanitizer + UndefinedBehaviorSanitizer) in $BUILD"
cmake -S "$SRC" -B "$BUILD" -DCO_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build "$BUILD" -j"$(nproc)"

# ---- a throwaway PostgreSQL -------------------------------------------------------
WORK=$(mktemp -d /tmp/co-test.XXXXXX)
chmod 0755 "$WORK"
PGDIR=$WORK/pg
cleanup() {
    local rc=$?
    "$SRC/deploy/pg.sh" stop "$PGDIR" >/dev/null 2>&1 || true
    if [[ $KEEP -eq 0 ]]; then
        rm -rf "$WORK"
    else
        echo "kept $WORK"
    fi
    exit $rc
}
trap cleanup EXIT INT TERM
say "starting PostgreSQL 15 in $PGDIR"
CO_TEST_DB=$("$SRC/deploy/pg.sh" start "$PGDIR")
export CO_TEST_DB CO_PGDIR=$PGDIR CO_SOURCE_DIR=$SRC CO_BUILD=$BUILD
export CO_AGENT=$BUILD/creatoros-agent
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
echo "$CO_TEST_DB"

passed=0 failed=0 failures=()
record() { # record NAME RC
    if [[ $2 -eq 0 ]]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1)); failures+=("$1")
    fi
}

# ---- cmocka tests -----------------------------------------------------------------
say "ctest"
set +e
(cd "$BUILD" && ctest --output-on-failure --timeout 900 2>&1) | tee "$WORK/ctest.log"
rc=${PIPESTATUS[0]}
set -e
ctest_line=$(grep -E 'tests passed, [0-9]+ tests? failed out of [0-9]+' "$WORK/ctest.log" | tail -1)
total=$(sed -E 's/.* out of ([0-9]+).*/\1/' <<<"$ctest_line")
nfail=$(sed -E 's/.*passed, ([0-9]+) tests? failed.*/\1/' <<<"$ctest_line")
if [[ -z $ctest_line ]]; then
    record ctest 1
else
    passed=$((passed + total - nfail)); failed=$((failed + nfail))
    [[ $rc -eq 0 ]] || failures+=(ctest)
fi

# ---- shell-level suites (RLS, migrations, end-to-end, deploy) ----------------------
for t in "$SRC"/tests/sh/test_*.sh; do
    [[ -e $t ]] || continue
    name=$(basename "$t" .sh)
    say "$name"
    set +e
    bash "$t" 2>&1 | tee "$WORK/$name.log"
    rc=${PIPESTATUS[0]}
    set -e
    echo "$name: $([[ $rc -eq 0 ]] && echo PASS || echo "FAIL (exit $rc)")"
    # A suite that counts its assertions ("NAME: N passed, M failed") adds them; the others
    # count as one test each.
    counts=$(grep -E "^$name: [0-9]+ passed, [0-9]+ failed" "$WORK/$name.log" | tail -1 || true)
    if [[ -n $counts && $rc -eq 0 ]]; then
        passed=$((passed + $(sed -E 's/^[^:]*: ([0-9]+) passed.*/\1/' <<<"$counts")))
    else
        record "$name" $rc
    fi
done

# ---- fuzzing ----------------------------------------------------------------------
if [[ $FUZZ -eq 1 ]]; then
    say "fuzz_frontmatter for ${FUZZ_SECONDS}s"
    set +e
    CC=clang cmake -S "$SRC" -B "$SRC/build-fuzz" -DCO_FUZZ=ON -DCO_TESTS=OFF \
        -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null &&
        cmake --build "$SRC/build-fuzz" -j"$(nproc)" --target fuzz_frontmatter &&
        mkdir -p "$WORK/fuzz-corpus" &&
        "$SRC/build-fuzz/fuzz_frontmatter" -max_total_time="$FUZZ_SECONDS" \
            -timeout=10 -rss_limit_mb=2048 -max_len=70000 -print_final_stats=1 \
            "$WORK/fuzz-corpus" "$SRC/tests/fuzz/corpus" 2>&1 | tail -n 25
    rc=${PIPESTATUS[0]}
    set -e
    record fuzz_frontmatter $rc
fi

say "summary"
[[ $failed -eq 0 ]] || echo "failed: ${failures[*]}"
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
