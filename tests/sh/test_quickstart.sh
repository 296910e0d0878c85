#!/usr/bin/env bash
# test_quickstart.sh -- deploy/quickstart.sh works from a clean copy of the tree, twice, and
# what it sets up is usable: the example course, the migrated database, a backfill into it.
#
#   quickstart_first_run_sets_up  the first run builds, writes the example course, keeps the
#       cluster in the /var/tmp fallback (the copy is 0700) and stops it, prints the psql line
#   quickstart_second_run_idempotent  a second run changes nothing of outputs/ and creates no
#       database again
#   quickstart_database_usable  the database it left is migrated, and a backfill fills it
# (The first run is made once, by the first scenario that needs it.)
#
# The copy (the working tree, uncommitted files included; no .git, build*/, .local/ or
# outputs/) sits in a mktemp directory, which is 0700: the postgres user cannot traverse
# it, so this also covers the quick start's /var/tmp fallback, the case of a repository
# under /root. Needs root and the packages deploy/test.sh installs; no network.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/sh/lib.sh
. "$HERE/lib.sh"
lib_init test_quickstart root

COURSE=atendimento-com-ia
DEADLINE_S=${CO_QUICKSTART_TIMEOUT:-600}
QS=$(mktemp -d /tmp/co-qs.XXXXXX) # 0700, unlike WORK
REPO=$QS/repo
C=$REPO/outputs/courses/$COURSE

# ---- a copy of the working tree -------------------------------------------------------
mkdir "$REPO"
shopt -s dotglob nullglob
for entry in "$CO_SOURCE_DIR"/*; do
    case ${entry##*/} in
    .git | .local | build* | outputs) continue ;;
    esac
    cp -a "$entry" "$REPO/"
done
shopt -u dotglob nullglob

# The fallback directory the quick start will choose for this copy (see quickstart.sh).
PGDIR=/var/tmp/creatoros-quickstart-$(printf '%s' "$REPO" | sha256sum | cut -c1-12)
qs_cleanup() {
    "$CO_SOURCE_DIR/deploy/pg.sh" stop "$PGDIR" >/dev/null 2>&1 || true
    # only the quick start's own fallback directory for this copy, never anything else
    [[ $PGDIR == /var/tmp/creatoros-quickstart-* ]] && rm -rf "$PGDIR"
    rm -rf "$QS"
}
lib_on_exit qs_cleanup

PORT=55329
while (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; do PORT=$((PORT + 1)); done

# quickstart N: run the quick start (--no-watch) on the copy, its output in WORK/qsN.log.
quickstart() {
    (cd "$REPO" && timeout "$DEADLINE_S" bash deploy/quickstart.sh --no-watch --port "$PORT") \
        >"$WORK/qs$1.log" 2>&1
}

FIRST=
first_run() {
    [[ -z $FIRST ]] || return "$FIRST"
    FIRST=1
    local start=$SECONDS
    if ! quickstart 1; then
        fail "quickstart.sh --no-watch failed (first run):
$(tail -n 60 "$WORK/qs1.log")"
        return 1
    fi
    pass "first run in $((SECONDS - start)) s"
    FIRST=0
}

quickstart_first_run_sets_up() {
    test_begin "the first run: builds, writes the example course, keeps and stops the cluster"
    first_run || return
    local f n
    check "build/creatoros-agent after the quick start" test -x "$REPO/build/creatoros-agent"
    for f in COURSE-BRIEF.md lessons/modulo-1/aula-1.1-boas-vindas.md; do
        check "example course file $f" test -f "$C/$f"
    done
    n=$(find "$C/lessons" -name '*.md' | wc -l)
    assert_eq "3 example lessons" 3 "$n"
    assert_match "the brief has a '# 📋 Course Brief - ' heading" '^# 📋 Course Brief - ' "$(cat "$C/COURSE-BRIEF.md")"
    assert_match "lesson 1.1 has lesson_id \"1.1\"" '^lesson_id: "1.1"' \
        "$(cat "$C/lessons/modulo-1/aula-1.1-boas-vindas.md")"
    check ".local/pg links to the /var/tmp fallback (the copy is 0700)" test -L "$REPO/.local/pg"
    assert_eq ".local/pg points to the fallback" "$PGDIR" "$(readlink -f "$REPO/.local/pg")"
    check "the cluster is stopped after --no-watch" bash -c '! "$1" status "$2"' _ \
        "$CO_SOURCE_DIR/deploy/pg.sh" "$PGDIR"
    assert_match "the quick start printed the psql command" \
        "psql '.*' -c 'SELECT slug, content_type, title FROM contents ORDER BY slug;'" "$(cat "$WORK/qs1.log")"
}

quickstart_second_run_idempotent() {
    test_begin "a second run: idempotent, the example left alone"
    first_run || return
    local before after
    echo "edited by the test" >>"$C/lessons/modulo-2/aula-2.1-primeiro-fluxo.md"
    before=$(find "$REPO/outputs" -type f -print0 | sort -z | xargs -0 sha256sum)
    check "quickstart.sh --no-watch (second run)" quickstart 2 || { tail -n 60 "$WORK/qs2.log"; return; }
    after=$(find "$REPO/outputs" -type f -print0 | sort -z | xargs -0 sha256sum)
    assert_eq "the second run changed nothing of outputs/" "$before" "$after"
    assert_eq "the second run created no database" "" "$(grep 'CREATE DATABASE\|created the database' "$WORK/qs2.log")"
}

quickstart_database_usable() {
    test_begin "the database it left: migrated, and a backfill fills it"
    first_run || return
    local admin_url
    admin_url=$("$CO_SOURCE_DIR/deploy/pg.sh" start "$PGDIR" "$PORT")
    URL=${admin_url/:\/\/\/postgres\?/:\/\/\/creatoros?}
    assert_sql "the migrations created contents and content_projects" "$URL" \
        "SELECT to_regclass('public.contents') IS NOT NULL AND to_regclass('public.content_projects') IS NOT NULL" t
    assert_sql "the migrations created the role creatoros_agent" "$URL" \
        "SELECT count(*) FROM pg_roles WHERE rolname = 'creatoros_agent'" 1
    AG_BIN=$REPO/build/creatoros-agent agent backfill --root "$REPO/outputs/courses" --db "$URL" --log-format text
    assert_eq "creatoros-agent backfill exits 0" 0 "$AG_RC"
    assert_sql "the outline row of $COURSE" "$URL" \
        "SELECT title FROM contents WHERE slug = '$COURSE' AND content_type = 'course_outline' AND deleted_at IS NULL" \
        "Agente de Atendimento com IA"
    assert_sql "its project" "$URL" "SELECT count(*) FROM content_projects WHERE slug = '$COURSE'" 1
    assert_sql "3 lessons" "$URL" "SELECT count(*) FROM contents WHERE content_type = 'course_lesson'
         AND slug LIKE '$COURSE/lessons/%' AND deleted_at IS NULL" 3
    assert_sql "2 modules" "$URL" "SELECT count(*) FROM contents WHERE content_type = 'course_module'
         AND slug LIKE '$COURSE/module-%' AND deleted_at IS NULL" 2
}

lib_run quickstart_first_run_sets_up quickstart_second_run_idempotent quickstart_database_usable
lib_finish
