#!/usr/bin/env bash
# test.sh -- the project's whole test suite, from a fresh Debian 12 machine, as root.
#
# Checks that the repository stands alone (no machine path, nothing beside it), installs what
# is missing, builds the sanitizer build (tests on, warnings as errors), starts a throwaway
# PostgreSQL 15 (unix socket in a temp dir, a free port on 127.0.0.1), runs the cmocka
# tests and the build checks (ctest), the shell-level suites in tests/sh/ (among them the
# .deb, installed and purged), the mutants (tests/mutants.sh: each must be caught) and a
# bounded fuzz run, stops the server (on failure too) and exits non-zero on any failure.
#
#   deploy/test.sh [--no-fuzz] [--fuzz-seconds N] [--keep]
#
# Every check runs: the suites run in strict mode (CO_TEST_STRICT=1), where a check skipped
# although the machine has what it needs (root, a writable /proc/sys, setpriv, ...) fails,
# and so does a suite that ran no check; the CO_*_ONLY scenario filters of local runs are
# refused. The summary line counts passed, failed and skipped checks.
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

# Scenario filters (CO_WATCH_ONLY, CO_HARDEN_ONLY, CO_BACKFILL_ONLY, ...) are for local runs
# of one suite: the whole suite is run here, every check of it.
filters=$(env | sed -nE 's/^(CO_[A-Z0-9_]*_ONLY)=.+/\1/p' | tr '\n' ' ')
if [[ -n $filters ]]; then
    echo "test.sh: $filters: scenario filters are for local runs; unset them (every check runs here)" >&2
    exit 2
fi
export CO_TEST_STRICT=1
# the skip accounting of the suites (`skip`, `have_capability`), for the cmocka tests' skips
# shellcheck source=tests/sh/lib.sh
. "$SRC/tests/sh/lib.sh"

say() { printf '\n== %s\n' "$*"; }

# ---- packages (only what is missing) ------------------------------------------------
# shellcheck source=deploy/packages.sh
. "$SRC/deploy/packages.sh"
ensure_packages build-essential cmake pkg-config libpq-dev libyaml-dev libcjson-dev \
    libcmocka-dev postgresql-15 postgresql-client-15 postgresql-15-pgtap clang \
    libclang-rt-14-dev util-linux procps jq systemd valgrind python3 openssl ccache \
    binutils dpkg-dev file man-db bsdutils bsdextrautils curl prometheus-node-exporter \
    pgbouncer python3-psycopg2 time

passed=0 failed=0 skipped=0 failures=() skips=()
record() { # record NAME RC
    if [[ $2 -eq 0 ]]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1)); failures+=("$1")
    fi
}
# record_fail NAME: one more failure, named (a count of 0 failures does not hide a bad exit)
record_fail() {
    failed=$((failed + 1)); failures+=("$1")
}

# ---- the repository stands alone ----------------------------------------------------------
say "no machine path, nothing beside the repository"
set +e
bash "$SRC/tests/sh/check_paths.sh" "$SRC"
record check_paths $?
set -e

# ---- build ------------------------------------------------------------------------
BUILD=$SRC/build-asan
say "building (AddressSanitizer + UndefinedBehaviorSanitizer) in $BUILD"
cmake -S "$SRC" -B "$BUILD" -DCO_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug -DBUILD_TESTING=ON \
    -DCO_WERROR=ON >/dev/null
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

# ---- cmocka tests -----------------------------------------------------------------
say "ctest"
set +e
(cd "$BUILD" && ctest --output-on-failure --timeout 900 2>&1) | tee "$WORK/ctest.log"
rc=${PIPESTATUS[0]}
set -e
ctest_line=$(grep -E 'tests passed, [0-9]+ tests? failed out of [0-9]+' "$WORK/ctest.log" | tail -1 || true)
if [[ -z $ctest_line ]]; then
    record_fail "ctest (no result line: exit $rc)"
else
    total=$(sed -E 's/.* out of ([0-9]+).*/\1/' <<<"$ctest_line")
    nfail=$(sed -E 's/.*passed, ([0-9]+) tests? failed.*/\1/' <<<"$ctest_line")
    passed=$((passed + total - nfail)); failed=$((failed + nfail))
    [[ $nfail -eq 0 ]] || failures+=("ctest ($nfail failed)")
    # ctest's exit status counts too: it fails for more than failed tests
    [[ $rc -eq 0 || $nfail -gt 0 ]] || record_fail "ctest (exit $rc)"
    [[ $total -gt 0 ]] || record_fail "ctest (no test ran)"
fi
# Skipped tests, by ctest or inside a cmocka program (its own output is in LastTest.log). A
# cmocka test that cannot run says "SKIP NAME: REASON (capability CAP)" (tests/testutil.h,
# TU_SKIP): it is accounted as the shell suites' skips are (tests/sh/lib.sh, `skip`): a
# failure unless this machine lacks CAP. Any other skip is a failure.
n=$( (grep -hE '\*\*\*Skipped|\*\*\*Not Run' "$WORK/ctest.log" || true) | wc -l)
m=$( (sed -nE 's/^\[  SKIPPED \] ([0-9]+) test\(s\), listed below:.*/\1/p' \
    "$BUILD/Testing/Temporary/LastTest.log" 2>/dev/null || true) | awk '{ s += $1 } END { print s + 0 }')
said=0
while IFS=$'\t' read -r sname sreason scap; do
    [[ -n $sname ]] || continue
    said=$((said + 1))
    skip "ctest: $sname" "$sreason" "$scap"
done < <(sed -nE 's/^SKIP ([^:]+): (.*) \(capability ([a-z_]+)\)$/\1\t\2\t\3/p' \
    "$BUILD/Testing/Temporary/LastTest.log" 2>/dev/null | sort -u)
if [[ $((n + m)) -gt 0 ]]; then
    skipped=$((skipped + n + m)); skips+=("ctest: $((n + m))")
    grep -hE '^\[  SKIPPED \] [^0-9]' "$BUILD/Testing/Temporary/LastTest.log" 2>/dev/null | sort -u || true
fi
[[ $((n + m - said)) -le 0 ]] || record_fail "ctest ($((n + m - said)) skipped without naming the capability they need)"
[[ $LIB_FAIL -eq 0 ]] || record_fail "ctest ($LIB_FAIL skips on a machine that has what they need)"

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
    # Each suite ends with "NAME: N passed, M failed, K skipped": its counts are added. A suite
    # that prints no such line, ran no check, or exits non-zero whatever its counts, fails.
    counts=$(grep -E "^$name: [0-9]+ passed, [0-9]+ failed, [0-9]+ skipped" "$WORK/$name.log" | tail -1 || true)
    if [[ -z $counts ]]; then
        record_fail "$name (no summary line; exit $rc)"
        continue
    fi
    read -r p f k < <(sed -E 's/^[^:]*: ([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped.*/\1 \2 \3/' <<<"$counts")
    passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + k))
    [[ $k -eq 0 ]] || skips+=("$name: $k")
    if [[ $f -gt 0 ]]; then
        failures+=("$name ($f failed)")
    elif [[ $rc -ne 0 ]]; then
        record_fail "$name (exit $rc)"
    fi
    [[ $((p + f)) -gt 0 ]] || record_fail "$name (ran no check)"
done

# ---- mutants: the code broken on purpose, each time the test meant for it must fail --------
say "mutants"
set +e
bash "$SRC/tests/mutants.sh" 2>&1 | tee "$WORK/mutants.log"
rc=${PIPESTATUS[0]}
set -e
counts=$(grep -E '^mutants: [0-9]+ killed, [0-9]+ survived, [0-9]+ errors' "$WORK/mutants.log" | tail -1 || true)
if [[ -z $counts ]]; then
    record_fail "mutants (no summary line; exit $rc)"
else
    read -r k sv er < <(sed -E 's/^mutants: ([0-9]+) killed, ([0-9]+) survived, ([0-9]+) errors.*/\1 \2 \3/' <<<"$counts")
    passed=$((passed + k)); failed=$((failed + sv + er))
    [[ $((sv + er)) -eq 0 ]] || failures+=("mutants ($sv survived, $er errors)")
    [[ $rc -eq 0 || $((sv + er)) -gt 0 ]] || record_fail "mutants (exit $rc)"
    [[ $k -gt 0 ]] || record_fail "mutants (none killed)"
fi

# ---- fuzzing ----------------------------------------------------------------------
if [[ $FUZZ -eq 1 ]]; then
    say "fuzz_frontmatter for ${FUZZ_SECONDS}s"
    set +e
    CC=clang cmake -S "$SRC" -B "$SRC/build-fuzz" -DCO_FUZZ=ON -DBUILD_TESTING=OFF -DCO_WERROR=ON \
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
[[ ${#skips[@]} -eq 0 ]] || echo "skipped: ${skips[*]}"
[[ ${#failures[@]} -eq 0 ]] || echo "failed: ${failures[*]}"
echo "$passed passed, $failed failed, $skipped skipped"
[[ $failed -eq 0 && ${#failures[@]} -eq 0 ]]
