/* cmd.h -- the verbs, and what they share: connecting with retries, engines from the config. */
#ifndef CO_CMD_H
#define CO_CMD_H

#include "agent/engine.h"
#include "agent/options.h"
#include "agent/reconcile.h"
#include "persist/pg.h"

/* Each verb returns the process exit status. */
int cmd_watch(const struct config *cfg);
int cmd_backfill(const struct config *cfg);
int cmd_migrate(const struct config *cfg);
int cmd_status(const struct config *cfg);
int cmd_parse(const struct config *cfg);

/* Defaults of the verbs' own settings (--rescan-interval, --connect-retry). */
#define CMD_DEFAULT_RESCAN_INTERVAL_S 60L /* watch: fallback rescans of unwatched directories */
#define CMD_DEFAULT_CONNECT_RETRY_S 10L   /* backfill, migrate, status: retry an absent database */

/* Exit statuses shared by the verbs. */
#define EXIT_REJECTED 1 /* backfill: some files rejected; status: tree and database differ */
#define EXIT_NO_DB 2    /* the database could not be reached (or refused us) */

/* A connection handle for cfg (never NULL; pg_destroy it). */
struct pg *cmd_pg_create(const struct config *cfg, bool plain);

/*
 * Connect, retrying with exponential backoff and jitter for up to retry_s seconds
 * (logged at the first failure and when it is back, not at each attempt). Returns 0 or
 * -1 with the last error. A database reached whose schema is not what the agent needs
 * (pg_connect_class PG_SCHEMA) is not retried: -1 at once, err naming the object and
 * what to run.
 */
int cmd_connect_retry(struct pg *pg, long retry_s, struct err *err);

/* The next backoff delay after cur_ms: doubled, capped at cap_ms, with +-25% jitter. */
long cmd_backoff_next(long cur_ms, long cap_ms);

/* Engine options from the configuration; pg may be NULL for a dry run without database. */
void cmd_engine_opts(const struct config *cfg, struct pg *pg, struct engine_opts *o);

/* Log the versions of libpq, libyaml and cJSON (and of the server when connected). */
void cmd_log_versions(const struct pg *pg);

#endif
