#!/usr/bin/env bash
# test_scale.sh -- a recorded tree of thousands of files: the agent reads its file state back
# in one statement whose rows arrive one at a time (persist/filestate.c, pg_exec_rows), after
# the transaction's own timeout statement behind a transaction pooler; every file recorded
# must be known, whichever way it connects.
#
#   scale_rerun_writes_nothing                  backfill of 5,050 files, then re-runs (direct,
#                                               and --pool-mode transaction): nothing written,
#                                               every file unchanged
#   scale_watch_knows_every_file                watch on the recorded tree: ready with
#                                               nothing synced; an edit of the first and of
#                                               the last file recorded syncs
#   scale_plans_fit_the_tree                    the daemon's plans (PostgreSQL's auto_explain,
#       in the cluster's log): the start reconcile plans each statement for its values; the
#       batches of events use plans made once (generic) for the statements that look rows up
#       by unique keys, made again as the tree grows, so that a plan made over nearly empty
#       tables never scans contents whole once the tree has grown (autovacuum off on the
#       tables: nothing but the agent re-plans), and plan the others (tag links) for their
#       values
#
# Needs CO_TEST_DB, CO_AGENT, CO_SOURCE_DIR (deploy/test.sh exports them); S3 also CO_PGDIR
# (the cluster's log).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/sh/lib.sh
. "$HERE/lib.sh"
# shellcheck source=tests/sh/fleet_lib.sh
. "$HERE/fleet_lib.sh"
lib_init test_scale CO_TEST_DB CO_AGENT jq

T=$WORK/tree
fl_make_tree "$T" big 50 4 25
FILES=$(find "$T" -name '*.md' | wc -l)

# scale_db: the database with the tree recorded (made once, by the first scenario that needs
# it); sets URL.
SCALE_URL=
scale_db() {
    if [[ -z $SCALE_URL ]]; then
        new_db scale || return 1
        SCALE_URL=$URL
        agent backfill --root "$T" --db "$URL" --source big --log-format text
        assert_eq "the backfill exits 0" 0 "$AG_RC"
        assert_match "it wrote every file" "^$FILES files: $FILES written" "$AG_OUT"
    fi
    URL=$SCALE_URL
}

scale_rerun_writes_nothing() {
    test_begin "a re-run over a recorded tree of thousands of files writes nothing"
    scale_db || return
    assert_eq "every file is recorded" "$FILES" \
        "$(qcmp "$URL" "SELECT count(*) FROM creatoros_agent.file_state WHERE source = 'big'")"
    local mode
    for mode in session transaction; do
        agent backfill --root "$T" --db "$URL" --source big --log-format text --pool-mode "$mode"
        assert_eq "the re-run ($mode) exits 0" 0 "$AG_RC"
        assert_match "the re-run ($mode) writes nothing" \
            "^$FILES files: 0 written, $FILES unchanged, 0 deleted, 0 rejected; 0 courses archived; 0 rows changed" \
            "$AG_OUT"
    done
}

scale_watch_knows_every_file() {
    test_begin "watch on the recorded tree: nothing to sync at start; edits of the first and last file sync"
    scale_db || return
    local first last
    start_watch w "$T" --source big
    wait_ready 120 || return
    check "nothing synced at start" log_has "$AG_LOG" '.msg == "ready" and .synced == "0"'
    # the first and the last path recorded
    first=$(q "$URL" "SELECT path FROM creatoros_agent.file_state WHERE source = 'big' AND kind = 'lesson' ORDER BY path LIMIT 1")
    last=$(q "$URL" "SELECT path FROM creatoros_agent.file_state WHERE source = 'big' AND kind = 'lesson' ORDER BY path DESC LIMIT 1")
    fl_lesson "$T/$first" "edited first" 1
    fl_lesson "$T/$last" "edited last" 1
    expect_sql "both edits are synced" 60 \
        "SELECT count(*) FROM contents WHERE title IN ('edited first', 'edited last')" 2
    assert_eq "exactly the two edited files were synced" 2 "$(log_count "$AG_LOG" '.msg == "synced"')"
    stop_checked watch
}

# plans_of OFFSET PIDS: the plans auto_explain logged from byte OFFSET of the cluster's log by
# the backends PIDS (a regexp: 123|456), each plan's lines as logged.
plans_of() {
    tail -c +"$(($1 + 1))" "$CO_PGDIR/postgres.log" | awk -v pids="^($2)\$" '
        /^[^[:space:]]/ { keep = 0; if (match($0, /\[[0-9]+\]/)) keep = substr($0, RSTART + 1, RLENGTH - 2) ~ pids }
        keep'
}
# plan_of PLANS TEXT: the plans (blank-line separated) whose query text holds TEXT.
plan_of() {
    awk -v t="$2" '/LOG:  duration: .* plan:/ { if (p != "" && index(p, t)) print p; p = "" } { p = p $0 "\n" }
        END { if (p != "" && index(p, t)) print p }' <<<"$1"
}
log_size() { stat -c %s "$CO_PGDIR/postgres.log"; }
state_count() { # state_count N: the source recorded N files
    [[ $(q "$URL" "SELECT count(*) FROM creatoros_agent.file_state WHERE source = 'grow'") == "$1" ]]
}

scale_plans_fit_the_tree() {
    test_begin "plans made for the tree as it is: per value in a reconcile, once per growth for events"
    require_capability pgdir scale_plans_fit_the_tree || return
    local src=$WORK/plans-src T3=$WORK/grow c t first last expect=0 off pids all claim upsert tags
    local -a courses
    /usr/bin/python3 "$CO_SOURCE_DIR/bench/gen_corpus.py" "$src" --courses 12 --modules 10 \
        --lessons 10 --body-bytes 4096 --seed 5 >/dev/null || { fail "gen_corpus.py failed"; return; }
    new_db plans || return
    q "$CO_TEST_DB" "ALTER DATABASE \"$DB\" SET session_preload_libraries = 'auto_explain'" >/dev/null
    q "$CO_TEST_DB" "ALTER DATABASE \"$DB\" SET auto_explain.log_min_duration = 0" >/dev/null
    for t in contents content_tags content_minds content_projects tags minds \
        creatoros_agent.file_state creatoros_agent.courses; do
        q "$URL" "ALTER TABLE $t SET (autovacuum_enabled = false)" >/dev/null
    done
    if ! q "$URL" "SHOW auto_explain.log_min_duration" >/dev/null 2>&1; then
        fail "PostgreSQL's auto_explain (postgresql-15) cannot be loaded"
        return
    fi
    mapfile -t courses < <(ls "$src")
    mkdir -p "$T3"
    first=${courses[0]}
    cp -r "$src/$first" "$T3/"
    expect=$(find "$T3" -name '*.md' | wc -l)
    off=$(log_size)
    start_watch g "$T3" --source grow
    wait_ready 120 || return
    check "the first course is synced" wait_until 60 state_count "$expect"
    pids=$(q "$URL" "SELECT string_agg(pid::text, '|') FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'creatoros-agent'")
    all=$(plans_of "$off" "$pids")
    claim=$(plan_of "$all" "INSERT INTO creatoros_agent.courses")
    assert_contains "the start reconcile's claim is planned for its course" \
        "(course = '$first'::text)" "$claim"
    # the tree grows by events, course by course, to 12 times its size
    for c in "${courses[@]:1}"; do
        cp -r "$src/$c" "$T3/"
        expect=$(find "$T3" -name '*.md' | wc -l)
        wait_until 60 state_count "$expect" || { fail "course $c was not synced"; break; }
    done
    last=${courses[-1]}
    off=$(log_size)
    fl_lesson "$T3/$last/lessons/.probe.md.tmp" "plan probe" 1
    mv "$T3/$last/lessons/.probe.md.tmp" "$T3/$last/lessons/99.1-plan-probe.md"
    expect_sql "the last lesson is synced" 60 "SELECT count(*) FROM contents WHERE title = 'plan probe'" 1
    all=$(plans_of "$off" "$pids")
    upsert=$(plan_of "$all" "INSERT INTO public.contents AS c")
    claim=$(plan_of "$all" "INSERT INTO creatoros_agent.courses")
    check "the last batch's plans are logged" test -n "$upsert"
    assert_contains "an event's claim uses the plan made once" "(course = \$1)" "$claim"
    # a lookup by a key that is not unique (the tag links of the contents) is planned for its
    # values, whatever the statistics say (persist/statements.h, per_value)
    tags=$(plan_of "$all" "INSERT INTO public.content_tags")
    assert_contains "the tag links are planned for their values" "= ANY ('{" "$tags"
    assert_not_contains "no plan of the last batch scans contents whole" "Seq Scan on contents" "$all"
    stop_checked watch
}
lib_run scale_rerun_writes_nothing scale_watch_knows_every_file \
    scale_plans_fit_the_tree
lib_finish
