/* record.c -- one course file's bytes to the contract's row values (docs/CONTRACT.md "Rows"). */
#include "parser/record.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "common/strbuf.h"
#include "common/strmap.h"
#include "parser/frontmatter.h"
#include "parser/utf8.h"
#include "parser/yaml_json.h"

#define SMALLINT_MAX 32767
#define RULE_NOT_APPLICABLE (-2) /* a numbering rule whose pattern did not match */

static const char *const lesson_statuses[] = {"draft", "reviewed", "published", "archived"};
static const char *const tech_levels[] = {"beginner", "intermediate", "advanced", "expert"};

static bool
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool
is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* A run of ASCII digits as a number; -1 when it does not fit a long (never wraps). */
static long
parse_digits(const char *s, size_t n)
{
    long v = 0;

    for (size_t i = 0; i < n; i++) {
        int d = s[i] - '0';

        if (v > (LONG_MAX - d) / 10) {
            return -1;
        }
        v = v * 10 + d;
    }
    return v;
}

static size_t
digit_run(const char *s, size_t n, size_t i)
{
    size_t k = i;

    while (k < n && is_digit(s[k])) {
        k++;
    }
    return k - i;
}

/* The non-empty string value of key in obj, or NULL (placeholders like [X] are not strings). */
static const char *
str_of(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

    return cJSON_IsString(v) && v->valuestring[0] != '\0' ? v->valuestring : NULL;
}

static const char *
static_match(const char *s, const char *const *set, size_t n)
{
    for (size_t i = 0; s != NULL && i < n; i++) {
        if (strcmp(s, set[i]) == 0) {
            return set[i];
        }
    }
    return NULL;
}

/* JSON text of a value (compact), or NULL for an absent or null value. */
static char *
json_text(const cJSON *v)
{
    char *p, *copy;

    if (v == NULL || cJSON_IsNull(v)) {
        return NULL;
    }
    p = cJSON_PrintUnformatted(v);
    if (p == NULL) {
        fprintf(stderr, "creatoros-agent: out of memory (cJSON)\n");
        abort();
    }
    copy = xstrdup(p);
    cJSON_free(p);
    return copy;
}

static void
add_warning(struct record *rec, char *msg)
{
    rec->warnings = xrealloc(rec->warnings, (rec->nwarnings + 1) * sizeof(*rec->warnings));
    rec->warnings[rec->nwarnings++] = msg;
}

/*
 * The body's first line that starts with "# ", outside fenced code blocks (a line of up to
 * three spaces then ``` or ~~~ opens one; the same character closes it). Returns the text
 * trimmed of spaces, tabs and the line end, *n its length; NULL when there is none.
 */
static const char *
find_heading(const char *body, size_t len, size_t *n)
{
    char fence = 0;
    size_t i = 0;

    while (i < len) {
        const char *nl = memchr(body + i, '\n', len - i);
        size_t le = nl ? (size_t)(nl - body) : len;
        const char *line = body + i;
        size_t ll = le - i, k = 0;

        while (ll > 0 && line[ll - 1] == '\r') {
            ll--;
        }
        while (k < 3 && k < ll && line[k] == ' ') {
            k++;
        }
        if (k + 3 <= ll && (line[k] == '`' || line[k] == '~') && line[k + 1] == line[k] &&
            line[k + 2] == line[k]) {
            if (fence == 0) {
                fence = line[k];
            } else if (fence == line[k]) {
                fence = 0;
            }
        } else if (fence == 0 && ll >= 2 && line[0] == '#' && line[1] == ' ') {
            const char *s = line + 2;
            size_t sl = ll - 2;

            while (sl > 0 && (s[0] == ' ' || s[0] == '\t')) {
                s++, sl--;
            }
            while (sl > 0 && (s[sl - 1] == ' ' || s[sl - 1] == '\t')) {
                sl--;
            }
            *n = sl;
            return s;
        }
        i = le + 1;
    }
    return NULL;
}

/* Decode the (valid) UTF-8 code point at s; *len gets its byte length. */
static unsigned
decode_cp(const unsigned char *s, size_t avail, size_t *len)
{
    unsigned c = s[0];

    if (c < 0x80 || avail < 2) {
        *len = 1;
        return c;
    }
    if (c < 0xE0) {
        *len = 2;
        return ((c & 0x1F) << 6) | (s[1] & 0x3F);
    }
    if (c < 0xF0 || avail < 4) {
        *len = avail < 3 ? avail : 3;
        return avail < 3 ? c : ((c & 0x0F) << 12) | ((s[1] & 0x3F) << 6) | (s[2] & 0x3F);
    }
    *len = 4;
    return ((c & 0x07) << 18) | ((s[1] & 0x3F) << 12) | ((s[2] & 0x3F) << 6) | (s[3] & 0x3F);
}

static bool
heading_letter(unsigned cp)
{
    return (cp < 0x80 && (is_alpha((char)cp) || is_digit((char)cp))) ||
           (cp >= 0xC0 && cp <= 0x24F && cp != 0xD7 && cp != 0xF7);
}

/*
 * Clean a brief's heading: drop leading non-letters (emoji, punctuation), then a leading
 * "course brief"/"course-brief" label (any case; only as a whole word, so "Course
 * Briefing" stays) with the spaces and one separator (: - en dash, em dash) after it.
 */
static char *
clean_heading(const char *h, size_t n)
{
    const unsigned char *p = (const unsigned char *)h;
    size_t i = 0, cl;

    while (i < n && !heading_letter(decode_cp(p + i, n - i, &cl))) {
        i += cl;
    }
    if (n - i >= 12 && strncasecmp(h + i, "course", 6) == 0 &&
        (h[i + 6] == ' ' || h[i + 6] == '-') && strncasecmp(h + i + 7, "brief", 5) == 0 &&
        (i + 12 == n || h[i + 12] == ' ' || h[i + 12] == ':' || h[i + 12] == '-' ||
         (n - i - 12 >= 3 && memcmp(h + i + 12, "\xE2\x80", 2) == 0 &&
          (p[i + 14] == 0x93 || p[i + 14] == 0x94)))) {
        i += 12;
        while (i < n && h[i] == ' ') {
            i++;
        }
        if (i < n && (h[i] == ':' || h[i] == '-')) {
            i++;
        } else if (n - i >= 3 && memcmp(h + i, "\xE2\x80", 2) == 0 &&
                   (p[i + 2] == 0x93 || p[i + 2] == 0x94)) {
            i += 3;
        }
        while (i < n && h[i] == ' ') {
            i++;
        }
    }
    return i < n ? xstrndup(h + i, n - i) : NULL;
}

static bool
is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

/* A tag is its name (tags.name is unique and case-sensitive): trimmed; empty ones and
 * repeats dropped. */
static void
add_tag(struct record *rec, struct strmap *seen, const char *s, size_t n)
{
    struct tag *t;

    while (n > 0 && is_space(s[0])) {
        s++, n--;
    }
    while (n > 0 && is_space(s[n - 1])) {
        n--;
    }
    if (n == 0 || strmap_find(seen, s, n) != NULL) {
        return;
    }
    rec->tags = xrealloc(rec->tags, (rec->ntags + 1) * sizeof(*rec->tags));
    t = &rec->tags[rec->ntags++];
    t->name = xstrndup(s, n);
    strmap_put(seen, t->name, n, t->name);
}

/* tags: a list of strings (others skipped) or one comma-separated string. */
static void
parse_tags(struct record *rec, const cJSON *fm)
{
    const cJSON *tags = cJSON_GetObjectItemCaseSensitive(fm, "tags");
    struct strmap seen = STRMAP_INIT;
    const cJSON *it;

    if (cJSON_IsArray(tags)) {
        cJSON_ArrayForEach(it, tags)
        {
            if (cJSON_IsString(it)) {
                add_tag(rec, &seen, it->valuestring, strlen(it->valuestring));
            }
        }
    } else if (cJSON_IsString(tags)) {
        const char *s = tags->valuestring;

        for (;;) {
            const char *comma = strchr(s, ',');
            size_t n = comma ? (size_t)(comma - s) : strlen(s);

            add_tag(rec, &seen, s, n);
            if (comma == NULL) {
                break;
            }
            s = comma + 1;
        }
    }
    strmap_release(&seen);
}

static void
set_mind(struct mind_ref *m, const char *slug, const char *name)
{
    if (slug == NULL) {
        return;
    }
    m->slug = xstrdup(slug);
    m->display_name = xstrdup(name ? name : slug);
}

static void
parse_audience(struct record *rec, const cJSON *fm)
{
    static const char *const keys[] = {"target_audience", "audience", "icp"};
    const cJSON *a = NULL;
    struct audience *au = &rec->audience;
    const char *s;

    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]) && a == NULL; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(fm, keys[i]);

        if (cJSON_IsObject(v)) {
            a = v;
        }
    }
    if (a == NULL) {
        return;
    }
    rec->has_audience = true;
    if ((s = str_of(a, "name")) != NULL) {
        au->name = xstrdup(s);
    }
    if ((s = str_of(a, "description")) != NULL) {
        au->description = xstrdup(s);
    }
    au->demographics_json = json_text(cJSON_GetObjectItemCaseSensitive(a, "demographics"));
    au->psychographics_json = json_text(cJSON_GetObjectItemCaseSensitive(a, "psychographics"));
    au->learning_preferences_json =
        json_text(cJSON_GetObjectItemCaseSensitive(a, "learning_preferences"));
    au->technical_level = static_match(str_of(a, "technical_level"), tech_levels, 4);
    if (au->technical_level == NULL) {
        au->technical_level = static_match(str_of(a, "level"), tech_levels, 4);
    }
}

static void
parse_brief(struct record *rec, const struct yj_doc *doc)
{
    const cJSON *fm = doc->root;
    const cJSON *persona = cJSON_GetObjectItemCaseSensitive(fm, "mmos_persona");
    const char *s;

    if ((s = str_of(fm, "title")) != NULL || (s = str_of(fm, "name")) != NULL) {
        rec->title = xstrdup(s);
    } else {
        size_t hn;
        const char *h = find_heading(rec->body, rec->body_len, &hn);

        if (h != NULL) {
            rec->title = clean_heading(h, hn);
        }
    }
    if (rec->title == NULL) {
        rec->title = xstrdup(rec->course);
    }
    if ((s = str_of(fm, "description")) != NULL || (s = str_of(fm, "subtitle")) != NULL) {
        rec->description = xstrdup(s);
    }
    set_mind(&rec->creator_mind, str_of(fm, "creator_mind"), str_of(fm, "creator_mind_name"));
    if (cJSON_IsObject(persona) &&
        !cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(persona, "enabled"))) {
        set_mind(&rec->persona_mind, str_of(persona, "mind_slug"), str_of(persona, "mind_name"));
    }
    parse_audience(rec, fm);
}

/* "N.L": digits, a dot, digits, nothing else. */
static bool
match_lesson_id(const char *s, long *n, long *l)
{
    size_t len = strlen(s), d1 = digit_run(s, len, 0), d2;

    if (d1 == 0 || d1 >= len || s[d1] != '.') {
        return false;
    }
    d2 = digit_run(s, len, d1 + 1);
    if (d2 == 0 || d1 + 1 + d2 != len) {
        return false;
    }
    *n = parse_digits(s, d1);
    *l = parse_digits(s + d1 + 1, d2);
    return true;
}

/* A file stem that starts with "N.L" or "<letters>-N.L", then '-', '_', ' ' or its end. */
static bool
match_file_name(const char *s, size_t len, long *n, long *l)
{
    size_t i = 0, d1, d2;

    while (i < len && is_alpha(s[i])) {
        i++;
    }
    if (i > 0) {
        if (i == len || s[i] != '-') {
            return false;
        }
        i++;
    }
    d1 = digit_run(s, len, i);
    if (d1 == 0 || i + d1 >= len || s[i + d1] != '.') {
        return false;
    }
    d2 = digit_run(s, len, i + d1 + 1);
    if (d2 == 0) {
        return false;
    }
    if (i + d1 + 1 + d2 < len && !strchr("-_ ", s[i + d1 + 1 + d2])) {
        return false;
    }
    *n = parse_digits(s + i, d1);
    *l = parse_digits(s + i + d1 + 1, d2);
    return true;
}

/*
 * A directory named modulo|module|mod (any case), then '-', '_' or nothing, then digits:
 * its number (-1 when too large), else RULE_NOT_APPLICABLE.
 */
static long
match_module_dir(const char *s, size_t len)
{
    static const char *const prefixes[] = {"modulo", "module", "mod"};

    for (size_t p = 0; p < 3; p++) {
        size_t pl = strlen(prefixes[p]), i = pl;

        if (len < pl || strncasecmp(s, prefixes[p], pl) != 0) {
            continue;
        }
        if (i < len && (s[i] == '-' || s[i] == '_')) {
            i++;
        }
        if (i < len && digit_run(s, len, i) == len - i) {
            return parse_digits(s + i, len - i);
        }
    }
    return RULE_NOT_APPLICABLE;
}

/*
 * Module number N from the front-matter's `module`: RULE_NOT_APPLICABLE when it is neither
 * an integer nor a string with digits; -1 when it is one but the number is unusable
 * (negative, or too large to hold exactly).
 */
static long
module_from_fm(const struct yj_doc *doc)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(doc->root, "module");
    const struct yj_top *t = yj_doc_top(doc, "module");

    if (cJSON_IsNumber(m) && t != NULL && t->kind == YJ_INT) {
        double v = m->valuedouble;

        /* Above 2^53 a double no longer holds every integer: unknown rather than wrong. */
        return v >= 0 && v <= 9007199254740992.0 ? (long)v : -1;
    }
    if (cJSON_IsString(m)) {
        const char *s = m->valuestring;
        size_t len = strlen(s), i = 0;

        while (i < len && !is_digit(s[i])) {
            i++;
        }
        if (i < len) {
            return parse_digits(s + i, digit_run(s, len, i));
        }
    }
    return RULE_NOT_APPLICABLE;
}

/*
 * N and L (docs/CONTRACT.md "Lessons"): the first rule whose pattern matches decides, as the
 * contract's "first that applies" says. A number too large for a long (a 30-digit run) is
 * unknown (-1), never wrapped, and does not hand over to the next rule.
 */
static void
lesson_numbers(struct record *rec, const struct yj_doc *doc)
{
    const char *rel = rec->rel_path;
    const char *name = strrchr(rel, '/') + 1; /* a lesson has at least two slashes */
    size_t stem_len = strlen(name) - 3;
    const struct yj_top *lid = yj_doc_top(doc, "lesson_id");
    long id_n = -1, id_l = -1, fn_n = -1, fn_l = -1, n;
    bool by_id = lid != NULL && lid->text != NULL && match_lesson_id(lid->text, &id_n, &id_l);
    bool by_name = match_file_name(name, stem_len, &fn_n, &fn_l);

    n = module_from_fm(doc);
    if (n == RULE_NOT_APPLICABLE && by_id) {
        n = id_n;
    }
    if (n == RULE_NOT_APPLICABLE && by_name) {
        n = fn_n;
    }
    if (n == RULE_NOT_APPLICABLE) {
        /* The nearest directory below ROOT/<course>/lessons/ named like a module. */
        const char *lessons_end = strchr(strchr(rel, '/') + 1, '/');
        const char *end = name - 1;

        while (n == RULE_NOT_APPLICABLE && end > lessons_end) {
            const char *start = end - 1;

            while (start > lessons_end && start[-1] != '/') {
                start--;
            }
            n = match_module_dir(start, (size_t)(end - start));
            end = start - 1;
        }
    }
    rec->module_no = n < 0 ? -1 : n;
    rec->lesson_no = by_id ? id_l : by_name ? fn_l : -1;
    rec->sequence = rec->lesson_no >= 0 && rec->lesson_no <= SMALLINT_MAX ? rec->lesson_no : -1;
}

/*
 * Shortest text that reads back as v, in plain decimal (no exponent): "0.125", "1", "0".
 * PostgreSQL casts it to numeric exactly.
 */
static char *
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
        if (is_digit(*p)) {
            strbuf_addch(&sb, *p);
        }
    }
    return strbuf_detach(&sb, NULL);
}

static void
parse_lesson(struct record *rec, const struct yj_doc *doc)
{
    const cJSON *fm = doc->root;
    const cJSON *fs = cJSON_GetObjectItemCaseSensitive(fm, "fidelity_score");
    const char *s;

    rec->slug = xstrndup(rec->rel_path, strlen(rec->rel_path) - 3);
    if ((s = str_of(fm, "title")) != NULL || (s = str_of(fm, "lesson_title")) != NULL) {
        rec->title = xstrdup(s);
    } else {
        size_t hn;
        const char *h = find_heading(rec->body, rec->body_len, &hn);

        if (h != NULL && hn > 0) {
            rec->title = xstrndup(h, hn);
        } else {
            const char *name = strrchr(rec->rel_path, '/') + 1;

            rec->title = xstrndup(name, strlen(name) - 3);
        }
    }
    lesson_numbers(rec, doc);
    if ((s = str_of(fm, "module_name")) != NULL || (s = str_of(fm, "module_title")) != NULL ||
        (s = str_of(fm, "module")) != NULL) {
        rec->module_title = xstrdup(s);
    }
    rec->status = static_match(str_of(fm, "status"), lesson_statuses, 4);
    if (rec->status == NULL) {
        rec->status = "draft";
    }
    /* cJSON has no booleans among its numbers, so `true` never counts as 1. */
    if (cJSON_IsNumber(fs) && fs->valuedouble >= 0 && fs->valuedouble <= 1) {
        rec->fidelity = decimal_text(fs->valuedouble);
    }
}

int
record_parse(const char *rel, const char *buf, size_t len, const struct parse_opts *opts,
             struct record *out, struct err *err)
{
    size_t max = opts && opts->max_file_bytes ? opts->max_file_bytes : PARSE_DEFAULT_MAX_FILE_BYTES;
    const char *enc = opts ? opts->fallback_encoding : NULL;
    char *conv = NULL;
    const char *nul;
    size_t course_len = 0, bad;
    enum file_kind kind;
    struct fm_split sp;
    struct yj_doc doc;
    int ret = -1;

    memset(out, 0, sizeof(*out));
    memset(&doc, 0, sizeof(doc));
    /* The size first: a 100 MB file costs nothing more than this comparison. */
    if (len > max) {
        return err_set(err, "file is %zu bytes, above the limit of %zu (--max-file-bytes)", len,
                       max);
    }
    if (utf8_check(rel, strlen(rel)) != UTF8_VALID) {
        return err_set(err, "file name is not valid UTF-8");
    }
    kind = tree_classify(rel, &course_len);
    if (kind == FILE_IGNORED) {
        return err_set(err, "not a course brief or lesson path");
    }
    if (len == 0) {
        buf = "";
    }
    if ((nul = memchr(buf, '\0', len)) != NULL) {
        return err_set(err, "NUL byte at offset %zu", (size_t)(nul - buf));
    }
    bad = utf8_check(buf, len);
    if (bad != UTF8_VALID) {
        struct err cerr;
        size_t conv_len;
        struct strbuf sb = STRBUF_INIT;

        if (enc == NULL) {
            return err_set(err,
                           "invalid UTF-8 at byte %zu (re-encode the file as UTF-8, or run with "
                           "--fallback-encoding WINDOWS-1252)",
                           bad);
        }
        if (utf8_convert(enc, buf, len, &conv, &conv_len, &cerr) < 0) {
            return err_set(err, "invalid UTF-8 at byte %zu, and %s", bad, cerr.msg);
        }
        buf = conv;
        len = conv_len;
        strbuf_addf(&sb, "invalid UTF-8 at byte %zu: converted from %s", bad, enc);
        add_warning(out, strbuf_detach(&sb, NULL));
    }
    if (fm_split(buf, len, &sp, err) < 0) {
        goto out;
    }
    if (sp.has_fm) {
        if (fm_check_limits(sp.yaml, sp.yaml_len, err) < 0 ||
            yj_parse(sp.yaml, sp.yaml_len, sp.yaml_line, &doc, err) < 0) {
            goto out;
        }
    } else {
        doc.root = cJSON_CreateObject();
        if (doc.root == NULL) {
            fprintf(stderr, "creatoros-agent: out of memory (cJSON)\n");
            abort();
        }
    }
    for (size_t i = 0; i < doc.nwarnings; i++) {
        add_warning(out, doc.warnings[i]);
    }
    free(doc.warnings);
    doc.warnings = NULL;
    doc.nwarnings = 0;

    out->kind = kind == FILE_BRIEF_CANDIDATE ? RECORD_BRIEF : RECORD_LESSON;
    out->course = xstrndup(rel, course_len);
    out->rel_path = xstrdup(rel);
    out->body = xstrndup(sp.body, sp.body_len);
    out->body_len = sp.body_len;
    out->metadata = json_text(doc.root);
    out->module_no = -1;
    out->lesson_no = -1;
    out->sequence = -1;
    parse_tags(out, doc.root);
    if (out->kind == RECORD_BRIEF) {
        out->slug = xstrdup(out->course);
        parse_brief(out, &doc);
    } else {
        parse_lesson(out, &doc);
    }
    ret = 0;
out:
    yj_doc_release(&doc);
    free(conv);
    if (ret < 0) {
        record_release(out);
    }
    return ret;
}

static void
mind_release(struct mind_ref *m)
{
    free(m->slug);
    free(m->display_name);
}

void
record_release(struct record *rec)
{
    free(rec->course);
    free(rec->rel_path);
    free(rec->slug);
    free(rec->title);
    free(rec->body);
    free(rec->metadata);
    for (size_t i = 0; i < rec->ntags; i++) {
        free(rec->tags[i].name);
    }
    free(rec->tags);
    for (size_t i = 0; i < rec->nwarnings; i++) {
        free(rec->warnings[i]);
    }
    free(rec->warnings);
    free(rec->description);
    mind_release(&rec->creator_mind);
    mind_release(&rec->persona_mind);
    free(rec->audience.name);
    free(rec->audience.description);
    free(rec->audience.demographics_json);
    free(rec->audience.psychographics_json);
    free(rec->audience.learning_preferences_json);
    free(rec->module_title);
    free(rec->fidelity);
    memset(rec, 0, sizeof(*rec));
}

/* ,"key":"value" (or null). */
static void
put_str(struct strbuf *sb, const char *key, const char *val)
{
    strbuf_addf(sb, ",\"%s\":", key);
    if (val != NULL) {
        strbuf_add_json_str(sb, val, strlen(val));
    } else {
        strbuf_addstr(sb, "null");
    }
}

/* ,"key":<JSON text> (or null). */
static void
put_raw(struct strbuf *sb, const char *key, const char *json)
{
    strbuf_addf(sb, ",\"%s\":%s", key, json ? json : "null");
}

static void
put_tags_minds(struct strbuf *sb, const struct record *rec, const char *creator)
{
    strbuf_addstr(sb, ",\"tags\":[");
    for (size_t i = 0; i < rec->ntags; i++) {
        if (i > 0) {
            strbuf_addch(sb, ',');
        }
        strbuf_add_json_str(sb, rec->tags[i].name, strlen(rec->tags[i].name));
    }
    strbuf_addstr(sb, "],\"minds\":[");
    if (creator != NULL) {
        strbuf_add_json_str(sb, creator, strlen(creator));
    }
    strbuf_addstr(sb, "]}");
}

static void
brief_rows(const struct record *rec, const char *creator, struct strbuf *sb)
{
    const struct audience *au = &rec->audience;

    strbuf_addstr(sb, "{\"table\":\"content_projects\"");
    put_str(sb, "slug", rec->slug);
    put_str(sb, "name", rec->title);
    put_str(sb, "description", rec->description);
    put_str(sb, "project_type", "course");
    put_str(sb, "status", "in_progress");
    put_raw(sb, "project_metadata", rec->metadata);
    put_str(sb, "creator_mind", creator);
    put_str(sb, "persona_mind", rec->persona_mind.slug);
    if (rec->has_audience) {
        struct strbuf name = STRBUF_INIT;

        if (au->name == NULL) {
            strbuf_addf(&name, "%s audience", rec->title);
        }
        strbuf_addstr(sb, ",\"audience\":{");
        strbuf_addstr(sb, "\"slug\":");
        strbuf_add_json_str(sb, rec->course, strlen(rec->course));
        put_str(sb, "name", au->name ? au->name : name.buf);
        put_str(sb, "description", au->description);
        put_raw(sb, "demographics", au->demographics_json);
        put_raw(sb, "psychographics", au->psychographics_json);
        put_raw(sb, "learning_preferences", au->learning_preferences_json);
        put_str(sb, "technical_level", au->technical_level);
        strbuf_addch(sb, '}');
        strbuf_release(&name);
    } else {
        strbuf_addstr(sb, ",\"audience\":null");
    }
    strbuf_addstr(sb, "},{\"table\":\"contents\",\"content_type\":\"course_outline\"");
    put_str(sb, "slug", rec->slug);
    put_str(sb, "title", rec->title);
    strbuf_addstr(sb, ",\"content\":");
    strbuf_add_json_str(sb, rec->body, rec->body_len);
    put_raw(sb, "metadata", rec->metadata);
    strbuf_addstr(sb, ",\"parent_slug\":null,\"sequence_order\":null");
    put_str(sb, "file_path", rec->rel_path);
    put_tags_minds(sb, rec, creator);
}

static void
lesson_row(const struct record *rec, const char *creator, struct strbuf *sb)
{
    strbuf_addstr(sb, "{\"table\":\"contents\",\"content_type\":\"course_lesson\"");
    put_str(sb, "slug", rec->slug);
    put_str(sb, "title", rec->title);
    strbuf_addstr(sb, ",\"content\":");
    strbuf_add_json_str(sb, rec->body, rec->body_len);
    put_raw(sb, "metadata", rec->metadata);
    strbuf_addstr(sb, ",\"parent_slug\":");
    if (rec->module_no >= 0) {
        struct strbuf parent = STRBUF_INIT;

        strbuf_addf(&parent, "%s/module-%ld", rec->course, rec->module_no);
        strbuf_add_json_str(sb, parent.buf, parent.len);
        strbuf_release(&parent);
    } else {
        strbuf_add_json_str(sb, rec->course, strlen(rec->course));
    }
    if (rec->sequence >= 0) {
        strbuf_addf(sb, ",\"sequence_order\":%ld", rec->sequence);
    } else {
        strbuf_addstr(sb, ",\"sequence_order\":null");
    }
    put_str(sb, "status", rec->status);
    put_raw(sb, "fidelity_score", rec->fidelity);
    put_str(sb, "file_path", rec->rel_path);
    put_str(sb, "module_title", rec->module_title);
    put_tags_minds(sb, rec, creator);
}

void
record_to_json(const struct record *rec, const char *creator_mind, struct strbuf *sb)
{
    bool brief = rec->kind == RECORD_BRIEF;

    strbuf_addstr(sb, "{\"path\":");
    strbuf_add_json_str(sb, rec->rel_path, strlen(rec->rel_path));
    strbuf_addf(sb, ",\"ok\":true,\"kind\":\"%s\"", brief ? "brief" : "lesson");
    put_str(sb, "course", rec->course);
    strbuf_addstr(sb, ",\"rows\":[");
    if (brief) {
        brief_rows(rec, creator_mind ? creator_mind : rec->creator_mind.slug, sb);
    } else {
        lesson_row(rec, creator_mind, sb);
    }
    strbuf_addstr(sb, "]}");
}
