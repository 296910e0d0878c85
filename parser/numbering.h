/* numbering.h -- a lesson's module and lesson numbers, N and L (docs/CONTRACT.md "Lessons"). */
#ifndef CO_NUMBERING_H
#define CO_NUMBERING_H

#include "parser/yaml_json.h"

struct record;

/*
 * Set rec->module_no (N) and rec->lesson_no (L) of a lesson from rec->rel_path (a lesson's
 * path: at least two slashes, ending in ".md") and its front-matter doc: N from `module`,
 * else `lesson_id` "N.L", else a file name "N.L-..." or "<letters>-N.L-...", else the nearest
 * directory named like a module; L from `lesson_id`, else the file name. -1 when unknown.
 * rec->sequence is L when it fits a smallint (0..32767), else -1 (NULL).
 */
void numbering_fill(struct record *rec, const struct yj_doc *doc);

#endif
