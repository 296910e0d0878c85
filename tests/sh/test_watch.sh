#!/usr/bin/env bash
# test_watch.sh -- `creatoros-agent watch` end to end: a real tree, real inotify, the real
# PostgreSQL of the test run; each scenario checks that the rows converge to docs/CONTRACT.md.
#
# Scenarios (each with a fresh database and a fresh root in its own directory):
#   watch_course_brief_then_lessons       a course created: the brief, then lessons
#   watch_chunked_write_synced_on_close   a lesson written in 10 chunks: one sync, on the close
#   watch_atomic_save_is_one_update       a save through a temp file + rename; temp, hidden,
#                                         leftover and linked names never rows
#   watch_delete_then_recreate_keeps_ids  a lesson deleted, then created again
#   watch_rename_moves_the_row            a lesson renamed, moved, its directory renamed
#   watch_burst_of_new_directories        mkdir -p and 20 files at once
#   watch_course_moved_in_out_renamed     a course directory moved in, out, renamed, deleted
#   watch_deletions_settle                a course removed piece by piece; delete + rewrite
#                                         within the settle window is no write
#   watch_overflow_rescans                5,000 files while SIGSTOPped with
#                                         fs.inotify.max_queued_events=256
#   watch_outage_converges                the database stopped 10 s while files change
#   watch_outage_beyond_queue_limit_rescans  more changes than --queue-limit during an outage
#   watch_sigkill_then_restart_converges  SIGKILL mid-storm, then a restart
#   watch_sigterm_exits_clean             SIGTERM/SIGINT exit 0 within 2 s, even busy
#   watch_idle_is_idle                    no CPU, no wakeups while nothing changes
#   watch_sd_notify                       READY/STATUS/WATCHDOG/STOPPING
#   watch_sighup_reopens_log              SIGHUP reopens the log file
#   watch_rejected_file_keeps_going       a rejected file, then good ones
#   watch_module_titles_follow_lessons    module titles through every kind of lesson change
#   watch_big_course_beside_small         150 lessons of 8 MB beside a small course
#   watch_course_volume_unmounted_keeps_rows  a course's tmpfs unmounted (umount -l) and back
#   watch_root_volume_unmounted_keeps_rows    the root's tmpfs unmounted, a restart on the
#                                         empty mount point, --allow-mass-delete
#   watch_schema_problem_logged_once      a column missing: logged once per cause, retried
#   watch_production_database_adopted     the production-shaped database: adoption, a
#                                         refused course, the app's NOTICEs counted
#
# Needs CO_TEST_DB (superuser URL of the local cluster), CO_AGENT (the binary), CO_PGDIR (for
# the outages), CO_SOURCE_DIR; deploy/test.sh sets them. Root for the sysctl and the mount
# namespaces (without them those scenarios are skipped, which deploy/test.sh counts as a
# failure). Only processes this script started are signalled, by PID. On any exit: agents
# killed, the sysctl restored, the cluster restarted, the databases dropped, the work
# directory removed (CO_TEST_KEEP=1 keeps it). CO_WATCH_ONLY="watch_idle_is_idle ..." runs
# some (local runs only).
set -uo pipefail
# jq programs use $p (a jq variable) inside single quotes.
# shellcheck disable=SC2016

HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/sh/lib.sh
. "$HERE/lib.sh"
lib_init test_watch CO_TEST_DB CO_AGENT jq psql md5sum

PY=/usr/bin/python3
QEV=/proc/sys/fs/inotify/max_queued_events

# Each scenario: its directory (SDIR, where the agents' files go too), its root (ROOT) and a
# fresh database (URL); its leftover processes killed and its database dropped after it.
WATCH_N=0
watch_setup() {
    WATCH_N=$((WATCH_N + 1))
    SDIR=$WORK/$1
    ROOT=$SDIR/root
    AG_DIR=$SDIR
    AG_PREFIX=()
    mkdir -p "$ROOT"
    new_db "s$WATCH_N"
}
watch_teardown() {
    lib_reap
    drop_db "$DB"
}
LIB_BEFORE_EACH=watch_setup
LIB_AFTER_EACH=watch_teardown

# The rows of one course as "slug|type|title|live/deleted|parent slug|sequence".
rows_sql() {
    cat <<SQL
SELECT c.slug, c.content_type, c.title,
       CASE WHEN c.deleted_at IS NULL THEN 'live' ELSE 'deleted' END,
       coalesce(p.slug, '-'), coalesce(c.sequence_order::text, '-')
  FROM contents c LEFT JOIN contents p ON p.id = c.parent_content_id
 WHERE split_part(c.slug, '/', 1) = '$1'
 ORDER BY c.slug COLLATE "C"
SQL
}
project_sql() {
    echo "SELECT slug, name, status, project_type FROM content_projects WHERE slug = '$1'"
}

# lesson FILE [FRONT-MATTER-LINES...] -- write FILE (dirs created) with the given front-matter
# and the body in $BODY (default "# <name>\n\ntext\n"), in one open/write/close.
lesson() {
    local f=$1
    shift
    mkdir -p "$(dirname "$f")"
    {
        if [[ $# -gt 0 ]]; then
            printf -- '---\n'
            printf '%s\n' "$@"
            printf -- '---\n'
        fi
        printf '%s' "${BODY:-# $(basename "$f" .md)

text
}"
    } >"$f"
}

md5_of() { md5sum | cut -d' ' -f1; }
slug_id() { qcmp "$URL" "SELECT id FROM contents WHERE slug = '$1'"; }
synced_count() { log_count "$1" '.msg == "synced" and .path == $p' "$2"; }
# wait until the agent logged "synced" for PATH at least MIN times (a sentinel for ordering:
# events are handled in order, so a later file's sync means the earlier events were handled)
expect_synced() { expect_log "synced logged for $2" "${4:-15}" "$1" '.msg == "synced" and .path == $p' "$2" "${3:-1}"; }

# ---- 1. a course created: the brief first, then lessons -----------------------------------
watch_course_brief_then_lessons() {
    test_begin "a course created: brief first, then lessons"
    start_watch agent "$ROOT"
    wait_ready || return
    mkdir -p "$ROOT/c1"
    local brief_body=$'# 📋 Course Brief - ignored\n\nBrief body.\n'
    BODY=$brief_body lesson "$ROOT/c1/COURSE-BRIEF.md" 'title: Course One' \
        'description: First course' 'tags: [alpha, beta]'
    expect_sql "project row from the brief" 15 "$(project_sql c1)" "c1|Course One|in_progress|course"
    expect_sql "outline row, no lesson yet" 15 "$(rows_sql c1)" "c1|course_outline|Course One|live|-|-"
    lesson "$ROOT/c1/lessons/1.1-intro.md" 'lesson_id: "1.1"' 'title: Intro' 'module_name: Basics'
    BODY=$'# More Things\n\nmore\n' lesson "$ROOT/c1/lessons/1.2-more.md" 'lesson_id: 1.2'
    BODY=$'# Advanced\n' lesson "$ROOT/c1/lessons/2.1-adv.md"
    expect_sql "outline, modules and lessons" 15 "$(rows_sql c1)" "\
c1|course_outline|Course One|live|-|-
c1/lessons/1.1-intro|course_lesson|Intro|live|c1/module-1|1
c1/lessons/1.2-more|course_lesson|More Things|live|c1/module-1|2
c1/lessons/2.1-adv|course_lesson|Advanced|live|c1/module-2|1
c1/module-1|course_module|Basics|live|c1|1
c1/module-2|course_module|Module 2|live|c1|2"
    expect_sql "outline content is the brief's body, file_path the brief's path" 5 \
        "SELECT md5(content), file_path FROM contents WHERE slug = 'c1'" \
        "$(printf '%s' "$brief_body" | md5_of)|c1/COURSE-BRIEF.md"
    expect_sql "project description" 5 \
        "SELECT description FROM content_projects WHERE slug = 'c1'" "First course"
    expect_sql "lesson content is the body, byte for byte; file_path relative" 5 \
        "SELECT md5(content), file_path FROM contents WHERE slug = 'c1/lessons/2.1-adv'" \
        "$(printf '# Advanced\n' | md5_of)|c1/lessons/2.1-adv.md"
    expect_sql "lesson metadata is its front-matter" 5 \
        "SELECT metadata = '{\"lesson_id\": \"1.1\", \"title\": \"Intro\", \"module_name\": \"Basics\"}'::jsonb
           FROM contents WHERE slug = 'c1/lessons/1.1-intro'" "t"
    expect_sql "every row ai_generated, in the project" 5 \
        "SELECT count(*) FROM contents c JOIN content_projects p ON p.id = c.project_id
          WHERE p.slug = 'c1' AND c.ai_generated" "6"
    expect_sql "the brief's tags linked to the outline" 5 \
        "SELECT string_agg(t.name || ':' || coalesce(t.tag_type, '-'), ',' ORDER BY t.name)
           FROM content_tags ct JOIN tags t ON t.id = ct.tag_id JOIN contents c ON c.id = ct.content_id
          WHERE c.slug = 'c1'" "alpha:theme,beta:theme"
    check "synced line has path, slug and ms" test "$(log_count "$AG_LOG" \
        '.msg == "synced" and .path == $p and .slug == "c1/lessons/1.1-intro" and (.ms | test("^[0-9]+$")) and .level == "info"' \
        c1/lessons/1.1-intro.md)" -ge 1
    rm "$ROOT/c1/COURSE-BRIEF.md"
    expect_sql "brief removed: the project stays, named by its slug" 15 "$(project_sql c1)" "c1|c1|in_progress|course"
    expect_sql "brief removed: the outline stays live with no content" 15 \
        "SELECT title, content IS NULL, deleted_at IS NULL FROM contents WHERE slug = 'c1'" "c1|t|t"
    stop_checked
}

# ---- 2. a lesson written in 10 chunks through one open, then closed ----------------------
# write_chunked FILE [PID]: write a lesson in 10 chunks through one open, 20 ms apart, then
# close it; with PID, the agent is SIGSTOPped from before the first chunk until after it
# (so that it meets the file while the file is still being written). Sets CHUNKED_BODY and
# T_CLOSE.
write_chunked() {
    local f=$1 pid=${2:-} chunk fd i
    CHUNKED_BODY=""
    [[ -n $pid ]] && kill -STOP "$pid"
    mkdir -p "$(dirname "$f")"
    exec {fd}>"$f"
    for i in $(seq 1 10); do
        printf -v chunk '## Part %d\n\n%s\n\n' "$i" "$(printf 'word%d ' $(seq 1 60))"
        if [[ $i -eq 1 ]]; then
            printf -- '---\nlesson_id: "1.1"\ntitle: Chunked\n---\n' >&"$fd"
        fi
        printf '%s' "$chunk" >&"$fd"
        CHUNKED_BODY+=$chunk
        [[ $i -eq 1 && -n $pid ]] && kill -CONT "$pid"
        sleep 0.02 # a slow writer, not a wait for a condition
    done
    exec {fd}>&-
    T_CLOSE=$(now_ms)
}

watch_chunked_write_synced_on_close() {
    test_begin "a lesson written in 10 chunks, then closed"
    # --settle-ms 1000: far above the writer's 20 ms pauses, so a sync before the close would
    # be the agent's fault, not the scheduler's; and a sync well before 1 s after the close
    # proves the close itself triggered it.
    mkdir -p "$ROOT/c2/lessons"
    start_watch agent "$ROOT" --settle-ms 1000
    wait_ready || return
    write_chunked "$ROOT/c2/lessons/1.1-chunked.md"
    expect_sql "the row holds the complete body" 15 \
        "SELECT md5(content), title FROM contents WHERE slug = 'c2/lessons/1.1-chunked'" \
        "$(printf '%s' "$CHUNKED_BODY" | md5_of)|Chunked"
    local lat=$(($(now_ms) - T_CLOSE)) n
    check "synced on the close, not after the settle window (${lat} ms)" test "$lat" -lt 900
    # in a directory that did not exist yet: the agent meets the file, half written, while it
    # scans the new directory (race story 1); that is no close either
    write_chunked "$ROOT/c2n/lessons/1.1-chunked.md" "$AG_PID"
    expect_sql "new directory: the row holds the complete body" 15 \
        "SELECT md5(content), title FROM contents WHERE slug = 'c2n/lessons/1.1-chunked'" \
        "$(printf '%s' "$CHUNKED_BODY" | md5_of)|Chunked"
    lesson "$ROOT/c2/lessons/1.2-sentinel.md"
    expect_synced "$AG_LOG" c2/lessons/1.2-sentinel.md
    n=$(synced_count "$AG_LOG" c2/lessons/1.1-chunked.md)
    check "exactly one synced for the chunked file (got $n)" test "$n" -eq 1
    n=$(synced_count "$AG_LOG" c2n/lessons/1.1-chunked.md)
    check "new directory: exactly one synced for the chunked file, none before its close (got $n)" test "$n" -eq 1
    stop_checked
    # written and held open (never closed): synced once quiet for --settle-ms
    start_watch agent-settle "$ROOT" --settle-ms 100
    wait_ready || return
    local g=$ROOT/c2/lessons/1.3-open.md fd
    exec {fd}>"$g"
    printf -- '---\ntitle: Held open\n---\nstill open\n' >&"$fd"
    expect_sql "a file modified without a close syncs after the settle window" 15 \
        "SELECT title, md5(content) FROM contents WHERE slug = 'c2/lessons/1.3-open'" \
        "Held open|$(printf 'still open\n' | md5_of)"
    exec {fd}>&-
    stop_checked
}

# ---- 3. atomic save: a hidden temp file renamed onto the real name -----------------------
watch_atomic_save_is_one_update() {
    test_begin "atomic save through a temp file + rename"
    local d=$ROOT/c3/lessons
    lesson "$d/1.1-x.md" 'title: Old'
    start_watch agent "$ROOT"
    wait_ready || return
    expect_sql "the original row" 15 \
        "SELECT title, deleted_at IS NULL FROM contents WHERE slug = 'c3/lessons/1.1-x'" "Old|t"
    local id
    id=$(slug_id c3/lessons/1.1-x)
    lesson "$d/.1.1-x.md.tmp" 'title: New'
    mv "$d/.1.1-x.md.tmp" "$d/1.1-x.md"
    expect_sql "updated through the hidden temp file, same id" 15 \
        "SELECT title, deleted_at IS NULL, id FROM contents WHERE slug = 'c3/lessons/1.1-x'" "New|t|$id"
    lesson "$d/1.1-x.md.tmp" 'title: Newer'
    mv "$d/1.1-x.md.tmp" "$d/1.1-x.md"
    expect_sql "updated through a visible *.tmp file" 15 \
        "SELECT title FROM contents WHERE slug = 'c3/lessons/1.1-x'" "Newer"
    # editor leftovers and hidden names: never rows
    lesson "$d/.hidden.md"
    lesson "$d/.drafts/1.2-draft.md"
    lesson "$d/1.1-x.md~"
    lesson "$d/#1.1-x.md#"
    lesson "$d/.1.1-x.md.swp"
    # symbolic links are never followed, to a file or to a directory outside the root
    lesson "$SDIR/outside/1.5-secret.md"
    lesson "$SDIR/outside/dir/1.6-secret.md"
    ln -s "$SDIR/outside/1.5-secret.md" "$d/1.5-link.md"
    ln -s "$SDIR/outside/dir" "$d/linkdir"
    lesson "$SDIR/outside/dir/1.7-later.md"
    lesson "$d/1.3-sentinel.md"
    expect_synced "$AG_LOG" c3/lessons/1.3-sentinel.md
    expect_sql "no row for a temp, hidden, leftover or linked name" 10 "$(rows_sql c3)" "\
c3|course_outline|c3|live|-|-
c3/lessons/1.1-x|course_lesson|Newer|live|c3/module-1|1
c3/lessons/1.3-sentinel|course_lesson|1.3-sentinel|live|c3/module-1|3
c3/module-1|course_module|Module 1|live|c3|1"
    expect_sql "no file state for them either" 5 \
        "SELECT string_agg(path, ',' ORDER BY path) FROM creatoros_agent.file_state" \
        "c3/lessons/1.1-x.md,c3/lessons/1.3-sentinel.md"
    check "no log line names a temp, hidden or linked file" test "$(log_count "$AG_LOG" \
        '(.path // "") | test("tmp|/\\.|~|#|swp|link|secret|later")')" -eq 0
    stop_checked
}

# ---- 4. delete a lesson, then create it again ---------------------------------------------
# c4_rows B C M2: the rows of course c4, with lesson 1.2-b as B ("title|live or deleted"),
# lesson 2.1-c as C and module 2 as M2.
c4_rows() {
    printf '%s\n' "c4|course_outline|c4|live|-|-" \
        "c4/lessons/1.1-a|course_lesson|1.1-a|live|c4/module-1|1" \
        "c4/lessons/1.2-b|course_lesson|$1|c4/module-1|2" \
        "c4/lessons/2.1-c|course_lesson|$2|c4/module-2|1" \
        "c4/module-1|course_module|First|live|c4|1" \
        "c4/module-2|course_module|$3|c4|2"
}
watch_delete_then_recreate_keeps_ids() {
    test_begin "delete a lesson, re-create it"
    local d=$ROOT/c4/lessons
    lesson "$d/1.1-a.md" 'module_name: First'
    lesson "$d/1.2-b.md"
    lesson "$d/2.1-c.md" 'module_name: Second'
    start_watch agent "$ROOT"
    wait_ready || return
    expect_sql "three lessons, two modules" 15 "$(rows_sql c4)" \
        "$(c4_rows '1.2-b|live' '2.1-c|live' 'Second|live')"
    local idb idc idm2
    idb=$(slug_id c4/lessons/1.2-b)
    idc=$(slug_id c4/lessons/2.1-c)
    idm2=$(slug_id c4/module-2)
    rm "$d/1.2-b.md" "$d/2.1-c.md"
    expect_sql "deleted lessons soft-deleted; the emptied module too" 15 "$(rows_sql c4)" \
        "$(c4_rows '1.2-b|deleted' '2.1-c|deleted' 'Second|deleted')"
    expect_log "deleted logged with the path" 5 "$AG_LOG" '.msg == "deleted" and .path == $p' c4/lessons/1.2-b.md
    lesson "$d/1.2-b.md" 'title: B again'
    lesson "$d/2.1-c.md" 'module_name: Second again'
    expect_sql "re-created: deleted_at cleared, new content" 15 "$(rows_sql c4)" \
        "$(c4_rows 'B again|live' '2.1-c|live' 'Second again|live')"
    expect_sql "same ids for the re-created rows" 5 \
        "SELECT (SELECT id FROM contents WHERE slug = 'c4/lessons/1.2-b') = '$idb',
                (SELECT id FROM contents WHERE slug = 'c4/lessons/2.1-c') = '$idc',
                (SELECT id FROM contents WHERE slug = 'c4/module-2') = '$idm2'" "t|t|t"
    stop_checked
}

# ---- 5. rename a lesson --------------------------------------------------------------------
watch_rename_moves_the_row() {
    test_begin "rename a lesson"
    local d=$ROOT/c5/lessons
    lesson "$d/1.1-old.md" 'module_name: Named'
    lesson "$d/1.2-other.md"
    start_watch agent "$ROOT"
    wait_ready || return
    expect_sql "two lessons" 15 "SELECT count(*) FROM contents WHERE content_type = 'course_lesson' AND deleted_at IS NULL" "2"
    mv "$d/1.1-old.md" "$d/1.1-new.md" # its title (the body's heading "# 1.1-old") moves with it
    expect_sql "old name soft-deleted, new name live" 15 "$(rows_sql c5)" "\
c5|course_outline|c5|live|-|-
c5/lessons/1.1-new|course_lesson|1.1-old|live|c5/module-1|1
c5/lessons/1.1-old|course_lesson|1.1-old|deleted|c5/module-1|1
c5/lessons/1.2-other|course_lesson|1.2-other|live|c5/module-1|2
c5/module-1|course_module|Named|live|c5|1"
    # a rename across two watched directories
    mkdir -p "$d/extra"
    lesson "$d/extra/1.9-sentinel.md"
    expect_synced "$AG_LOG" c5/lessons/extra/1.9-sentinel.md
    mv "$d/1.2-other.md" "$d/extra/1.2-other.md"
    expect_sql "moved to another directory: old soft-deleted, new live" 15 "$(rows_sql c5)" "\
c5|course_outline|c5|live|-|-
c5/lessons/1.1-new|course_lesson|1.1-old|live|c5/module-1|1
c5/lessons/1.1-old|course_lesson|1.1-old|deleted|c5/module-1|1
c5/lessons/1.2-other|course_lesson|1.2-other|deleted|c5/module-1|2
c5/lessons/extra/1.2-other|course_lesson|1.2-other|live|c5/module-1|2
c5/lessons/extra/1.9-sentinel|course_lesson|1.9-sentinel|live|c5/module-1|9
c5/module-1|course_module|Named|live|c5|1"
    # a directory renamed inside a course (race story 3): every lesson below it moves
    mkdir -p "$d/modulo-03"
    lesson "$d/modulo-03/m-a.md"
    lesson "$d/modulo-03/m-b.md"
    expect_sql "module 3 from its directory" 15 \
        "SELECT count(*) FROM contents c JOIN contents p ON p.id = c.parent_content_id
          WHERE p.slug = 'c5/module-3' AND c.deleted_at IS NULL" "2"
    mv "$d/modulo-03" "$d/modulo-04"
    lesson "$d/modulo-04/m-c.md"
    expect_sql "directory renamed: old lessons and module soft-deleted, new ones live in module 4" 15 \
        "SELECT string_agg(c.slug || '=' || (c.deleted_at IS NULL) || '>' || coalesce(p.slug, '-'), ',' ORDER BY c.slug COLLATE \"C\")
           FROM contents c LEFT JOIN contents p ON p.id = c.parent_content_id
          WHERE c.slug LIKE 'c5/lessons/modulo-%' OR c.slug IN ('c5/module-3', 'c5/module-4')" \
        "c5/lessons/modulo-03/m-a=false>c5/module-3,c5/lessons/modulo-03/m-b=false>c5/module-3,c5/lessons/modulo-04/m-a=true>c5/module-4,c5/lessons/modulo-04/m-b=true>c5/module-4,c5/lessons/modulo-04/m-c=true>c5/module-4,c5/module-3=false>c5,c5/module-4=true>c5"
    stop_checked
}

# ---- 6. mkdir -p and 20 files at once -------------------------------------------------------
watch_burst_of_new_directories() {
    test_begin "mkdir -p and 20 files at once"
    start_watch agent "$ROOT"
    wait_ready || return
    local d=$ROOT/c6/lessons/modulo-07 i want
    # race story 1: the directories and files exist before the watch on them does
    mkdir -p "$d" && for i in $(seq -w 1 20); do printf '# Aula %s\n\ntext\n' "$i" >"$d/aula-$i.md"; done
    want="c6|course_outline|c6|live|-|-"
    for i in $(seq -w 1 20); do
        want+=$'\n'"c6/lessons/modulo-07/aula-$i|course_lesson|Aula $i|live|c6/module-7|-"
    done
    want+=$'\n'"c6/module-7|course_module|Module 7|live|c6|7"
    expect_sql "all 20 lessons under module 7" 20 "$(rows_sql c6)" "$want"
    expect_sql "outline without a brief: no content, no file_path" 5 \
        "SELECT content IS NULL, file_path IS NULL FROM contents WHERE slug = 'c6'" "t|t"
    # deeper: several levels created at once
    mkdir -p "$ROOT/c6/lessons/modulo-08/deep/er" &&
        printf '# Deep\n' >"$ROOT/c6/lessons/modulo-08/deep/er/d.md"
    expect_sql "a lesson three new directories down, module 8" 15 \
        "SELECT c.title, p.slug FROM contents c JOIN contents p ON p.id = c.parent_content_id
          WHERE c.slug = 'c6/lessons/modulo-08/deep/er/d' AND c.deleted_at IS NULL" "Deep|c6/module-8"
    rm -rf "$ROOT/c6/lessons/modulo-08"
    expect_sql "a directory deleted: its lesson and emptied module soft-deleted" 15 \
        "SELECT string_agg(slug || '=' || (deleted_at IS NULL), ',' ORDER BY slug COLLATE \"C\")
           FROM contents WHERE slug IN ('c6/lessons/modulo-08/deep/er/d', 'c6/module-8', 'c6/module-7')" \
        "c6/lessons/modulo-08/deep/er/d=false,c6/module-7=true,c6/module-8=false"
    stop_checked
}

# ---- 7. a course directory moved in, out, and renamed ---------------------------------------
# c7_rows SLUG STATE [late]: the rows of course c7 (under the name SLUG), each STATE (live or
# deleted), the lesson 1.3-late among them when "late" is given.
c7_rows() {
    local c=$1 st=$2
    printf '%s\n' "$c|course_outline|Seven|$st|-|-" "$c/lessons/1.1-a|course_lesson|1.1-a|$st|$c/module-1|1"
    [[ -z ${3:-} ]] || printf '%s\n' "$c/lessons/1.3-late|course_lesson|1.3-late|$st|$c/module-1|3"
    printf '%s\n' "$c/lessons/modulo-02/b|course_lesson|b|$st|$c/module-2|-" \
        "$c/module-1|course_module|Module 1|$st|$c|1" "$c/module-2|course_module|Module 2|$st|$c|2"
}
watch_course_moved_in_out_renamed() {
    test_begin "a course directory moved in, out, and renamed"
    local out=$SDIR/outside
    BODY=$'# Seven\n' lesson "$out/c7/COURSE-BRIEF.md" 'title: Seven'
    lesson "$out/c7/lessons/1.1-a.md"
    lesson "$out/c7/lessons/modulo-02/b.md"
    start_watch agent "$ROOT"
    wait_ready || return
    mv "$out/c7" "$ROOT/c7"
    expect_sql "moved in: project in progress" 15 "$(project_sql c7)" "c7|Seven|in_progress|course"
    expect_sql "moved in: rows appear" 15 "$(rows_sql c7)" "$(c7_rows c7 live)"
    mv "$ROOT/c7" "$out/c7"
    expect_sql "moved out: project archived" 15 "$(project_sql c7)" "c7|Seven|archived|course"
    expect_sql "moved out: contents soft-deleted" 15 "$(rows_sql c7)" "$(c7_rows c7 deleted)"
    expect_log "course archived logged" 5 "$AG_LOG" '.msg == "course archived" and .course == "c7"'
    # outside the root it must not talk to us any more
    lesson "$out/c7/lessons/1.3-late.md"
    lesson "$ROOT/c7s/lessons/1.1-sentinel.md"
    expect_synced "$AG_LOG" c7s/lessons/1.1-sentinel.md
    check "a file written in the moved-out course is not synced" test \
        "$(qcmp "$URL" "SELECT count(*) FROM contents WHERE slug = 'c7/lessons/1.3-late'")" = 0
    mv "$out/c7" "$ROOT/c7"
    expect_sql "moved back in: in progress again" 15 "$(project_sql c7)" "c7|Seven|in_progress|course"
    expect_sql "moved back in: rows live again, the late lesson too" 15 "$(rows_sql c7)" \
        "$(c7_rows c7 live late)"
    mv "$ROOT/c7" "$ROOT/c7r"
    expect_sql "renamed inside the root: old project archived" 15 "$(project_sql c7)" "c7|Seven|archived|course"
    expect_sql "renamed inside the root: new project in progress" 15 "$(project_sql c7r)" "c7r|Seven|in_progress|course"
    expect_sql "renamed: old rows soft-deleted" 15 \
        "SELECT count(*) FILTER (WHERE deleted_at IS NULL), count(*) FROM contents WHERE split_part(slug, '/', 1) = 'c7'" "0|6"
    expect_sql "renamed: new rows live" 15 "$(rows_sql c7r)" "$(c7_rows c7r live late)"
    lesson "$ROOT/c7r/lessons/modulo-02/c.md"
    expect_sql "the renamed tree is still watched" 15 \
        "SELECT deleted_at IS NULL FROM contents WHERE slug = 'c7r/lessons/modulo-02/c'" "t"
    rm -rf "$ROOT/c7r"
    expect_sql "course directory deleted: project archived" 15 "$(project_sql c7r)" "c7r|Seven|archived|course"
    expect_sql "course directory deleted: contents soft-deleted" 15 \
        "SELECT count(*) FILTER (WHERE deleted_at IS NULL), count(*) FROM contents WHERE split_part(slug, '/', 1) = 'c7r'" "0|7"
    stop_checked
}

# ---- 7b. deletions settle: a course removed piece by piece, a file deleted and written back --
# --settle-ms 1500 makes the window far wider than the steps below, so that a deletion synced
# at once (the brief's, renaming the project to its slug; the lesson's, soft-deleting its
# row) would show; with the settle window each is seen with what follows it.
watch_deletions_settle() {
    test_begin "deletions settle: a course removed piece by piece"
    BODY=$'# Gone Soon\n' lesson "$ROOT/c7b/COURSE-BRIEF.md" 'title: Gone Soon'
    lesson "$ROOT/c7b/lessons/1.1-a.md"
    lesson "$ROOT/c7b/lessons/1.2-b.md"
    lesson "$ROOT/c7b/lessons/modulo-02/c.md"
    start_watch agent "$ROOT" --settle-ms 1500
    wait_ready || return
    expect_sql "the course is live" 15 "$(project_sql c7b)" "c7b|Gone Soon|in_progress|course"
    local xmin_sql="SELECT xmin, deleted_at IS NULL FROM contents WHERE slug = 'c7b/lessons/1.2-b'"
    local before
    before=$(qcmp "$URL" "$xmin_sql")
    cp "$ROOT/c7b/lessons/1.2-b.md" "$SDIR/1.2-b.md"
    rm "$ROOT/c7b/lessons/1.2-b.md"
    sleep 0.2
    cp -p "$SDIR/1.2-b.md" "$ROOT/c7b/lessons/1.2-b.md"
    # the close of the copy makes the path ready at once; a sentinel written after it syncs
    # after it (events are handled in order)
    lesson "$ROOT/c7bs/lessons/1.1-sentinel.md"
    expect_synced "$AG_LOG" c7bs/lessons/1.1-sentinel.md
    check "deleted and written back within the window: the row was never touched" test \
        "$(qcmp "$URL" "$xmin_sql")" = "$before"
    # rm -r in the order that bites: the brief, then a directory of the course (reported
    # at once, while other lessons are still there), then the rest
    rm "$ROOT/c7b/COURSE-BRIEF.md"
    sleep 0.3
    rm -rf "$ROOT/c7b/lessons/modulo-02"
    expect_log "a module directory removed: its lesson deleted" 15 "$AG_LOG" \
        '.msg == "deleted" and .path == $p' c7b/lessons/modulo-02/c.md
    expect_sql "the brief's removal is not taken from a directory's" 1 "$(project_sql c7b)" \
        "c7b|Gone Soon|in_progress|course"
    rm -rf "$ROOT/c7b"
    expect_sql "brief removed, then the course: archived under its name" 15 "$(project_sql c7b)" \
        "c7b|Gone Soon|archived|course"
    expect_sql "brief removed, then the course: contents soft-deleted" 15 \
        "SELECT count(*) FILTER (WHERE deleted_at IS NULL), count(*) FROM contents WHERE split_part(slug, '/', 1) = 'c7b'" "0|6"
    # a barrier: the sentinel's deletion settles after the brief's (the settle list is
    # ordered by due time), so once its course is archived the brief's removal was handled
    rm "$ROOT/c7bs/lessons/1.1-sentinel.md"
    expect_log "a later deletion is handled" 15 "$AG_LOG" \
        '.msg == "course archived" and .course == $p' c7bs
    expect_sql "the archived project keeps its name" 1 "$(project_sql c7b)" "c7b|Gone Soon|archived|course"
    stop_checked
}

# ---- 8. 5,000 files while the agent is stopped, with a tiny kernel queue --------------------
watch_overflow_rescans() {
    test_begin "5,000 files while SIGSTOPped, tiny kernel queue: overflow and rescan"
    require_capability proc_sys s08 || return
    local n_dirs=5 per_dir=1000 i k d
    lesson "$ROOT/c8/COURSE-BRIEF.md" 'title: Eight'
    # the files go into watched directories (a new directory's files raise no event until
    # the agent watches it, and a stopped agent watches nothing new)
    for k in $(seq 1 "$n_dirs"); do
        mkdir -p "$ROOT/c8/lessons/modulo-0$k"
    done
    # max_queued_events is read when the inotify instance is created: lower it just for the
    # agent's start, restore it right after (and at exit, whatever happens).
    local orig
    orig=$(cat "$QEV")
    lib_on_exit "echo $orig >$QEV"
    echo 256 >"$QEV"
    start_watch agent "$ROOT"
    wait_until 30 log_has "$AG_LOG" '.msg == "watching"'
    echo "$orig" >"$QEV"
    check "max_queued_events restored" test "$(cat "$QEV")" == "$orig"
    wait_ready || return
    kill -STOP "$AG_PID"
    for k in $(seq 1 "$n_dirs"); do
        d=$ROOT/c8/lessons/modulo-0$k
        for ((i = 1; i <= per_dir; i++)); do
            printf '# L%d.%d\n' "$k" "$i" >"$d/l-$i.md"
        done
    done
    # made once the queue is full: its IN_CREATE is surely lost, only the rescan can find it
    mkdir "$ROOT/c8/lessons/modulo-06"
    kill -CONT "$AG_PID"
    expect_log "the overflow is logged" 30 "$AG_LOG" '.msg | test("overflow")'
    expect_log "a rescan follows the overflow" 30 "$AG_LOG" '.msg == "rescan" and .overflows == "yes"'
    expect_sql "all 5,000 lessons live" 120 \
        "SELECT count(*) FROM contents WHERE content_type = 'course_lesson' AND deleted_at IS NULL AND slug LIKE 'c8/%'" \
        "$((n_dirs * per_dir))"
    expect_sql "modules 1-5" 10 \
        "SELECT string_agg(slug || '=' || (SELECT count(*) FROM contents l WHERE l.parent_content_id = m.id), ',' ORDER BY slug)
           FROM contents m WHERE content_type = 'course_module' AND deleted_at IS NULL" \
        "c8/module-1=1000,c8/module-2=1000,c8/module-3=1000,c8/module-4=1000,c8/module-5=1000"
    # directories born during the overflow are watched after it
    printf '# After\n' >"$ROOT/c8/lessons/modulo-06/after.md"
    expect_sql "a directory created while events were lost is watched afterwards" 15 \
        "SELECT title FROM contents WHERE slug = 'c8/lessons/modulo-06/after' AND deleted_at IS NULL" "After"
    check "agent alive after the overflow" alive "$AG_PID"
    stop_checked
}

# ---- 9. the database stopped for 10 s while files change -----------------------------------
watch_outage_converges() {
    test_begin "the database stopped for 10 s while files change"
    require_capability pgdir "$LIB_CUR" || return
    local d=$ROOT/c9/lessons i t_stop left
    lesson "$d/1.1-edit.md" 'title: Before'
    lesson "$d/1.2-gone.md"
    lesson "$d/1.3-kept.md"
    start_watch agent "$ROOT"
    wait_ready || return
    expect_sql "three lessons before the outage" 15 \
        "SELECT count(*) FROM contents WHERE content_type = 'course_lesson' AND deleted_at IS NULL" "3"
    t_stop=$(now_ms)
    cluster_stop
    check "cluster stopped" cluster_down
    for i in 1 2 3 4 5; do
        lesson "$d/2.$i-new.md"
    done
    lesson "$d/1.1-edit.md" 'title: After'
    rm "$d/1.2-gone.md"
    expect_log "unreachable logged" 10 "$AG_LOG" '.msg | startswith("database unreachable")'
    left=$((10000 - ($(now_ms) - t_stop)))
    if [[ $left -gt 0 ]]; then
        sleep "$((left / 1000)).$(printf '%03d' $((left % 1000)))" # the outage itself lasts 10 s
    fi
    check "agent alive during the outage" alive "$AG_PID"
    local n
    n=$(log_count "$AG_LOG" '.msg | startswith("database unreachable")')
    check "unreachable logged once during the outage (got $n)" test "$n" -eq 1
    check "cluster started again" cluster_start
    expect_log "database is back logged" 45 "$AG_LOG" '.msg == "database is back"'
    expect_sql "rows converge after the outage" 30 "$(rows_sql c9)" "\
c9|course_outline|c9|live|-|-
c9/lessons/1.1-edit|course_lesson|After|live|c9/module-1|1
c9/lessons/1.2-gone|course_lesson|1.2-gone|deleted|c9/module-1|2
c9/lessons/1.3-kept|course_lesson|1.3-kept|live|c9/module-1|3
c9/lessons/2.1-new|course_lesson|2.1-new|live|c9/module-2|1
c9/lessons/2.2-new|course_lesson|2.2-new|live|c9/module-2|2
c9/lessons/2.3-new|course_lesson|2.3-new|live|c9/module-2|3
c9/lessons/2.4-new|course_lesson|2.4-new|live|c9/module-2|4
c9/lessons/2.5-new|course_lesson|2.5-new|live|c9/module-2|5
c9/module-1|course_module|Module 1|live|c9|1
c9/module-2|course_module|Module 2|live|c9|2"
    n=$(log_count "$AG_LOG" '.msg == "database is back"')
    check "database is back logged once (got $n)" test "$n" -eq 1
    lesson "$d/3.1-later.md"
    expect_sql "live sync works after the outage" 15 \
        "SELECT deleted_at IS NULL FROM contents WHERE slug = 'c9/lessons/3.1-later'" "t"
    check "agent never exited" alive "$AG_PID"
    stop_checked
}

# ---- 9b. an outage longer than --queue-limit: a full rescan when the database is back -------
watch_outage_beyond_queue_limit_rescans() {
    test_begin "an outage that overflows --queue-limit 3"
    require_capability pgdir "$LIB_CUR" || return
    local d=$ROOT/c9b/lessons i
    lesson "$d/1.1-a.md"
    lesson "$d/1.2-b.md"
    start_watch agent "$ROOT" --queue-limit 3
    wait_ready || return
    expect_sql "two lessons before the outage" 15 \
        "SELECT count(*) FROM contents WHERE content_type = 'course_lesson' AND deleted_at IS NULL" "2"
    cluster_stop
    for i in 1 2 3 4 5 6; do
        lesson "$d/2.$i-new.md"
    done
    rm "$d/1.2-b.md"
    expect_log "unreachable logged" 10 "$AG_LOG" '.msg | startswith("database unreachable")'
    check "cluster started again" cluster_start
    expect_log "database is back logged" 45 "$AG_LOG" '.msg == "database is back"'
    expect_sql "7 changes through a queue of 3: rows converge" 30 \
        "SELECT string_agg(slug || '=' || (deleted_at IS NULL), ',' ORDER BY slug COLLATE \"C\")
           FROM contents WHERE content_type = 'course_lesson'" \
        "c9b/lessons/1.1-a=true,c9b/lessons/1.2-b=false,c9b/lessons/2.1-new=true,c9b/lessons/2.2-new=true,c9b/lessons/2.3-new=true,c9b/lessons/2.4-new=true,c9b/lessons/2.5-new=true,c9b/lessons/2.6-new=true"
    check "the overflowing queue led to a rescan" test "$(log_count "$AG_LOG" '.msg == "rescan"')" -ge 2
    check "agent never exited" alive "$AG_PID"
    stop_checked
}

# ---- 10. SIGKILL while files change, then a restart ------------------------------------------
watch_sigkill_then_restart_converges() {
    test_begin "SIGKILL while files change, then a restart"
    local d=$ROOT/c10/lessons/modulo-01 writer n_at_kill want
    mkdir -p "$d"
    start_watch agent1 "$ROOT"
    wait_ready || return
    local log1=$AG_LOG pid1=$AG_PID
    (
        for i in $(seq -w 1 200); do
            printf '# Lesson %s\n\nbody %s\n' "$i" "$i" >"$d/lesson-$i.md"
            if [[ $((10#$i % 4)) -eq 0 ]]; then
                sleep 0.005 # a generator's pace
            fi
        done
    ) &
    writer=$!
    lib_track "$writer"
    wait_until 30 log_has "$log1" '.msg == "synced"' "" 20
    kill -KILL "$pid1"
    wait "$pid1" 2>/dev/null
    n_at_kill=$(find "$d" -name '*.md' | wc -l)
    echo "  (killed with $n_at_kill of 200 files written, $(log_count "$log1" '.msg == "synced"') synced)"
    check "the kill landed mid-way ($n_at_kill files)" test "$n_at_kill" -lt 200
    wait_until 60 dead "$writer"
    wait "$writer" 2>/dev/null
    start_watch agent2 "$ROOT"
    wait_ready || return
    want=$(cd "$ROOT" && md5sum c10/lessons/modulo-01/*.md |
        awk '{ sub(/\.md$/, "", $2); print $2 "|" $1 }' | LC_ALL=C sort)
    expect_sql "after the restart every file has a live row with its content" 30 \
        "SELECT slug || '|' || md5(content) FROM contents
          WHERE content_type = 'course_lesson' AND deleted_at IS NULL ORDER BY slug COLLATE \"C\"" "$want"
    expect_sql "no extra rows, one file state per file" 5 \
        "SELECT (SELECT count(*) FROM contents WHERE content_type = 'course_lesson'),
                (SELECT count(*) FROM creatoros_agent.file_state WHERE error IS NULL)" "200|200"
    stop_checked
}

# ---- 11. SIGTERM and SIGINT: exit 0 within 2 s -----------------------------------------------
watch_sigterm_exits_clean() {
    test_begin "SIGTERM / SIGINT exit 0 within 2 s"
    lesson "$ROOT/c11/lessons/1.1-a.md"
    local sig
    for sig in TERM INT; do
        start_watch "agent-$sig" "$ROOT"
        wait_ready || return
        local t0 pid=$AG_PID
        t0=$(now_ms)
        kill "-$sig" "$pid"
        if wait_until 2 dead "$pid"; then
            pass "SIG$sig: exited after $(($(now_ms) - t0)) ms"
        else
            fail "SIG$sig: still running 2 s later"
        fi
        stop_agent "$pid" 10
        check "SIG$sig: exit status 0 (rc=$STOP_RC)" test "$STOP_RC" -eq 0
        check "SIG$sig: stopping and stopped logged" test \
            "$(log_count "$AG_LOG" '.msg == "stopping" or .msg == "stopped"')" -eq 2
        check_sanitizer "$AG_ERRF"
    done
    # A second SIGTERM while the first is being handled (an impatient operator, a supervisor
    # that signals twice) must not turn the clean stop into a death by signal. The 10 ms gap
    # lands it after the first was read (signals that arrive together merge into one).
    start_watch agent-twice "$ROOT"
    wait_ready || return
    kill -TERM "$AG_PID"
    sleep 0.01
    kill -TERM "$AG_PID" 2>/dev/null
    wait_until 10 dead "$AG_PID"
    stop_agent "$AG_PID" 5
    check "two SIGTERMs: still exit status 0 (rc=$STOP_RC)" test "$STOP_RC" -eq 0
    # SIGTERM with a batch in flight: it is finished, and what the log says is in the database.
    # The signal counts only if a batch was in flight when it was sent: the agent logged a
    # "synced" line after that instant and before its "stopping" line. Files are written all
    # along so that the agent is syncing most of the time; a signal that fell between two
    # batches is sent again to a new agent.
    local i d try busy=0 writer sent last_ts last_ms
    for try in 1 2 3 4 5; do
        start_watch "agent-busy-$try" "$ROOT"
        wait_ready || return
        d=$ROOT/c11/lessons/modulo-$((try + 1))
        mkdir -p "$d"
        (
            for ((i = 1; i <= 50000; i++)); do
                [[ -e $SDIR/writer-$try.stop ]] && break
                printf '# B%d\n' "$i" >"$d/b-$i.md"
            done
        ) &
        writer=$!
        lib_track "$writer"
        wait_until 30 log_has "$AG_LOG" '.msg == "synced" and (.path | startswith($p))' "${d#"$ROOT"/}/"
        sent=$(now_ms)
        stop_agent "$AG_PID" 15
        touch "$SDIR/writer-$try.stop"
        wait_until 30 dead "$writer"
        wait "$writer" 2>/dev/null
        check "SIGTERM while busy: exit 0 (rc=$STOP_RC, ${STOP_MS} ms)" test "$STOP_RC" -eq 0
        check_sanitizer "$AG_ERRF"
        last_ts=$(log_lines "$AG_LOG" 'true' |
            awk '/"msg":"stopping"/ { exit } /"msg":"synced"/ { l = $0 } END { print l }' | jq -r '.ts' 2>/dev/null)
        last_ms=$(date -d "$last_ts" +%s%3N 2>/dev/null || echo 0)
        echo "  (try $try: SIGTERM sent $((last_ms - sent)) ms before the last synced line ahead of \"stopping\")"
        if ((last_ms > sent)); then
            busy=1
            break
        fi
    done
    check "SIGTERM arrived with a batch in flight (a synced line after it was sent; try $try)" \
        test "$busy" -eq 1
    local logged in_db
    logged=$(log_lines "$AG_LOG" '.msg == "synced"' | jq -r '.slug' | LC_ALL=C sort -u)
    in_db=$(qcmp "$URL" "SELECT slug FROM contents WHERE content_type = 'course_lesson' AND deleted_at IS NULL" | LC_ALL=C sort)
    check "every path logged synced is in the database" \
        test -z "$(LC_ALL=C comm -23 <(printf '%s\n' "$logged") <(printf '%s\n' "$in_db"))"
}

# ---- 12. idle means idle ---------------------------------------------------------------------
cpu_ticks() { # utime + stime of PID (fields 14 and 15; comm may hold spaces)
    local stat rest
    local -a fld
    stat=$(<"/proc/$1/stat") || return 1
    rest=${stat##*) }
    read -r -a fld <<<"$rest"
    echo $((fld[11] + fld[12]))
}
wakeups() { # context switches of every thread of PID
    cat /proc/"$1"/task/*/status 2>/dev/null |
        awk '/^(voluntary|nonvoluntary)_ctxt_switches/ {n += $2} END {print n + 0}'
}
watch_idle_is_idle() {
    test_begin "idle means idle"
    lesson "$ROOT/c12/COURSE-BRIEF.md" 'title: Twelve'
    lesson "$ROOT/c12/lessons/1.1-a.md"
    lesson "$ROOT/c12/lessons/1.2-b.md"
    start_watch agent "$ROOT"
    wait_ready || return
    expect_sql "synced before measuring" 15 \
        "SELECT count(*) FROM contents WHERE content_type = 'course_lesson'" "2"
    local c0 c1 w0 w1
    c0=$(cpu_ticks "$AG_PID")
    w0=$(wakeups "$AG_PID")
    sleep 3 # the measurement window
    c1=$(cpu_ticks "$AG_PID")
    w1=$(wakeups "$AG_PID")
    check "no CPU ticks over 3 s of quiet ($c0 -> $c1)" test "$c1" -eq "$c0"
    check "no wakeups over 3 s of quiet ($w0 -> $w1 context switches)" test "$w1" -eq "$w0"
    stop_checked
}

# ---- 13. sd_notify ----------------------------------------------------------------------------
notify_ts() { # notify_ts OUT PATTERN: epoch ms of the first line whose message matches
    awk -F'\t' -v pat="$2" '$2 ~ pat {print $1; exit}' "$1"
}
log_ts_ms() { # log_ts_ms LOG JQ-CONDITION: epoch ms of the first matching line
    local ts
    ts=$(log_lines "$1" "$2" | head -1 | jq -r '.ts')
    [[ -n $ts ]] || return 1
    echo $(($(date -u -d "$ts" +%s%3N)))
}
watch_sd_notify() {
    test_begin "sd_notify"
    if [[ ! -x $PY ]]; then
        fail "$PY is missing"
        return
    fi
    local sock=$SDIR/notify.sock out=$SDIR/notify.out listener t_ready t_done
    $PY "$CO_SOURCE_DIR/tests/notify_listen.py" "$sock" "$out" 120 &
    listener=$!
    lib_track "$listener"
    wait_until 10 grep -qs 'listening' "$out" || { fail "the notify listener did not start"; return; }
    lesson "$ROOT/c13/lessons/1.1-a.md"
    lesson "$ROOT/c13/lessons/1.2-b.md"
    lesson "$ROOT/c13/lessons/1.3-c.md"
    AG_PREFIX=(env "NOTIFY_SOCKET=$sock" "WATCHDOG_USEC=300000")
    start_watch agent "$ROOT"
    AG_PREFIX=()
    if wait_until 20 grep -qs $'\tREADY=1$' "$out"; then pass "READY=1 received"; else fail "no READY=1"; fi
    wait_ready
    t_ready=$(notify_ts "$out" '^READY=1$')
    t_done=$(log_ts_ms "$AG_LOG" '.msg == "rescan done"')
    check "READY=1 after the first reconcile (rescan done at $t_done, READY at $t_ready)" \
        test "${t_ready:-0}" -ge "${t_done:-99999999999999}"
    check "ready logged with the reconcile's count" test \
        "$(log_count "$AG_LOG" '.msg == "ready" and .synced == "3" and .database == "up"')" -eq 1
    check "STATUS= after READY=1" bash -c 'awk -F"\t" "/\tREADY=1$/ {r=1} r && /\tSTATUS=.*database up/ {f=1} END {exit !f}" "$1"' _ "$out"
    lesson "$ROOT/c13/lessons/1.4-d.md"
    if wait_until 15 grep -q 'STATUS=.*4 files synced' "$out"; then
        pass "STATUS= reports the live sync (4 files synced)"
    else
        fail "no STATUS= with 4 files synced"
        grep STATUS "$out" | tail -3 | sed 's/^/      /'
    fi
    if wait_until 5 _notify_has "$out" $'\tWATCHDOG=1$' 2; then
        pass "WATCHDOG=1 every WATCHDOG_USEC/2"
    else
        fail "no repeated WATCHDOG=1 with WATCHDOG_USEC=300000"
    fi
    kill -TERM "$AG_PID"
    if wait_until 5 grep -q $'\tSTOPPING=1$' "$out"; then pass "STOPPING=1 on SIGTERM"; else fail "no STOPPING=1"; fi
    # one SIGTERM only: wait for the exit without signalling again
    wait_until 10 dead "$AG_PID"
    stop_checked
    kill -TERM "$listener" 2>/dev/null
    wait_until 5 dead "$listener"
    wait "$listener" 2>/dev/null
}
_notify_has() { [[ $(grep -c -- "$2" "$1") -ge $3 ]]; }

# ---- 14. SIGHUP reopens the log file ---------------------------------------------------------
watch_sighup_reopens_log() {
    test_begin "SIGHUP reopens the log file"
    local f=$ROOT/c14/lessons/1.1-a.md
    lesson "$f" 'title: First'
    start_watch agent "$ROOT"
    wait_ready || return
    expect_synced "$AG_LOG" c14/lessons/1.1-a.md
    mv "$AG_LOG" "$AG_LOG.1"
    kill -HUP "$AG_PID"
    expect_log "a new log file after SIGHUP" 10 "$AG_LOG" '.msg == "log file reopened"'
    lesson "$f" 'title: Second'
    expect_synced "$AG_LOG" c14/lessons/1.1-a.md
    expect_sql "the row follows" 10 "SELECT title FROM contents WHERE slug = 'c14/lessons/1.1-a'" "Second"
    check "the rotated file got nothing more" test "$(synced_count "$AG_LOG.1" c14/lessons/1.1-a.md)" -eq 1
    check "agent alive after SIGHUP" alive "$AG_PID"
    stop_checked
    check "stopped is in the new log" test "$(log_count "$AG_LOG" '.msg == "stopped"')" -eq 1
}

# ---- 15. a rejected file; the agent keeps going ----------------------------------------------
watch_rejected_file_keeps_going() {
    test_begin "a rejected file; the agent keeps going"
    local d=$ROOT/c15/lessons
    lesson "$d/1.1-good.md" 'title: Good'
    start_watch agent "$ROOT"
    wait_ready || return
    expect_sql "the good lesson" 15 "SELECT title FROM contents WHERE slug = 'c15/lessons/1.1-good'" "Good"
    lesson "$d/1.2-bad.md" 'title: [unclosed' 'x: 1'
    expect_log "bad YAML: warn rejected with path and reason" 15 "$AG_LOG" \
        '.level == "warn" and .msg == "rejected" and .path == $p and ((.reason // "") | length > 0)' c15/lessons/1.2-bad.md
    log_lines "$AG_LOG" '.msg == "rejected"' | head -1 | sed 's/^/      /'
    check "the reason gives a line" test "$(log_count "$AG_LOG" \
        '.msg == "rejected" and .path == $p and (.reason | test("line"))' c15/lessons/1.2-bad.md)" -ge 1
    printf 'caf\xe9 au lait\n' >"$d/1.4-latin1.md"
    expect_log "invalid UTF-8 rejected, naming UTF-8" 15 "$AG_LOG" \
        '.level == "warn" and .msg == "rejected" and .path == $p and (.reason | test("UTF-8"))' c15/lessons/1.4-latin1.md
    check "agent alive after rejections" alive "$AG_PID"
    lesson "$d/1.3-after.md" 'title: After'
    expect_sql "a good file written after it syncs" 15 \
        "SELECT title, deleted_at IS NULL FROM contents WHERE slug = 'c15/lessons/1.3-after'" "After|t"
    lesson "$d/1.1-good.md" 'title: [broken'
    expect_log "a good file turned bad is rejected" 15 "$AG_LOG" '.msg == "rejected" and .path == $p' c15/lessons/1.1-good.md
    expect_sql "its row keeps what it held" 5 \
        "SELECT title, deleted_at IS NULL FROM contents WHERE slug = 'c15/lessons/1.1-good'" "Good|t"
    expect_sql "rejections recorded in the file state" 5 \
        "SELECT string_agg(path, ',' ORDER BY path) FROM creatoros_agent.file_state WHERE error IS NOT NULL" \
        "c15/lessons/1.1-good.md,c15/lessons/1.2-bad.md,c15/lessons/1.4-latin1.md"
    lesson "$d/1.1-good.md" 'title: Fixed'
    expect_sql "fixed: synced again" 15 "SELECT title FROM contents WHERE slug = 'c15/lessons/1.1-good'" "Fixed"
    expect_sql "fixed: the error is cleared" 5 \
        "SELECT error IS NULL FROM creatoros_agent.file_state WHERE path = 'c15/lessons/1.1-good.md'" "t"
    stop_checked
}

# ---- 16. module titles through every kind of lesson change --------------------------------
# A module is titled by its lowest-numbered lesson that names one. The agent skips the module
# statement when a batch cannot change the modules; each step here changes them, or looks as
# if it might, and the rows must say what the contract says.
watch_module_titles_follow_lessons() {
    test_begin "module titles through every kind of lesson change"
    local d=$ROOT/c16/lessons
    local mods="SELECT string_agg(slug || ' ' || title || ' ' || CASE WHEN deleted_at IS NULL
                   THEN 'live' ELSE 'deleted' END, ', ' ORDER BY slug) FROM contents
                 WHERE content_type = 'course_module' AND slug LIKE 'c16/%'"
    lesson "$ROOT/c16/COURSE-BRIEF.md" 'title: Sixteen' 'creator_mind: mind-16'
    lesson "$d/1.2-b.md" 'module_name: Beta'
    lesson "$d/1.3-c.md" 'module_name: Gamma'
    start_watch agent "$ROOT"
    wait_ready || return
    expect_sql "the lowest lesson names the module" 15 "$mods" "c16/module-1 Beta live"
    lesson "$d/1.1-a.md" 'module_name: Alpha'
    expect_sql "a new lower lesson renames it" 15 "$mods" "c16/module-1 Alpha live"
    lesson "$d/1.4-d.md" 'module_name: Delta'
    lesson "$d/1.5-e.md"
    expect_synced "$AG_LOG" c16/lessons/1.5-e.md
    expect_sql "higher lessons leave it" 5 "$mods" "c16/module-1 Alpha live"
    rm "$d/1.1-a.md"
    expect_sql "its namer deleted: the next one names it" 15 "$mods" "c16/module-1 Beta live"
    lesson "$d/1.2-b.md" 'module_name: Beta Two'
    expect_sql "the namer's module_name edited" 15 "$mods" "c16/module-1 Beta Two live"
    lesson "$d/1.3-c.md" 'lesson_id: "2.3"' 'module_name: Gamma'
    expect_sql "a lesson moved to a new module" 15 "$mods" \
        "c16/module-1 Beta Two live, c16/module-2 Gamma live"
    printf -- '---\nmodule_name: [broken\n---\nx\n' >"$d/1.2-b.md"
    expect_log "the namer rejected" 15 "$AG_LOG" '.msg == "rejected" and .path == $p' \
        c16/lessons/1.2-b.md
    expect_sql "a rejected namer keeps its module's title" 5 "$mods" \
        "c16/module-1 Beta Two live, c16/module-2 Gamma live"
    rm "$d/1.2-b.md"
    expect_sql "the rejected namer deleted: the next one names it" 15 "$mods" \
        "c16/module-1 Delta live, c16/module-2 Gamma live"
    lesson "$d/1.1-n.md"
    expect_synced "$AG_LOG" c16/lessons/1.1-n.md
    expect_sql "a lower lesson naming no module leaves the title" 5 "$mods" \
        "c16/module-1 Delta live, c16/module-2 Gamma live"
    # every content ever written (lessons added to existing modules too) has one creator link
    expect_sql "each content linked to the creator once" 5 \
        "SELECT count(*), count(*) FILTER (WHERE n = 1 AND mind = 'mind-16') FROM (
           SELECT c.slug, count(cm.mind_id) AS n, min(m.slug) AS mind FROM contents c
           LEFT JOIN content_minds cm ON cm.content_id = c.id AND cm.role = 'creator'
           LEFT JOIN minds m ON m.id = cm.mind_id
           WHERE split_part(c.slug, '/', 1) = 'c16' GROUP BY c.slug) x" "9|9"
    rm "$d/1.3-c.md"
    expect_sql "the last lesson of a module deleted: the module too" 15 "$mods" \
        "c16/module-1 Delta live, c16/module-2 Gamma deleted"
    lesson "$d/1.3-c.md" 'lesson_id: "2.3"' 'module_name: Gamma'
    expect_sql "back again: the module is live" 15 "$mods" \
        "c16/module-1 Delta live, c16/module-2 Gamma live"
    stop_checked
}

# ---- 17. a big course written in parts beside a small one ---------------------------------
# 150 lessons of 8 MB: one transaction of many parts through the second connection, the
# agent's memory bounded (README, "Memory"), and a small course written meanwhile is synced
# at once through the first.
BIG_RSS_BUDGET_MB=160
watch_big_course_beside_small() {
    test_begin "a course of 150 lessons of 8 MB beside a small one"
    local t0 lat hwm
    # a tag new to the database in both courses: the big course's transaction, open for a
    # minute, must not hold the small one up (sync_shared_ensure)
    if ! "$CO_SOURCE_DIR/tests/hostile/make_big_course.sh" "$ROOT" huge 150 8000000 'tags: [grande, novo]'; then
        fail "make_big_course.sh failed"
        return
    fi
    AG_PREFIX=(env "ASAN_OPTIONS=${ASAN_OPTIONS:-}:quarantine_size_mb=16")
    start_watch agent "$ROOT" --log-level debug
    wait_ready 60 || return
    expect_log "the big course goes to the second connection" 10 "$AG_LOG" \
        '.msg == "big course: written in parts beside the other courses" and .course == "huge"'
    # once part 1 is in (its new tags inserted, uncommitted) and part 2 on its way
    expect_log "and is being written" 60 "$AG_LOG" '.msg == "part sent" and .part == "2"'
    lesson "$ROOT/small/lessons/aula-1.1-a.md" 'title: "Small A"' 'tags: [novo]'
    t0=$(now_ms)
    expect_sql "a small course written meanwhile is visible within 5 s" 5 \
        "SELECT count(*) FROM contents WHERE slug = 'small/lessons/aula-1.1-a' AND deleted_at IS NULL" 1
    lat=$(($(now_ms) - t0))
    echo "  (the small course was visible after $lat ms)"
    check "the big course was still being written then" \
        test "$(log_count "$AG_LOG" '.msg == "big course written"')" -eq 0
    expect_log "the big course is written" 900 "$AG_LOG" '.msg == "big course written"'
    expect_sql "its 150 lessons are live" 10 \
        "SELECT count(*) FROM contents WHERE slug LIKE 'huge/lessons/%' AND deleted_at IS NULL" 150
    expect_sql "in one transaction" 5 \
        "SELECT count(DISTINCT xmin::text) FROM contents WHERE slug LIKE 'huge%'" 1
    expect_sql "the tags of both courses linked" 5 \
        "SELECT string_agg(t.name || ':' || n, ',' ORDER BY t.name) FROM (SELECT tag_id, count(*) AS n
           FROM content_tags GROUP BY tag_id) x JOIN tags t ON t.id = x.tag_id" "grande:150,novo:151"
    hwm=$(awk '/^VmHWM/ { print $2 }' "/proc/$AG_PID/status")
    echo "  (peak RSS of watch: ${hwm:-?} kB)"
    check "peak RSS ${hwm:-?} kB within twice the documented ${BIG_RSS_BUDGET_MB} MB" \
        test "${hwm:-999999999}" -le $((2 * BIG_RSS_BUDGET_MB * 1024))
    check "the database was never reported unreachable" \
        test "$(log_count "$AG_LOG" '.msg | test("unreachable")')" -eq 0
    # a lesson of the big course edited: written again (now small, at once)
    printf 'Editado.\n' >>"$ROOT/huge/lessons/aula-2.2-big.md"
    expect_sql "an edit of a big lesson is synced" 30 \
        "SELECT content LIKE '%Editado.%' FROM contents WHERE slug = 'huge/lessons/aula-2.2-big'" t
    stop_checked
}

# ---- 18, 19. volumes that go away: an empty tree is not a deleted tree -----------------------
# The agent runs in a private mount namespace (unshare -m); the test mounts and unmounts in it
# through nsenter, so that no mount leaks into the machine's.

# start_watch_ns NAME ROOT SETUP [ARGS...]: like start_watch, in a new mount namespace where
# the shell commands SETUP run first (mounts).
start_watch_ns() {
    local name=$1 root=$2 setup=$3
    shift 3
    # shellcheck disable=SC2034 # read by start_agent
    local -a AG_PREFIX=(unshare -m --propagation private -- sh -c "$setup"' && exec "$@"' sh)
    start_watch "$name" "$root" "$@"
}
in_ns() { nsenter -t "$AG_PID" -m -- "$@"; }
# live_sql COURSE: its live lessons
live_sql() {
    echo "SELECT count(*) FROM contents WHERE split_part(slug, '/', 1) = '$1'
          AND content_type = 'course_lesson' AND deleted_at IS NULL"
}
LESSONS_LIVE_ARCHIVED="SELECT count(*) FILTER (WHERE deleted_at IS NULL) || ' ' ||
    (SELECT count(*) FROM content_projects WHERE status = 'archived')
    FROM contents WHERE content_type = 'course_lesson'"

watch_course_volume_unmounted_keeps_rows() {
    test_begin "a course's volume unmounted under watch, and mounted again"
    require_capability mountns "$LIB_CUR" || return
    local V=$SDIR/volsrc
    lesson "$V/COURSE-BRIEF.md" 'title: "On a volume"'
    lesson "$V/lessons/aula-1.1-a.md" 'title: "Vol A"'
    lesson "$V/lessons/aula-1.2-b.md" 'title: "Vol B"'
    lesson "$V/lessons/m2/aula-2.1-c.md" 'title: "Vol C"'
    lesson "$ROOT/local/lessons/aula-1.1-x.md" 'title: "Local X"'
    mkdir -p "$ROOT/vol"
    # a course directory on its own volume; --queue-limit 2: a burst of events means a rescan
    start_watch_ns agent "$ROOT" "mount -t tmpfs tmpfs '$ROOT/vol' && cp -a '$V/.' '$ROOT/vol/'" \
        --rescan-interval 1 --queue-limit 2 --log-level debug
    wait_ready || return
    expect_sql "the volume's course is synced" 20 "$(live_sql vol)" 3
    in_ns umount -l "$ROOT/vol"
    expect_log "the unmount is noticed (umount -l)" 10 "$AG_LOG" \
        '.msg == "a volume was unmounted: nothing below it is deleted; checking until it is back" and .path == "vol"'
    # a burst beside it, met at once (SIGSTOP): a full rescan (--queue-limit 2), which must
    # leave the volume's rows alone
    kill -STOP "$AG_PID"
    for i in 1 2 3 4 5; do lesson "$ROOT/local/lessons/m2/aula-2.$i.md" "title: \"Local 2.$i\""; done
    kill -CONT "$AG_PID"
    expect_sql "the burst is synced" 20 "$(live_sql local)" 6
    check "a rescan ran while the volume was away" \
        test "$(log_count "$AG_LOG" '.msg == "rescan done"')" -ge 2
    expect_log "checked periodically" 10 "$AG_LOG" '.msg == "the volume is still away" and .path == "vol"' "" 2
    expect_sql "nothing of the volume's course was deleted or archived" 5 \
        "SELECT ($(live_sql vol)) || ' ' || (SELECT status FROM content_projects WHERE slug = 'vol')" \
        "3 in_progress"
    # mounted again, with one lesson more: found, and watched again
    in_ns sh -c "mount -t tmpfs tmpfs '$ROOT/vol' && cp -a '$V/.' '$ROOT/vol/' &&
        printf -- '---\ntitle: \"Vol D\"\n---\nd\n' >'$ROOT/vol/lessons/aula-1.3-d.md'"
    expect_log "the volume is back" 15 "$AG_LOG" '.msg == "the volume is back; rescanning" and .path == "vol"'
    expect_sql "the lesson added meanwhile is synced, nothing lost" 20 "$(live_sql vol)" 4
    in_ns sh -c "printf -- '---\ntitle: \"Vol E\"\n---\ne\n' >'$ROOT/vol/lessons/aula-1.4-e.md'"
    expect_sql "a lesson written on the volume now is seen (watched again)" 20 "$(live_sql vol)" 5
    check "no row of the volume was ever soft-deleted" \
        test "$(qcmp "$URL" "SELECT count(*) FROM contents WHERE slug LIKE 'vol%' AND deleted_at IS NOT NULL")" -eq 0
    stop_checked
}

watch_root_volume_unmounted_keeps_rows() {
    test_begin "the root's volume unmounted, and a restart on the empty mount point"
    require_capability mountns "$LIB_CUR" || return
    local V=$SDIR/treesrc c i
    for c in r1 r2; do
        lesson "$V/$c/COURSE-BRIEF.md" "title: \"Course $c\""
        for i in 1 2 3 4; do lesson "$V/$c/lessons/aula-1.$i.md" "title: \"$c $i\""; done
    done
    # the root itself is a volume
    start_watch_ns agent "$ROOT" "mount -t tmpfs tmpfs '$ROOT' && cp -a '$V/.' '$ROOT/'" \
        --rescan-interval 1 --log-level debug
    wait_ready || return
    expect_sql "the tree is synced" 20 "$LESSONS_LIVE_ARCHIVED" "8 0"
    in_ns umount "$ROOT"
    expect_log "the root's unmount is noticed" 10 "$AG_LOG" \
        '.msg == "a volume was unmounted: nothing below it is deleted; checking until it is back" and .path == $p' "$ROOT"
    expect_log "checked periodically" 10 "$AG_LOG" '.msg == "the volume is still away" and .path == $p' "$ROOT" 2
    check "not taken for a deleted root" \
        test "$(log_count "$AG_LOG" '.msg | test("deleted or moved away")')" -eq 0
    expect_sql "nothing deleted, nothing archived" 5 "$LESSONS_LIVE_ARCHIVED" "8 0"
    in_ns sh -c "mount -t tmpfs tmpfs '$ROOT' && cp -a '$V/.' '$ROOT/' &&
        printf -- '---\ntitle: \"r1 5\"\n---\nx\n' >'$ROOT/r1/lessons/aula-1.5.md'"
    expect_log "the root is back" 15 "$AG_LOG" '.msg == "the volume is back; rescanning"'
    expect_sql "the lesson added meanwhile is synced, nothing lost" 20 "$LESSONS_LIVE_ARCHIVED" "9 0"
    stop_checked

    # A restart on the empty mount point (the volume not mounted): nothing deleted; the agent
    # checks until the volume is there, then syncs what changed.
    start_watch_ns agent2 "$ROOT" "true" --rescan-interval 1
    wait_ready || return
    expect_log "the reconcile is refused, once" 10 "$AG_LOG" \
        '.msg == "reconcile refused; keeping every row and checking again" and (.error | test("refusing to delete or archive 11 of the 11 files.*the tree is empty"))'
    expect_sql "every row kept" 5 "$LESSONS_LIVE_ARCHIVED" "9 0"
    in_ns sh -c "mount -t tmpfs tmpfs '$ROOT' && cp -a '$V/.' '$ROOT/' &&
        printf -- '---\ntitle: \"r2 5\"\n---\nx\n' >'$ROOT/r2/lessons/aula-1.5.md'"
    expect_log "the tree is back" 15 "$AG_LOG" '.msg == "the tree is back"'
    check "the refusal was logged once" \
        test "$(log_count "$AG_LOG" '.msg == "reconcile refused; keeping every row and checking again"')" -eq 1
    expect_sql "r1's lesson 5 (not on this copy) deleted, r2's new one synced" 20 \
        "SELECT string_agg(slug || ':' || (deleted_at IS NULL), ',' ORDER BY slug) FROM contents WHERE slug LIKE '%aula-1.5'" \
        "r1/lessons/aula-1.5:false,r2/lessons/aula-1.5:true"
    in_ns sh -c "printf -- '---\ntitle: \"r2 6\"\n---\nx\n' >'$ROOT/r2/lessons/aula-1.6.md'"
    expect_sql "the tree is watched again" 20 \
        "SELECT count(*) FROM contents WHERE slug = 'r2/lessons/aula-1.6' AND deleted_at IS NULL" 1
    stop_checked

    # The operator means it: --allow-mass-delete on the empty mount point archives everything.
    start_watch_ns agent3 "$ROOT" "true" --rescan-interval 1 --allow-mass-delete
    wait_ready || return
    expect_sql "every course archived" 20 \
        "SELECT string_agg(slug || ':' || status, ',' ORDER BY slug) FROM content_projects" "r1:archived,r2:archived"
    stop_checked
}

# ---- 20. a schema problem: logged once per cause, the agent keeps watching and retries -------
rollbacks() { qcmp "$URL" "SELECT pg_stat_clear_snapshot(); SELECT xact_rollback FROM pg_stat_database WHERE datname = current_database()" | tail -1; }
more_rollbacks() { [[ $(rollbacks) -gt $1 ]]; }
watch_schema_problem_logged_once() {
    test_begin "a schema problem: logged once per cause, retried on the slow interval"
    q "$URL" "ALTER TABLE public.contents DROP COLUMN file_path CASCADE" >/dev/null
    start_watch agent "$ROOT"
    wait_ready || return
    local problem='.msg == "database needs an operator; retrying every 30 s"'
    expect_log "the schema problem logged, naming the column and what to run" 10 "$AG_LOG" \
        "$problem and .level == \"error\" and (.error | test(\"column \\\"file_path\\\" of relation \\\"contents\\\" does not exist.*creatoros-agent migrate\"))"
    check "ready says so" test "$(log_count "$AG_LOG" '.msg == "ready" and .database == "needs an operator"')" -eq 1
    check "not called an outage" test "$(log_count "$AG_LOG" '.msg | test("unreachable")')" -eq 0
    lesson "$ROOT/c17/lessons/1.1-a.md" 'lesson_id: "1.1"' 'title: Waits'
    local t_fail r0
    t_fail=$(now_ms)
    check "the agent's failed session ended" wait_until 10 no_agent_session "$URL"
    r0=$(rollbacks)
    check "the agent tried again" wait_until 45 more_rollbacks "$r0"
    check "on the slow interval (not before 20 s: $(($(now_ms) - t_fail)) ms)" test $(($(now_ms) - t_fail)) -ge 20000
    check "same cause: still one line" test "$(log_count "$AG_LOG" "$problem")" -eq 1
    check "the agent keeps watching" alive "$AG_PID"
    q "$URL" "ALTER TABLE public.contents ADD COLUMN file_path text" >/dev/null
    expect_sql "the schema mended: the file written at the next try" 45 \
        "SELECT title, file_path FROM contents WHERE slug = 'c17/lessons/1.1-a'" "Waits|c17/lessons/1.1-a.md"
    expect_log "database is back logged" 5 "$AG_LOG" '.msg == "database is back"'
    stop_checked
}

# ---- 21. an existing CreatorOS database (tests/fixtures/production) -------------------------
watch_production_database_adopted() {
    test_begin "an existing CreatorOS database: adoption, refusal, the app's NOTICEs"
    prod_db prod || return
    local tenant_rows="SELECT md5(string_agg(c::text || c.xmin::text, ',' ORDER BY c.id)) FROM contents c
                       WHERE project_id = 'f6f6f6f6-0000-4000-8000-000000000006'" before
    before=$(qcmp "$URL" "$tenant_rows")
    AG_PREFIX=(env -u PGOPTIONS) # the server's own client_min_messages: the app's NOTICEs come
    start_watch agent "$ROOT" --creator-mind alan
    wait_ready || return
    cp -a "$CO_SOURCE_DIR/tests/fixtures/production/tree/." "$ROOT/"
    expect_sql "the legacy lessons adopted (same ids), the new course written" 20 \
        "SELECT string_agg(slug || '=' || CASE WHEN id::text LIKE 'e5e5e5e5-%' THEN right(id::text, 3) ELSE 'new' END, ' ' ORDER BY slug)
           FROM contents WHERE content_type = 'course_lesson' AND file_path IS NOT NULL" \
        "legacy-course/lessons/1.1-intro=101 legacy-course/lessons/1.2-setup=102 legacy-course/lessons/2.1-deeper=103 legacy-course/lessons/2.2-new=new new-course/lessons/1.1-hello=new"
    expect_log "one adopted line per legacy lesson" 10 "$AG_LOG" \
        '.msg == "adopted" and (.path | startswith("legacy-course/lessons/")) and (.id | startswith("e5e5e5e5-"))' "" 3
    expect_log "the tenant's course refused, naming the owner" 10 "$AG_LOG" \
        '.msg == "rejected" and .path == "tenant-course/lessons/1.1-mine.md" and (.reason | test("owned by mind tenant"))'
    lesson "$ROOT/legacy-course/lessons/3.1-more.md" 'lesson_id: "3.1"' 'module_title: More'
    expect_sql "a new lesson of the adopted course, live" 15 \
        "SELECT c.title || '|' || par.slug FROM contents c JOIN contents par ON par.id = c.parent_content_id
          WHERE c.slug = 'legacy-course/lessons/3.1-more'" "3.1-more|legacy-course/module-3"
    lesson "$ROOT/tenant-course/lessons/1.1-mine.md" 'title: Edited'
    expect_log "an edit of the refused course: refused again" 15 "$AG_LOG" \
        '.msg == "rejected" and .path == "tenant-course/lessons/1.1-mine.md"' "" 2
    check "the tenant's rows untouched" test "$(qcmp "$URL" "$tenant_rows")" == "$before"
    check "the legacy project kept its owner" test "$(qcmp "$URL" "SELECT m.slug FROM content_projects p JOIN minds m ON m.id = p.creator_mind_id WHERE p.slug = 'legacy-course'")" == alan
    check "the app's NOTICEs: never a warn line" test "$(log_count "$AG_LOG" '.msg == "database says" and .level != "debug"')" -eq 0
    check "the app's NOTICEs: counted on info lines" test "$(log_count "$AG_LOG" '.msg == "database notices" and .level == "info" and (.count | tonumber) > 0')" -ge 1
    stop_checked
}

lib_run watch_course_brief_then_lessons watch_chunked_write_synced_on_close watch_atomic_save_is_one_update \
    watch_delete_then_recreate_keeps_ids watch_rename_moves_the_row watch_burst_of_new_directories \
    watch_course_moved_in_out_renamed watch_deletions_settle watch_overflow_rescans \
    watch_outage_converges watch_outage_beyond_queue_limit_rescans watch_sigkill_then_restart_converges \
    watch_sigterm_exits_clean watch_idle_is_idle watch_sd_notify \
    watch_sighup_reopens_log watch_rejected_file_keeps_going watch_module_titles_follow_lessons \
    watch_big_course_beside_small watch_course_volume_unmounted_keeps_rows watch_root_volume_unmounted_keeps_rows \
    watch_schema_problem_logged_once watch_production_database_adopted
lib_finish
