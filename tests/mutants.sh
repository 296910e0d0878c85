#!/usr/bin/env bash
# mutants.sh -- break the code on purpose, one small mutation at a time, and check that the test
# written to catch each mutation fails. A test that stays green with its mutant in place proves
# nothing about the rule it claims to guard.
#
#   tests/mutants.sh [--list] [NAME...]
#
# The mutants are the table below: the file, the exact text replaced (it must occur exactly
# once in the file; it may span lines), its replacement, the test that must fail (a suite of
# tests/sh/ with the CO_<SUITE>_ONLY filter that selects its one scenario, or `ctest NAME`),
# and why. For each, on a scratch copy of the source (build-mutants/, a plain Debug build with
# the tests, compiled through ccache):
#
#   1. the replacement is applied; text that no longer occurs exactly once is a STALE mutant,
#      an error to fix in the table (the code moved on), never a pass;
#   2. the copy is rebuilt (the binary and the cmocka programs the table names; only what the
#      file touches is compiled again) and the test is run alone;
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
#      NAME                            FILE                  TEST (suite + filter, or ctest NAME)
#        replace: exact text (once in FILE)
#        with:    its replacement
#        why:     what the test proves
# The filter of a suite is CO_<SUITE>_ONLY="scenario" (tests/sh/lib.sh, lib_run): one scenario.

# -- links: a link in a directory component below the root is never followed (agent/scan.c) --
mutant links/parse                     agent/scan.c \
    "test_links.sh CO_LINKS_ONLY=links_parse_refuses_paths_through_links" \
    '    if (!openat2_missing) {' \
    '    return openat(dirfd, rel, flags | O_CLOEXEC | O_NOFOLLOW); if (!openat2_missing) {' \
    'a plain openat(O_NOFOLLOW) follows a link in a directory component: parse reads outside'

mutant links/backfill                  agent/scan.c \
    "test_links.sh CO_LINKS_ONLY=links_backfill_swapped_directory_not_followed" \
    '    if (!openat2_missing) {' \
    '    return openat(dirfd, rel, flags | O_CLOEXEC | O_NOFOLLOW); if (!openat2_missing) {' \
    'the same, caught by backfill: a directory exchanged for a link between listing and reading'

mutant links/watch                     agent/scan.c \
    "test_links.sh CO_LINKS_ONLY=links_watch_swapped_directory_not_followed" \
    '    if (!openat2_missing) {' \
    '    return openat(dirfd, rel, flags | O_CLOEXEC | O_NOFOLLOW); if (!openat2_missing) {' \
    'the same, caught by watch: a synced directory exchanged for a link is gone, not followed'

# -- hard links: refused while fs.protected_hardlinks is not 1 (agent/scan.c) --
mutant hardlinks/refusal               agent/scan.c \
    "test_hardening.sh CO_HARDENING_ONLY=hardening_hard_links_refused_when_unprotected" \
    '    if (reject_hardlinks > 0 && st.st_nlink > 1) {' \
    '    if (reject_hardlinks > 0 && st.st_nlink > 1 && 0) {' \
    'with fs.protected_hardlinks = 0 a hard link to another user'"'"'s file outside the tree is published'

# -- the upserts write only what changed: IS DISTINCT FROM (persist/statements.c) --
# Each mutant ORs the guard with the rest of its WHERE: the row is written whenever it is
# the course's own, changed or not.
mutant upsert-guard/lesson             persist/statements.c \
    "test_backfill.sh CO_BACKFILL_ONLY=backfill_rerun_writes_nothing" \
    '"         EXCLUDED.status, EXCLUDED.fidelity_score, NULL::timestamptz) "' \
    '"         EXCLUDED.status, EXCLUDED.fidelity_score, NULL::timestamptz) OR (c.project_id = EXCLUDED.project_id AND c.ai_generated) "' \
    'without IS DISTINCT FROM every backfill --force rewrites every lesson row (new xmin, updated_at)'

mutant upsert-guard/project            persist/statements.c \
    "test_backfill.sh CO_BACKFILL_ONLY=backfill_rerun_writes_nothing" \
    '"       coalesce(v.creator, p.creator_mind_id), v.persona, v.audience)"}' \
    '"       coalesce(v.creator, p.creator_mind_id), v.persona, v.audience) OR p.slug = $1"}' \
    'the same for the project rows'

mutant upsert-guard/outline            persist/statements.c \
    "test_backfill.sh CO_BACKFILL_ONLY=backfill_rerun_writes_nothing" \
    '"NULL::timestamptz)")},' \
    '"NULL::timestamptz) OR true")},' \
    'the same for the outline rows'

mutant upsert-guard/module             persist/statements.c \
    "test_backfill.sh CO_BACKFILL_ONLY=backfill_changes_follow_tree" \
    '"         EXCLUDED.sequence_order, NULL::timestamptz) "' \
    '"         EXCLUDED.sequence_order, NULL::timestamptz) OR (c.project_id = EXCLUDED.project_id AND c.ai_generated) "' \
    'the same for the module rows: a change that redoes the modules rewrites only the modules that changed'

mutant module-title-rule               persist/module_order.h \
    "test_watch.sh CO_WATCH_ONLY=watch_module_titles_follow_lessons" \
    'KEY(MODULE_KEY_LESSON, "lesson_no", ASC)' \
    'KEY(MODULE_KEY_LESSON, "lesson_no", DESC)' \
    'a module is titled by its LOWEST-numbered lesson that names one'

mutant module-title-rule/prediction    persist/module_order.c \
    "ctest test_module_order" \
    '#define MODULE_DIR_ASC 1' \
    '#define MODULE_DIR_ASC (-1)' \
    'the agent predicts the module titles by another order than the statement writes them: a rename is skipped'

# -- ownership (persist/statements.c): what the agent writes is the course's own --
mutant ownership/lesson-in-project     persist/statements.c \
    "test_existing_db.sh CO_EXISTING_DB_ONLY=existing_tenant_attacks_refused" \
    '"    fidelity_score = EXCLUDED.fidelity_score, deleted_at = NULL "
         "  WHERE c.project_id = EXCLUDED.project_id AND c.ai_generated "' \
    '"    fidelity_score = EXCLUDED.fidelity_score, deleted_at = NULL "
         "  WHERE (c.project_id = EXCLUDED.project_id OR true) AND c.ai_generated "' \
    'the lessons upsert overwrites a row whose slug is held in another project (a tenant'"'"'s)'

mutant ownership/claim-other-source    persist/statements.c \
    "test_backfill.sh CO_BACKFILL_ONLY=backfill_course_in_two_trees_first_source_owns" \
    '"SELECT coalesce((SELECT " SOURCE_REFUSAL " FROM k WHERE k.source <> $2), 0) "' \
    '"SELECT coalesce((SELECT " SOURCE_REFUSAL " FROM k WHERE false), 0) "' \
    'the course claim lets a second source write a course another source wrote first'

mutant ownership/owner-never-nulled    persist/statements.c \
    "test_existing_db.sh CO_EXISTING_DB_ONLY=existing_owner_never_nulled_without_creator" \
    '"  project_metadata = v.meta, creator_mind_id = coalesce(v.creator, p.creator_mind_id), "' \
    '"  project_metadata = v.meta, creator_mind_id = v.creator, "' \
    'a brief that names no creator any more nulls the project'"'"'s owner'

mutant adoption/same-id                persist/statements.c \
    "test_existing_db.sh CO_EXISTING_DB_ONLY=existing_adoption_rules" \
    '"UPDATE public.contents AS c SET slug = l.slug FROM l WHERE c.id = l.id "' \
    '"UPDATE public.contents AS c SET slug = l.slug FROM l WHERE c.id = l.id AND false "' \
    'the original persister'"'"'s lessons are not adopted (same id): each file gets a new row beside them'

mutant tags/by-name                    persist/statements.c \
    "test_existing_db.sh CO_EXISTING_DB_ONLY=existing_contract_rows_adoption_owners_tags" \
    '"  JOIN c ON c.slug = u.cs JOIN public.tags t ON t.name = u.tn"' \
    '"  JOIN c ON c.slug = u.cs JOIN public.tags t ON t.name = u.tn AND t.tag_type = '"'theme'"'"' \
    'a tag is its name: an existing tag of another type must be linked as it is'

mutant tags/dedupe                     parser/tags.c \
    "ctest test_parser" \
    '    if (n == 0 || strmap_find(&ts->seen, s, n) != NULL) {' \
    '    if (n == 0) {' \
    'a tag named twice in one front-matter is one tag'

# -- the database's answers (persist/pg.c) --
mutant schema/class-42-not-outage      persist/pg.c \
    "test_backfill.sh CO_BACKFILL_ONLY=backfill_schema_problem_not_outage" \
    '    if (strncmp(state, "42", 2) == 0 || strcmp(state, "3F000") == 0) {' \
    '    if (strncmp(state, "42", 2) == 0) { return PG_TRANSIENT; } if (strcmp(state, "3F000") == 0) {' \
    'a missing column (SQLSTATE class 42) taken for an outage: retried until --connect-retry, blamed on the network'

mutant pool/no-prepared-statement      persist/pg.c \
    "test_pool.sh CO_POOL_ONLY=pool_leaves_no_session_state" \
    '    for (int i = 0; i < STMT_COUNT && !pg->txn_pool; i++) {' \
    '    for (int i = 0; i < STMT_COUNT; i++) {' \
    'behind a transaction pooler (--pool-mode transaction) a prepared statement stays on a server connection others get'

# -- plans (agent/flow.c, persist/pg.c): made for the tree as it is --
mutant plans/replan-as-tree-grows      agent/flow.c \
    "test_scale.sh CO_SCALE_ONLY=scale_plans_fit_the_tree" \
    '    bool replan = on && e->state.nfstates >= 2 * e->plans_nfstates;' \
    '    bool replan = false;' \
    'plans made once over nearly empty tables, never made again, scan contents whole as the tree grows'

mutant plans/events-generic            agent/flow.c \
    "test_scale.sh CO_SCALE_ONLY=scale_plans_fit_the_tree" \
    '            pg_plan_generic(e->sync[i].pg, on);' \
    '            pg_plan_generic(e->sync[i].pg, false);' \
    'the batches of events re-plan every statement: a live create spends longer planning than running'

mutant plans/reconcile-custom          persist/pg.c \
    "test_scale.sh CO_SCALE_ONLY=scale_plans_fit_the_tree" \
    '    if (!pg->generic_plans || pg->txn_pool ||' \
    '    if (pg->txn_pool ||' \
    'a reconcile planned once over the tables it is filling: the failure plans made per value avoid'

mutant plans/per-value                 persist/pg.c \
    "test_scale.sh CO_SCALE_ONLY=scale_plans_fit_the_tree" \
    '    bool generic = !stmt_defs[stmt].per_value;' \
    '    bool generic = !stmt_defs[stmt].per_value || true;' \
    'a lookup by a key that is not unique, planned once over statistics that lag, scans whole tables'

# -- secrets: never printed, never in the process title --
mutant secrets/process-title           agent/main.c \
    "test_backfill.sh CO_BACKFILL_ONLY=backfill_secrets_blanked_every_form" \
    "            memset(at + spans[k].off, '*', spans[k].len);" \
    '            (void)at;' \
    'the password of --db stays in /proc/PID/cmdline for every local user to read'

mutant secrets/libpq-message           persist/pg.c \
    "test_backfill.sh CO_BACKFILL_ONLY=backfill_secrets_blanked_every_form" \
    '    strbuf_add_masked(&sb, m, (size_t)first_line(m), (const char *const *)pg->masks, pg->nmasks);' \
    '    strbuf_add_masked(&sb, m, (size_t)first_line(m), (const char *const *)pg->masks, 0);' \
    'libpq'"'"'s message, which quotes the URL, cut to length keeps half a password the log cannot recognise'

mutant secrets/log-writer              agent/log.c \
    "ctest test_cli" \
    '    if (secrets.n == 0) {' \
    '    if (true) {' \
    'the log writer prints a secret it was told to blank'

mutant rls/user-profiles               sql/0003_creatoros_rls.sql \
    "test_rls.sh CO_RLS_ONLY=rls_fresh_database_passes" \
    '    USING (id = auth.uid());' \
    '    USING (true);' \
    'a user reads every user_profiles row (and so which mind every other user is)'

# -- an empty tree is not a deleted tree (agent/reconcile.c, mass_delete) --
mutant mass-delete/empty-tree          agent/reconcile.c \
    "test_backfill.sh CO_BACKFILL_ONLY=backfill_empty_or_wrong_root_deletes_nothing" \
    '    if (!empty && !(removed > MASS_REMOVE_FEW && removed * 2 > recorded)) {' \
    '    if (!(removed > MASS_REMOVE_FEW && removed * 2 > recorded)) {' \
    'an empty tree (a volume not mounted) deletes a source of few files'

mutant mass-delete/most-of-it          agent/reconcile.c \
    "test_backfill.sh CO_BACKFILL_ONLY=backfill_empty_or_wrong_root_deletes_nothing" \
    '    if (!empty && !(removed > MASS_REMOVE_FEW && removed * 2 > recorded)) {' \
    '    if (!empty) {' \
    'a wrong --root deletes most of what the source recorded'

# -- the byte budget: a course is written in parts of SYNC_PART_BYTES (agent/batch.c) --
mutant byte-budget/part-split          agent/batch.c \
    "test_backfill.sh CO_BACKFILL_ONLY=backfill_course_in_parts_file_refused" \
    '    return p->held > 0 && p->held + (size_t)(size > 0 ? size : 0) > SYNC_PART_BYTES;' \
    '    return false;' \
    'a big course goes as one message of every file (toward the 1 GB limit), not in parts'

mutant byte-budget/file-above-part     agent/batch.c \
    "test_backfill.sh CO_BACKFILL_ONLY=backfill_file_above_one_part_refused" \
    '    if (limit > SYNC_PART_BYTES) {' \
    '    if (0) {' \
    'a file above one part is read and sent, however big --max-file-bytes lets it be'

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
# What the selected tests need: the binary, and the cmocka programs the ctest specs name.
TARGETS=(creatoros-agent)
for i in "${SEL[@]}"; do
    read -r -a w <<<"${M_TEST[i]}"
    [[ ${w[0]} != ctest || " ${TARGETS[*]} " == *" ${w[1]} "* ]] || TARGETS+=("${w[1]}")
done
build() { # build LOG: (re)build what the selected tests need in the scratch copy
    cmake --build "$BUILD" -j"$(nproc)" --target "${TARGETS[@]}" >"$1" 2>&1
}
say "== building the unmutated copy in $BUILD (${TARGETS[*]})"
if ! cmake -S "$COPY" -B "$BUILD" -DCMAKE_BUILD_TYPE=Debug -DCO_SANITIZE=OFF -DBUILD_TESTING=ON \
    "${LAUNCHER[@]}" >"$SCRATCH/configure.log" 2>&1 || ! build "$SCRATCH/build.log"; then
    tail -30 "$SCRATCH/configure.log" "$SCRATCH/build.log" 2>/dev/null
    echo "mutants.sh: the unmutated copy does not build" >&2
    exit 1
fi

# ---- running one test -------------------------------------------------------------------------
export CO_SOURCE_DIR=$COPY CO_BUILD=$BUILD CO_AGENT=$BUILD/creatoros-agent CO_TEST_DB CO_PGDIR
# filters select the one test; the strict mode of deploy/test.sh (every check must run) is for
# the suites' own run: here the baseline checks that the selected test runs and skips nothing
export CO_TEST_STRICT=0
# a mutant is killed by the first failure: the scenario need not wait out its other deadlines
export CO_TEST_FAIL_FAST=1
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
        grep -E '^(FAIL|SKIP)' "$log" | head -8 | sed 's/^/        /'
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
            why=$(grep -m1 -E '^FAIL \[|^not ok|\[  FAILED  \]|Failed' "$log" | cut -c1-150)
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
