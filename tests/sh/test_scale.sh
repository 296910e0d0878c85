#!/usr/bin/env bash
# test_scale.sh -- a tree larger than one page of recorded state: the agent reads its file
# state from the database in pages (4,096 rows, agent/reconcile.c), so a tree of 5,050 files
# spans two pages; a file recorded on the second page must be known as well as one on the
# first.
#
#   S1  backfill of 5,050 files, then a re-run: nothing written, every file unchanged
#   S2  watch on the recorded tree: ready with nothing synced; an edit on each page syncs
#
# Needs CO_TEST_DB, CO_AGENT, CO_SOURCE_DIR (deploy/test.sh exports them).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/sh/lib.sh
. "$HERE/lib.sh"
# shellcheck source=tests/sh/fleet_lib.sh
. "$HERE/fleet_lib.sh"
lib_init test_scale
lib_on_exit fl_cleanup

T=$WORK/tree
fl_make_tree "$T" big 50 4 25
FILES=$(find "$T" -name '*.md' | wc -l)

test_begin "S1 a re-run over a recorded tree of two pages of state writes nothing"
new_db scale || exit 1
agent backfill --root "$T" --db "$URL" --source big --log-format text
assert_eq "the backfill exits 0" 0 "$AG_RC"
assert_match "it wrote every file" "^$FILES files: $FILES written" "$AG_OUT"
assert_eq "more files are recorded than one page holds" "$FILES" \
    "$(q "$URL" "SELECT count(*) FROM creatoros_agent.file_state WHERE source = 'big'")"
check "the tree needs two pages (more than 4,096 files)" test "$FILES" -gt 4096
agent backfill --root "$T" --db "$URL" --source big --log-format text
assert_eq "the re-run exits 0" 0 "$AG_RC"
assert_match "the re-run writes nothing" \
    "^$FILES files: 0 written, $FILES unchanged, 0 deleted, 0 rejected; 0 courses archived; 0 rows changed" \
    "$AG_OUT"

test_begin "S2 watch on the recorded tree: nothing to sync at start; edits on both pages sync"
fl_start w watch --root "$T" --db "$URL" --source big
w=$FL_PID
check "ready" wait_until 120 fl_log_has w '.msg == "ready"'
check "nothing synced at start" fl_log_has w '.msg == "ready" and .synced == "0"'
# paths in the order of the state's pages: the first and the last recorded
first=$(q "$URL" "SELECT path FROM creatoros_agent.file_state WHERE source = 'big' AND kind = 'lesson' ORDER BY path LIMIT 1")
last=$(q "$URL" "SELECT path FROM creatoros_agent.file_state WHERE source = 'big' AND kind = 'lesson' ORDER BY path DESC LIMIT 1")
fl_lesson "$T/$first" "edited first" 1
fl_lesson "$T/$last" "edited last" 1
_both() { [[ $(q "$URL" "SELECT count(*) FROM contents WHERE title IN ('edited first', 'edited last')") == 2 ]]; }
check "both edits are synced" wait_until 60 _both
assert_eq "exactly the two edited files were synced" 2 \
    "$(jq -c -R 'fromjson? | select(.msg == "synced")' "$WORK/w.log" | wc -l)"
fl_stop "$w"
assert_eq "watch exits 0" 0 "$FL_RC"
check "no sanitizer report" fl_sanitizer_clean "$WORK"/*.err

lib_finish
