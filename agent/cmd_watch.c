/* cmd_watch.c -- `creatoros-agent watch`: reconcile, then follow the tree live. */
#include <stdio.h>

#include "agent/cmd.h"

int
cmd_watch(const struct config *cfg)
{
    (void)cfg;
    fprintf(stderr, "creatoros-agent watch: not built yet\n");
    return 2;
}
