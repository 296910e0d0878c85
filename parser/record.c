/* record.c -- one course file's bytes to the contract's row values (docs/CONTRACT.md "Rows"):
 * the checks of the bytes, then the brief's or the lesson's values. */
#include "parser/record.h"

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "common/strbuf.h"
#include "parser/decimal.h"
#include "parser/frontmatter.h"
#include "parser/heading.h"
#include "parser/numbering.h"
#include "parser/tags.h"
#include "parser/utf8.h"
#include "parser/yaml_json.h"

static const char *const lesson_statuses[] = {"draft", "reviewed", "published", "archived"};
static const char *const tech_levels[] = {"beginner", "intermediate", "advanced", "expert"};

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
        xoom("cJSON");
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
        const char *h = heading_find(rec->body, rec->body_len, &hn);

        if (h != NULL) {
            rec->title = heading_clean(h, hn);
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
        const char *h = heading_find(rec->body, rec->body_len, &hn);

        if (h != NULL && hn > 0) {
            rec->title = xstrndup(h, hn);
        } else {
            const char *name = strrchr(rec->rel_path, '/') + 1;

            rec->title = xstrndup(name, strlen(name) - 3);
        }
    }
    numbering_fill(rec, doc);
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
record_check_size(size_t len, size_t max, struct err *err)
{
    if (len > max) {
        return err_set(err, "file is %zu bytes, above the limit of %zu (--max-file-bytes)", len,
                       max);
    }
    return 0;
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
    if (record_check_size(len, max, err) < 0) {
        return -1;
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
            xoom("cJSON");
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
    tags_parse(doc.root, &out->tags, &out->ntags);
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
    tags_free(rec->tags, rec->ntags);
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
