# shellcheck shell=bash
# prod_lib.sh -- a production-shaped CreatorOS database for the shell suites (sourced after
# lib.sh): tests/fixtures/production loaded into a fresh database, then the agent's own
# objects.

PROD=$CO_SOURCE_DIR/tests/fixtures/production
# shellcheck disable=SC2034 # read by the suites
PROD_MIGRATED=0 # 1 when `creatoros-agent migrate` made the agent's objects

# prod_db NAME [--no-rows]: create co_bf_<NAME>_$$ (DB, URL; dropped at exit), load the
# fixture, then `creatoros-agent migrate` when this build's migrate adopts an existing
# database (it knows --revert); else the agent-state migration alone (sql/0010), applied
# with psql, and said so. Returns 1 (and counts a failure) on error.
prod_db() {
    local out
    new_db "$1" --no-migrate || return 1
    if ! out=$("$PROD/load.sh" "$URL" ${2:+"$2"} 2>&1); then
        fail "cannot load the production fixture into $DB: $out"
        return 1
    fi
    PROD_MIGRATED=0
    if "$CO_AGENT" migrate --help 2>&1 | grep -q -- '--revert'; then
        # shellcheck disable=SC2034 # read by the suites
        PROD_MIGRATED=1
        if ! out=$("$CO_AGENT" migrate --db "$URL" --log-format text 2>&1); then
            fail "migrate of the production fixture $DB failed: $out"
            return 1
        fi
    else
        echo "  (this build's migrate does not adopt an existing database: applying sql/0010_agent_state.sql only)"
        if ! out=$(psql "$URL" -XAtq -v ON_ERROR_STOP=1 -f "$CO_SOURCE_DIR/sql/0010_agent_state.sql" 2>&1); then
            fail "cannot apply the agent's state to $DB: $out"
            return 1
        fi
    fi
    return 0
}
