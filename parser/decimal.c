/* decimal.c -- a double as the plain decimal text PostgreSQL's numeric reads exactly. */
#include "parser/decimal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"

char *
decimal_text(double v)
{
    char buf[64], *e;
    struct strbuf sb = STRBUF_INIT;
    int exp;

    if (v == 0) {
        return xstrdup("0"); /* -0 too */
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof(buf), "%.*g", prec, v);
        if (strtod(buf, NULL) == v) {
            break;
        }
    }
    e = strchr(buf, 'e');
    if (e == NULL) {
        return xstrdup(buf);
    }
    /* %g uses an exponent below 1e-4 here: "1.25e-05" -> "0.0000125". */
    exp = atoi(e + 1);
    *e = '\0';
    strbuf_addstr(&sb, "0.");
    for (int i = -1; i > exp; i--) {
        strbuf_addch(&sb, '0');
    }
    for (const char *p = buf; *p; p++) {
        if (*p >= '0' && *p <= '9') {
            strbuf_addch(&sb, *p);
        }
    }
    return strbuf_detach(&sb, NULL);
}
