#!/usr/bin/env bash
# quickstart.sh -- from a fresh Debian 12 machine to the agent syncing an example course into
# a local PostgreSQL, in one command, as root.
#
#   deploy/quickstart.sh [--no-watch] [--port N]
#
# Installs what is missing, builds ./build (Release), starts a private PostgreSQL 15 kept
# under ./.local/pg (reused on the next run), creates the database `creatoros`, applies the
# migrations, writes an example course under outputs/courses/ when that folder is empty,
# then runs `creatoros-agent watch` in the foreground. Ctrl-C (or SIGTERM) stops the agent
# and the database this script started. Running it again is safe: nothing is rebuilt,
# re-created or overwritten that is already there.
#
#   --no-watch   set everything up, then stop the database and exit (for tests)
#   --port N     the PostgreSQL port on 127.0.0.1 (default: the first free one from 54329)
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$(pwd -P)

WATCH=1 PORT=
while [[ $# -gt 0 ]]; do
    case $1 in
        --no-watch) WATCH=0; shift ;;
        --port)
            [[ $# -ge 2 ]] || { echo "quickstart.sh: --port needs a number" >&2; exit 2; }
            PORT=$2; shift 2 ;;
        --port=*) PORT=${1#--port=}; shift ;;
        -h|--help) sed -n '2,16s/^# \{0,1\}//p' "$0"; exit 0 ;;
        *) echo "quickstart.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
if [[ -n $PORT ]] && ! [[ $PORT =~ ^[0-9]+$ && $PORT -ge 1024 && $PORT -le 65535 ]]; then
    echo "quickstart.sh: --port wants a number from 1024 to 65535, not '$PORT'" >&2
    exit 2
fi
if [[ $(id -u) -ne 0 ]]; then
    echo "quickstart.sh: run as root (it installs packages and runs PostgreSQL as the" \
         "postgres user): sudo $0" >&2
    exit 1
fi

say() { printf '\n== %s\n' "$*"; }

PG=$SRC/deploy/pg.sh
AGENT=$SRC/build/creatoros-agent
ROOT=outputs/courses
COURSE=atendimento-com-ia
DBNAME=creatoros

# ---- packages (only what is missing) ------------------------------------------------
# shellcheck source=deploy/packages.sh
. "$SRC/deploy/packages.sh"
ensure_packages build-essential cmake pkg-config libpq-dev libyaml-dev libcjson-dev \
    postgresql-15 postgresql-client-15

# ---- build --------------------------------------------------------------------------
# Without -Werror: that is for development and CI (deploy/test.sh); a user's newer compiler
# with a new warning must not stop the quick start.
say "building creatoros-agent (Release) in $SRC/build"
cmake -S "$SRC" -B "$SRC/build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$SRC/build" --target creatoros-agent -j"$(nproc)"

# ---- where the cluster lives ---------------------------------------------------------
# The server runs as the OS user postgres, which must be able to reach its directory. A
# repository under a path it cannot traverse (/root is 0700) keeps the cluster under
# /var/tmp instead, one per repository path, and .local/pg becomes a link to it (the link
# is for people; pg.sh always gets the real path, because the socket path must be one the
# server can reach). The same goes for a repository path so long that the socket's path
# would pass the 107 bytes a unix socket address holds.
can_traverse() { runuser -u postgres -- test -x "$1" 2>/dev/null; }
usable_here() { can_traverse "$1" && [[ ${#1} -le $((107 - 20)) ]]; } # + /pg/.s.PGSQL.NNNNN

mkdir -p "$SRC/.local"
chmod 0755 "$SRC/.local"
LINK=$SRC/.local/pg
if [[ -L $LINK ]]; then
    PGDIR=$(readlink -f "$LINK")
elif [[ -d $LINK ]] || usable_here "$SRC/.local"; then
    PGDIR=$LINK
    if ! usable_here "$SRC/.local"; then
        echo "quickstart.sh: $LINK holds a cluster, but the postgres user cannot reach it" \
             "(a directory above it is not traversable: chmod o+x it)" >&2
        exit 1
    fi
else
    PGDIR=/var/tmp/creatoros-quickstart-$(printf '%s' "$SRC" | sha256sum | cut -c1-12)
    ln -s "$PGDIR" "$LINK"
    echo "the postgres user cannot use $SRC/.local (not traversable, or too long a path" \
         "for a socket): the cluster lives in $PGDIR, and $LINK links to it"
fi
# /var/tmp is world-writable and the name is predictable: refuse a directory (or link)
# planted there by another user, whose files the server would otherwise run with.
if [[ $PGDIR == /var/tmp/* ]]; then
    if [[ -L $PGDIR ]] || { [[ -e $PGDIR ]] && [[ $(stat -c %U "$PGDIR") != postgres ]]; }; then
        echo "quickstart.sh: $PGDIR exists but is not a directory owned by postgres;" \
             "remove it and run again" >&2
        exit 1
    fi
    [[ -d $PGDIR ]] || { mkdir -m 0755 "$PGDIR" && chown postgres: "$PGDIR"; }
fi

# --port on a cluster created with another port: move it (pg.sh keeps the port in DIR/port
# and in postgresql.conf, where a later line wins).
if [[ -n $PORT && -f $PGDIR/port && $(cat "$PGDIR/port") != "$PORT" ]]; then
    echo "moving the cluster in $PGDIR from port $(cat "$PGDIR/port") to $PORT"
    "$PG" stop "$PGDIR"
    echo "$PORT" >"$PGDIR/port"
    if [[ -f $PGDIR/data/postgresql.conf ]]; then
        echo "port = $PORT" >>"$PGDIR/data/postgresql.conf"
    fi
fi

# ---- start PostgreSQL, stop it again on the way out ---------------------------------
AGENT_PID='' STARTED=0
# shellcheck disable=SC2317 # run by the trap
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [[ -n $AGENT_PID ]] && kill -0 "$AGENT_PID" 2>/dev/null; then
        kill -TERM "$AGENT_PID" 2>/dev/null || true
        wait "$AGENT_PID" 2>/dev/null || true
    fi
    if [[ $STARTED -eq 1 ]]; then
        say "stopping PostgreSQL ($PGDIR)"
        "$PG" stop "$PGDIR" || true
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say "starting PostgreSQL 15 in $PGDIR"
if ! "$PG" status "$PGDIR"; then
    STARTED=1
fi
ADMIN_URL=$("$PG" start "$PGDIR" ${PORT:+"$PORT"})
DB_URL=${ADMIN_URL/:\/\/\/postgres\?/:\/\/\/$DBNAME?}
[[ $DB_URL != "$ADMIN_URL" ]] || { echo "quickstart.sh: unexpected URL from pg.sh: $ADMIN_URL" >&2; exit 1; }

if [[ -z $(psql -X -qtA -d "$ADMIN_URL" -c "SELECT 1 FROM pg_database WHERE datname = '$DBNAME'") ]]; then
    psql -X -q -v ON_ERROR_STOP=1 -d "$ADMIN_URL" -c "CREATE DATABASE $DBNAME"
    echo "created the database $DBNAME"
fi

# ---- schema ---------------------------------------------------------------------------
say "applying the migrations"
"$AGENT" migrate --db "$DB_URL"

# ---- an example course, only into an empty tree --------------------------------------
mkdir -p "$ROOT"
if [[ -z $(ls -A "$ROOT") ]]; then
    say "writing an example course in $ROOT/$COURSE"
    C=$ROOT/$COURSE
    mkdir -p "$C/lessons/modulo-1" "$C/lessons/modulo-2"
    cat >"$C/COURSE-BRIEF.md" <<'MD'
---
title: "Agente de Atendimento com IA"
subtitle: "Do primeiro prompt ao atendimento automatizado, sem perder o toque humano"
creator_mind: mentora-exemplo
tags: [atendimento, inteligência artificial, automação]
mmos_persona:
  enabled: true
  mind_slug: mentora-exemplo
---

# 📋 Course Brief - Agente de Atendimento com IA

## Visão geral

Um curso curto e prático para quem atende clientes todos os dias e quer que uma IA
responda às perguntas repetidas, com a voz da própria marca.

## Para quem é

Donos de pequenos negócios, equipes de suporte e profissionais de atendimento que
nunca programaram.

## Promessa

Ao final, você terá um agente que responde às dúvidas mais comuns e sabe a hora de
chamar um humano.
MD
    cat >"$C/lessons/modulo-1/aula-1.1-boas-vindas.md" <<'MD'
---
lesson_id: "1.1"
title: "Boas-vindas: o que é um agente de atendimento"
module: 1
module_name: "Fundamentos do atendimento"
status: published
fidelity_score: 0.92
tags: [introdução, atendimento]
---

# Boas-vindas: o que é um agente de atendimento

Olá! Nesta aula você vai entender o que um agente de IA faz — e o que ele não deve
fazer — quando conversa com os seus clientes.

- Atendimento 24 horas, com respostas consistentes
- Escalonamento para um humano quando a conversa exige
MD
    cat >"$C/lessons/modulo-1/aula-1.2-perguntas-frequentes.md" <<'MD'
---
lesson_id: "1.2"
title: "Mapeando as perguntas frequentes"
module: 1
module_name: "Fundamentos do atendimento"
status: reviewed
fidelity_score: 0.88
tags: [diagnóstico, atendimento]
---

# Mapeando as perguntas frequentes

Antes de automatizar, liste as dez perguntas que mais chegam ao seu negócio e a
resposta ideal para cada uma. Essa lista é a base de conhecimento do agente.
MD
    cat >"$C/lessons/modulo-2/aula-2.1-primeiro-fluxo.md" <<'MD'
---
lesson_id: "2.1"
title: "Seu primeiro fluxo de atendimento"
module: 2
module_name: "Mão na massa"
status: draft
fidelity_score: 0.85
tags: [automação, prática]
---

# Seu primeiro fluxo de atendimento

Vamos montar, passo a passo, um fluxo que recebe a mensagem, consulta a base de
conhecimento e responde — ou transfere para você.
MD
fi

# ---- how to look at the rows ----------------------------------------------------------
say "ready"
cat <<EOF
Database:   $DB_URL
Course tree: $SRC/$ROOT

Look at the rows (in another terminal while the agent runs):

  psql '$DB_URL' -c 'SELECT slug, content_type, title FROM contents ORDER BY slug;'

Edit or add a lesson under $ROOT/$COURSE/lessons/ and run the query again.
The database user here is the superuser 'postgres' over a local socket; in production the
agent connects as the least-privilege role creatoros_agent (see SECURITY.md).
EOF

if [[ $WATCH -eq 0 ]]; then
    exit 0
fi

# ---- the agent, until Ctrl-C ----------------------------------------------------------
# Started with & and waited for rather than run as a plain foreground command: bash runs
# a trap only once the foreground command has ended, so a SIGTERM sent to this script
# alone would never reach the agent. Here the trap fires at once and the cleanup hands the
# agent SIGTERM. The agent stays in the terminal's process group, so Ctrl-C reaches it too.
say "watching $ROOT (Ctrl-C stops the agent and the database)"
"$AGENT" watch --root "$ROOT" --db "$DB_URL" --log-format text &
AGENT_PID=$!
rc=0
wait "$AGENT_PID" || rc=$?
AGENT_PID=''
exit "$rc"
