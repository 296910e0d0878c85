# shellcheck shell=bash
# fleet_lib.sh -- the domain helpers of the many-agents suites (test_pool.sh, test_fleet.sh,
# test_netfs.sh, test_scale.sh): trees of generated courses and writers that churn them,
# per-source fingerprints of the rows, a PgBouncer of the suite's own, agents started with a
# JSON log. Sourced after tests/sh/lib.sh (it uses WORK, q, wait_until, start_logged).

# ---- trees ------------------------------------------------------------------------------------

# fl_lesson FILE TITLE MODULE: one lesson in one open/write/close. Every lesson carries the
# tag "comum", so that agents on different trees insert and link one shared tag row.
fl_lesson() {
    printf -- '---\ntitle: "%s"\nmodule_name: "Module %d"\nstatus: draft\ntags: [comum, "m%d"]\n---\n# %s\n\nbody of %s\n' \
        "$2" "$3" "$3" "$2" "$2" >"$1"
}

# fl_make_tree ROOT PREFIX COURSES MODULES LESSONS: ROOT/PREFIX-<c>/COURSE-BRIEF.md and
# ROOT/PREFIX-<c>/lessons/modulo-<m>/aula-<m>.<l>-x.md.
fl_make_tree() {
    local root=$1 pre=$2 nc=$3 nm=$4 nl=$5 c m l d
    for ((c = 1; c <= nc; c++)); do
        d=$root/$pre-$c
        mkdir -p "$d/lessons"
        printf -- '---\ntitle: "Course %s %d"\n---\n# Course %s %d\n' "$pre" "$c" "$pre" "$c" \
            >"$d/COURSE-BRIEF.md"
        for ((m = 1; m <= nm; m++)); do
            mkdir -p "$d/lessons/modulo-$m"
            for ((l = 1; l <= nl; l++)); do
                fl_lesson "$d/lessons/modulo-$m/aula-$m.$l-x.md" "$pre $c $m.$l" "$m"
            done
        done
    done
}

# fl_write_loop ROOT PREFIX SEED UNTIL_MS OUT: create, edit and delete lessons of ROOT's courses
# (PREFIX-1, PREFIX-2, ...) every 20 ms until the deadline; creates go through a hidden temp
# file and a rename, as generators do. Writes the number of operations to OUT.
fl_write_loop() {
    local root=$1 pre=$2 until=$4 out=$5 n=0 op c f files courses
    RANDOM=$3
    courses=("$root/$pre"-*)
    while (($(now_ms) < until)); do
        c=${courses[RANDOM % ${#courses[@]}]}
        op=$((RANDOM % 10))
        if ((op < 6)); then
            mkdir -p "$c/lessons/modulo-9"
            fl_lesson "$c/lessons/modulo-9/.new-$n.tmp" "$pre new $n" 9
            mv "$c/lessons/modulo-9/.new-$n.tmp" "$c/lessons/modulo-9/aula-9.$n-new.md"
        else
            files=("$c"/lessons/modulo-*/*.md)
            f=${files[RANDOM % ${#files[@]}]}
            if ((op < 9)); then
                fl_lesson "$f" "$pre edited $n" 8
            else
                rm -f "$f"
            fi
        fi
        n=$((n + 1))
        sleep 0.02
    done
    echo "$n" >"$out"
}

# fl_writers_start N PREFIX SEED SECONDS: a fl_write_loop in each tree WORK/t1..tN (courses
# PREFIX1-*, PREFIX2-*, ...; seeds SEED, 2*SEED, ...) for SECONDS, in the background;
# fl_writers_wait waits for them and says how many writes each made.
FL_WRITERS=()
fl_writers_start() {
    local n=$1 pre=$2 seed=$3 until i
    until=$(($(now_ms) + $4 * 1000))
    FL_WRITERS=()
    for ((i = 1; i <= n; i++)); do
        fl_write_loop "$WORK/t$i" "$pre$i" "$((i * seed))" "$until" "$WORK/writes$i" &
        FL_WRITERS+=("$!")
        lib_track "$!"
    done
}
fl_writers_wait() {
    local w
    for w in "${FL_WRITERS[@]}"; do
        wait "$w"
    done
    echo "  writes per tree: $(cat "$WORK"/writes* | tr '\n' ' ')"
}

# ---- fingerprints -------------------------------------------------------------------------------

# fl_fingerprint URL SOURCE: one line per row this source owns, sorted: its file records, its
# courses' live contents (slug, type, title, body hash, parent, order, status), their tags and
# creator links, and projects.
# Two databases that agree on every row a source wrote print the same text.
fl_rows() {
    psql "$1" -XAtq -v ON_ERROR_STOP=1 -v src="$2" 2>&1 <<'SQL'
CREATE TEMP TABLE fl_courses AS
  SELECT DISTINCT course FROM creatoros_agent.file_state WHERE source = :'src';
SELECT 'file', path, size, hash, error IS NULL, coalesce(module_no::text, '-'),
       coalesce(lesson_no::text, '-')
  FROM creatoros_agent.file_state WHERE source = :'src' ORDER BY path COLLATE "C";
SELECT 'content', c.slug, c.content_type, coalesce(c.title, '<null>'),
       coalesce(md5(c.content), '<null>'), coalesce(p.slug, '-'),
       coalesce(c.sequence_order::text, '-'), c.status
  FROM contents c LEFT JOIN contents p ON p.id = c.parent_content_id
 WHERE c.deleted_at IS NULL AND split_part(c.slug, '/', 1) IN (SELECT course FROM fl_courses)
 ORDER BY c.slug COLLATE "C";
SELECT 'tags', c.slug, string_agg(t.name, ',' ORDER BY t.name COLLATE "C")
  FROM contents c JOIN content_tags ct ON ct.content_id = c.id JOIN tags t ON t.id = ct.tag_id
 WHERE c.deleted_at IS NULL AND split_part(c.slug, '/', 1) IN (SELECT course FROM fl_courses)
 GROUP BY c.slug ORDER BY c.slug COLLATE "C";
SELECT 'creator', c.slug, m.slug
  FROM contents c JOIN content_minds cm ON cm.content_id = c.id AND cm.role = 'creator'
  JOIN minds m ON m.id = cm.mind_id
 WHERE c.deleted_at IS NULL AND split_part(c.slug, '/', 1) IN (SELECT course FROM fl_courses)
 ORDER BY c.slug COLLATE "C", m.slug COLLATE "C";
SELECT 'project', slug, name, status FROM content_projects
 WHERE slug IN (SELECT course FROM fl_courses) ORDER BY slug COLLATE "C";
SQL
}
fl_fingerprint() {
    fl_rows "$1" "$2" | md5sum | cut -d' ' -f1
}

_fl_same() { [[ $(fl_fingerprint "$1" "$2") == "$3" ]]; }

# fl_expect_same_rows URL REF N: within 90 s, every source s1..sN has in URL the rows it has in
# REF (a direct backfill of its tree), the difference shown when not; and no live lesson of
# URL is duplicated.
fl_expect_same_rows() {
    local url=$1 ref=$2 n=$3 i want
    for ((i = 1; i <= n; i++)); do
        want=$(fl_fingerprint "$ref" "s$i")
        if wait_until 90 _fl_same "$url" "s$i" "$want"; then
            pass "source s$i: the rows equal a direct backfill of its tree"
        else
            fail "source s$i: the rows differ from a direct backfill of its tree (< here, > direct)"
            diff <(fl_rows "$url" "s$i") <(fl_rows "$ref" "s$i") | head -20 | sed 's/^/  | /'
        fi
    done
    assert_eq "no live lesson is duplicated" 0 "$(fl_dup_count "$url")"
}

# fl_no_error_line WHAT LOG: no error-level line in the JSON log.
fl_no_error_line() {
    assert_eq "$1: no error-level log line" "" \
        "$(log_lines "$2" '.level == "error"' | jq -r '.msg + " " + (.error // "")' | head -3)"
}

# fl_dup_count URL: live lesson rows that share a file (0 when nothing is duplicated).
fl_dup_count() {
    q "$1" "SELECT count(*) FROM (SELECT 1 FROM contents WHERE deleted_at IS NULL
              AND content_type = 'course_lesson' GROUP BY project_id, file_path
              HAVING count(*) > 1) d"
}

# ---- PgBouncer ------------------------------------------------------------------------------------

PGB_DIR=
PGB_PORT=
PGB_PID=

fl_port_free() {
    ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

_fl_as_postgres() {
    if [[ $(id -un) == postgres ]]; then
        "$@"
    else
        runuser -u postgres -- "$@"
    fi
}

_fl_pgb_up() {
    [[ -s $PGB_DIR/pgbouncer.pid ]] &&
        PGOPTIONS='' psql "postgresql://postgres@127.0.0.1:$PGB_PORT/postgres" -XAtqc 'SELECT 1' >/dev/null 2>&1
}

# fl_pgb_start POOL_MODE POOL_SIZE: a PgBouncer of our own (as the postgres OS user, config in
# WORK, 127.0.0.1 and a free port, auth_type trust) in front of CO_TEST_DB's cluster. Sets
# PGB_PORT and PGB_PID. Called again after fl_pgb_kill, it starts on the same port.
fl_pgb_start() {
    local mode=$1 size=$2 sock port
    if [[ -z $PGB_DIR ]]; then
        PGB_DIR=$WORK/pgbouncer
        mkdir -p "$PGB_DIR"
        sock=$(q "$CO_TEST_DB" "SELECT split_part(current_setting('unix_socket_directories'), ',', 1)")
        port=$(q "$CO_TEST_DB" "SELECT current_setting('port')")
        PGB_PORT=56432
        while ! fl_port_free "$PGB_PORT"; do PGB_PORT=$((PGB_PORT + 1)); done
        cat >"$PGB_DIR/pgbouncer.ini" <<INI
[databases]
* = host=$sock port=$port
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $PGB_PORT
unix_socket_dir =
auth_type = trust
auth_file = $PGB_DIR/userlist.txt
pool_mode = $mode
default_pool_size = $size
min_pool_size = 0
reserve_pool_size = 0
max_client_conn = 200
server_login_retry = 1
logfile = $PGB_DIR/pgbouncer.log
pidfile = $PGB_DIR/pgbouncer.pid
INI
        echo '"postgres" ""' >"$PGB_DIR/userlist.txt"
        chown -R postgres: "$PGB_DIR" 2>/dev/null || true
        lib_on_exit fl_pgb_kill
    fi
    rm -f "$PGB_DIR/pgbouncer.pid"
    if ! _fl_as_postgres pgbouncer -d "$PGB_DIR/pgbouncer.ini" >>"$PGB_DIR/start.log" 2>&1; then
        cat "$PGB_DIR/start.log" "$PGB_DIR/pgbouncer.log" >&2
        return 1
    fi
    if ! wait_until 20 _fl_pgb_up; then
        echo "pgbouncer did not start" >&2
        tail -n 20 "$PGB_DIR/pgbouncer.log" >&2
        return 1
    fi
    PGB_PID=$(cat "$PGB_DIR/pgbouncer.pid")
}

# fl_pgb_kill: immediate shutdown (SIGTERM: every client and server connection is dropped,
# transactions in flight are lost); waits until the process is gone.
fl_pgb_kill() {
    [[ -n $PGB_PID ]] || return 0
    kill -TERM "$PGB_PID" 2>/dev/null
    if ! wait_until 20 dead "$PGB_PID"; then
        kill -KILL "$PGB_PID" 2>/dev/null
        wait_until 5 dead "$PGB_PID"
    fi
    PGB_PID=
}

# fl_pgb_url DBNAME: the database through the pooler.
fl_pgb_url() {
    echo "postgresql://postgres@127.0.0.1:$PGB_PORT/$1"
}

# ---- agents ------------------------------------------------------------------------------------

# fl_start NAME ARGS...: start_logged without PGOPTIONS (a startup parameter a pooler refuses),
# with the environment FL_ENV=(K=V ...); sets AG_PID, AG_LOG (WORK/NAME.log).
FL_ENV=()
fl_start() {
    # shellcheck disable=SC2034 # read by start_agent
    local -a AG_PREFIX=(env -u PGOPTIONS ${FL_ENV[@]+"${FL_ENV[@]}"})
    start_logged "$@"
}

# fl_max_backends DB OUT STOPFILE: sample the server backends of DB (not ours) every 20 ms until
# STOPFILE exists; write the largest count seen to OUT.
fl_max_backends() {
    local db=$1 out=$2 stop=$3 max=0 n
    while [[ ! -e $stop ]]; do
        n=$(q "$CO_TEST_DB" "SELECT count(*) FROM pg_stat_activity WHERE datname = '$db'
                               AND backend_type = 'client backend' AND pid <> pg_backend_pid()" 2>/dev/null || echo 0)
        ((n > max)) && max=$n
        sleep 0.02
    done
    echo "$max" >"$out"
}
