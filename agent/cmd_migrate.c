/* cmd_migrate.c -- `creatoros-agent migrate`: apply the embedded sql/ migrations. */
#include <stdio.h>

#include "agent/cmd.h"
#include "agent/log.h"
#include "common/strbuf.h"
#include "persist/migrate.h"

int
cmd_migrate(const struct config *cfg)
{
    struct pg *pg = cmd_pg_create(cfg, true);
    struct migrate_report report;
    struct strbuf line = STRBUF_INIT;
    struct err err;
    int rc = 0;

    if (cmd_connect_retry(pg, cfg->connect_retry_s, &err) != 0) {
        log_kv(LOG_ERROR, "cannot reach the database", "db", pg_display(pg), "error", err.msg);
        rc = EXIT_NO_DB;
        goto out;
    }
    cmd_log_versions(pg);
    if (migrate_run(pg_conn(pg), cfg->dry_run, &report, &err) != 0) {
        log_kv(LOG_ERROR, "migration failed", "error", err.msg);
        rc = 1;
        goto out;
    }
    migrate_report_describe(&report, &line);
    log_kv(LOG_INFO, report.applied == 0 ? "schema up to date, nothing to apply" : "migrated",
           "result", line.buf, "db", pg_display(pg));
    log_print(stdout, "%s\n", line.buf);
out:
    strbuf_release(&line);
    pg_destroy(pg);
    return rc;
}
