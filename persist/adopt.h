/* adopt.h -- an existing CreatorOS database: what the agent needs, its known holes, the way back.
 */
#ifndef CO_ADOPT_H
#define CO_ADOPT_H

#include <stdbool.h>

#include <libpq-fe.h>

#include "common/err.h"
#include "common/strbuf.h"
#include "persist/migrate.h"

/*
 * The relations CreatorOS and the agent share (public.minds ... public.content_tags and the view
 * v_contents_with_creators): how many of them exist, into *present. 0 means a fresh database.
 */
int adopt_count_shared(PGconn *conn, int *present, struct err *err);

/*
 * Check every table, column, type, nullability, default and unique key the agent relies on;
 * one MIGRATE_LINE_PROBLEM line per difference. Reads the catalog only. Returns the number of
 * problems, or -1 with err.
 */
int adopt_check(PGconn *conn, struct migrate_report *report, struct err *err);

/*
 * The known holes of CreatorOS v0.9.1's policies that this database has (docs/SCHEMA.md): one
 * MIGRATE_LINE_HOLE line each, counted in report->holes. With fix, inside the caller's
 * transaction (on an adopted database: creatoros_agent.changes exists), apply each fix, record
 * its undo there and add a MIGRATE_LINE_CHANGED line per change. Returns 0 or -1 with err.
 */
int adopt_holes(PGconn *conn, bool fix, struct migrate_report *report, struct err *err);

/*
 * The agent's objects as lines ("table creatoros_agent.file_state", "policy ... on public.x",
 * "role creatoros_agent", ...) appended to out, one per line: compare two
 * inventories to tell what a run created.
 */
int adopt_inventory(PGconn *conn, struct strbuf *out, struct err *err);

/*
 * Inside the caller's transaction: run the recorded undo statements newest first (what --harden
 * changed, then the policies, grants and index migrate added), drop the schema creatoros_agent,
 * then the role when migrate created it and no other database holds it. One MIGRATE_LINE_REMOVED
 * line per step (a MIGRATE_LINE_NOTE when the role is kept). Rows the agent wrote stay. Returns
 * 0 or -1 with err (the caller rolls back).
 */
int adopt_revert(PGconn *conn, struct migrate_report *report, struct err *err);

#endif
