/* modules.h -- whether a batch would change its course's module rows, predicted from the
 * recorded module facts by the module statement's own order (persist/module_order.h). Private
 * to the engine's files. */
#ifndef CO_MODULES_H
#define CO_MODULES_H

#include <stdbool.h>

#include "agent/batch.h"
#include "agent/state.h"

/*
 * Would the batch change the course's module rows? Modules are made of the recorded module
 * facts of the course's lessons (STMT_MODULES_SYNC): one per module number, titled by the
 * first lesson of module_order_cmp. False only when the statement would change nothing.
 */
bool modules_change(struct state *s, const struct batch *p);

#endif
