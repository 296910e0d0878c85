/* module_order.c -- the module statement's ORDER BY (module_order.h) as a C comparison. */
#include "persist/module_order.h"

#include <string.h>

#define MODULE_KEY_ENUM_(name, expr, dir) name,
enum module_key { MODULE_ORDER(MODULE_KEY_ENUM_) };

#define MODULE_DIR_ASC 1
#define MODULE_DIR_DESC (-1)
#define MODULE_KEY_ROW_(name, expr, dir) {name, MODULE_DIR_##dir},
static const struct {
    enum module_key key;
    int dir; /* 1: ascending, -1: descending */
} module_keys[] = {MODULE_ORDER(MODULE_KEY_ROW_)};

static int
cmp_long(long a, long b)
{
    return a < b ? -1 : a > b;
}

int
module_order_cmp(const struct module_fact *a, const struct module_fact *b)
{
    int c = cmp_long(a->module_no, b->module_no);

    for (size_t i = 0; c == 0 && i < sizeof(module_keys) / sizeof(module_keys[0]); i++) {
        switch (module_keys[i].key) {
        case MODULE_KEY_UNTITLED: /* false before true */
            c = cmp_long(!a->titled, !b->titled);
            break;
        case MODULE_KEY_LESSON:
            if ((a->lesson_no < 0) != (b->lesson_no < 0)) {
                return a->lesson_no < 0 ? 1 : -1; /* NULLS LAST in either direction */
            }
            c = cmp_long(a->lesson_no, b->lesson_no);
            break;
        case MODULE_KEY_PATH: {
            int s = strcmp(a->path, b->path);
            c = s < 0 ? -1 : s > 0;
            break;
        }
        }
        c *= module_keys[i].dir;
    }
    return c;
}
