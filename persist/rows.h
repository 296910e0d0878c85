/* rows.h -- the rows a record maps to (docs/CONTRACT.md "Rows"), as `parse` prints them and as
 * persist/sync.c writes them: the derived values both use, and the JSON of the rows. */
#ifndef CO_ROWS_H
#define CO_ROWS_H

#include "common/strbuf.h"
#include "parser/record.h"

/* A module's slug is "<course>" ROWS_MODULE_SLUG_INFIX "<module number>": built here for the
 * lessons' parents and in SQL by the module statement of persist/statements.c
 * (STMT_MODULES_SYNC), which creates those rows, from this one definition. */
#define ROWS_MODULE_SLUG_INFIX "/module-"

/*
 * Append to sb the slug of a lesson's parent: the slug of its module with a module number,
 * else the course, which is the outline's slug.
 */
void rows_parent_slug(const struct record *rec, struct strbuf *sb);

/*
 * The name of a brief's audience profile (rec->has_audience): its own `name`, else
 * "<project name> audience" built in scratch (reset first). Borrowed from rec or scratch.
 */
const char *rows_audience_name(const struct record *rec, struct strbuf *scratch);

/*
 * Append to sb the JSON object `creatoros-agent parse` prints for a parsed record (one
 * line, no newline): {"path":..,"ok":true,"kind":"brief"|"lesson","course":..,"rows":[..]},
 * each row naming its table. creator_mind (may be NULL) is the deployment's --creator-mind,
 * which overrides the brief's.
 */
void rows_to_json(const struct record *rec, const char *creator_mind, struct strbuf *sb);

#endif
