#!/usr/bin/env bash
# mutants.sh -- break the code on purpose, one small mutation at a time, and check that the test
# written to catch each mutation fails. A test that stays green with its mutant in place proves
# nothing about the rule it claims to guard.
#
#   tests/mutants.sh [--list] [NAME...]
#
# The mutants are the table below: the file, the exact text replaced (it must occur exactly
# once in the file), its replacement, the test that must fail (a suite of tests/sh/, with the
# CO_*_ONLY filter that selects the one test, or `ctest NAME`), and why. For each, on a scratch
# copy of the source (build-mutants/, a plain Debug build, compiled through ccache):
#
#   1. the replacement is applied; text that no longer occurs exactly once is a STALE mutant,
#      an error to fix in the table (the code moved on), never a pass;
#   2. the copy is rebuilt (only what the file touches) and the test is run alone;
#   3. the test failing kills the mutant; the test passing is a SURVIVOR, an error.
#
# Before any mutant, each test runs once on the unmutated copy and must pass, with at least
# one check and no skip: a test that fails anyway, or skips, cannot tell a mutant apart.
# Exits non-zero on any survivor, stale mutant, mutant that does not build, or failing
# baseline. Needs what deploy/test.sh exports: CO_TEST_DB, CO_PGDIR (the shared cluster).
# CO_MUTANTS_DIR overrides the scratch directory; CO_MUTANTS_TIMEOUT (600) bounds each run.
set -uo pipefail

SRC=${CO_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
SCRATCH=${CO_MUTANTS_DIR:-$SRC/build-mutants}
TIMEOUT=${CO_MUTANTS_TIMEOUT:-600}
PY=/usr/bin/python3

M_NAME=() M_FILE=() M_TEST=() M_FROM=() M_TO=() M_WHY=()
# mutant NAME FILE TEST FROM TO WHY
mutant() {
    M_NAME+=("$1") M_FILE+=("$2") M_TEST+=("$3") M_FROM+=("$4") M_TO+=("$5") M_WHY+=("$6")
}

# ==== the mutants ==============================================================================
#      NAME                      FILE                    TEST (suite + filter, or ctest NAME)
#        replace: exact text (once in FILE)
#        with:    its replacement
#        why:     what the test proves

mutant open-beneath/parse       agent/scan.c            "test_links.sh CO_LINKS_ONLY=t_parse" \
    '    if (!openat2_missing) {' \
    '    return openat(dirfd, rel, flags | O_CLOEXEC | O_NOFOLLOW); if (!openat2_missing) {' \
    'a plain openat(O_NOFOLLOW) follows a link in a directory component: parse reads outside'

mutant open-beneath/backfill    agent/scan.c            "test_links.sh CO_LINKS_ONLY=t_backfill" \
    '    if (!openat2_missing) {' \
    '    return openat(dirfd, rel, flags | O_CLOEXEC | O_NOFOLLOW); if (!openat2_missing) {' \
    'the same, caught by backfill: a directory exchanged for a link between listing and reading'

mutant open-beneath/watch       agent/scan.c            "test_links.sh CO_LINKS_ONLY=t_watch" \
    '    if (!openat2_missing) {' \
    '    return openat(dirfd, rel, flags | O_CLOEXEC | O_NOFOLLOW); if (!openat2_missing) {' \
    'the same, caught by watch: a synced directory exchanged for a link is gone, not followed'

mutant lesson-upsert-guard      persist/statements.c    "test_backfill.sh CO_BACKFILL_ONLY=t_rerun" \
    '"WHERE (c.content_type, c.title, c.content, c.metadata, c.file_path, "' \
    '"WHERE true OR (c.content_type, c.title, c.content, c.metadata, c.file_path, "' \
    'without IS DISTINCT FROM every backfill --force rewrites every lesson row (new xmin, updated_at)'

mutant project-upsert-guard     persist/statements.c    "test_backfill.sh CO_BACKFILL_ONLY=t_rerun" \
    '"WHERE (p.name, p.description, p.project_type, p.status = '"'archived'"', "' \
    '"WHERE true OR (p.name, p.description, p.project_type, p.status = '"'archived'"', "' \
    'the same for the project rows'

mutant outline-upsert-guard     persist/statements.c    "test_backfill.sh CO_BACKFILL_ONLY=t_rerun" \
    '"WHERE (c.content_type, c.title, c.content, c.metadata, c.file_path, c.project_id, "' \
    '"WHERE true OR (c.content_type, c.title, c.content, c.metadata, c.file_path, c.project_id, "' \
    'the same for the outline rows'

mutant module-upsert-guard      persist/statements.c    "test_backfill.sh CO_BACKFILL_ONLY=t_rerun" \
    '"  WHERE (c.content_type, c.title, c.parent_content_id, c.sequence_order, "' \
    '"  WHERE true OR (c.content_type, c.title, c.parent_content_id, c.sequence_order, "' \
    'the same for the module rows'

mutant module-title-rule        persist/statements.c    "test_watch.sh CO_WATCH_ONLY=s16" \
    'lesson_no NULLS LAST, path COLLATE' \
    'lesson_no DESC NULLS LAST, path COLLATE' \
    'a module is titled by its LOWEST-numbered lesson that names one'

mutant plans-replan             agent/reconcile.c       "test_scale.sh" \
    '    bool replan = on && e->nfstates >= 2 * e->plans_nfstates;' \
    '    bool replan = false;' \
    'plans made once over nearly empty tables, never made again, scan contents whole as the tree grows'

mutant plans-events-generic     agent/reconcile.c       "test_scale.sh" \
    '            pg_plan_generic(e->sync[i].pg, on);' \
    '            pg_plan_generic(e->sync[i].pg, false);' \
    'the batches of events re-plan every statement: a live create spends longer planning than running'

mutant plans-reconcile-custom   persist/pg.c            "test_scale.sh" \
    '    if (!pg->generic_plans || pg->txn_pool ||' \
    '    if (pg->txn_pool ||' \
    'a reconcile planned once over the tables it is filling: the failure plans made per value avoid'

mutant plans-per-value          persist/pg.c            "test_scale.sh" \
    '    bool generic = !stmt_defs[stmt].per_value;' \
    '    bool generic = !stmt_defs[stmt].per_value || true;' \
    'a lookup by a key that is not unique, planned once over statistics that lag, scans whole tables'

mutant password-title           agent/main.c            "test_hardening.sh CO_HARDEN_ONLY=E" \
    "            memset(argv[i] + off, '*', len);" \
    '            (void)0;' \
    'the password of --db stays in /proc/PID/cmdline for every local user to read'

mutant rls-user-profiles        sql/0002_rls.sql        "test_rls.sh" \
    '    USING (id = auth.uid());' \
    '    USING (true);' \
    'a user reads every user_profiles row (and so which mind every other user is)'

# ==== the machinery ============================================================================

say() { printf '%s\n' "$*"; }
now_s() { date +%s; }
T0=$(now_s)

LIST=0 PICK=()
for a in "$@"; do
    case $a in
    --list) LIST=1 ;;
    -h | --help)
        sed -n '2,24p' "$0"
        exit 0
        ;;
    -*)
        echo "mutants.sh: unknown option $a" >&2
        exit 2
        ;;
    *) PICK+=("$a") ;;
    esac
done
if [[ $LIST -eq 1 ]]; then
    for i in "${!M_NAME[@]}"; do
        printf '%-24s %-22s %-42s %s\n' "${M_NAME[i]}" "${M_FILE[i]}" "${M_TEST[i]}" "${M_WHY[i]}"
    done
    exit 0
fi
for a in ${PICK[@]+"${PICK[@]}"}; do
    if [[ " ${M_NAME[*]} " != *" $a "* ]]; then
        echo "mutants.sh: no mutant named $a (--list shows them)" >&2
        exit 2
    fi
done
SEL=()
for i in "${!M_NAME[@]}"; do
    if [[ ${#PICK[@]} -eq 0 || " ${PICK[*]} " == *" ${M_NAME[i]} "* ]]; then
        SEL+=("$i")
    fi
done
for v in CO_TEST_DB CO_PGDIR; do
    if [[ -z ${!v:-} ]]; then
        echo "mutants.sh: $v is not set (deploy/test.sh sets it)" >&2
        exit 2
    fi
done

# ---- the scratch copy -------------------------------------------------------------------------
COPY=$SCRATCH/src
BUILD=$SCRATCH/build
case $SCRATCH in
/ | "$SRC" | "") echo "mutants.sh: refusing scratch directory '$SCRATCH'" >&2; exit 2 ;;
esac
rm -rf "$SCRATCH"
mkdir -p "$COPY"
chmod 0755 "$SCRATCH" "$COPY"
# The working tree as it is (uncommitted files included), without builds and VCS data.
shopt -s dotglob nullglob
for e in "$SRC"/*; do
    case ${e##*/} in
    .git | build* | .local | outputs) continue ;;
    esac
    cp -a "$e" "$COPY/"
done
shopt -u dotglob nullglob

# ccache (deploy/test.sh installs it) makes a rebuild after a one-file mutation cost one compile;
# paths are taken relative to the scratch directory so that runs share the cache.
LAUNCHER=()
if command -v ccache >/dev/null; then
    LAUNCHER=(-DCMAKE_C_COMPILER_LAUNCHER=ccache)
    export CCACHE_BASEDIR=$SCRATCH CCACHE_NOHASHDIR=true
else
    say "mutants.sh: ccache is not installed: each mutant is rebuilt without a cache"
fi
build() { # build LOG: (re)build the scratch copy
    cmake --build "$BUILD" -j"$(nproc)" >"$1" 2>&1
}
say "== building the unmutated copy in $BUILD"
if ! cmake -S "$COPY" -B "$BUILD" -DCMAKE_BUILD_TYPE=Debug -DCO_SANITIZE=OFF "${LAUNCHER[@]}" \
    >"$SCRATCH/configure.log" 2>&1 || ! build "$SCRATCH/build.log"; then
    tail -30 "$SCRATCH/configure.log" "$SCRATCH/build.log" 2>/dev/null
    echo "mutants.sh: the unmutated copy does not build" >&2
    exit 1
fi

# ---- running one test -------------------------------------------------------------------------
export CO_SOURCE_DIR=$COPY CO_BUILD=$BUILD CO_AGENT=$BUILD/creatoros-agent CO_TEST_DB CO_PGDIR
# filters select the one test; the strict mode of deploy/test.sh (every check must run) is for
# the suites' own run: here the baseline checks that the selected test runs and skips nothing
export CO_TEST_STRICT=0
unset ASAN_OPTIONS UBSAN_OPTIONS

# run_test SPEC LOG: run the test of SPEC ("suite.sh VAR=VALUE..." or "ctest NAME"); its status.
run_test() {
    local -a words
    read -r -a words <<<"$1"
    if [[ ${words[0]} == ctest ]]; then
        (cd "$BUILD" && timeout "$TIMEOUT" ctest --output-on-failure -R "^${words[1]}\$") >"$2" 2>&1
    else
        env "${words[@]:1}" timeout "$TIMEOUT" bash "$COPY/tests/sh/${words[0]}" >"$2" 2>&1
    fi
}

# counts LOG SPEC: "passed failed skipped" from the suite's summary line (ctest: its own).
counts() {
    local suite
    read -r suite _ <<<"$2"
    if [[ $suite == ctest ]]; then
        sed -nE 's/.*tests passed, ([0-9]+) tests? failed out of ([0-9]+).*/\2 \1/p' "$1" |
            awk '{ print $1 - $2, $2, 0 }' | tail -1
    else
        sed -nE "s/^${suite%.sh}: ([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped.*/\1 \2 \3/p" "$1" | tail -1
    fi
}

# apply FILE FROM TO: replace the one occurrence of FROM in FILE; 3 when it is not there once.
apply() {
    "$PY" - "$1" "$2" "$3" <<'PY'
import sys
path, old, new = sys.argv[1:4]
text = open(path, encoding="utf-8").read()
n = text.count(old)
if n != 1:
    print(f"the text occurs {n} times in {path} (must be exactly once)")
    sys.exit(3)
open(path, "w", encoding="utf-8").write(text.replace(old, new))
PY
}

ERRORS=() KILLED=() SURVIVED=()
declare -A STALE=()

# Every mutant's text must be where the table says before anything runs: stale ones fail now.
for i in "${SEL[@]}"; do
    f=$COPY/${M_FILE[i]}
    if [[ ! -f $f ]]; then
        STALE[$i]="${M_FILE[i]} does not exist"
    else
        n=$("$PY" -c 'import sys; print(open(sys.argv[1], encoding="utf-8").read().count(sys.argv[2]))' "$f" "${M_FROM[i]}")
        [[ $n == 1 ]] || STALE[$i]="its text occurs $n times in ${M_FILE[i]} (must be exactly once)"
    fi
    if [[ -n ${STALE[$i]:-} ]]; then
        ERRORS+=("${M_NAME[i]}: STALE: ${STALE[$i]}: update the table to the code")
        say "   STALE     ${M_NAME[i]}: ${STALE[$i]}"
    fi
done

# ---- baselines: each test passes on the unmutated copy, runs checks, skips none ---------------
declare -A BASE_OK=()
NBASE=0
say "== baselines (each test on the unmutated copy)"
for i in "${SEL[@]}"; do
    spec=${M_TEST[i]}
    [[ -z ${STALE[$i]:-} && -z ${BASE_OK[$spec]+x} ]] || continue
    NBASE=$((NBASE + 1))
    log=$SCRATCH/baseline-$NBASE.log
    t=$(now_s)
    run_test "$spec" "$log"
    rc=$?
    read -r p f s <<<"$(counts "$log" "$spec")"
    if [[ $rc -eq 0 && ${p:-0} -gt 0 && ${s:-1} -eq 0 ]]; then
        BASE_OK[$spec]=1
        say "   ok   $spec (${p} checks, $(($(now_s) - t)) s)"
    else
        BASE_OK[$spec]=0
        say "   FAIL $spec (exit $rc; passed ${p:-?}, failed ${f:-?}, skipped ${s:-?}): log $log"
        grep -E '^(FAIL|SKIP)|NOT OK' "$log" | head -8 | sed 's/^/        /'
    fi
done

# ---- the mutants ------------------------------------------------------------------------------
say "== mutants"
for i in "${SEL[@]}"; do
    name=${M_NAME[i]} file=${M_FILE[i]} spec=${M_TEST[i]}
    log=$SCRATCH/mutant-${name//\//-}.log
    [[ -z ${STALE[$i]:-} ]] || continue
    if [[ ${BASE_OK[$spec]:-0} != 1 ]]; then
        ERRORS+=("$name: not judged: its test ($spec) does not pass cleanly without the mutant")
        continue
    fi
    orig=$SCRATCH/orig/$file
    mkdir -p "$(dirname "$orig")"
    cp -p "$COPY/$file" "$orig"
    if ! out=$(apply "$COPY/$file" "${M_FROM[i]}" "${M_TO[i]}"); then
        ERRORS+=("$name: STALE: $out")
        continue
    fi
    t=$(now_s)
    if ! build "$log.build"; then
        ERRORS+=("$name: the mutated code does not build (fix the replacement): $(grep -m1 -E 'error' "$log.build")")
    else
        run_test "$spec" "$log"
        rc=$?
        if [[ $rc -ne 0 ]]; then
            KILLED+=("$name")
            why=$(grep -m1 -E '^FAIL|NOT OK|^not ok' "$log" | cut -c1-150)
            say "   killed    $name ($spec: exit $rc, $(($(now_s) - t)) s) ${why:+-- $why}"
        else
            SURVIVED+=("$name")
            say "   SURVIVED  $name ($spec passed with the mutant; $(($(now_s) - t)) s): ${M_WHY[i]}"
        fi
    fi
    # back to the unmutated file, with a new mtime so that the next build recompiles it (a
    # ccache hit)
    cp "$orig" "$COPY/$file"
done
# leave the copy built as it was
build "$SCRATCH/rebuild.log" || ERRORS+=("the unmutated copy no longer builds after the mutants")

say "== summary"
for e in ${ERRORS[@]+"${ERRORS[@]}"}; do say "ERROR $e"; done
for s in ${SURVIVED[@]+"${SURVIVED[@]}"}; do say "SURVIVED $s"; done
say "mutants: ${#KILLED[@]} killed, ${#SURVIVED[@]} survived, ${#ERRORS[@]} errors, of ${#SEL[@]} ($(($(now_s) - T0)) s)"
[[ ${#SURVIVED[@]} -eq 0 && ${#ERRORS[@]} -eq 0 ]]
