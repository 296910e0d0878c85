/* plain.c -- statements on a plain libpq connection, each failure one message. */
#include "persist/plain.h"

#include <stdio.h>
#include <string.h>

const char *
plain_error(PGconn *conn, char *buf, size_t size)
{
    size_t n;

    snprintf(buf, size, "%s", PQerrorMessage(conn));
    n = strlen(buf);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' ')) {
        buf[--n] = '\0';
    }
    return buf;
}

int
plain_command(PGconn *conn, const char *sql, int nparams, const char *const *values,
              const char *what, struct err *err)
{
    PGresult *res = nparams > 0 ? PQexecParams(conn, sql, nparams, NULL, values, NULL, NULL, 0)
                                : PQexec(conn, sql);
    char msg[ERR_MSG_MAX];
    int rc = -1;

    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        err_set(err, "%s: %s", what, plain_error(conn, msg, sizeof(msg)));
        goto out;
    }
    rc = 0;
out:
    PQclear(res);
    return rc;
}

PGresult *
plain_query(PGconn *conn, const char *sql, int nparams, const char *const *values, const char *what,
            struct err *err)
{
    PGresult *res = PQexecParams(conn, sql, nparams, NULL, values, NULL, NULL, 0);
    char msg[ERR_MSG_MAX];

    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        err_set(err, "%s: %s", what, plain_error(conn, msg, sizeof(msg)));
        PQclear(res);
        return NULL;
    }
    return res;
}
