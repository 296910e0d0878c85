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
#   netfs_startup_names_polled_tree   the start-up log says which tree is polled, of which
#                                     type, how often; --poll forces it; a local tree is not
#   netfs_poll_finds_invisible_write  the invisible write is picked up by the poll, not by
#                                     inotify; local writes still come through inotify
#
# Needs CO_TEST_DB, CO_AGENT, CO_SOURCE_DIR (deploy/test.sh exports them) and python3.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/sh/lib.sh
. "$HERE/lib.sh"
# shellcheck source=tests/sh/fleet_lib.sh
. "$HERE/fleet_lib.sh"
lib_init test_netfs CO_TEST_DB CO_AGENT jq python3

T=$WORK/tree
fl_make_tree "$T" nfs 3 2 3
TARGET=$T/nfs-2/lessons/modulo-1/aula-1.2-x.md

# ---------------------------------------------------------------------------------------------
netfs_startup_names_polled_tree() {
    test_begin "the start-up log names the polled tree, its type and the interval"
    new_db n1 || return
    FL_ENV=(CO_TEST_FSTYPE=nfs)
    fl_start n1-nfs watch --root "$T" --db "$URL" --source n1 --rescan-interval 7
    FL_ENV=()
    wait_ready 60 || return
    check "it logs that it polls the root, its type and interval" log_has "$AG_LOG" \
        '(.msg | startswith("network filesystem")) and .fstype == "nfs" and .interval_s == "7"'
    stop_checked "agent on an injected NFS root"
    fl_start n1-local watch --root "$T" --db "$URL" --source n1
    wait_ready 60 || return
    assert_eq "on a local filesystem nothing is polled" 0 \
        "$(log_count "$AG_LOG" '.msg | test("network filesystem|polling")')"
    stop_checked "agent on a local root"
    fl_start n1-poll watch --root "$T" --db "$URL" --source n1 --poll --rescan-interval 5
    wait_ready 60 || return
    check "--poll polls a local tree" log_has "$AG_LOG" \
        '.msg == "polling the tree (--poll)" and .interval_s == "5"'
    stop_checked "agent with --poll"
}

# ---------------------------------------------------------------------------------------------
_title_is() { [[ $(qcmp "$1" "$TITLE_SQL") == "$2" ]]; }
_local_synced() { [[ $(qcmp "$1" "SELECT count(*) FROM contents WHERE title = 'local write'") == 1 ]]; }
TITLE_SQL="SELECT title FROM contents WHERE file_path LIKE '%nfs-2/lessons/modulo-1/aula-1.2-x.md'"

netfs_poll_finds_invisible_write() {
    test_begin "a write inotify cannot see is found by the poll within the interval"
    local mapper slow fast slow_url fast_url fast_log slow_err fast_err t0
    # The mapping is made before any agent runs; the write through it comes later, when told,
    # and raises no event. The mapping holds the file open: its last close (IN_CLOSE_WRITE)
    # comes only when the process exits, after the checks ("release").
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
    lib_track "$mapper"
    check "the file is mapped" wait_until 30 test -e "$WORK/written.mapped"
    new_db slow || return
    slow_url=$URL
    new_db fast || return
    fast_url=$URL
    # slow: an NFS root polled once an hour: only inotify can tell it anything within the test.
    # fast: the same, polled every 2 s.
    FL_ENV=(CO_TEST_FSTYPE=nfs)
    fl_start slow watch --root "$T" --db "$slow_url" --source s --rescan-interval 3600 --log-level debug
    slow=$AG_PID slow_err=$AG_ERRF
    wait_ready 60 || return
    fl_start fast watch --root "$T" --db "$fast_url" --source s --rescan-interval 2 --log-level debug
    fast=$AG_PID fast_log=$AG_LOG fast_err=$AG_ERRF
    FL_ENV=()
    wait_ready 60 || return
    assert_eq "slow: the lesson as first written" "nfs 2 1.2" "$(qcmp "$slow_url" "$TITLE_SQL")"
    assert_eq "fast: the lesson as first written" "nfs 2 1.2" "$(qcmp "$fast_url" "$TITLE_SQL")"
    t0=$(now_ms)
    touch "$WORK/go"
    check "the write through the mapping is done" wait_until 30 test -e "$WORK/written"
    if wait_until 30 _title_is "$fast_url" "NFS 2 1.2"; then
        pass "the polled agent picked up the invisible write after $(($(now_ms) - t0)) ms (interval 2 s)"
    else
        fail "the polled agent did not pick up the invisible write"
    fi
    check "it was a poll that found it (a rescan synced one file)" log_has "$fast_log" \
        '.msg == "rescan done" and .synced == "1"'
    # The control: the slow agent gets events only. It waits a few seconds more than the fast
    # one needed (a duration, not a condition): had inotify seen the write, it would have
    # synced it within milliseconds.
    sleep 3
    assert_eq "inotify alone did not see the write (the simulation is real)" "nfs 2 1.2" \
        "$(qcmp "$slow_url" "$TITLE_SQL")"
    touch "$WORK/release"
    wait "$mapper"
    # Local writes still go through inotify, at once, on a polled tree.
    fl_lesson "$T/nfs-3/lessons/modulo-1/aula-1.9-local.md" "local write" 1
    check "slow (polled hourly) syncs a local write through inotify" wait_until 30 _local_synced "$slow_url"
    check "fast syncs it too" wait_until 30 _local_synced "$fast_url"
    stop_checked "the slow agent" "$slow" "$slow_err"
    stop_checked "the fast agent" "$fast" "$fast_err"
}

lib_run netfs_startup_names_polled_tree netfs_poll_finds_invisible_write
lib_finish
