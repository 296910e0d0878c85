/* adopt_sql.h -- the queries of sql/adopt/, compiled into the binary (cmake/embed_sql.cmake). */
#ifndef CO_ADOPT_SQL_H
#define CO_ADOPT_SQL_H

/* sql/adopt/check.sql: one row per thing an existing database lacks for the agent. */
extern const char adopt_sql_check[];
/* sql/adopt/holes.sql: one row per change that closes a known hole of the policies. */
extern const char adopt_sql_holes[];

#endif
