/* statements.h -- every SQL statement the agent runs while syncing, prepared once per connection.
 */
#ifndef CO_STATEMENTS_H
#define CO_STATEMENTS_H

#include <stdbool.h>

/*
 * Ownership (DATA-CONTRACT "Ownership") lives in the statements themselves, never in a read
 * followed by a write: a course is claimed for this source (creatoros_agent.courses) and
 * its project inserted or row-locked before anything else of it is written, then judged as
 * it really is; every contents write is limited to rows of the course's project written by
 * AI (ON CONFLICT ... DO UPDATE ... WHERE, whose condition PostgreSQL evaluates after
 * locking the row and before any row-level security check), and parents are looked up
 * inside the project. What a statement refuses it raises as an error whose message holds
 * STMT_REFUSAL and the reason (the text of a failed integer cast, SQLSTATE 22P02, built
 * from row data so that the planner can never fold it into a constant), so that the whole
 * transaction is rolled back and the engine records the files as rejected with that reason
 * (pg.h, PG_REFUSED).
 *
 * Set-based on purpose: one statement writes all the rows of a course for one table, with
 * arrays as parameters (sent in binary: no escaping, no parsing), so that the database,
 * not round trips, bounds throughput. Every upsert has a WHERE ... IS DISTINCT FROM so that
 * unchanged rows are not rewritten (no updated_at churn, no dead tuples). A statement
 * that changes rows in several places (data-modifying CTEs) returns one column named
 * `affected`, which the caller counts instead of the command's own row count.
 */
enum stmt {
    STMT_LOCK_COURSE,
    STMT_COURSE_PROBE,
    STMT_MINDS_ENSURE,
    STMT_COURSE_CLAIM,
    STMT_AUDIENCE_INSERT,
    STMT_PROJECT_HOLD,
    STMT_COURSE_CHECK,
    STMT_AUDIENCE_UPDATE,
    STMT_PROJECT_UPDATE,
    STMT_PROJECT_ENSURE,
    STMT_OUTLINE_UPSERT,
    STMT_OUTLINE_ENSURE,
    STMT_STATE_UPSERT,
    STMT_STATE_DELETE,
    STMT_STATE_TOUCH,
    STMT_LESSONS_ADOPT,
    STMT_MODULES_SYNC,
    STMT_LESSONS_UPSERT,
    STMT_CONTENTS_SOFT_DELETE,
    STMT_TAGS_ENSURE,
    STMT_TAGS_LINK,
    STMT_TAGS_UNLINK,
    STMT_CREATOR_LINKS,
    STMT_CREATOR_LINKS_SOME,
    STMT_COURSE_ARCHIVE,
    STMT_SOURCE_TOUCH,
    STMT_COUNT
};

/* The mark of a refusal raised by a statement; every recorded refusal reason starts so. */
#define STMT_REFUSAL "ownership conflict: "

struct stmt_def {
    const char *name;
    const char *sql;
    /* Its plan depends on how the values of its parameters are distributed in the tables,
     * not only on their sizes: it looks rows up by keys that are not unique (the contents of
     * a project, the links of a content, the file states of a course). It is planned for its
     * values even where the others run a plan made once (pg_plan_generic): a plan made once,
     * over statistics that lag behind the tables (a reconcile just filled them), could scan
     * such a table whole for every value. The others look rows up by unique keys only, on
     * the path every batch takes: a plan made once does for any value. */
    bool per_value;
};

/* Indexed by enum stmt. */
extern const struct stmt_def stmt_defs[STMT_COUNT];

#endif
