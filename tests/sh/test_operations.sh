#!/usr/bin/env bash
# test_operations.sh -- what operators see of a running agent, end to end:
#   ops_metrics_served_by_node_exporter  `watch --metrics-file` read by the real
#       prometheus-node-exporter (textfile collector), scraped over HTTP; the agent's series
#       are there and move when a file is written; an unwritable path refused
#   ops_status_after_watch_names_last_sync  status after a watch-only deployment names the
#       time of the last sync that wrote
#   ops_rejections_listed_per_flush  the daemon's list of rejections is the flush's own: after
#       more than 256 KiB of rejections, the next rejected file still shows (systemd STATUS=
#       "last rejected")
#   ops_watch_not_dumpable  no core dump: a running watch is not dumpable (its /proc files
#       belong to root although it runs as nobody)
#   ops_progress_on_terminal  progress on a terminal (under `script`, a pseudo-terminal):
#       files done of a total counted before writing, percent, rate, time left, at most four
#       frames a second, the last frame at 100 %, the line cleared; nothing without a terminal
#       or with --no-progress
#   ops_out_of_range_options_refused  out-of-range options refused at start by the binary
#
# Needs CO_TEST_DB, CO_AGENT, CO_SOURCE_DIR (deploy/test.sh exports them), root (setpriv),
# prometheus-node-exporter, curl, script (util-linux), python3.
# shellcheck disable=SC2317 # predicates are called through wait_until and check
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=SCRIPTDIR/lib.sh
. "$HERE/lib.sh"
lib_init test_operations CO_TEST_DB CO_AGENT jq curl script python3 setpriv

GEN=$CO_SOURCE_DIR/bench/gen_corpus.py
NODE_EXPORTER=$(command -v prometheus-node-exporter || echo /usr/bin/prometheus-node-exporter)

lessons_are() { [[ $(qcmp "$URL" "SELECT count(*) FROM public.contents WHERE content_type = 'course_lesson' AND deleted_at IS NULL") == "$1" ]]; }
write_lesson() { # write_lesson ROOT REL TITLE
    mkdir -p "$(dirname "$1/$2")"
    printf -- '---\ntitle: "%s"\nmodule: 1\n---\n# %s\nCorpo.\n' "$3" "$3" >"$1/$2.tmp"
    mv "$1/$2.tmp" "$1/$2"
}
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# ==== 1. metrics through node_exporter ===========================================================
SCRAPE=""
scrape() { SCRAPE=$(curl -fsS --max-time 5 "http://127.0.0.1:$NE_PORT/metrics" 2>/dev/null); }
series() { # series NAME: its value in the last scrape
    awk -v n="$1" '$1 == n {print $2}' <<<"$SCRAPE"
}
synced_at_least() { scrape && [[ $(series creatoros_agent_files_synced_total) -ge $1 ]] 2>/dev/null; }
has_series() { scrape && [[ -n $(series "$1") ]]; }

ops_metrics_served_by_node_exporter() {
    test_begin "metrics through node_exporter"
    if [[ ! -x $NODE_EXPORTER ]]; then
        fail "prometheus-node-exporter is not installed (deploy/test.sh installs it)"
        return
    fi
    new_db metrics || return
    local T=$WORK/t1 dir=$WORK/t1-textfile
    mkdir -p "$T" "$dir"
    write_lesson "$T" c1/lessons/1.1-a.md "Um"
    write_lesson "$T" c1/lessons/1.2-b.md "Dois"
    NE_PORT=$(free_port)
    "$NODE_EXPORTER" --web.listen-address="127.0.0.1:$NE_PORT" --collector.disable-defaults \
        --collector.textfile --collector.textfile.directory="$dir" >"$WORK/node_exporter.log" 2>&1 &
    local ne=$!
    lib_track "$ne"
    start_watch t1 "$T" --metrics-file "$dir/creatoros-agent.prom" --source t1
    wait_ready 60 || return
    if wait_until 30 synced_at_least 2; then
        pass "node_exporter serves files_synced_total >= 2"
    else
        fail "node_exporter never served creatoros_agent_files_synced_total >= 2: $(grep creatoros_agent <<<"$SCRAPE" | head -5)"
    fi
    local s
    for s in creatoros_agent_files_synced_total creatoros_agent_files_rejected_total \
        creatoros_agent_files_deleted_total creatoros_agent_files_adopted_total \
        creatoros_agent_queue_depth creatoros_agent_inotify_watches \
        creatoros_agent_inotify_overflows_total creatoros_agent_database_up \
        creatoros_agent_last_sync_timestamp_seconds creatoros_agent_reconcile_duration_seconds_count \
        creatoros_agent_reconcile_duration_seconds_sum; do
        check "node_exporter serves $s" has_series "$s"
    done
    assert_eq "database_up" 1 "$(series creatoros_agent_database_up)"
    assert_eq "one reconcile so far" 1 "$(series creatoros_agent_reconcile_duration_seconds_count)"
    assert_eq "watches: root, c1, c1/lessons" 3 "$(series creatoros_agent_inotify_watches)"
    assert_eq "the textfile collector read the file without error" 0 "$(series node_textfile_scrape_error)"
    local ts0 ts1
    ts0=$(series creatoros_agent_last_sync_timestamp_seconds)
    check "last sync timestamp is a recent time ($ts0)" \
        python3 -c "import sys, time; sys.exit(0 if abs(time.time() - float('$ts0')) < 120 else 1)"

    # a file written: the counters move, as the next scrape shows
    write_lesson "$T" c1/lessons/1.3-c.md "Três"
    printf -- '---\ntitle: [broken\n---\n' >"$T/c1/lessons/1.4-bad.md"
    if wait_until 30 synced_at_least 3; then pass "files_synced_total moves to 3 after a write"; else
        fail "files_synced_total did not reach 3 after a write: $(series creatoros_agent_files_synced_total)"
    fi
    rejected_is_1() { scrape && [[ $(series creatoros_agent_files_rejected_total) == 1 ]]; }
    check "files_rejected_total moves to 1 after a bad file" wait_until 30 rejected_is_1
    rm "$T/c1/lessons/1.1-a.md"
    deleted_is_1() { scrape && [[ $(series creatoros_agent_files_deleted_total) == 1 ]]; }
    check "files_deleted_total moves to 1 after a delete" wait_until 30 deleted_is_1
    ts1=$(series creatoros_agent_last_sync_timestamp_seconds)
    check "last sync timestamp moved ($ts0 -> $ts1)" \
        python3 -c "import sys; sys.exit(0 if float('$ts1') > float('$ts0') else 1)"
    # nothing but the .prom file in the directory (the temporary file is renamed over it)
    assert_eq "the textfile directory holds only the agent's file" "creatoros-agent.prom" \
        "$(ls -A "$dir")"
    stop_checked watch
    kill -TERM "$ne" 2>/dev/null
    wait "$ne" 2>/dev/null

    # a path that cannot be written is refused at start, naming it
    agent watch --root "$T" --db "$URL" --log-format text --metrics-file "$WORK/no-such-dir/x.prom"
    assert_eq "--metrics-file in a missing directory: exit 2" 2 "$AG_RC"
    assert_contains "the error names the path" "$WORK/no-such-dir/x.prom" "$AG_ERR"
}

# ==== 2. status after watch alone ================================================================
status_has_time() {
    "$CO_AGENT" status --root "$T2" --db "$URL" --source t2 --log-format text >"$WORK/t2.status" 2>&1
    grep -Eq 'last sync that wrote: [0-9]{4}-[0-9]{2}-[0-9]{2}T' "$WORK/t2.status"
}
ops_status_after_watch_names_last_sync() {
    test_begin "status after watch alone"
    new_db status || return
    T2=$WORK/t2
    write_lesson "$T2" c2/lessons/1.1-a.md "Um"
    start_watch t2 "$T2" --source t2
    wait_ready 60 || return
    check "rows written by watch" wait_until 30 lessons_are 1
    if wait_until 30 status_has_time; then
        pass "status names the last sync that wrote"
    else
        fail "status after a watch-only sync: $(cat "$WORK/t2.status")"
    fi
    stop_checked watch
}

# ==== 3. the rejection list of a long-running daemon ============================================
notify_has() { grep -qF -- "$2" "$1" 2>/dev/null; }
ops_rejections_listed_per_flush() {
    test_begin "rejections recorded per flush (STATUS= names the latest)"
    new_db rejections || return
    local T=$WORK/t3 sock=$WORK/t3.sock out=$WORK/t3.notify n=0 long
    mkdir -p "$T/c3/lessons"
    # 1,000 rejected files with 200-byte names: over 300 KiB of "path: reason" lines
    long=$(printf 'x%.0s' {1..200})
    for ((n = 1000; n < 2000; n++)); do
        printf -- '---\ntitle: [broken\n---\n' >"$T/c3/lessons/$n-$long.md"
    done
    python3 "$CO_SOURCE_DIR/tests/notify_listen.py" "$sock" "$out" 300 &
    local listener=$!
    lib_track "$listener"
    check "the notify listener started" wait_until 10 notify_has "$out" listening
    AG_PREFIX=(env NOTIFY_SOCKET="$sock")
    start_watch t3 "$T" --source t3
    AG_PREFIX=()
    wait_ready 60 || return
    check "the first reconcile's rejections reached STATUS=" \
        wait_until 30 notify_has "$out" "1000 rejected"
    printf -- '---\ntitle: [still broken\n---\n' >"$T/c3/lessons/zz-last.md"
    if wait_until 30 notify_has "$out" "last rejected: c3/lessons/zz-last.md: "; then
        pass "STATUS= names the file rejected after 300 KiB of rejections"
    else
        fail "STATUS= never named the file rejected after 300 KiB of rejections: $(tail -2 "$out" | cut -c1-300)"
    fi
    stop_checked watch
    kill -TERM "$listener" 2>/dev/null
    wait "$listener" 2>/dev/null
}

# ==== 4. not dumpable ==========================================================================
_running_as_nobody() { [[ $(awk '/^Uid:/ {print $2}' "/proc/$1/status" 2>/dev/null) == 65534 ]]; }
ops_watch_not_dumpable() {
    test_begin "a running watch is not dumpable"
    require_capability nobody ops_watch_not_dumpable || return
    new_db dumpable || return
    local T=$WORK/t4
    write_lesson "$T" c4/lessons/1.1-a.md "Um"
    chmod -R a+rX "$T"
    # as nobody, the JSON log goes to stderr (AG_ERRF)
    as_nobody on
    start_agent t4 watch --root "$T" --db "$URL" --source t4 --log-format json
    as_nobody off
    check "the watch runs as nobody" wait_until 20 _running_as_nobody "$AG_PID"
    expect_log "the watch as nobody started" 30 "$AG_ERRF" '.msg == "watching"' || return
    # A dumpable process owns its /proc/PID files; a process that is not dumpable leaves them
    # to root (proc(5), PR_SET_DUMPABLE), so no other process of its user can read its memory.
    assert_eq "/proc/PID/status of the watch belongs to root (not dumpable)" 0 \
        "$(stat -c %u "/proc/$AG_PID/status")"
    assert_eq "/proc/PID/environ of the watch belongs to root" 0 "$(stat -c %u "/proc/$AG_PID/environ")"
    stop_checked "watch as nobody"
}

# ==== 5. progress on a terminal =================================================================
# frames FILE: the progress frames drawn into FILE (a typescript), one a line, in order.
frames() {
    tr '\r' '\n' <"$1" | sed 's/\x1b\[K//g' | grep -E '^  [0-9,]+(/[0-9,]+)? files '
}
ops_progress_on_terminal() {
    test_begin "progress on a terminal"
    local T=$WORK/t5 out=$WORK/t5.typescript n c
    python3 "$GEN" "$T" --courses 120 --modules 10 --lessons 10 --body-bytes 1024 --seed 5 >/dev/null ||
        { fail "gen_corpus.py failed"; return; }
    # three bad files in three courses: their log lines come while the progress line is drawn
    for c in $(ls "$T" | sed -n '5p;50p;95p'); do
        printf -- '---\ntitle: [broken\n---\n' >"$T/$c/lessons/9.9-bad.md"
    done
    n=$(find "$T" -name '*.md' | wc -l)
    new_db progress || return
    local t0=$SECONDS
    script -q -e -c "$(printf '%q ' "$CO_AGENT" backfill --root "$T" --db "$URL" --source t5 \
        --log-format text)" /dev/null >"$out" 2>&1
    local rc=$? secs=$((SECONDS - t0))
    assert_eq "backfill under a terminal: exit 1 (three files rejected)" 1 "$rc"
    local all first last count total
    all=$(frames "$out")
    count=$(grep -c . <<<"$all")
    first=$(head -1 <<<"$all")
    last=$(tail -1 <<<"$all")
    total=$(sed -E ':a;s/^([0-9]+)([0-9]{3})/\1,\2/;ta' <<<"$n") # 12,123
    echo "  $n files, $count frames in ${secs} s; first: '$first'; last: '$last'"
    assert_match "the first frame shows the total, counted before anything was written" \
        "^  0/$total files +0%  " "$first"
    assert_match "the last frame: everything done, 100 %, a rate, no time left" \
        "^  $total/$total files  100%  [0-9,]+ files/s  0:00 left$" "$last"
    assert_match "frames show a time left as M:SS" " [0-9]+:[0-9]{2} left$" "$all"
    # at most four frames a second, plus the first and the last
    check "more than one second of work, to see the pace ($secs s)" test "$secs" -ge 1
    check "at most 4 frames a second ($count frames in ${secs} s)" test "$count" -le $((4 * (secs + 1) + 2))
    # the line is cleared around every log line and at the end: each log line starts at the
    # start of a line, never after a frame
    local lines
    lines=$(tr '\r' '\n' <"$out" | sed 's/\x1b\[K//g')
    assert_eq "three rejected lines, each on a line of its own" 3 \
        "$(grep -cE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[^ ]+ warn +rejected ' <<<"$lines")"
    assert_match "the line is cleared at the end: the last log line starts a line" \
        '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[^ ]+ info +backfill done ' "$lines"
    assert_match "the summary follows" "^$n files: $((n - 3)) written, 0 unchanged, 0 deleted, 3 rejected" "$lines"

    # --no-progress, and no terminal: no frame at all
    q "$URL" "TRUNCATE public.content_projects, public.contents, creatoros_agent.file_state CASCADE" >/dev/null
    script -q -e -c "$(printf '%q ' "$CO_AGENT" backfill --root "$T" --db "$URL" --source t5 \
        --log-format text --no-progress)" /dev/null >"$WORK/t5-np.typescript" 2>&1
    assert_eq "--no-progress under a terminal: no frame" "" "$(frames "$WORK/t5-np.typescript")"
    agent backfill --root "$T" --db "$URL" --source t5 --log-format text --force
    assert_eq "stderr not a terminal: exit 1 (three files rejected)" 1 "$AG_RC"
    assert_not_contains "stderr not a terminal: no progress frame" "files/s" "$AG_ERR"
}

# ==== 6. out-of-range options refused by the binary =============================================
ops_out_of_range_options_refused() {
    test_begin "out-of-range options refused at start"
    agent watch --root "$WORK" --rescan-interval 0
    assert_eq "watch --rescan-interval 0: exit 2" 2 "$AG_RC"
    assert_contains "the refusal names the option and its range" \
        "--rescan-interval: expected a whole number from 1 to 86400" "$AG_ERR"
    CREATOROS_QUEUE_LIMIT=0 agent watch --root "$WORK"
    assert_eq "CREATOROS_QUEUE_LIMIT=0: exit 2" 2 "$AG_RC"
    assert_contains "the refusal names the variable" "CREATOROS_QUEUE_LIMIT (--queue-limit)" "$AG_ERR"
}

lib_run ops_metrics_served_by_node_exporter ops_status_after_watch_names_last_sync \
    ops_rejections_listed_per_flush ops_watch_not_dumpable ops_progress_on_terminal \
    ops_out_of_range_options_refused
lib_finish
