/* plain.h -- statements on a plain libpq connection (migrate, the check of an existing
 * database), each failure one message: "what: server message". */
#ifndef CO_PLAIN_H
#define CO_PLAIN_H

#include <stddef.h>

#include <libpq-fe.h>

#include "common/err.h"

/*
 * The connection's last error (PQerrorMessage) copied into buf of size bytes without its
 * trailing newlines and spaces (cut at size - 1 bytes). Returns buf.
 */
const char *plain_error(PGconn *conn, char *buf, size_t size);

/*
 * Run sql, which returns no rows: one or several statements by the simple protocol when
 * nparams is 0, else one statement with the text parameters values. Returns 0, or -1 with
 * err "what: server message".
 */
int plain_command(PGconn *conn, const char *sql, int nparams, const char *const *values,
                  const char *what, struct err *err);

/*
 * Run one query with the text parameters values (nparams of them). Returns its result
 * (PQclear it), or NULL with err "what: server message".
 */
PGresult *plain_query(PGconn *conn, const char *sql, int nparams, const char *const *values,
                      const char *what, struct err *err);

#endif
