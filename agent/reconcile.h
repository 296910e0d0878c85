/* reconcile.h -- converge the database to the tree: the one path used at start, by backfill,
 * after an overflow or outage, and for the paths that inotify reports. */
#ifndef CO_RECONCILE_H
#define CO_RECONCILE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"
#include "parser/record.h"
#include "persist/pg.h"

/* Connections a whole-tree sync writes through at once. */
#define ENGINE_MAX_CONN 2

struct engine_opts {
    const char *root;
    const char *source;       /* NULL: <hostname>:<absolute root> */
    const char *creator_mind; /* NULL: the briefs' creator_mind */
    struct parse_opts parse;
    bool force;          /* ignore the recorded state: re-read and re-write every file */
    bool dry_run;        /* parse and log, write nothing */
    bool log_each;       /* log every synced file at info (watch); else at debug */
    struct pg *pg;       /* borrowed; may be NULL with dry_run (then nothing is recorded) */
    struct pg *pg_extra; /* borrowed, optional: a second connection for whole-tree syncs */
    /* borrowed, optional (watch): big courses are written through it, a step at a time
     * (engine_bulk_step), so that the other courses keep syncing through pg meanwhile */
    struct pg *pg_bulk;
    bool allow_mass_delete; /* let a reconcile delete or archive most of what was recorded */
};

struct engine_stats {
    long seen;      /* files of the tree looked at */
    long synced;    /* files whose rows were written (new or changed) */
    long unchanged; /* files skipped: same size and mtime, or same bytes */
    long deleted;   /* files gone since the last sync */
    long rejected;  /* files rejected (by the parser or by the database) */
    long archived;  /* courses gone */
    long rows;      /* rows of the CreatorOS tables changed */
    long adopted;   /* rows of the original persister adopted by lesson files */
    /* A reconcile refused as a likely missing tree (nothing at all was written): the files
     * the source recorded; the error says how many would have gone, and why. */
    long refused;
};

/* Progress callback: files done so far and the total expected (0: unknown). */
typedef void (*engine_progress_cb)(void *arg, long done, long total);

struct engine;

/* Create (opens the root). Returns NULL with err. */
struct engine *engine_create(const struct engine_opts *opts, struct err *err);
void engine_destroy(struct engine *e);
/* This tree's name in the file state (borrowed). */
const char *engine_source(const struct engine *e);

/*
 * Load the recorded file state of this source from the database (needed before the first
 * sync; again after the database was away). Returns PG_OK or the failure class.
 */
enum pg_errclass engine_load_state(struct engine *e, struct err *err);

/*
 * Walk the whole tree and converge: new and changed files written, gone files
 * soft-deleted, gone courses archived. Adds to *stats. Returns PG_OK, or the class of the
 * failure that stopped it (the rest is picked up by the next reconcile). A reconcile that
 * would delete or archive most of what the source recorded (the tree empty, or more than
 * half and more than a few files; a root that cannot be opened) writes nothing: PG_OK with
 * stats->refused set and the reason in err, unless allow_mass_delete.
 */
enum pg_errclass engine_reconcile(struct engine *e, struct engine_stats *stats,
                                  engine_progress_cb progress, void *arg, struct err *err);

/*
 * Converge the given paths (relative to the root). subtree[i] marks a directory: the
 * course itself when it is one component, else every file recorded below it; "" is the
 * whole tree. Returns as engine_reconcile.
 */
enum pg_errclass engine_sync_paths(struct engine *e, const char *const *paths, const bool *subtree,
                                   size_t n, struct engine_stats *st, struct err *err);

/*
 * Big courses (more than SYNC_PART_BYTES of changes) are written in parts, several
 * statements of one transaction, holding about one part in memory. Without pg_bulk the
 * reconcile writes them on the spot. With pg_bulk (watch) they are queued: engine_bulk_step
 * does one step (look at one file, send a part, or see whether the server has answered,
 * never waiting for it) through pg_bulk; the course is left alone by the other syncs until
 * it is written, then looked at once more if it changed meanwhile.
 */
bool engine_bulk_busy(const struct engine *e);
/* One step; *more: another step can run at once (else, while busy, the server is awaited).
 * Returns PG_OK or the failure class (the course is then written again from its start). */
enum pg_errclass engine_bulk_step(struct engine *e, struct engine_stats *st, bool *more,
                                  struct err *err);
/* Drop the bulk work in progress (the database went away); the queue is kept. */
void engine_bulk_reset(struct engine *e);

/*
 * Courses (names, copied) whose volume went away: syncs and reconciles neither read nor
 * delete anything of them until they are set back (n = 0 clears).
 */
void engine_set_away(struct engine *e, const char *const *courses, size_t n);

/* Rejected files as "path: reason" lines of the last sync calls (borrowed, may be ""). */
const char *engine_rejections(const struct engine *e);
void engine_clear_rejections(struct engine *e);

#endif
