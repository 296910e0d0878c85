/* cmd_common.c -- what the verbs share: connecting with retries, engines from the config. */
#include "agent/cmd.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <yaml.h>

#include "agent/log.h"
#include "persist/pgversion.h"

/* A server WARNING is worth a line; a NOTICE (a trigger may raise one per row written) is
 * logged at debug, and counted in one line per batch (agent/flow.c). */
static void
log_notice(bool warning, const char *msg)
{
    log_kv(warning ? LOG_WARN : LOG_DEBUG, "database says", "message", msg);
}

struct pg *
cmd_pg_create(const struct config *cfg, bool plain)
{
    /* the daemon's connection lives for weeks: it re-plans (see pg_opts.custom_plans) */
    struct pg_opts o = {.url = cfg->db_url,
                        .statement_timeout_ms = cfg->statement_timeout_ms,
                        .plain = plain,
                        .custom_plans = cfg->verb == VERB_WATCH,
                        .txn_pool = cfg->pool_mode == POOL_TRANSACTION,
                        .notice = log_notice};

    return pg_create(&o);
}

long
cmd_backoff_next(long cur_ms, long cap_ms)
{
    long next = cur_ms <= 0 ? 100 : cur_ms * 2;

    if (next > cap_ms) {
        next = cap_ms;
    }
    /* +-25% so that many agents do not retry in step */
    long jitter = next / 4;
    if (jitter > 0) {
        next += (long)(random() % (2 * jitter + 1)) - jitter;
    }
    return next;
}

int
cmd_connect_retry(struct pg *pg, long retry_s, struct err *err)
{
    struct timespec start, now;
    long delay = 0;
    bool logged = false;

    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        if (pg_connect(pg, err) == 0) {
            if (logged) {
                log_kv(LOG_INFO, "database is back", "db", pg_display(pg));
            }
            return 0;
        }
        if (pg_connect_class(pg) == PG_SCHEMA) {
            return -1; /* reached, but not what the agent needs: waiting will not mend it */
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        long elapsed_ms =
            (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
        if (elapsed_ms >= retry_s * 1000) {
            return -1;
        }
        if (!logged) {
            log_kv(LOG_WARN, "database unreachable; retrying", "db", pg_display(pg), "error",
                   err->msg);
            logged = true;
        }
        delay = cmd_backoff_next(delay, 5000);
        if (delay > retry_s * 1000 - elapsed_ms) {
            delay = retry_s * 1000 - elapsed_ms;
        }
        struct timespec nap = {delay / 1000, (delay % 1000) * 1000000};
        nanosleep(&nap, NULL);
    }
}

void
cmd_engine_opts(const struct config *cfg, struct pg *pg, struct engine_opts *o)
{
    *o = (struct engine_opts){
        .root = cfg->root,
        .source = cfg->source,
        .creator_mind = cfg->creator_mind,
        .parse = {(size_t)cfg->max_file_bytes, cfg->fallback_encoding},
        .force = cfg->force,
        .allow_mass_delete = cfg->allow_mass_delete,
        .dry_run = cfg->dry_run,
        .log_each = cfg->verb == VERB_WATCH,
        .pg = pg,
    };
}

void
cmd_log_versions(const struct pg *pg)
{
    char libpq[PGVERSION_TEXT_MAX];

    log_kv(LOG_INFO, "creatoros-agent " CO_VERSION, "libpq", pgversion_lib(libpq, sizeof(libpq)),
           "libyaml", yaml_get_version_string(), "cjson", cJSON_Version(), "server",
           pg != NULL && pg_is_connected(pg) ? pg_server_version(pg) : NULL);
}
