/* statements.h -- every SQL statement the agent runs while syncing, prepared once per connection.
 */
#ifndef CO_STATEMENTS_H
#define CO_STATEMENTS_H

/*
 * Set-based on purpose: one statement writes all the rows of a course for one table, with
 * arrays as parameters (sent in binary: no escaping, no parsing), so that the database,
 * not round trips, bounds throughput. Every upsert has a WHERE ... IS DISTINCT FROM so that
 * unchanged rows are not rewritten (no updated_at churn, no dead tuples). A statement
 * that changes rows in several places (data-modifying CTEs) returns one column named
 * `affected`, which the caller counts instead of the command's own row count.
 */
enum stmt {
    STMT_LOCK_COURSE,
    STMT_MINDS_ENSURE,
    STMT_AUDIENCE_UPSERT,
    STMT_PROJECT_UPSERT,
    STMT_PROJECT_ENSURE,
    STMT_OUTLINE_UPSERT,
    STMT_OUTLINE_ENSURE,
    STMT_STATE_UPSERT,
    STMT_STATE_DELETE,
    STMT_STATE_TOUCH,
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

struct stmt_def {
    const char *name;
    const char *sql;
};

/* Indexed by enum stmt. */
extern const struct stmt_def stmt_defs[STMT_COUNT];

#endif
