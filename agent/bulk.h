/* bulk.h -- big courses in watch, written in parts through the bulk connection a step at a time
 * while the other courses keep syncing. */
#ifndef CO_BULK_H
#define CO_BULK_H

#include <stdbool.h>

#include "agent/engine.h"

/*
 * Big courses (more than SYNC_PART_BYTES of changes) are written in parts, several
 * statements of one transaction, holding about one part in memory. Without pg_bulk the
 * reconcile writes them on the spot. With pg_bulk (watch) they are queued: bulk_step does
 * one step (look at one file, send a part, or see whether the server has answered, never
 * waiting for it) through pg_bulk; the course is left alone by the other syncs until it is
 * written, then looked at once more if it changed meanwhile.
 */
bool bulk_busy(const struct engine *e);
/* One step; *more: another step can run at once (else, while busy, the server is awaited).
 * Returns PG_OK or the failure class (the course is then written again from its start). */
enum pg_errclass bulk_step(struct engine *e, struct engine_stats *st, bool *more, struct err *err);
/* Drop the bulk work in progress (the database went away); the queue is kept. */
void bulk_reset(struct engine *e);

#endif
