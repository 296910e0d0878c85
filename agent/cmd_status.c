/* cmd_status.c -- `creatoros-agent status`: what the database holds against the tree. */
#include <stdio.h>
#include <string.h>

#include "agent/cmd.h"
#include "agent/log.h"
#include "agent/scan.h"
#include "common/strbuf.h"
#include "persist/migrate.h"
#include "persist/statements.h"

#define STATUS_COUNTS_SQL                                                                          \
    "WITH c AS (SELECT DISTINCT course FROM creatoros_agent.file_state WHERE source = $1 "         \
    "             AND (error IS NULL OR error NOT LIKE '" STMT_REFUSAL "%')) "                     \
    "SELECT (SELECT count(*) FROM creatoros_agent.file_state WHERE source = $1), "                 \
    "  (SELECT count(*) FROM creatoros_agent.file_state WHERE source = $1 AND error IS NOT "       \
    "NULL), "                                                                                      \
    "  (SELECT to_char(last_sync_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') "        \
    "     FROM creatoros_agent.sources WHERE source = $1), "                                       \
    "  (SELECT count(*) FROM public.content_projects p JOIN c ON c.course = p.slug "               \
    "     WHERE p.status <> 'archived'), "                                                         \
    "  (SELECT count(*) FROM public.contents t JOIN public.content_projects p "                    \
    "     ON p.id = t.project_id JOIN c ON c.course = p.slug "                                     \
    "     WHERE t.content_type = 'course_module' AND t.deleted_at IS NULL), "                      \
    "  (SELECT count(*) FROM public.contents t JOIN public.content_projects p "                    \
    "     ON p.id = t.project_id JOIN c ON c.course = p.slug "                                     \
    "     WHERE t.content_type = 'course_lesson' AND t.deleted_at IS NULL)"

#define STATUS_ERRORS_SQL                                                                          \
    "SELECT path, error, to_char(error_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') "  \
    "FROM creatoros_agent.file_state WHERE source = $1 AND error IS NOT NULL "                     \
    "ORDER BY path COLLATE \"C\" LIMIT 1000"

int
cmd_status(const struct config *cfg)
{
    struct pg *pg = cmd_pg_create(cfg, true);
    struct engine *e = NULL;
    struct engine_opts eo;
    struct engine_stats st = {0};
    struct strbuf out = STRBUF_INIT;
    PGresult *counts = NULL, *errors = NULL;
    enum pg_errclass cls;
    struct err err;
    int pending = 0;
    int rc = 0;

    if (scan_check_root(cfg->root, &err) != 0) {
        log_print(stderr, "creatoros-agent status: %s\n", err.msg);
        rc = 2;
        goto out;
    }
    if (cmd_connect_retry(pg, cfg->connect_retry_s, &err) != 0) {
        log_print(stderr, "creatoros-agent status: cannot reach the database %s: %s\n",
                  pg_display(pg), err.msg);
        rc = EXIT_NO_DB;
        goto out;
    }
    if (migrate_pending(pg_conn(pg), &pending, &err) != 0 || pending != 0) {
        log_print(stderr, "creatoros-agent status: %s\n",
                  pending != 0 ? (pending < 0 ? err.msg
                                              : "the schema is not up to date: run "
                                                "`creatoros-agent migrate`")
                               : err.msg);
        rc = EXIT_NO_DB;
        goto out;
    }
    if (pg_enter_pipeline(pg, &err) != 0) {
        log_print(stderr, "creatoros-agent status: %s\n", err.msg);
        rc = EXIT_NO_DB;
        goto out;
    }
    /* A dry run of the reconcile is the comparison: what it would write is the difference. */
    struct config dry = *cfg;
    dry.dry_run = true;
    dry.force = false;
    cmd_engine_opts(&dry, pg, &eo);
    eo.allow_mass_delete = true; /* a comparison: it reports what a backfill would remove */
    e = engine_create(&eo, &err);
    if (e == NULL) {
        log_print(stderr, "creatoros-agent status: %s\n", err.msg);
        rc = 2;
        goto out;
    }
    enum log_level saved = log_min_level;
    log_min_level = LOG_ERROR;
    cls = engine_load_state(e, &err);
    if (cls == PG_OK) {
        cls = reconcile_tree(e, &st, NULL, NULL, &err);
    }
    log_min_level = saved;
    const char *src[1] = {engine_source(e)};
    if (cls == PG_OK) {
        counts = pg_exec(pg, STATUS_COUNTS_SQL, 1, src, &cls, &err);
    }
    if (cls == PG_OK) {
        errors = pg_exec(pg, STATUS_ERRORS_SQL, 1, src, &cls, &err);
    }
    if (cls != PG_OK) {
        log_print(stderr, "creatoros-agent status: %s\n", err.msg);
        rc = EXIT_NO_DB;
        goto out;
    }
    long differ = st.synced + st.deleted + st.archived;
    bool agree = differ == 0 && st.rejected == 0;
    const char *last = PQgetisnull(counts, 0, 2) ? NULL : PQgetvalue(counts, 0, 2);
    if (cfg->json) {
        strbuf_addstr(&out, "{\"source\":");
        strbuf_add_json_str(&out, src[0], strlen(src[0]));
        strbuf_addstr(&out, ",\"database\":");
        strbuf_add_json_str(&out, pg_display(pg), strlen(pg_display(pg)));
        strbuf_addf(&out,
                    ",\"server\":\"%s\",\"recorded_files\":%s,\"files_in_error\":%s,"
                    "\"last_sync\":%s%s%s,\"projects\":%s,\"modules\":%s,\"lessons\":%s,"
                    "\"tree_files\":%ld,\"to_write\":%ld,\"to_delete\":%ld,\"to_archive\":%ld,"
                    "\"rejected\":%ld,\"in_agreement\":%s,\"errors\":[",
                    pg_server_version(pg), PQgetvalue(counts, 0, 0), PQgetvalue(counts, 0, 1),
                    last ? "\"" : "", last ? last : "null", last ? "\"" : "",
                    PQgetvalue(counts, 0, 3), PQgetvalue(counts, 0, 4), PQgetvalue(counts, 0, 5),
                    st.seen, st.synced, st.deleted, st.archived, st.rejected,
                    agree ? "true" : "false");
        for (int i = 0; i < PQntuples(errors); i++) {
            strbuf_addstr(&out, i ? ",{\"path\":" : "{\"path\":");
            strbuf_add_json_str(&out, PQgetvalue(errors, i, 0), (size_t)PQgetlength(errors, i, 0));
            strbuf_addstr(&out, ",\"error\":");
            strbuf_add_json_str(&out, PQgetvalue(errors, i, 1), (size_t)PQgetlength(errors, i, 1));
            strbuf_addf(&out, ",\"since\":\"%s\"}", PQgetvalue(errors, i, 2));
        }
        strbuf_addstr(&out, "]}\n");
    } else {
        strbuf_addf(&out, "source:    %s\ndatabase:  %s (PostgreSQL %s), schema up to date\n",
                    src[0], pg_display(pg), pg_server_version(pg));
        strbuf_addf(&out, "recorded:  %s files, %s in error; last sync that wrote: %s\n",
                    PQgetvalue(counts, 0, 0), PQgetvalue(counts, 0, 1), last ? last : "never");
        strbuf_addf(&out, "rows:      %s projects, %s modules, %s lessons live\n",
                    PQgetvalue(counts, 0, 3), PQgetvalue(counts, 0, 4), PQgetvalue(counts, 0, 5));
        if (agree) {
            strbuf_addf(&out, "tree:      %ld files, in agreement with the database\n", st.seen);
        } else {
            strbuf_addf(&out,
                        "tree:      %ld files; differs: %ld to write, %ld to delete, "
                        "%ld courses to archive, %ld rejected\n",
                        st.seen, st.synced, st.deleted, st.archived, st.rejected);
        }
        if (PQntuples(errors) > 0) {
            strbuf_addstr(&out, "files in error:\n");
            for (int i = 0; i < PQntuples(errors); i++) {
                /* one line per file, whatever its name holds */
                strbuf_addstr(&out, "  ");
                strbuf_add_escaped(&out, PQgetvalue(errors, i, 0),
                                   (size_t)PQgetlength(errors, i, 0));
                strbuf_addstr(&out, ": ");
                strbuf_add_escaped(&out, PQgetvalue(errors, i, 1),
                                   (size_t)PQgetlength(errors, i, 1));
                strbuf_addf(&out, " (since %s)\n", PQgetvalue(errors, i, 2));
            }
        }
    }
    log_print(stdout, "%s", out.buf);
    rc = agree ? 0 : EXIT_REJECTED;
out:
    PQclear(counts);
    PQclear(errors);
    strbuf_release(&out);
    engine_destroy(e);
    pg_destroy(pg);
    return rc;
}
