/* conninfo.c -- the secrets of a connection string or URL: where they are written, every
 * form a message may quote them in, and the string made fit to print. */
#include "persist/conninfo.h"

#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "common/strbuf.h"

char *
conninfo_redact(const char *url)
{
    struct strbuf sb = STRBUF_INIT;
    PQconninfoOption *opts;
    char *errmsg = NULL;
    const char *user = NULL, *host = NULL, *port = NULL, *db = NULL, *ssl = NULL;

    if (url == NULL) {
        return xstrdup("(PG* environment variables)");
    }
    opts = PQconninfoParse(url, &errmsg);
    if (opts == NULL) {
        PQfreemem(errmsg);
        return xstrdup("(unparsable connection string)");
    }
    for (PQconninfoOption *o = opts; o->keyword != NULL; o++) {
        if (o->val == NULL) {
            continue;
        }
        if (strcmp(o->keyword, "user") == 0) {
            user = o->val;
        } else if (strcmp(o->keyword, "host") == 0) {
            host = o->val;
        } else if (strcmp(o->keyword, "port") == 0) {
            port = o->val;
        } else if (strcmp(o->keyword, "dbname") == 0) {
            db = o->val;
        } else if (strcmp(o->keyword, "sslmode") == 0) {
            ssl = o->val;
        }
    }
    bool socket = host != NULL && host[0] == '/';
    char sep = '?';
    strbuf_addstr(&sb, "postgresql://");
    if (user != NULL) {
        strbuf_addf(&sb, "%s@", user);
    }
    if (host != NULL && !socket) {
        strbuf_addstr(&sb, host);
        if (port != NULL) {
            strbuf_addf(&sb, ":%s", port);
        }
    }
    strbuf_addf(&sb, "/%s", db != NULL ? db : "");
    if (socket) {
        strbuf_addf(&sb, "?host=%s", host);
        sep = '&';
        if (port != NULL) {
            strbuf_addf(&sb, "&port=%s", port);
        }
    }
    if (ssl != NULL) {
        strbuf_addf(&sb, "%csslmode=%s", sep, ssl);
    }
    PQconninfoFree(opts);
    return strbuf_detach(&sb, NULL);
}

/* ---- secrets: where a connection string holds one, and every form it takes ------------ */

static bool
secret_key(const char *k, size_t n)
{
    return (n == 8 && memcmp(k, "password", 8) == 0) ||
           (n == 11 && memcmp(k, "sslpassword", 11) == 0);
}

static int
hex_digit(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* Percent-decode leniently: a '%' without two hex digits after it stays as written (libpq
 * refuses such a string, and quotes it in its message). Returns a heap string. */
static char *
pct_decode(const char *s, size_t n)
{
    struct strbuf sb = STRBUF_INIT;

    for (size_t i = 0; i < n; i++) {
        int hi, lo;
        if (s[i] == '%' && i + 2 < n && (hi = hex_digit((unsigned char)s[i + 1])) >= 0 &&
            (lo = hex_digit((unsigned char)s[i + 2])) >= 0) {
            strbuf_addch(&sb, hi * 16 + lo);
            i += 2;
        } else {
            strbuf_addch(&sb, s[i]);
        }
    }
    return strbuf_detach(&sb, NULL);
}

/* Every byte but RFC 3986's unreserved ones as %XX (hex in upper or lower case). */
static char *
pct_encode(const char *s, bool lower)
{
    struct strbuf sb = STRBUF_INIT;

    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            strbuf_addch(&sb, c);
        } else {
            strbuf_addf(&sb, lower ? "%%%02x" : "%%%02X", c);
        }
    }
    return strbuf_detach(&sb, NULL);
}

/* What a scan reports to: spans (up to cap) and forms (when add is set). */
struct secret_scan {
    const char *base;
    struct conninfo_span *spans;
    size_t cap, n;
    void (*add)(void *arg, const char *form);
    void *arg;
};

/* One secret: written at v (vlen bytes), decoded as dec (heap, taken). */
static void
secret_found(struct secret_scan *sc, const char *v, size_t vlen, char *dec, bool userinfo)
{
    if (vlen == 0) {
        free(dec);
        return;
    }
    if (sc->n < sc->cap) {
        sc->spans[sc->n] = (struct conninfo_span){(size_t)(v - sc->base), vlen};
    }
    sc->n++;
    if (sc->add != NULL) {
        char *raw = xstrndup(v, vlen);
        sc->add(sc->arg, raw);
        conninfo_value_forms(dec, sc->add, sc->arg);
        /* libpq ends the user information at the first '@': "u:p@ss@host" sends "p" and
         * names "ss@host" as the host, so each piece is a secret too. */
        for (char *piece = raw, *at; userinfo && (at = strchr(piece, '@')) != NULL;
             piece = at + 1) {
            *at = '\0';
            sc->add(sc->arg, piece);
            sc->add(sc->arg, at + 1);
        }
        memset(raw, 0, vlen);
        free(raw);
    }
    memset(dec, 0, strlen(dec));
    free(dec);
}

/* key=value pairs, libpq's grammar: spaces around '=', values quoted ('...' with \' and \\)
 * or bare (backslash escapes, up to a space). A word without '=' is skipped. */
static void
scan_keyvalue(const char *s, struct secret_scan *sc)
{
    const char *p = s;

    while (*p != '\0') {
        while (*p == ' ' || (*p >= '\t' && *p <= '\r')) {
            p++;
        }
        if (*p == '\0') {
            break;
        }
        const char *k = p;
        while (*p != '\0' && *p != '=' && *p != ' ' && !(*p >= '\t' && *p <= '\r')) {
            p++;
        }
        size_t klen = (size_t)(p - k);
        while (*p == ' ' || (*p >= '\t' && *p <= '\r')) {
            p++;
        }
        if (*p != '=') {
            continue; /* libpq refuses this; the next word is looked at as a key */
        }
        p++;
        while (*p == ' ' || (*p >= '\t' && *p <= '\r')) {
            p++;
        }
        struct strbuf dec = STRBUF_INIT;
        bool quoted = *p == '\'';
        const char *v = p + quoted;
        p = v;
        while (*p != '\0' && (quoted ? *p != '\'' : !(*p == ' ' || (*p >= '\t' && *p <= '\r')))) {
            if (*p == '\\' && p[1] != '\0') {
                p++;
            }
            strbuf_addch(&dec, *p++);
        }
        size_t vlen = (size_t)(p - v);
        if (quoted && *p == '\'') {
            p++;
        }
        if (secret_key(k, klen)) {
            secret_found(sc, v, vlen, strbuf_detach(&dec, NULL), false);
        } else {
            strbuf_release(&dec);
        }
    }
}

/* postgres[ql]://[user[:password]@][netloc][/db][?key=value&...] */
static void
scan_uri(const char *s, size_t prefix, struct secret_scan *sc)
{
    const char *a = s + prefix;
    const char *slash = strchr(a, '/');
    const char *end = slash != NULL ? slash : a + strlen(a);
    const char *at = NULL;

    /* The user information ends at an '@' before the path; the last one, so that a bare '@'
     * in a password (which libpq misreads) is still covered. */
    for (const char *q = a; q < end; q++) {
        if (*q == '@') {
            at = q;
        }
    }
    if (at != NULL) {
        const char *colon = memchr(a, ':', (size_t)(at - a));
        if (colon != NULL) {
            size_t n = (size_t)(at - colon - 1);
            secret_found(sc, colon + 1, n, pct_decode(colon + 1, n), true);
        }
    }
    const char *query = strchr(at != NULL ? at + 1 : a, '?');
    for (const char *p = query != NULL ? query + 1 : NULL; p != NULL && *p != '\0';) {
        size_t klen = strcspn(p, "=&");
        const char *v = p + klen;
        size_t vlen = 0;
        if (*v == '=') {
            v++;
            vlen = strcspn(v, "&");
        }
        char *key = pct_decode(p, klen);
        if (secret_key(key, strlen(key))) {
            secret_found(sc, v, vlen, pct_decode(v, vlen), false);
        }
        free(key);
        p = v + vlen;
        if (*p == '&') {
            p++;
        }
    }
}

static size_t
uri_prefix(const char *s)
{
    if (strncmp(s, "postgresql://", 13) == 0) {
        return 13;
    }
    return strncmp(s, "postgres://", 11) == 0 ? 11 : 0;
}

static void
scan_secrets(const char *conninfo, struct secret_scan *sc)
{
    size_t prefix = uri_prefix(conninfo);

    if (prefix > 0) {
        scan_uri(conninfo, prefix, sc);
    } else {
        scan_keyvalue(conninfo, sc);
    }
}

size_t
conninfo_secret_spans(const char *conninfo, struct conninfo_span *spans, size_t cap)
{
    struct secret_scan sc = {conninfo, spans, cap, 0, NULL, NULL};

    scan_secrets(conninfo, &sc);
    return sc.n;
}

bool
conninfo_password_span(const char *conninfo, size_t *off, size_t *len)
{
    struct conninfo_span sp;

    if (conninfo_secret_spans(conninfo, &sp, 1) == 0) {
        return false;
    }
    *off = sp.off;
    *len = sp.len;
    return true;
}

void
conninfo_value_forms(const char *value, void (*add)(void *arg, const char *form), void *arg)
{
    if (value == NULL || *value == '\0') {
        return;
    }
    add(arg, value);
    for (int lower = 0; lower < 2; lower++) {
        char *enc = pct_encode(value, lower != 0);
        add(arg, enc);
        memset(enc, 0, strlen(enc));
        free(enc);
    }
}

void
conninfo_secret_forms(const char *conninfo, void (*add)(void *arg, const char *form), void *arg)
{
    struct secret_scan sc = {conninfo, NULL, 0, 0, add, arg};
    PQconninfoOption *opts;
    char *errmsg = NULL;

    if (conninfo == NULL) {
        return;
    }
    scan_secrets(conninfo, &sc);
    /* libpq's own reading, when it has one: what it would send is what must not show */
    opts = PQconninfoParse(conninfo, &errmsg);
    PQfreemem(errmsg);
    for (PQconninfoOption *o = opts; o != NULL && o->keyword != NULL; o++) {
        if (o->val != NULL && secret_key(o->keyword, strlen(o->keyword))) {
            conninfo_value_forms(o->val, add, arg);
        }
    }
    PQconninfoFree(opts);
}
