/* sync.h -- one course's changes in, one transaction of set-based upserts out. */
#ifndef CO_SYNC_H
#define CO_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "parser/record.h"
#include "persist/pg.h"

/* What happened to one file since the agent last recorded it. */
enum change_kind {
    CHANGE_PARSED,   /* new or changed, parsed: its rows are written */
    CHANGE_REJECTED, /* new or changed, rejected: rows untouched, reason recorded */
    CHANGE_GONE,     /* deleted: rows soft-deleted, record dropped */
    CHANGE_TOUCHED,  /* same bytes, new mtime: only the record moves */
};

struct file_change {
    const char *path; /* relative to the root; borrowed */
    enum change_kind kind;
    bool is_brief;
    const struct record *rec; /* CHANGE_PARSED; borrowed */
    const char *error;        /* CHANGE_REJECTED; borrowed */
    int64_t size;
    int64_t mtime_ns;
    uint64_t hash;
    bool fresh; /* CHANGE_PARSED lesson with no synced record: it may adopt a legacy row */
    /* out: set by sync_course_finish */
    bool failed;      /* the database refused this file's data, or the file is not the agent's
                         to write (an ownership conflict): the reason is in db_error */
    bool dropped;     /* the database refused even the record of it: nothing was written */
    char *db_error;   /* heap, owned by the change: free with sync_changes_release */
    char *adopted_id; /* heap: the id of the original persister's row this lesson adopted */
};

/* How the course's project and outline are written in this transaction. */
enum brief_mode {
    BRIEF_KEEP,   /* the brief was not re-read (unchanged or rejected): rows exist (ensured
                     unless project_live) */
    BRIEF_PARSED, /* write project and outline from `brief` */
    BRIEF_ABSENT, /* the course has no brief: name falls back to the slug, content null */
};

struct course_batch {
    const char *course;
    bool gone;          /* the course directory is gone: archive the project */
    bool project_live;  /* a previous sync of this source wrote the project and outline */
    bool modules_dirty; /* a lesson came, went or changed its module facts: recompute modules */
    bool links_dirty;   /* a content is new or the brief changed: bring creator links in line */
    bool retry_refused; /* a file refused to this source is tried again: probe the course
                           first, so that a course still refused costs no write */
    enum brief_mode brief_mode;
    const struct record *brief; /* BRIEF_PARSED */
    struct file_change *changes;
    size_t nchanges;
    /* out: set by sync_course_finish when the course itself is not this agent's to write
     * (DATA-CONTRACT "Ownership"): every file present got failed and the reason, and only
     * the file records were written */
    bool refused;
};

/* The statements one transaction of a course sends at most (the longest one built holds 20). */
#define SYNC_MAX_CALLS 24

struct sync_ctx {
    struct pg *pg;
    const char *source;       /* this tree's name in the file state */
    const char *root;         /* for the sources table */
    const char *creator_mind; /* --creator-mind, or NULL */
    /* private: the statements of the transaction in flight */
    int sent_stmts[SYNC_MAX_CALLS];
    size_t sent_n;
    bool refused; /* the last send was too large for one message: nothing was sent */
    long sent_rows[SYNC_MAX_CALLS]; /* a part's rows, as they arrive */
    bool sent_keep[SYNC_MAX_CALLS]; /* the calls whose results are read (the adoptions) */
    PGresult *sent_results[SYNC_MAX_CALLS];
    long part_rows; /* rows of the parts collected so far (counted at the commit) */
    bool part_last; /* the part in flight ends with the commit */
};

/*
 * The file bytes one statement of a course's transaction carries at most: a course whose
 * changes hold more is written in parts of about this size, several statements inside its
 * one transaction, so that neither a message nor the agent's memory grows with the course.
 * A single file larger than this cannot be written and is rejected.
 */
#define SYNC_PART_BYTES ((size_t)32 << 20)

struct sync_stats {
    long rows;    /* rows inserted, updated or soft-deleted */
    long failed;  /* files the database refused (recorded as rejected) */
    long adopted; /* rows of the original persister adopted by lesson files */
};

/* Whether a recorded rejection reason is an ownership conflict (not the file's own fault:
 * it may go away without the file changing, so such a file is tried again on every sync). */
bool sync_is_refusal(const char *reason);

/*
 * Send the course's transaction without waiting (the caller parses the next course
 * meanwhile). Returns 0, or -1 when the connection failed (retry after reconnecting).
 */
int sync_course_send(struct sync_ctx *ctx, const struct course_batch *b, struct err *err);

/*
 * Wait for the transaction sent by sync_course_send. On a data error the course is
 * written again one file per transaction, so that one bad file never costs a good one;
 * files the database refused get failed = true and db_error. Returns PG_OK, or the class
 * of the failure that stopped it (PG_TRANSIENT: reconnect and send the batch again).
 */
enum pg_errclass sync_course_finish(struct sync_ctx *ctx, struct course_batch *b,
                                    struct sync_stats *stats, struct err *err);

/*
 * Parts (a course above SYNC_PART_BYTES): send the changes [from, to) of b as one part of
 * the course's transaction. The first part (first) takes the course's lock and writes its
 * project and outline; the last (last) brings the creator links in line and ends with the
 * commit. Collect each part (sync_part_poll) before sending the next; refresh b's pointers
 * in between as for sync_course_send. A data error cannot be traced to a file here (the
 * records of earlier parts are gone): the caller writes the course again otherwise.
 * Returns PG_OK, PG_TRANSIENT (connection lost: the transaction is gone), or PG_DATA (a
 * statement too large for one message: nothing of this part was sent, the transaction was
 * dropped).
 */
enum pg_errclass sync_part_send(struct sync_ctx *ctx, const struct course_batch *b, size_t from,
                                size_t to, bool first, bool last, struct err *err);

/*
 * Read the answer to the part sent last; wait false returns at once with *done false when it
 * has not come yet. When *done: PG_OK (the last part: committed, and stats->rows counts the
 * rows of every part), or the failure's class (the transaction was rolled back). The lessons of
 * the part that adopted a row of the original persister get their adopted_id (stats->adopted).
 */
enum pg_errclass sync_part_poll(struct sync_ctx *ctx, struct course_batch *b, bool wait, bool *done,
                                struct sync_stats *stats, struct err *err);

/*
 * The shared rows (minds when minds is set, tags) that the changes [from, to) of b name,
 * inserted and committed in a transaction of their own through ctx. A course written in
 * parts through another connection keeps its transaction open for long: a new mind or tag
 * inserted there would make any other course naming it wait for the whole course (the
 * unique index), and the agent that writes both would wait on itself. Committed first,
 * they hold nothing in the long transaction. Returns PG_OK or the failure class.
 */
enum pg_errclass sync_shared_ensure(struct sync_ctx *ctx, const struct course_batch *b, size_t from,
                                    size_t to, bool minds, struct err *err);

/* Record that a sync of this tree wrote something (for status). */
int sync_touch_source(struct sync_ctx *ctx, struct err *err);

/* Free the db_error and adopted_id strings of a batch's changes. */
void sync_changes_release(struct file_change *changes, size_t n);

#endif
