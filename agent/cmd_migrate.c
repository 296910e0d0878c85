/* cmd_migrate.c -- `creatoros-agent migrate`: build or adopt the schema, harden it, or revert. */
#include <stdio.h>

#include "agent/cmd.h"
#include "agent/log.h"
#include "common/strbuf.h"
#include "persist/migrate.h"

/* What a report line is called on stdout, done and (dry run) to be done. */
static const char *
line_label(enum migrate_line_kind kind, bool dry_run)
{
    switch (kind) {
    case MIGRATE_LINE_CREATED:
        return dry_run ? "would create" : "created";
    case MIGRATE_LINE_HOLE:
        return "hole";
    case MIGRATE_LINE_CHANGED:
        return dry_run ? "would change" : "changed";
    case MIGRATE_LINE_REMOVED:
        return dry_run ? "would remove" : "removed";
    case MIGRATE_LINE_PROBLEM:
        return "problem";
    case MIGRATE_LINE_NOTE:
        break;
    }
    return "note";
}

/* Every problem of an existing database, in one message: "a; b; c". */
static void
join_problems(const struct migrate_report *report, struct strbuf *out)
{
    for (size_t i = 0; i < report->nlines; i++) {
        if (report->lines[i].kind == MIGRATE_LINE_PROBLEM) {
            strbuf_addf(out, "%s%s", out->len > 0 ? "; " : "", report->lines[i].text);
        }
    }
}

int
cmd_migrate(const struct config *cfg)
{
    struct pg *pg = cmd_pg_create(cfg, true);
    enum migrate_mode mode = cfg->revert   ? MIGRATE_REVERT
                             : cfg->harden ? MIGRATE_HARDEN
                                           : MIGRATE_APPLY;
    struct migrate_report report = {0};
    struct strbuf line = STRBUF_INIT;
    struct err err;
    int rc = 0;

    /* Concurrent migrations are serialized by a session advisory lock held across several
     * transactions, which a transaction pooler cannot keep: refuse before connecting. */
    if (cfg->pool_mode == POOL_TRANSACTION) {
        log_kv(LOG_ERROR,
               "migrate cannot run through a transaction pooler: it holds a session lock across "
               "transactions; run it on a direct connection (or a session pooler) without "
               "--pool-mode transaction",
               "db", pg_display(pg));
        rc = 2;
        goto out;
    }
    if (cmd_connect_retry(pg, cfg->connect_retry_s, &err) != 0) {
        log_kv(LOG_ERROR, "cannot reach the database", "db", pg_display(pg), "error", err.msg);
        rc = EXIT_NO_DB;
        goto out;
    }
    cmd_log_versions(pg);
    if (migrate_run(pg_conn(pg), cfg->dry_run, mode, &report, &err) != 0) {
        join_problems(&report, &line);
        log_kv(LOG_ERROR, "migration failed", "error", err.msg, "problems",
               line.len > 0 ? line.buf : NULL);
        rc = 1;
        goto out;
    }
    /* One line each on stdout: what was created, each known hole with its fix, each change. */
    for (size_t i = 0; i < report.nlines; i++) {
        printf("%s %s\n", line_label(report.lines[i].kind, report.dry_run), report.lines[i].text);
    }
    migrate_report_describe(&report, &line);
    log_kv(LOG_INFO,
           report.applied == 0 && report.nlines == 0 ? "schema up to date, nothing to apply"
                                                     : "migrated",
           "result", line.buf, "db", pg_display(pg));
    log_print(stdout, "%s\n", line.buf);
out:
    migrate_report_release(&report);
    strbuf_release(&line);
    pg_destroy(pg);
    return rc;
}
