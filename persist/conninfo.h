/* conninfo.h -- the secrets of a connection string or URL: where they are written, every
 * form a message may quote them in, and the string made fit to print. */
#ifndef CO_CONNINFO_H
#define CO_CONNINFO_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Redact a connection string or URL for printing: returns a heap string (free()) with
 * any password removed, or a copy of "(unparsable connection string)".
 */
char *conninfo_redact(const char *url);

/*
 * Where the password sits in a URL ("postgresql://user:PASSWORD@host/db") or a key/value
 * string ("... password=PASSWORD ..."): returns true with the offset and length of the first
 * secret conninfo_secret_spans finds.
 */
bool conninfo_password_span(const char *conninfo, size_t *off, size_t *len);

/* Where a secret is written in a connection string: len bytes at off, as written there
 * (inside the quotes, escapes and percent-encoding included). */
struct conninfo_span {
    size_t off;
    size_t len;
};

/*
 * Every secret of a connection string or URL (password and sslpassword, in key=value form
 * with or without spaces around '=', quoted or not; a URL's user information; a URL's
 * query), found by a careful scan of the text, so that it works on the strings
 * PQconninfoParse refuses too: those are exactly the ones libpq's error messages quote.
 * Fills up to cap spans and returns how many there are (possibly more than cap).
 */
size_t conninfo_secret_spans(const char *conninfo, struct conninfo_span *spans, size_t cap);

/*
 * Call add(arg, form) for every form a secret of conninfo may take in a message: as
 * written, decoded (by PQconninfoParse when it parses, and by the scan), percent-encoded
 * (upper- and lower-case hex), and, for a URL password holding a bare '@' (which libpq
 * splits), each piece. Forms may repeat; conninfo NULL calls nothing.
 */
void conninfo_secret_forms(const char *conninfo, void (*add)(void *arg, const char *form),
                           void *arg);

/* The same for a secret given alone (PGPASSWORD): itself and its percent-encoded forms. */
void conninfo_value_forms(const char *value, void (*add)(void *arg, const char *form), void *arg);

#endif
