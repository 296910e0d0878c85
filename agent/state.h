/* state.h -- what the engine recorded of the tree (the mirror of creatoros_agent.file_state):
 * one record per file, found by its course and then by its path within it. Private to the
 * engine's files. */
#ifndef CO_STATE_H
#define CO_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "common/err.h"
#include "common/strbuf.h"
#include "common/strmap.h"
#include "persist/pg.h"

/*
 * What the agent recorded of one file. One per file of the tree, so its size is the
 * agent's size: the path lives in the same allocation, without its course (the course's
 * record holds the name once for all its files), and the flags after the wide fields.
 */
struct fstate {
    int64_t size;
    int64_t mtime_ns;
    uint64_t hash;
    char *error; /* why it is rejected; NULL when synced */
    /* a lesson's module facts as last synced (the inputs of its course's module rows) */
    long module_no;
    long lesson_no;
    uint64_t module_title_hash; /* 0: no module title (state_title_hash) */
    bool is_brief;
    bool live;  /* false once the file is gone; the entry is kept for reuse */
    bool seen;  /* visited by the reconcile in progress */
    char rel[]; /* the path below the course directory ("lessons/1.1-intro.md") */
};

/*
 * The recorded files of one course, sorted by rel (strcmp) and found by binary search: a
 * file is looked up by its course, then by its path within it. No table of every path of
 * the tree (a hash table's slots alone would weigh as much as a third of the records).
 */
struct cstate {
    char *name;
    struct fstate **files; /* includes dead entries */
    size_t n, cap;
    /* files[0, nsorted) are in order; a load in progress appends the rest, sorted when it
     * ends. Otherwise nsorted == n. */
    size_t nsorted;
};

/* The recorded state of a tree; zeroed is empty. */
struct state {
    struct arena fstates;  /* where every struct fstate lives (freed with the state) */
    size_t nfstates;       /* records made so far (live or not): how far the tree has grown */
    struct strmap courses; /* course -> struct cstate */
    struct cstate **clist;
    size_t nclist, capclist;
};

void state_release(struct state *s);

/*
 * Replace what is remembered by what the database records for source (every record not
 * found there is left dead). Returns PG_OK or the failure class.
 */
enum pg_errclass state_load(struct state *s, struct pg *pg, const char *source, struct err *err);

/*
 * The name a path is recorded under. The database holds text, and a file name need not be
 * UTF-8 (such a file is rejected, and must still be listed by status): its bad bytes are
 * written as \xNN. Returns rel itself, or a heap copy stored in *owned (free()).
 */
const char *state_path_key(const char *rel, char **owned);
/* A path relative to the root is its course (the first component: the length returned) and
 * its path within it (*rel; "" for a path of one component). */
size_t state_path_split(const char *path, const char **rel);
/* What is remembered of a module title: a hash, never 0 (0: no title). */
uint64_t state_title_hash(const char *title);

/* The course's record (NULL when unknown, unless create). */
struct cstate *state_course(struct state *s, const char *name, size_t len, bool create);
/* The live record of a path relative to the root, or NULL. */
struct fstate *state_get(struct state *s, const char *path);
/* Record a file as live with these facts (creating its entry when new). */
struct fstate *state_set(struct state *s, const char *path, int64_t size, int64_t mtime_ns,
                         uint64_t hash, bool is_brief, const char *error);
/* The file's path relative to the root, into sb (reset first); returns sb->buf. */
const char *state_file_path(const struct cstate *c, const struct fstate *f, struct strbuf *sb);

/* Live files of a course (c may be NULL). */
size_t state_course_live(const struct cstate *c);
/* Whether an earlier sync of this source wrote the course's project and outline: some file
 * of it is recorded, and not as refused (a course refused to this source wrote nothing). */
bool state_course_written(const struct cstate *c);
/* None of the course's recorded files is seen (before its listing is looked at). */
void state_course_unsee(struct state *s, const char *course);
/* Live files of the whole tree. */
long state_live(const struct state *s);
/* The courses in the order of their names (clist). */
void state_sort_courses(struct state *s);

#endif
