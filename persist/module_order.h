/* module_order.h -- which lesson titles a module, written once: the order the module statement
 * (STMT_MODULES_SYNC) sorts a module's lessons by, and the same order as a C comparison for
 * the agent that predicts whether the statement would change anything. */
#ifndef CO_MODULE_ORDER_H
#define CO_MODULE_ORDER_H

#include <stdbool.h>

/*
 * Within one module, the lessons in this order; the first names the module. Each key is
 * KEY(name, SQL expression, ASC or DESC); a lesson without a number (lesson_no NULL) sorts
 * last whatever the direction. The statement sorts by module_no first (its DISTINCT ON),
 * then by these; module_order_cmp reads the same list.
 */
#define MODULE_ORDER(KEY)                                                                          \
    KEY(MODULE_KEY_UNTITLED, "module_title IS NULL", ASC) /* lessons that name it first */         \
    KEY(MODULE_KEY_LESSON, "lesson_no", ASC)              /* then the lowest lesson number */      \
    KEY(MODULE_KEY_PATH, "path COLLATE \"C\"", ASC)       /* then the path, byte by byte */

#define MODULE_ORDER_SQL_KEY_(name, expr, dir) ", " expr " " #dir " NULLS LAST"
/* The ORDER BY of the module statement: "module_no, <the keys>". */
#define MODULE_ORDER_SQL "module_no" MODULE_ORDER(MODULE_ORDER_SQL_KEY_)

/* One lesson's module facts, as the statement reads them from the file state. */
struct module_fact {
    long module_no;
    long lesson_no;   /* -1: none */
    bool titled;      /* the lesson names its module (module_title is not NULL) */
    const char *path; /* the file's path; only the order of paths of one course matters */
};

/* <0, 0, >0 as a sorts before, with or after b in MODULE_ORDER_SQL. */
int module_order_cmp(const struct module_fact *a, const struct module_fact *b);

#endif
