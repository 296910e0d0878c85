#!/usr/bin/env bash
# test_pool.sh -- the agent behind a transaction pooler: a real PgBouncer (pool_mode =
# transaction, two server connections) shared by four agents that backfill, then watch while
# files are written, with PgBouncer killed and restarted mid-run; nothing may be lost.
#
#   pool_migrate_refuses_transaction_mode  migrate refuses --pool-mode transaction (it needs a
#                                          session lock); bad values refused
#   pool_backfills_share_two_connections   four backfills through two server connections;
#                                          the pool never grows past two; a forced re-run
#                                          changes no row
#   pool_watchers_survive_pooler_restart   four watchers, writes into every tree, PgBouncer
#                                          killed and restarted mid-run: every source's rows
#                                          equal a direct backfill's, no duplicate, no error
#                                          left; status agrees
#   pool_leaves_no_session_state           nothing of the agents' sessions (a setting, a
#                                          prepared statement) is left on the pooled server
#                                          connections
# Each can run alone: the pooler, its database and the trees are made by the first that
# needs them (pool_up).
#
# Needs CO_TEST_DB, CO_AGENT, CO_SOURCE_DIR (deploy/test.sh exports them) and pgbouncer.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/sh/lib.sh
. "$HERE/lib.sh"
# shellcheck source=tests/sh/fleet_lib.sh
. "$HERE/fleet_lib.sh"
lib_init test_pool CO_TEST_DB CO_AGENT jq pgbouncer runuser

NTREES=4
COURSES=${CO_POOL_COURSES:-8}
WRITE_SECONDS=${CO_POOL_WRITE_SECONDS:-12}

# pool_up: a PgBouncer in transaction mode with two server connections, a database behind it
# (POOLED directly, BOUNCE through the pooler) and NTREES trees; once.
POOLED='' POOLED_DB='' BOUNCE=''
pool_up() {
    [[ -z $POOLED ]] || return 0
    local i
    new_db pool || return 1
    if ! fl_pgb_start transaction 2; then
        fail "cannot start pgbouncer"
        return 1
    fi
    POOLED=$URL POOLED_DB=$DB
    BOUNCE=$(fl_pgb_url "$POOLED_DB")
    echo "  pgbouncer on port $PGB_PORT (pid $PGB_PID)"
    for ((i = 1; i <= NTREES; i++)); do
        fl_make_tree "$WORK/t$i" "p$i" "$COURSES" 3 6
    done
}

# ---------------------------------------------------------------------------------------------
pool_migrate_refuses_transaction_mode() {
    test_begin "migrate refuses transaction pooling; bad values are refused"
    agent migrate --db "postgresql://127.0.0.1:1/none" --pool-mode transaction --log-format text
    assert_eq "migrate --pool-mode transaction exits 2" 2 "$AG_RC"
    assert_contains "it says to use a direct connection" "direct connection" "$AG_ERR"
    CREATOROS_POOL_MODE=transaction agent migrate --db "postgresql://127.0.0.1:1/none" --log-format text
    assert_eq "CREATOROS_POOL_MODE=transaction: migrate exits 2" 2 "$AG_RC"
    assert_contains "the environment variable counts" "transaction pooler" "$AG_ERR"
    agent backfill --root "$WORK" --pool-mode statement --log-format text
    assert_eq "--pool-mode statement exits 2" 2 "$AG_RC"
    assert_contains "the error names the option and the choices" \
        '--pool-mode: expected session or transaction, got "statement"' "$AG_ERR"
}

# ---------------------------------------------------------------------------------------------
pool_backfills_share_two_connections() {
    test_begin "four backfills through a transaction pooler of two server connections"
    pool_up || return
    local i pids=() errs=() stopf=$WORK/sampler.stop sampler maxb
    fl_max_backends "$POOLED_DB" "$WORK/max_backends" "$stopf" &
    sampler=$!
    lib_track "$sampler"
    for ((i = 1; i <= NTREES; i++)); do
        fl_start "bf$i" backfill --root "$WORK/t$i" --db "$BOUNCE" --source "s$i" \
            --pool-mode transaction --connections 2
        pids+=("$AG_PID")
        errs+=("$AG_ERRF")
    done
    for ((i = 1; i <= NTREES; i++)); do
        wait "${pids[i - 1]}"
        assert_eq "backfill $i through the pooler exits 0" 0 "$?"
        assert_match "backfill $i wrote every file" \
            "^files=$((COURSES * 18 + COURSES)) " "$(cat "$WORK/bf$i.out")"
        check_sanitizer "${errs[i - 1]}"
    done
    touch "$stopf"
    wait "$sampler"
    # The counts a backfill reports come from the results it collected: re-writing an
    # unchanged tree (--force) changes no row, through the pooler as directly (a result taken
    # for another statement's would count rows).
    fl_start bf1-force backfill --root "$WORK/t1" --db "$BOUNCE" --source s1 --pool-mode transaction \
        --force
    wait "$AG_PID"
    assert_eq "a forced backfill of an unchanged tree through the pooler exits 0" 0 "$?"
    assert_contains "it changed no row" " 0 rows changed" "$(cat "$WORK/bf1-force.out")"
    maxb=$(cat "$WORK/max_backends")
    echo "  server backends of the database at most: $maxb"
    check "the pool never had more than two server connections (saw $maxb)" test "$maxb" -le 2
    check "the backfills did go through the pool (saw $maxb)" test "$maxb" -ge 1
    assert_eq "lessons written" "$((NTREES * COURSES * 18))" \
        "$(qcmp "$POOLED" "SELECT count(*) FROM contents WHERE content_type = 'course_lesson' AND deleted_at IS NULL")"
}

# ---------------------------------------------------------------------------------------------
pool_watchers_survive_pooler_restart() {
    test_begin "four watchers through the pooler, writes everywhere, PgBouncer restarted mid-run"
    pool_up || return
    local i st wpids=() werrs=() clean
    for ((i = 1; i <= NTREES; i++)); do
        # two by the option, two by the environment
        if ((i % 2)); then
            FL_ENV=()
            fl_start "w$i" watch --root "$WORK/t$i" --db "$BOUNCE" --source "s$i" --pool-mode transaction
        else
            FL_ENV=(CREATOROS_POOL_MODE=transaction)
            fl_start "w$i" watch --root "$WORK/t$i" --db "$BOUNCE" --source "s$i"
        fi
        wpids+=("$AG_PID")
        werrs+=("$AG_ERRF")
    done
    FL_ENV=()
    for ((i = 1; i <= NTREES; i++)); do
        check "watcher $i ready" wait_until 60 log_has "$WORK/w$i.log" '.msg == "ready"'
    done
    fl_writers_start "$NTREES" p 7 "$WRITE_SECONDS"
    # mid-run (a third of the writing time: a duration), every connection through the pooler
    # is cut, then the pooler comes back
    sleep $((WRITE_SECONDS / 3))
    fl_pgb_kill
    echo "  pgbouncer killed at t+${SECONDS}s"
    sleep 1
    fl_pgb_start transaction 2 || fail "cannot restart pgbouncer"
    echo "  pgbouncer back at t+${SECONDS}s (pid $PGB_PID)"
    fl_writers_wait
    for ((i = 1; i <= NTREES; i++)); do
        check "watcher $i saw the pooler go away" log_has "$WORK/w$i.log" '.msg | startswith("database unreachable")'
    done
    # The reference: each final tree back-filled directly into a clean database.
    new_db clean || return
    clean=$URL
    for ((i = 1; i <= NTREES; i++)); do
        agent backfill --root "$WORK/t$i" --db "$clean" --source "s$i" --log-format text
        assert_eq "clean backfill $i exits 0" 0 "$AG_RC"
    done
    fl_expect_same_rows "$POOLED" "$clean" "$NTREES"
    st=$(env -u PGOPTIONS "$CO_AGENT" status --root "$WORK/t1" --db "$BOUNCE" --source s1 \
        --pool-mode transaction --json 2>&1)
    assert_eq "status through the pooler: tree 1 and the database agree" true \
        "$(jq -r '.in_agreement' <<<"$st" 2>&1)"
    for ((i = 1; i <= NTREES; i++)); do
        check "watcher $i alive" alive "${wpids[i - 1]}"
        check "watcher $i is back on the database" log_has "$WORK/w$i.log" '.msg == "database is back"'
        fl_no_error_line "watcher $i" "$WORK/w$i.log"
        stop_checked "watcher $i" "${wpids[i - 1]}" "${werrs[i - 1]}"
    done
}

# ---------------------------------------------------------------------------------------------
pool_leaves_no_session_state() {
    test_begin "nothing of the agents' sessions is left on the pooled server connections"
    pool_up || return
    local k got
    # A session setting or a prepared statement would stay on a server connection that the
    # pooler hands to the next client: the next client (psql here, four times, so that both
    # server connections are seen) must find the defaults.
    fl_start "w-last" watch --root "$WORK/t1" --db "$BOUNCE" --source s1 --pool-mode transaction
    wait_ready 60 || return
    stop_checked "the last watcher"
    for k in 1 2 3 4; do
        got=$(PGOPTIONS='' psql "$BOUNCE" -XAtq -c "SHOW statement_timeout" -c "SHOW plan_cache_mode" \
            -c "SELECT count(*) FROM pg_prepared_statements" 2>&1 | tr '\n' ' ')
        assert_eq "client $k through the pooler sees the defaults" "0 auto 0 " "$got"
    done
}

lib_run pool_migrate_refuses_transaction_mode pool_backfills_share_two_connections \
    pool_watchers_survive_pooler_restart pool_leaves_no_session_state
lib_finish
