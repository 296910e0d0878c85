#!/usr/bin/env bash
# test_netfs.sh -- a tree on a network filesystem is polled: inotify does not see the writes
# other hosts make on NFS, SMB, FUSE or 9p, so `watch` rescans such a tree every
# --rescan-interval while it keeps using inotify for this host's own writes.
#
# The filesystem type is injected (CO_TEST_FSTYPE=nfs: see agent/fstype.h); the write that
# inotify cannot see is simulated with a write through a shared memory mapping made before
# the agents started: it changes the file's bytes and mtime and raises no inotify event, as a
# write by another NFS client would.
#
#   N1  the start-up log says which tree is polled, of which type, how often; --poll forces it
#   N2  the invisible write is picked up by the poll, not by inotify; local writes still are
#
# Needs CO_TEST_DB, CO_AGENT, CO_SOURCE_DIR (deploy/test.sh exports them) and python3.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/sh/lib.sh
. "$HERE/lib.sh"
# shellcheck source=tests/sh/fleet_lib.sh
. "$HERE/fleet_lib.sh"
lib_init test_netfs
lib_on_exit fl_cleanup

T=$WORK/tree
fl_make_tree "$T" nfs 3 2 3
TARGET=$T/nfs-2/lessons/modulo-1/aula-1.2-x.md

# ---------------------------------------------------------------------------------------------
test_begin "N1 the start-up log names the polled tree, its type and the interval"
new_db n1 || exit 1
N1=$URL
FL_ENV=(CO_TEST_FSTYPE=nfs)
fl_start n1-nfs watch --root "$T" --db "$N1" --source n1 --rescan-interval 7
p=$FL_PID
check "agent on an injected NFS root is ready" wait_until 60 fl_log_has n1-nfs '.msg == "ready"'
check "it logs that it polls the root, its type and interval" fl_log_has n1-nfs \
    '(.msg | startswith("network filesystem")) and .fstype == "nfs" and .interval_s == "7"'
fl_stop "$p"
FL_ENV=()
fl_start n1-local watch --root "$T" --db "$N1" --source n1
p=$FL_PID
check "agent on the local root is ready" wait_until 60 fl_log_has n1-local '.msg == "ready"'
check "on a local filesystem nothing is polled" test "$(jq -c -R 'fromjson? | select(.msg | test("network filesystem|polling"))' "$WORK/n1-local.log" | wc -l)" -eq 0
fl_stop "$p"
fl_start n1-poll watch --root "$T" --db "$N1" --source n1 --poll --rescan-interval 5
p=$FL_PID
check "agent with --poll is ready" wait_until 60 fl_log_has n1-poll '.msg == "ready"'
check "--poll polls a local tree" fl_log_has n1-poll '.msg == "polling the tree (--poll)" and .interval_s == "5"'
fl_stop "$p"
assert_eq "the agents exit 0" 0 "$FL_RC"

# ---------------------------------------------------------------------------------------------
test_begin "N2 a write inotify cannot see is found by the poll within the interval"
# The mapping is made before any agent runs; the write through it comes later, when told,
# and raises no event. The mapping holds the file open: its last close (IN_CLOSE_WRITE) comes
# only when the process exits, after the checks ("release").
python3 - "$TARGET" 'nfs 2 1.2' 'NFS 2 1.2' "$WORK/go" "$WORK/written" "$WORK/release" <<'PY' &
import mmap, os, sys, time
path, old, new, go, done, release = sys.argv[1:7]
def wait_for(f):
    deadline = time.monotonic() + 300
    while not os.path.exists(f) and time.monotonic() < deadline:
        time.sleep(0.02)
fd = os.open(path, os.O_RDWR)
m = mmap.mmap(fd, 0)
os.close(fd)
open(done + ".mapped", "w").close()
wait_for(go)
i = m.find(old.encode())
m[i:i + len(old)] = new.encode()
open(done, "w").close()
wait_for(release)
PY
mapper=$!
FL_PIDS+=("$mapper")
check "the file is mapped" wait_until 30 test -e "$WORK/written.mapped"
new_db slow || exit 1
SLOW=$URL
new_db fast || exit 1
FAST=$URL
# SLOW: an NFS root polled once an hour: only inotify can tell it anything within the test.
# FAST: the same, polled every 2 s.
FL_ENV=(CO_TEST_FSTYPE=nfs)
fl_start slow watch --root "$T" --db "$SLOW" --source s --rescan-interval 3600 --log-level debug
slow=$FL_PID
fl_start fast watch --root "$T" --db "$FAST" --source s --rescan-interval 2 --log-level debug
fast=$FL_PID
FL_ENV=()
check "slow agent ready" wait_until 60 fl_log_has slow '.msg == "ready"'
check "fast agent ready" wait_until 60 fl_log_has fast '.msg == "ready"'
title_sql="SELECT title FROM contents WHERE file_path LIKE '%nfs-2/lessons/modulo-1/aula-1.2-x.md'"
assert_eq "slow: the lesson as first written" "nfs 2 1.2" "$(q "$SLOW" "$title_sql")"
assert_eq "fast: the lesson as first written" "nfs 2 1.2" "$(q "$FAST" "$title_sql")"
t0=$(now_ms)
touch "$WORK/go"
check "the write through the mapping is done" wait_until 30 test -e "$WORK/written"
_title_is() { [[ $(q "$1" "$title_sql") == "$2" ]]; }
if wait_until 30 _title_is "$FAST" "NFS 2 1.2"; then
    pass
    echo "  the poll found it after $(($(now_ms) - t0)) ms (interval 2 s)"
else
    fail "the polled agent did not pick up the invisible write"
fi
check "it was a poll that found it (a rescan synced one file)" fl_log_has fast \
    '.msg == "rescan done" and .synced == "1"'
# The control: the slow agent gets events only. Give it a few seconds more than the fast one
# needed; had inotify seen the write, it would have synced it within milliseconds.
sleep 3
assert_eq "inotify alone did not see the write (the simulation is real)" "nfs 2 1.2" \
    "$(q "$SLOW" "$title_sql")"
touch "$WORK/release"
wait "$mapper"
# Local writes still go through inotify, at once, on a polled tree.
fl_lesson "$T/nfs-3/lessons/modulo-1/aula-1.9-local.md" "local write" 1
_local() { [[ $(q "$1" "SELECT count(*) FROM contents WHERE title = 'local write'") == 1 ]]; }
check "slow (polled hourly) syncs a local write through inotify" wait_until 30 _local "$SLOW"
check "fast syncs it too" wait_until 30 _local "$FAST"
for p in "$slow" "$fast"; do
    fl_stop "$p"
    assert_eq "agent exits 0 on SIGTERM" 0 "$FL_RC"
done
check "no sanitizer report" fl_sanitizer_clean "$WORK"/*.err

lib_finish
