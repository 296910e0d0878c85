/* yaml_json.c -- YAML front-matter to cJSON under the YAML 1.2 core schema, via libyaml. */
#include "parser/yaml_json.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "common/strbuf.h"
#include "common/strmap.h"
#include "parser/record.h"

#define YJ_MAX_WARNINGS 16
#define TAG_PREFIX "tag:yaml.org,2002:"

/* A named node: a private copy, so that a later duplicate key cannot free it under us. */
struct anchor {
    char *name;
    cJSON *node;
    char *text; /* scalar's own text; NULL for collections */
    enum yj_kind kind;
    size_t nodes; /* nodes in the subtree, what an alias to it costs */
    int height;   /* collection levels in the subtree (0 for a scalar) */
};

/* An open mapping or sequence. */
struct frame {
    cJSON *node;
    bool is_map;
    char *key; /* mapping: the pending key; NULL when the next node is a key */
    size_t key_len;
    size_t key_line;
    char *anchor;
    size_t nodes;
    int height;
    struct strmap keys; /* mapping: key -> its item, so that duplicates cost O(1) */
};

struct ctx {
    const char *text;
    size_t len;
    size_t first_line;
    struct frame frames[PARSE_MAX_DEPTH];
    size_t nframes;
    struct strmap anchors; /* name -> struct anchor * */
    struct anchor **anchor_list;
    size_t nanchors;
    size_t alias_nodes;
    cJSON *root;
    size_t ndups;
    struct yj_doc *doc;
    struct err *err;
};

/* cJSON allocates with plain malloc; like xmalloc, running out of memory is fatal. */
static cJSON *
need(cJSON *node)
{
    if (node == NULL) {
        xoom("cJSON");
    }
    return node;
}

static size_t
line_of(const struct ctx *c, const yaml_mark_t *m)
{
    return c->first_line + m->line;
}

static int yerr(struct ctx *c, const yaml_mark_t *m, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
yerr(struct ctx *c, const yaml_mark_t *m, const char *fmt, ...)
{
    char msg[ERR_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return err_set(c->err, "YAML error at line %zu, column %zu: %s", line_of(c, m), m->column + 1,
                   msg);
}

static int
deep_err(struct ctx *c)
{
    return err_set(c->err, PARSE_TOO_DEEP_FMT, PARSE_MAX_DEPTH);
}

/* libyaml's own error. Reader errors carry a byte offset rather than a mark. */
static int
parser_err(struct ctx *c, const yaml_parser_t *p)
{
    const char *problem = p->problem ? p->problem : "malformed YAML";
    yaml_mark_t m = p->problem_mark;

    if (p->error == YAML_MEMORY_ERROR) {
        xoom("libyaml");
    }
    if (p->error == YAML_READER_ERROR) {
        size_t off = p->problem_offset < c->len ? p->problem_offset : c->len;

        m.line = 0;
        m.column = 0;
        for (size_t i = 0; i < off; i++) {
            if (c->text[i] == '\n') {
                m.line++;
                m.column = 0;
            } else if (((unsigned char)c->text[i] & 0xC0) != 0x80) {
                m.column++;
            }
        }
    }
    if (p->context != NULL) {
        return yerr(c, &m, "%s (%s at line %zu, column %zu)", problem, p->context,
                    line_of(c, &p->context_mark), p->context_mark.column + 1);
    }
    return yerr(c, &m, "%s", problem);
}

static bool
ieq(const char *s, size_t n, const char *lit)
{
    size_t i;

    for (i = 0; i < n && lit[i]; i++) {
        char a = s[i];

        if (a >= 'A' && a <= 'Z') {
            a = (char)(a - 'A' + 'a');
        }
        if (a != lit[i]) {
            return false;
        }
    }
    return i == n && lit[i] == '\0';
}

static size_t
digits(const char *s, size_t n, size_t i, int base)
{
    size_t k = i;

    for (; k < n; k++) {
        char ch = s[k];
        bool ok = base == 16 ? ((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') ||
                                (ch >= 'A' && ch <= 'F'))
                             : (ch >= '0' && ch < '0' + base);
        if (!ok) {
            break;
        }
    }
    return k - i;
}

/* 0x/0o integers. Accumulated as a double: above 2^53 precision is lost (see metadata). */
static double
radix_value(const char *s, size_t n, int base)
{
    double v = 0;

    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        int d = ch <= '9' ? ch - '0' : (ch | 0x20) - 'a' + 10;

        v = v * base + d;
    }
    return v;
}

/*
 * The core schema's resolution of a plain scalar (s is NUL-terminated). Numbers too large
 * for a double (1e999, 400-digit integers) stay strings: JSON has no infinity.
 */
static cJSON *
resolve_plain(const char *s, size_t n, enum yj_kind *kind)
{
    size_t i = 0, d1, d2 = 0;
    bool is_float = false;
    double v;

    if (n == 0 || (n == 1 && s[0] == '~') || ieq(s, n, "null")) {
        *kind = YJ_NULL;
        return need(cJSON_CreateNull());
    }
    if (ieq(s, n, "true") || ieq(s, n, "false")) {
        *kind = YJ_BOOL;
        return need(cJSON_CreateBool(s[0] == 't' || s[0] == 'T'));
    }
    if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'o')) {
        int base = s[1] == 'x' ? 16 : 8;

        if (digits(s, n, 2, base) == n - 2) {
            v = radix_value(s + 2, n - 2, base);
            goto number;
        }
        goto string;
    }
    if (s[i] == '+' || s[i] == '-') {
        i++;
    }
    d1 = digits(s, n, i, 10);
    i += d1;
    if (i < n && s[i] == '.') {
        is_float = true;
        i++;
        d2 = digits(s, n, i, 10);
        i += d2;
    }
    if (d1 == 0 && d2 == 0) {
        goto string;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        is_float = true;
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) {
            i++;
        }
        if (digits(s, n, i, 10) == 0) {
            goto string;
        }
        i += digits(s, n, i, 10);
    }
    if (i != n) {
        goto string;
    }
    /* Only [-+0-9.eE] reach strtod, which needs LC_NUMERIC "C" (the agent never sets it). */
    v = strtod(s, NULL);
    if (is_float) {
        if (!isfinite(v)) {
            goto string;
        }
        *kind = YJ_FLOAT;
        return need(cJSON_CreateNumber(v));
    }
number:
    if (!isfinite(v)) {
        goto string;
    }
    *kind = YJ_INT;
    return need(cJSON_CreateNumber(v));
string:
    *kind = YJ_STRING;
    return need(cJSON_CreateString(s));
}

/* A scalar event's value: quoted and block scalars are strings; explicit tags are honoured. */
static cJSON *
resolve_scalar(const yaml_event_t *ev, enum yj_kind *kind)
{
    const char *s = (const char *)ev->data.scalar.value;
    size_t n = ev->data.scalar.length;
    const char *tag = (const char *)ev->data.scalar.tag;
    bool plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;

    if (tag != NULL) {
        size_t pl = sizeof(TAG_PREFIX) - 1;

        if (strcmp(tag, "!") == 0 || strcmp(tag, TAG_PREFIX "str") == 0) {
            plain = false;
        } else if (strncmp(tag, TAG_PREFIX, pl) == 0 &&
                   (strcmp(tag + pl, "null") == 0 || strcmp(tag + pl, "bool") == 0 ||
                    strcmp(tag + pl, "int") == 0 || strcmp(tag + pl, "float") == 0)) {
            plain = true;
        }
        /* Any other tag (!!timestamp, !custom) is ignored: the node resolves by its style. */
    }
    if (plain) {
        return resolve_plain(s, n, kind);
    }
    *kind = YJ_STRING;
    return need(cJSON_CreateString(s));
}

static void
add_warning(struct yj_doc *doc, char *msg)
{
    doc->warnings = xrealloc(doc->warnings, (doc->nwarnings + 1) * sizeof(*doc->warnings));
    doc->warnings[doc->nwarnings++] = msg;
}

static void
warn_duplicate(struct ctx *c, const struct frame *f)
{
    struct strbuf sb = STRBUF_INIT;
    size_t n = f->key_len;

    if (++c->ndups > YJ_MAX_WARNINGS) {
        return;
    }
    /* Quote at most 80 bytes of the key, cut on a character boundary. */
    if (n > 80) {
        n = 80;
        while (n > 0 && ((unsigned char)f->key[n] & 0xC0) == 0x80) {
            n--;
        }
    }
    strbuf_addstr(&sb, "duplicate key ");
    strbuf_add_json_str(&sb, f->key, n);
    strbuf_addf(&sb, "%s at line %zu of the front-matter: the last value wins",
                n < f->key_len ? " (cut)" : "", f->key_line);
    add_warning(c->doc, strbuf_detach(&sb, NULL));
}

static void
add_top(struct ctx *c, const char *key, const char *text, enum yj_kind kind)
{
    struct yj_doc *d = c->doc;
    struct yj_top *t;

    d->top = xrealloc(d->top, (d->ntop + 1) * sizeof(*d->top));
    t = &d->top[d->ntop++];
    t->key = xstrdup(key);
    t->text = text ? xstrdup(text) : NULL;
    t->kind = kind;
}

/* Attach a finished node (a scalar, an expanded alias, a closed collection) to its parent. */
static void
add_value(struct ctx *c, cJSON *v, size_t nodes, int height, const char *text, enum yj_kind kind)
{
    struct frame *f;
    void **slot;

    if (c->nframes == 0) {
        c->root = v; /* the document's root mapping */
        return;
    }
    f = &c->frames[c->nframes - 1];
    f->nodes += nodes;
    if (height + 1 > f->height) {
        f->height = height + 1;
    }
    if (!f->is_map) {
        cJSON_AddItemToArray(f->node, v);
        return;
    }
    if (c->nframes == 1) {
        add_top(c, f->key, text, kind);
    }
    slot = strmap_find(&f->keys, f->key, f->key_len);
    if (slot != NULL) {
        /* Last value wins, in the first one's place (as a Python dict would keep it). */
        cJSON *old = *slot;

        warn_duplicate(c, f);
        v->string = old->string;
        old->string = NULL;
        cJSON_ReplaceItemViaPointer(f->node, old, v);
        strmap_put(&f->keys, v->string, f->key_len, v);
    } else {
        cJSON_AddItemToObject(f->node, f->key, v);
        strmap_put(&f->keys, v->string, f->key_len, v);
    }
    free(f->key);
    f->key = NULL;
}

static bool
expecting_key(const struct ctx *c)
{
    return c->nframes > 0 && c->frames[c->nframes - 1].is_map &&
           c->frames[c->nframes - 1].key == NULL;
}

static void
set_key(struct ctx *c, const char *key, size_t len, const yaml_mark_t *m)
{
    struct frame *f = &c->frames[c->nframes - 1];

    f->key = xstrndup(key, len);
    f->key_len = len;
    f->key_line = line_of(c, m);
}

static void
anchor_set(struct ctx *c, const char *name, const cJSON *node, size_t nodes, int height,
           const char *text, enum yj_kind kind)
{
    void **slot = strmap_find(&c->anchors, name, strlen(name));
    struct anchor *a;

    if (slot != NULL) {
        /* A redefined anchor: later aliases see the new node. */
        a = *slot;
        cJSON_Delete(a->node);
        free(a->text);
    } else {
        a = xcalloc(1, sizeof(*a));
        a->name = xstrdup(name);
        c->anchor_list = xrealloc(c->anchor_list, (c->nanchors + 1) * sizeof(*c->anchor_list));
        c->anchor_list[c->nanchors++] = a;
        strmap_put(&c->anchors, a->name, strlen(a->name), a);
    }
    a->node = need(cJSON_Duplicate(node, true));
    a->text = text ? xstrdup(text) : NULL;
    a->kind = kind;
    a->nodes = nodes;
    a->height = height;
}

static int
on_scalar(struct ctx *c, const yaml_event_t *ev)
{
    const char *s = (const char *)ev->data.scalar.value;
    size_t n = ev->data.scalar.length;
    const char *anchor = (const char *)ev->data.scalar.anchor;
    enum yj_kind kind;
    cJSON *v;

    /* A "\0" escape would be cut by every C string API downstream (cJSON, libpq). */
    if (memchr(s, '\0', n) != NULL) {
        return yerr(c, &ev->start_mark, "a string holds a NUL character (\\0 escape)");
    }
    if (c->nframes == 0) {
        return err_set(c->err, "front-matter is not a mapping (it is a scalar)");
    }
    v = resolve_scalar(ev, &kind);
    if (anchor != NULL) {
        anchor_set(c, anchor, v, 1, 0, s, kind);
    }
    if (expecting_key(c)) {
        /* A key is its scalar's text (`1.0: x` has the key "1.0"). */
        set_key(c, s, n, &ev->start_mark);
        cJSON_Delete(v);
        return 0;
    }
    add_value(c, v, 1, 0, s, kind);
    return 0;
}

static int
on_alias(struct ctx *c, const yaml_event_t *ev)
{
    const char *name = (const char *)ev->data.alias.anchor;
    void **slot = strmap_find(&c->anchors, name, strlen(name));
    const struct anchor *a;

    if (slot == NULL) {
        return yerr(c, &ev->start_mark, "found undefined alias *%s", name);
    }
    a = *slot;
    if (expecting_key(c)) {
        if (a->text == NULL) {
            return yerr(c, &ev->start_mark, "a mapping key is not a scalar");
        }
        set_key(c, a->text, strlen(a->text), &ev->start_mark);
        return 0;
    }
    /* Billion laughs: count what every expansion would build before building it. */
    if (a->nodes > PARSE_MAX_ALIAS_NODES - c->alias_nodes) {
        return err_set(c->err, "too many alias nodes (limit %d)", PARSE_MAX_ALIAS_NODES);
    }
    if (c->nframes + (size_t)a->height > PARSE_MAX_DEPTH) {
        return deep_err(c);
    }
    c->alias_nodes += a->nodes;
    add_value(c, need(cJSON_Duplicate(a->node, true)), a->nodes, a->height, a->text, a->kind);
    return 0;
}

static int
on_start(struct ctx *c, const yaml_event_t *ev, bool is_map)
{
    const char *anchor =
        (const char *)(is_map ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor);
    struct frame *f;

    if (c->nframes == 0 && !is_map) {
        return err_set(c->err, "front-matter is not a mapping (it is a list)");
    }
    if (expecting_key(c)) {
        return yerr(c, &ev->start_mark, "a mapping key is not a scalar");
    }
    if (c->nframes == PARSE_MAX_DEPTH) {
        return deep_err(c);
    }
    f = &c->frames[c->nframes++];
    *f = (struct frame){0};
    f->node = need(is_map ? cJSON_CreateObject() : cJSON_CreateArray());
    f->is_map = is_map;
    f->anchor = anchor ? xstrdup(anchor) : NULL;
    f->nodes = 1;
    f->height = 1;
    return 0;
}

static void
on_end(struct ctx *c)
{
    struct frame f;

    if (c->nframes == 0) {
        return; /* libyaml balances its events; never trust that with a stack index */
    }
    f = c->frames[--c->nframes];

    strmap_release(&f.keys);
    free(f.key); /* NULL unless libyaml ended a mapping after a key: it never does */
    if (f.anchor != NULL) {
        anchor_set(c, f.anchor, f.node, f.nodes, f.height, NULL, YJ_COLLECTION);
        free(f.anchor);
    }
    add_value(c, f.node, f.nodes, f.height, NULL, YJ_COLLECTION);
}

static void
ctx_release(struct ctx *c)
{
    while (c->nframes > 0) {
        struct frame *f = &c->frames[--c->nframes];

        cJSON_Delete(f->node);
        free(f->key);
        free(f->anchor);
        strmap_release(&f->keys);
    }
    for (size_t i = 0; i < c->nanchors; i++) {
        cJSON_Delete(c->anchor_list[i]->node);
        free(c->anchor_list[i]->name);
        free(c->anchor_list[i]->text);
        free(c->anchor_list[i]);
    }
    free(c->anchor_list);
    strmap_release(&c->anchors);
    cJSON_Delete(c->root);
    c->root = NULL;
}

int
yj_parse(const char *text, size_t len, size_t first_line, struct yj_doc *doc, struct err *err)
{
    struct ctx c;
    yaml_parser_t parser;
    yaml_event_t ev;
    bool have_ev = false, done = false;
    int ndocs = 0, ret = -1;

    memset(doc, 0, sizeof(*doc));
    memset(&c, 0, sizeof(c));
    c.text = text;
    c.len = len;
    c.first_line = first_line;
    c.doc = doc;
    c.err = err;
    if (!yaml_parser_initialize(&parser)) {
        xoom("libyaml");
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING);
    while (!done) {
        if (!yaml_parser_parse(&parser, &ev)) {
            parser_err(&c, &parser);
            goto out;
        }
        have_ev = true;
        switch (ev.type) {
        case YAML_DOCUMENT_START_EVENT:
            if (ndocs++ > 0) {
                err_set(err, "front-matter is not a mapping (it holds more than one document)");
                goto out;
            }
            break;
        case YAML_SCALAR_EVENT:
            if (on_scalar(&c, &ev) < 0) {
                goto out;
            }
            break;
        case YAML_ALIAS_EVENT:
            if (on_alias(&c, &ev) < 0) {
                goto out;
            }
            break;
        case YAML_MAPPING_START_EVENT:
        case YAML_SEQUENCE_START_EVENT:
            if (on_start(&c, &ev, ev.type == YAML_MAPPING_START_EVENT) < 0) {
                goto out;
            }
            break;
        case YAML_MAPPING_END_EVENT:
        case YAML_SEQUENCE_END_EVENT:
            on_end(&c);
            break;
        case YAML_STREAM_END_EVENT:
            done = true;
            break;
        default:
            break;
        }
        yaml_event_delete(&ev);
        have_ev = false;
    }
    if (c.ndups > YJ_MAX_WARNINGS) {
        struct strbuf sb = STRBUF_INIT;

        strbuf_addf(&sb, "%zu more duplicate keys (the last value of each wins)",
                    c.ndups - YJ_MAX_WARNINGS);
        add_warning(doc, strbuf_detach(&sb, NULL));
    }
    doc->root = c.root ? c.root : need(cJSON_CreateObject());
    c.root = NULL;
    ret = 0;
out:
    if (have_ev) {
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);
    ctx_release(&c);
    if (ret < 0) {
        yj_doc_release(doc);
    }
    return ret;
}

void
yj_doc_release(struct yj_doc *doc)
{
    cJSON_Delete(doc->root);
    for (size_t i = 0; i < doc->ntop; i++) {
        free(doc->top[i].key);
        free(doc->top[i].text);
    }
    free(doc->top);
    for (size_t i = 0; i < doc->nwarnings; i++) {
        free(doc->warnings[i]);
    }
    free(doc->warnings);
    memset(doc, 0, sizeof(*doc));
}

const struct yj_top *
yj_doc_top(const struct yj_doc *doc, const char *key)
{
    for (size_t i = doc->ntop; i-- > 0;) {
        if (strcmp(doc->top[i].key, key) == 0) {
            return &doc->top[i];
        }
    }
    return NULL;
}
