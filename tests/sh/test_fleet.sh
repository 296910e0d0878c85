#!/usr/bin/env bash
# test_fleet.sh -- many hosts, one database: four watchers, each on its own tree with its own
# --source, all writing into one PostgreSQL while files are created, edited and deleted in
# every tree for 30 s. Nothing may be lost or duplicated, every transient error (a deadlock
# between agents on the shared tag and mind rows) must have been retried, and a course name
# present in two trees belongs to the source that wrote it first (DATA-CONTRACT.md,
# Ownership): the other source's files of it are rejected with a reason naming that source.
#
#   fleet_four_watchers_equal_direct_backfills   four watchers, 30 s of writes in all four
#                   trees: each source's rows equal a direct backfill's, no duplicate, no
#                   error left, every watcher alive and exits 0
#   fleet_course_belongs_to_first_source         the course in two trees: owned by the first
#                   source, the second one's files rejected, naming it
# Both look at one run of the fleet (fleet_run: made by the first that needs it).
#
# Needs CO_TEST_DB, CO_AGENT, CO_SOURCE_DIR (deploy/test.sh exports them).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/sh/lib.sh
. "$HERE/lib.sh"
# shellcheck source=tests/sh/fleet_lib.sh
. "$HERE/fleet_lib.sh"
lib_init test_fleet CO_TEST_DB CO_AGENT jq

NTREES=4
SECS=${CO_FLEET_WRITE_SECONDS:-30}
SHARED=shared-course

for ((i = 1; i <= NTREES; i++)); do
    fl_make_tree "$WORK/t$i" "f$i" 6 2 5
done
# The shared course: in tree 1 from the start (its source writes it first) ...
mkdir -p "$WORK/t1/$SHARED/lessons/modulo-1"
printf -- '---\ntitle: "Shared, from tree 1"\n---\n# s\n' >"$WORK/t1/$SHARED/COURSE-BRIEF.md"
for l in 1 2 3; do
    fl_lesson "$WORK/t1/$SHARED/lessons/modulo-1/aula-1.$l-s.md" "t1 shared $l" 1
done

# fleet_run: four watchers on one database (FLEET), SECS of writes in every tree, then a
# reference database (REF) back-filled directly from the final trees, tree 1 first. Once.
FLEET='' REF='' PIDS=() ERRS=()
fleet_run() {
    [[ -z $FLEET ]] || return 0
    local i l
    new_db fleet || return 1
    FLEET=$URL
    for ((i = 1; i <= NTREES; i++)); do
        fl_start "w$i" watch --root "$WORK/t$i" --db "$FLEET" --source "s$i" --creator-mind fleet-mind
        PIDS+=("$AG_PID")
        ERRS+=("$AG_ERRF")
    done
    for ((i = 1; i <= NTREES; i++)); do
        check "watcher $i ready" wait_until 60 log_has "$WORK/w$i.log" '.msg == "ready"'
    done
    # ... and in tree 2 once tree 1's source has written it (the same course name, other files).
    mkdir -p "$WORK/t2/$SHARED/lessons/modulo-1"
    printf -- '---\ntitle: "Shared, from tree 2"\n---\n# s\n' >"$WORK/t2/$SHARED/COURSE-BRIEF.md"
    for l in 1 2 4; do
        fl_lesson "$WORK/t2/$SHARED/lessons/modulo-1/aula-1.$l-s.md" "t2 shared $l" 1
    done
    fl_writers_start "$NTREES" f 13 "$SECS"
    fl_writers_wait
    new_db reference || return 1
    REF=$URL
    for ((i = 1; i <= NTREES; i++)); do
        agent backfill --root "$WORK/t$i" --db "$REF" --source "s$i" --creator-mind fleet-mind \
            --log-format text
        check "reference backfill $i exits 0 or 1 (rc=$AG_RC)" test "$AG_RC" -le 1
    done
}

# ---------------------------------------------------------------------------------------------
fleet_four_watchers_equal_direct_backfills() {
    test_begin "four watchers, one database, ${SECS} s of writes in every tree"
    fleet_run || return
    local i dl
    fl_expect_same_rows "$FLEET" "$REF" "$NTREES"
    assert_eq "one tag row per name" "1" "$(qcmp "$FLEET" "SELECT count(*) FROM tags WHERE name = 'comum'")"
    dl=$(cat "$WORK"/w*.log | grep -c '40P01\|40001\|deadlock' || true)
    echo "  log lines naming a deadlock or serialization failure (retried): $dl"
    for ((i = 1; i <= NTREES; i++)); do
        check "watcher $i alive" alive "${PIDS[i - 1]}"
        fl_no_error_line "watcher $i" "$WORK/w$i.log"
    done
}

# ---------------------------------------------------------------------------------------------
fleet_course_belongs_to_first_source() {
    test_begin "a course name in two trees belongs to the source that wrote it first"
    fleet_run || return
    local i reasons
    assert_eq "the shared course's lessons are tree 1's" "t1 shared 1,t1 shared 2,t1 shared 3" \
        "$(qcmp "$FLEET" "SELECT string_agg(title, ',' ORDER BY title) FROM contents
                       WHERE slug LIKE '$SHARED/%' AND content_type = 'course_lesson' AND deleted_at IS NULL")"
    assert_eq "the project keeps tree 1's name" "Shared, from tree 1" \
        "$(qcmp "$FLEET" "SELECT name FROM content_projects WHERE slug = '$SHARED'")"
    assert_eq "tree 2's files of it are recorded as rejected" "4|4" \
        "$(qcmp "$FLEET" "SELECT count(*), count(error) FROM creatoros_agent.file_state
                       WHERE source = 's2' AND course = '$SHARED'")"
    reasons=$(qcmp "$FLEET" "SELECT DISTINCT error FROM creatoros_agent.file_state
                          WHERE source = 's2' AND course = '$SHARED'")
    assert_contains "the reason names the source that owns the course" "s1" "$reasons"
    env -u PGOPTIONS "$CO_AGENT" status --root "$WORK/t2" --db "$FLEET" --source s2 >"$WORK/status2.out" 2>&1
    assert_contains "status of tree 2 lists them" "$SHARED/lessons/modulo-1/aula-1.4-s.md" "$(cat "$WORK/status2.out")"
    for ((i = 1; i <= NTREES; i++)); do
        stop_checked "watcher $i" "${PIDS[i - 1]}" "${ERRS[i - 1]}"
    done
}

lib_run fleet_four_watchers_equal_direct_backfills fleet_course_belongs_to_first_source
lib_finish
