#!/usr/bin/env bash
# test_quickstart.sh -- deploy/quickstart.sh works from a clean copy of the tree, twice, and
# what it sets up is usable: the example course, the migrated database, a backfill into it.
#
# The copy (the working tree, uncommitted files included; no .git, build*/, .local/ or
# outputs/) sits in a mktemp directory, which is 0700: the postgres user cannot traverse
# it, so this also covers the quick start's /var/tmp fallback, the case of a repository
# under /root. Needs root and the packages deploy/test.sh installs; no network.
set -euo pipefail

SRC=${CO_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
COURSE=atendimento-com-ia
DEADLINE_S=${CO_QUICKSTART_TIMEOUT:-600}

# shellcheck source=tests/sh/skip_lib.sh
. "$SRC/tests/sh/skip_lib.sh"
OKS=0
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { OKS=$((OKS + 1)); echo "ok: $*"; }

[[ $(id -u) -eq 0 ]] || fail "needs root (quickstart.sh runs PostgreSQL as the postgres user)"

WORK=$(mktemp -d /tmp/co-qs.XXXXXX)
REPO=$WORK/repo
PGDIR=
cleanup() {
    local rc=$?
    if [[ -n $PGDIR ]]; then
        "$SRC/deploy/pg.sh" stop "$PGDIR" >/dev/null 2>&1 || true
        # Only the quick start's own fallback directory for this copy, never anything else.
        if [[ $PGDIR == /var/tmp/creatoros-quickstart-* ]]; then
            rm -rf "$PGDIR"
        fi
    fi
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT INT TERM

# ---- a copy of the working tree -------------------------------------------------------
mkdir "$REPO"
shopt -s dotglob nullglob
for entry in "$SRC"/*; do
    name=$(basename "$entry")
    case $name in
        .git | .local | build* | outputs) continue ;;
    esac
    cp -a "$entry" "$REPO/"
done
shopt -u dotglob nullglob

# The fallback directory the quick start will choose for this copy (see quickstart.sh).
expected_pgdir=/var/tmp/creatoros-quickstart-$(printf '%s' "$REPO" | sha256sum | cut -c1-12)
PGDIR=$expected_pgdir # cleaned up even if the quick start fails half way

port=55329
while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done

# ---- first run: installs nothing here, builds, creates everything ---------------------
start=$(date +%s)
if ! (cd "$REPO" && timeout "$DEADLINE_S" bash deploy/quickstart.sh --no-watch --port "$port") \
        >"$WORK/qs1.log" 2>&1; then
    tail -n 60 "$WORK/qs1.log" >&2
    fail "quickstart.sh --no-watch failed (first run)"
fi
ok "first run in $(($(date +%s) - start))s"

[[ -x $REPO/build/creatoros-agent ]] || fail "no build/creatoros-agent after the quick start"
C=$REPO/outputs/courses/$COURSE
for f in COURSE-BRIEF.md lessons/modulo-1/aula-1.1-boas-vindas.md; do
    [[ -f $C/$f ]] || fail "example course file $f missing"
done
nlessons=$(find "$C/lessons" -name '*.md' | wc -l)
[[ $nlessons -eq 3 ]] || fail "expected 3 example lessons, found $nlessons"
grep -q '^# 📋 Course Brief - ' "$C/COURSE-BRIEF.md" || fail "the brief has no '# 📋 Course Brief - ' heading"
grep -q '^lesson_id: "1.1"' "$C/lessons/modulo-1/aula-1.1-boas-vindas.md" || fail "lesson 1.1 has no lesson_id \"1.1\""
ok "example course written ($nlessons lessons)"

[[ -L $REPO/.local/pg ]] || fail ".local/pg should link to the /var/tmp fallback (the copy is 0700)"
[[ $(readlink -f "$REPO/.local/pg") == "$expected_pgdir" ]] ||
    fail ".local/pg points to $(readlink -f "$REPO/.local/pg"), expected $expected_pgdir"
"$SRC/deploy/pg.sh" status "$PGDIR" && fail "the database is still running after --no-watch"
ok "cluster kept in $PGDIR and stopped on exit"

grep -q "psql '.*' -c 'SELECT slug, content_type, title FROM contents ORDER BY slug;'" "$WORK/qs1.log" ||
    fail "the quick start did not print the psql command"

# ---- second run: idempotent, the example left alone -----------------------------------
echo "edited by the test" >>"$C/lessons/modulo-2/aula-2.1-primeiro-fluxo.md"
sum_before=$(find "$REPO/outputs" -type f -print0 | sort -z | xargs -0 sha256sum)
if ! (cd "$REPO" && timeout "$DEADLINE_S" bash deploy/quickstart.sh --no-watch --port "$port") \
        >"$WORK/qs2.log" 2>&1; then
    tail -n 60 "$WORK/qs2.log" >&2
    fail "quickstart.sh --no-watch failed (second run)"
fi
sum_after=$(find "$REPO/outputs" -type f -print0 | sort -z | xargs -0 sha256sum)
[[ $sum_before == "$sum_after" ]] || fail "the second run changed outputs/"
grep -q 'CREATE DATABASE\|created the database' "$WORK/qs2.log" && fail "the second run created the database again"
ok "second run idempotent"

# ---- the database it left: migrated, and a backfill fills it --------------------------
admin_url=$("$SRC/deploy/pg.sh" start "$PGDIR" "$port")
db_url=${admin_url/:\/\/\/postgres\?/:\/\/\/creatoros?}
q() { psql -X -qtA -v ON_ERROR_STOP=1 -d "$db_url" -c "$1"; }

[[ $(q "SELECT to_regclass('public.contents') IS NOT NULL
               AND to_regclass('public.content_projects') IS NOT NULL") == t ]] ||
    fail "the migrations did not create contents/content_projects"
[[ $(q "SELECT count(*) FROM pg_roles WHERE rolname = 'creatoros_agent'") == 1 ]] ||
    fail "the migrations did not create the role creatoros_agent"
ok "database creatoros migrated"

if ! (cd "$REPO" && timeout 120 ./build/creatoros-agent backfill --root outputs/courses \
        --db "$db_url" --log-format text) >"$WORK/backfill.log" 2>&1; then
    tail -n 40 "$WORK/backfill.log" >&2
    fail "creatoros-agent backfill failed"
fi

title=$(q "SELECT title FROM contents WHERE slug = '$COURSE'
             AND content_type = 'course_outline' AND deleted_at IS NULL")
[[ $title == "Agente de Atendimento com IA" ]] ||
    fail "outline row of $COURSE: title '$title', expected 'Agente de Atendimento com IA'"
[[ $(q "SELECT count(*) FROM content_projects WHERE slug = '$COURSE'") == 1 ]] ||
    fail "no content_projects row for $COURSE"
n=$(q "SELECT count(*) FROM contents WHERE content_type = 'course_lesson'
         AND slug LIKE '$COURSE/lessons/%' AND deleted_at IS NULL")
[[ $n == 3 ]] || fail "expected 3 lesson rows, found $n"
n=$(q "SELECT count(*) FROM contents WHERE content_type = 'course_module'
         AND slug LIKE '$COURSE/module-%' AND deleted_at IS NULL")
[[ $n == 2 ]] || fail "expected 2 module rows, found $n"
ok "backfill wrote the outline, 2 modules and 3 lessons"

echo "test_quickstart: all checks passed in $(($(date +%s) - start))s"
summary_line test_quickstart "$OKS" 0
