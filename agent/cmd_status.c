/* cmd_status.c -- `creatoros-agent status`: what the database holds against the tree. */
#include <stdio.h>
#include <string.h>

#include "agent/cmd.h"
#include "agent/log.h"
#include "agent/scan.h"
#include "common/strbuf.h"
#include "persist/migrate.h"
#include "persist/status.h"

int
cmd_status(const struct config *cfg)
{
    struct pg *pg = cmd_pg_create(cfg, true);
    struct engine *e = NULL;
    struct engine_opts eo;
    struct engine_stats st = {0};
    struct strbuf out = STRBUF_INIT;
    struct status_report rep = {0};
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
    const char *src = engine_source(e);
    if (cls == PG_OK) {
        cls = status_read(pg, src, &rep, &err);
    }
    if (cls != PG_OK) {
        log_print(stderr, "creatoros-agent status: %s\n", err.msg);
        rc = EXIT_NO_DB;
        goto out;
    }
    long differ = st.synced + st.deleted + st.archived;
    bool agree = differ == 0 && st.rejected == 0;
    const char *last = rep.last_sync;
    if (cfg->json) {
        strbuf_addstr(&out, "{\"source\":");
        strbuf_add_json_str(&out, src, strlen(src));
        strbuf_addstr(&out, ",\"database\":");
        strbuf_add_json_str(&out, pg_display(pg), strlen(pg_display(pg)));
        strbuf_addf(&out,
                    ",\"server\":\"%s\",\"recorded_files\":%ld,\"files_in_error\":%ld,"
                    "\"last_sync\":%s%s%s,\"projects\":%ld,\"modules\":%ld,\"lessons\":%ld,"
                    "\"tree_files\":%ld,\"to_write\":%ld,\"to_delete\":%ld,\"to_archive\":%ld,"
                    "\"rejected\":%ld,\"in_agreement\":%s,\"errors\":[",
                    pg_server_version(pg), rep.recorded, rep.in_error, last ? "\"" : "",
                    last ? last : "null", last ? "\"" : "", rep.projects, rep.modules, rep.lessons,
                    st.seen, st.synced, st.deleted, st.archived, st.rejected,
                    agree ? "true" : "false");
        for (size_t i = 0; i < rep.nerrors; i++) {
            const struct status_error *f = &rep.errors[i];
            strbuf_addstr(&out, i ? ",{\"path\":" : "{\"path\":");
            strbuf_add_json_str(&out, f->path, strlen(f->path));
            strbuf_addstr(&out, ",\"error\":");
            strbuf_add_json_str(&out, f->error, strlen(f->error));
            strbuf_addf(&out, ",\"since\":\"%s\"}", f->since);
        }
        strbuf_addstr(&out, "]}\n");
    } else {
        strbuf_addf(&out, "source:    %s\ndatabase:  %s (PostgreSQL %s), schema up to date\n", src,
                    pg_display(pg), pg_server_version(pg));
        strbuf_addf(&out, "recorded:  %ld files, %ld in error; last sync that wrote: %s\n",
                    rep.recorded, rep.in_error, last ? last : "never");
        strbuf_addf(&out, "rows:      %ld projects, %ld modules, %ld lessons live\n", rep.projects,
                    rep.modules, rep.lessons);
        if (agree) {
            strbuf_addf(&out, "tree:      %ld files, in agreement with the database\n", st.seen);
        } else {
            strbuf_addf(&out,
                        "tree:      %ld files; differs: %ld to write, %ld to delete, "
                        "%ld courses to archive, %ld rejected\n",
                        st.seen, st.synced, st.deleted, st.archived, st.rejected);
        }
        if (rep.nerrors > 0) {
            strbuf_addstr(&out, "files in error:\n");
            for (size_t i = 0; i < rep.nerrors; i++) {
                const struct status_error *f = &rep.errors[i];
                /* one line per file, whatever its name holds */
                strbuf_addstr(&out, "  ");
                strbuf_add_escaped(&out, f->path, strlen(f->path));
                strbuf_addstr(&out, ": ");
                strbuf_add_escaped(&out, f->error, strlen(f->error));
                strbuf_addf(&out, " (since %s)\n", f->since);
            }
        }
    }
    log_print(stdout, "%s", out.buf);
    rc = agree ? 0 : EXIT_REJECTED;
out:
    status_release(&rep);
    strbuf_release(&out);
    engine_destroy(e);
    pg_destroy(pg);
    return rc;
}
