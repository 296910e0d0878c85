/* paths.h -- converge the database to the paths that events name (watch). */
#ifndef CO_PATHS_H
#define CO_PATHS_H

#include <stdbool.h>
#include <stddef.h>

#include "agent/engine.h"

/*
 * Converge the given paths (relative to the root). subtree[i] marks a directory: the
 * course itself when it is one component, else every file recorded below it; "" is the
 * whole tree (reconcile_tree). Returns as reconcile_tree.
 */
enum pg_errclass paths_sync(struct engine *e, const char *const *paths, const bool *subtree,
                            size_t n, struct engine_stats *st, struct err *err);

#endif
