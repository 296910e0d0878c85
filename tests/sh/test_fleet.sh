#!/usr/bin/env bash
# test_fleet.sh -- many hosts, one database: four watchers, each on its own tree with its own
# --source, all writing into one PostgreSQL while files are created, edited and deleted in
# every tree for 30 s. Nothing may be lost or duplicated, every transient error (a deadlock
# between agents on the shared tag and mind rows) must have been retried, and a course name
# present in two trees belongs to the source that wrote it first (DATA-CONTRACT.md,
# Ownership): the other source's files of it are rejected with a reason naming that source.
#
#   F1  four watchers, 30 s of writes in all four trees: each source's rows equal a direct
#       backfill's, no duplicate, no error left, every watcher alive and exits 0
#   F2  the course in two trees: owned by the first source, the second one's files rejected
#
# Needs CO_TEST_DB, CO_AGENT, CO_SOURCE_DIR (deploy/test.sh exports them).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/sh/lib.sh
. "$HERE/lib.sh"
# shellcheck source=tests/sh/fleet_lib.sh
. "$HERE/fleet_lib.sh"
lib_init test_fleet
lib_on_exit fl_cleanup

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

# ---------------------------------------------------------------------------------------------
test_begin "F1 four watchers, one database, ${SECS} s of writes in every tree"
new_db fleet || exit 1
FLEET=$URL
pids=()
for ((i = 1; i <= NTREES; i++)); do
    fl_start "w$i" watch --root "$WORK/t$i" --db "$FLEET" --source "s$i" --creator-mind fleet-mind
    pids+=("$FL_PID")
done
for ((i = 1; i <= NTREES; i++)); do
    check "watcher $i ready" wait_until 60 fl_log_has "w$i" '.msg == "ready"'
done
# ... and in tree 2 once tree 1's source has written it (the same course name, other files).
mkdir -p "$WORK/t2/$SHARED/lessons/modulo-1"
printf -- '---\ntitle: "Shared, from tree 2"\n---\n# s\n' >"$WORK/t2/$SHARED/COURSE-BRIEF.md"
for l in 1 2 4; do
    fl_lesson "$WORK/t2/$SHARED/lessons/modulo-1/aula-1.$l-s.md" "t2 shared $l" 1
done
until=$(($(now_ms) + SECS * 1000))
writers=()
for ((i = 1; i <= NTREES; i++)); do
    fl_write_loop "$WORK/t$i" "f$i" "$((i * 13))" "$until" "$WORK/writes$i" &
    writers+=("$!")
    FL_PIDS+=("$!")
done
for w in "${writers[@]}"; do
    wait "$w"
done
echo "  writes per tree: $(cat "$WORK"/writes* | tr '\n' ' ')"
# The reference: the final trees back-filled directly, tree 1 first, into a clean database.
new_db reference || exit 1
REF=$URL
for ((i = 1; i <= NTREES; i++)); do
    agent backfill --root "$WORK/t$i" --db "$REF" --source "s$i" --creator-mind fleet-mind \
        --log-format text
    check "reference backfill $i exits 0 or 1 (rc=$AG_RC)" test "$AG_RC" -le 1
done
_same() { [[ $(fl_fingerprint "$FLEET" "s$1") == "$2" ]]; }
for ((i = 1; i <= NTREES; i++)); do
    want=$(fl_fingerprint "$REF" "s$i")
    if wait_until 90 _same "$i" "$want"; then
        pass
    else
        fail "source s$i: the rows differ from a direct backfill of its tree (< fleet, > reference)"
        diff <(fl_rows "$FLEET" "s$i") <(fl_rows "$REF" "s$i") | head -20 | sed 's/^/  | /' >&2
    fi
done
assert_eq "no live lesson is duplicated" 0 "$(fl_dup_count "$FLEET")"
assert_eq "one tag row per name" "1" "$(q "$FLEET" "SELECT count(*) FROM tags WHERE name = 'comum'")"
dl=$(cat "$WORK"/w*.log | grep -c '40P01\|40001\|deadlock' || true)
echo "  log lines naming a deadlock or serialization failure (retried): $dl"
for ((i = 1; i <= NTREES; i++)); do
    check "watcher $i alive" kill -0 "${pids[i - 1]}"
    assert_eq "watcher $i: no error-level log line" "" \
        "$(jq -r -R 'fromjson? | select(.level == "error") | .msg + " " + (.error // "")' "$WORK/w$i.log" | head -3)"
done

# ---------------------------------------------------------------------------------------------
test_begin "F2 a course name in two trees belongs to the source that wrote it first"
assert_eq "the shared course's lessons are tree 1's" "t1 shared 1,t1 shared 2,t1 shared 3" \
    "$(q "$FLEET" "SELECT string_agg(title, ',' ORDER BY title) FROM contents
                   WHERE slug LIKE '$SHARED/%' AND content_type = 'course_lesson' AND deleted_at IS NULL")"
assert_eq "the project keeps tree 1's name" "Shared, from tree 1" \
    "$(q "$FLEET" "SELECT name FROM content_projects WHERE slug = '$SHARED'")"
assert_eq "tree 2's files of it are recorded as rejected" "4|4" \
    "$(q "$FLEET" "SELECT count(*), count(error) FROM creatoros_agent.file_state
                   WHERE source = 's2' AND course = '$SHARED'")"
reasons=$(q "$FLEET" "SELECT DISTINCT error FROM creatoros_agent.file_state
                      WHERE source = 's2' AND course = '$SHARED'")
assert_contains "the reason names the source that owns the course" "s1" "$reasons"
env -u PGOPTIONS "$CO_AGENT" status --root "$WORK/t2" --db "$FLEET" --source s2 >"$WORK/status2.out" 2>&1
assert_contains "status of tree 2 lists them" "$SHARED/lessons/modulo-1/aula-1.4-s.md" "$(cat "$WORK/status2.out")"
for ((i = 1; i <= NTREES; i++)); do
    fl_stop "${pids[i - 1]}"
    assert_eq "watcher $i exits 0 on SIGTERM" 0 "$FL_RC"
done
check "no sanitizer report" fl_sanitizer_clean "$WORK"/*.err

lib_finish
