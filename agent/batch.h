/* batch.h -- one course's batch being built: which files changed since they were recorded,
 * read and parsed, and, once the database committed it, what is remembered of them. Private
 * to the engine's files. */
#ifndef CO_BATCH_H
#define CO_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/engine_impl.h"
#include "agent/scan.h"
#include "persist/sync.h"

/*
 * The changes are b.changes[0, b.nchanges), one array: each change owns its path, its
 * reason and its record (heap objects that never move when the array grows), freed by
 * batch_release.
 */
struct batch {
    struct course_batch b;
    size_t cap;
    size_t held; /* bytes of the records not sent yet (bodies, front-matter JSON, titles) */
    long long started_ms;
};

void batch_init(struct batch *p, const char *course);
void batch_release(struct batch *p);
/* Nothing to write: no change, and the course is not gone. */
bool batch_empty(const struct batch *p);

/* A course's batch before any file is looked at: what its recorded state says. */
void batch_begin(struct engine *e, struct batch *p, const char *course, bool has_brief);
/* batch_begin for a course listed (sc), none of its recorded files seen yet. */
void batch_begin_listing(struct engine *e, struct batch *p, const struct scan_course *sc);
/* A listing holds the brief first, when there is one (scan_course). */
bool batch_listing_has_brief(const struct scan_course *sc);
/*
 * Look at the listed files of a course, from file `from` on, into p (batch_begin'd, its
 * recorded files unseen). Stops before a file that would make p hold more than one part and
 * returns its index (the course is big: a job writes it); else adds the gone files
 * (batch_end_listing) and returns sc->nfiles.
 */
size_t batch_build_listing(struct engine *e, struct batch *p, const struct scan_course *sc,
                           size_t from, struct engine_stats *st);
/* After the listing: recorded files it did not hold are gone; with no file left the course
 * is gone. */
void batch_end_listing(struct engine *e, struct batch *p, const struct scan_course *sc);

/*
 * One file that is present in the tree (listed or stat'ed; rel relative to the root):
 * decide whether it changed since it was recorded and, if so, read and parse it into p.
 */
void batch_present(struct engine *e, struct batch *p, const char *rel, bool is_brief, int64_t size,
                   int64_t mtime_ns, struct engine_stats *st);
/* A recorded file of the batch's course is gone. */
void batch_gone(struct batch *p, const struct fstate *f);
/* Whether the next file (size bytes) would make the part being built hold more than one
 * part: then the part goes first. */
bool batch_part_due(const struct batch *p, int64_t size);
/* The changes [from, to) were sent: free their bodies and front-matter, keep what the
 * commit needs (paths, slugs, module facts). */
void batch_shed(struct batch *p, size_t from, size_t to);

/*
 * Pick the brief mode (and the brief) before the batch is sent. A course without a brief
 * has its project and outline written as "absent" only when that can have changed: when it
 * is new, or when its brief is among the changes (gone).
 */
void batch_finalize(struct batch *p, bool has_brief);
/* After the commit: what the database now records becomes what is remembered. */
void batch_apply(struct engine *e, struct batch *p, struct engine_stats *st);
/* Log what a dry run would write of the changes from `from` on. */
void batch_dry_run(struct engine *e, struct batch *p, size_t from, struct engine_stats *st);

#endif
