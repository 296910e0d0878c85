/* ignore.h -- the names docs/CONTRACT.md ignores ("The tree"): hidden files and directories,
 * and editors' leftovers. The watcher, the tree walk and the classifier all ask here. */
#ifndef CO_IGNORE_H
#define CO_IGNORE_H

#include <stdbool.h>
#include <stddef.h>

/*
 * True when a path component of n bytes (not necessarily NUL-terminated) is ignored, with
 * everything below it: ".x" (hidden), "x~", "x.swp", "x.tmp", "#x#" (a lone "#" too), and the
 * empty name ("a//b" or a trailing slash: not a path the agent produces).
 */
bool ignore_name_n(const char *name, size_t n);

/* ignore_name_n on a NUL-terminated name. */
bool ignore_name(const char *name);

#endif
