/* reconcile.h -- converge the database to the whole tree: the one path used at start, by
 * backfill, after an overflow or outage, and whenever the paths events name include the root. */
#ifndef CO_RECONCILE_H
#define CO_RECONCILE_H

#include "agent/engine.h"

/*
 * Walk the whole tree and converge: new and changed files written, gone files
 * soft-deleted, gone courses archived. Adds to *stats. Returns PG_OK, or the class of the
 * failure that stopped it (the rest is picked up by the next reconcile). A reconcile that
 * would delete or archive most of what the source recorded (the tree empty, or more than
 * half and more than a few files; a root that cannot be opened) writes nothing: PG_OK with
 * stats->refused set and the reason in err, unless allow_mass_delete.
 */
enum pg_errclass reconcile_tree(struct engine *e, struct engine_stats *stats,
                                engine_progress_cb progress, void *arg, struct err *err);

#endif
