/* engine.h -- the engine that converges the database to the tree: its options, its counters,
 * its life (create, load the recorded state, destroy) and what it is told and tells between
 * syncs. The syncs themselves: reconcile.h (the whole tree), paths.h (the paths events name),
 * bulk.h (big courses in watch). */
#ifndef CO_ENGINE_H
#define CO_ENGINE_H

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
     * (bulk_step), so that the other courses keep syncing through pg meanwhile */
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

/* Create (checks the root). Returns NULL with err. */
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
 * Courses (names, copied) whose volume went away: syncs and reconciles neither read nor
 * delete anything of them until they are set back (n = 0 clears).
 */
void engine_set_away(struct engine *e, const char *const *courses, size_t n);

/* Rejected files as "path: reason" lines of the last sync calls (borrowed, may be ""). */
const char *engine_rejections(const struct engine *e);
void engine_clear_rejections(struct engine *e);

#endif
