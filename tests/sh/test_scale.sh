#!/usr/bin/env bash
# test_scale.sh -- a tree larger than one page of recorded state: the agent reads its file
# state from the database in pages (4,096 rows, agent/reconcile.c), so a tree of 5,050 files
# spans two pages; a file recorded on the second page must be known as well as one on the
# first.
#
#   scale_rerun_over_two_pages_writes_nothing   backfill of 5,050 files, then a re-run:
#                                               nothing written, every file unchanged
#   scale_watch_knows_both_pages                watch on the recorded tree: ready with
#                                               nothing synced; an edit on each page syncs
#
# Needs CO_TEST_DB, CO_AGENT, CO_SOURCE_DIR (deploy/test.sh exports them).
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

scale_rerun_over_two_pages_writes_nothing() {
    test_begin "a re-run over a recorded tree of two pages of state writes nothing"
    scale_db || return
    assert_eq "more files are recorded than one page holds" "$FILES" \
        "$(qcmp "$URL" "SELECT count(*) FROM creatoros_agent.file_state WHERE source = 'big'")"
    check "the tree needs two pages (more than 4,096 files)" test "$FILES" -gt 4096
    agent backfill --root "$T" --db "$URL" --source big --log-format text
    assert_eq "the re-run exits 0" 0 "$AG_RC"
    assert_match "the re-run writes nothing" \
        "^$FILES files: 0 written, $FILES unchanged, 0 deleted, 0 rejected; 0 courses archived; 0 rows changed" \
        "$AG_OUT"
}

scale_watch_knows_both_pages() {
    test_begin "watch on the recorded tree: nothing to sync at start; edits on both pages sync"
    scale_db || return
    local first last
    start_watch w "$T" --source big
    wait_ready 120 || return
    check "nothing synced at start" log_has "$AG_LOG" '.msg == "ready" and .synced == "0"'
    # paths in the order of the state's pages: the first and the last recorded
    first=$(q "$URL" "SELECT path FROM creatoros_agent.file_state WHERE source = 'big' AND kind = 'lesson' ORDER BY path LIMIT 1")
    last=$(q "$URL" "SELECT path FROM creatoros_agent.file_state WHERE source = 'big' AND kind = 'lesson' ORDER BY path DESC LIMIT 1")
    fl_lesson "$T/$first" "edited first" 1
    fl_lesson "$T/$last" "edited last" 1
    expect_sql "both edits are synced" 60 \
        "SELECT count(*) FROM contents WHERE title IN ('edited first', 'edited last')" 2
    assert_eq "exactly the two edited files were synced" 2 "$(log_count "$AG_LOG" '.msg == "synced"')"
    stop_checked watch
}

lib_run scale_rerun_over_two_pages_writes_nothing scale_watch_knows_both_pages
lib_finish
