/* rows.c -- the rows a record maps to: their shapes as `parse` prints them, and the values
 * derived from a record that persist/sync.c writes the same way. */
#include "persist/rows.h"

#include <stdbool.h>
#include <string.h>

void
rows_parent_slug(const struct record *rec, struct strbuf *sb)
{
    if (rec->module_no >= 0) {
        strbuf_addf(sb, "%s" ROWS_MODULE_SLUG_INFIX "%ld", rec->course, rec->module_no);
    } else {
        strbuf_addstr(sb, rec->course);
    }
}

const char *
rows_audience_name(const struct record *rec, struct strbuf *scratch)
{
    strbuf_reset(scratch);
    if (rec->audience.name != NULL) {
        return rec->audience.name;
    }
    strbuf_addf(scratch, "%s audience", rec->title);
    return scratch->buf;
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

/* The start of a contents row: its type, then slug, title, content and metadata. */
static void
contents_row_start(struct strbuf *sb, const char *content_type, const struct record *rec)
{
    strbuf_addf(sb, "{\"table\":\"contents\",\"content_type\":\"%s\"", content_type);
    put_str(sb, "slug", rec->slug);
    put_str(sb, "title", rec->title);
    strbuf_addstr(sb, ",\"content\":");
    strbuf_add_json_str(sb, rec->body, rec->body_len);
    put_raw(sb, "metadata", rec->metadata);
}

/* The end of a contents row: its tags and minds (content_tags, content_minds). */
static void
contents_row_end(struct strbuf *sb, const struct record *rec, const char *creator)
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
audience_row(const struct record *rec, struct strbuf *sb)
{
    const struct audience *au = &rec->audience;
    struct strbuf name = STRBUF_INIT;

    strbuf_addstr(sb, ",\"audience\":{");
    strbuf_addstr(sb, "\"slug\":");
    strbuf_add_json_str(sb, rec->course, strlen(rec->course));
    put_str(sb, "name", rows_audience_name(rec, &name));
    put_str(sb, "description", au->description);
    put_raw(sb, "demographics", au->demographics_json);
    put_raw(sb, "psychographics", au->psychographics_json);
    put_raw(sb, "learning_preferences", au->learning_preferences_json);
    put_str(sb, "technical_level", au->technical_level);
    strbuf_addch(sb, '}');
    strbuf_release(&name);
}

static void
brief_rows(const struct record *rec, const char *creator, struct strbuf *sb)
{
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
        audience_row(rec, sb);
    } else {
        strbuf_addstr(sb, ",\"audience\":null");
    }
    strbuf_addstr(sb, "},");
    contents_row_start(sb, "course_outline", rec);
    strbuf_addstr(sb, ",\"parent_slug\":null,\"sequence_order\":null");
    put_str(sb, "file_path", rec->rel_path);
    contents_row_end(sb, rec, creator);
}

static void
lesson_row(const struct record *rec, const char *creator, struct strbuf *sb)
{
    struct strbuf parent = STRBUF_INIT;

    contents_row_start(sb, "course_lesson", rec);
    rows_parent_slug(rec, &parent);
    strbuf_addstr(sb, ",\"parent_slug\":");
    strbuf_add_json_str(sb, parent.buf, parent.len);
    strbuf_release(&parent);
    if (rec->sequence >= 0) {
        strbuf_addf(sb, ",\"sequence_order\":%ld", rec->sequence);
    } else {
        strbuf_addstr(sb, ",\"sequence_order\":null");
    }
    put_str(sb, "status", rec->status);
    put_raw(sb, "fidelity_score", rec->fidelity);
    put_str(sb, "file_path", rec->rel_path);
    put_str(sb, "module_title", rec->module_title);
    contents_row_end(sb, rec, creator);
}

void
rows_to_json(const struct record *rec, const char *creator_mind, struct strbuf *sb)
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
