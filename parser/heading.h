/* heading.h -- a markdown body's first heading, and a brief's heading cleaned into a name
 * (docs/CONTRACT.md, "Rows"). */
#ifndef CO_HEADING_H
#define CO_HEADING_H

#include <stddef.h>

/*
 * The body's first line that starts with "# ", outside fenced code blocks (a line of up to
 * three spaces then ``` or ~~~ opens one; the same character closes it). Returns the text
 * trimmed of spaces, tabs and the line end, pointing into body, *n its length; NULL when
 * there is none.
 */
const char *heading_find(const char *body, size_t len, size_t *n);

/*
 * Clean a brief's heading of n bytes (valid UTF-8): drop leading non-letters (emoji,
 * punctuation), then a leading "course brief"/"course-brief" label (any case; only as a
 * whole word, so "Course Briefing" stays) with the spaces and one separator (: - en dash,
 * em dash) after it. Returns a heap string (free()), or NULL when nothing is left.
 */
char *heading_clean(const char *h, size_t n);

#endif
