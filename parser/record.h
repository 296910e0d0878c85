/* record.h -- what one course file becomes: the contract's row values, decided from that file
 * alone. */
#ifndef CO_RECORD_H
#define CO_RECORD_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"

/* What a path relative to the root is (docs/CONTRACT.md, "The tree"). */
enum file_kind {
    FILE_IGNORED = 0,
    FILE_BRIEF_CANDIDATE, /* ROOT/<course>/COURSE-BRIEF*.md: the brief if chosen (tree_brief_rank)
                           */
    FILE_LESSON,          /* any *.md file below ROOT/<course>/lessons/ */
};

enum record_kind {
    RECORD_BRIEF = 1,
    RECORD_LESSON = 2,
};

/* A mind named by slug; display_name is the front-matter's name for it, else the slug. */
struct mind_ref {
    char *slug; /* NULL: none named */
    char *display_name;
};

/* A tag is its name (tags.name, unique and case-sensitive): as written, trimmed. */
struct tag {
    char *name;
};

/* The brief's audience mapping (target_audience, else audience, else icp). */
struct audience {
    char *name;                /* its `name`, else NULL: the rows use project name + " audience" */
    char *description;         /* NULL when absent */
    char *demographics_json;   /* JSON text of the key's value, NULL when absent */
    char *psychographics_json; /* same */
    char *learning_preferences_json; /* same */
    const char *technical_level;     /* static "beginner"... or NULL */
};

/*
 * One parsed file. Every char * is owned by the record (record_release frees it);
 * const char * fields point at static strings. Strings are NUL-terminated UTF-8 without
 * NUL bytes inside (such files are rejected), so they can go to libpq as they are.
 */
struct record {
    enum record_kind kind;
    char *course;    /* course slug: the directory name */
    char *rel_path;  /* path relative to the root, as given */
    char *slug;      /* brief: the course slug; lesson: rel_path without ".md" */
    char *title;     /* brief: the project's name after all fallbacks; lesson: the title */
    char *body;      /* the body, byte for byte (BOM never part of it) */
    size_t body_len; /* bytes in body */
    char *metadata;  /* the whole front-matter as compact JSON text, "{}" without one */
    struct tag *tags;
    size_t ntags;
    char **warnings; /* e.g. duplicate keys, fallback conversion; for the log */
    size_t nwarnings;

    /* RECORD_BRIEF only */
    char *description;            /* description, else subtitle, else NULL */
    struct mind_ref creator_mind; /* front-matter creator_mind (--creator-mind overrides, later) */
    struct mind_ref persona_mind; /* mmos_persona.mind_slug unless mmos_persona.enabled is false */
    bool has_audience;
    struct audience audience;

    /* RECORD_LESSON only */
    long module_no;     /* N, -1 when unknown */
    long lesson_no;     /* L, -1 when unknown */
    long sequence;      /* L when 0 <= L <= 32767, else -1 (NULL) */
    char *module_title; /* module_name, else module_title, else string module; NULL when none */
    const char *status; /* "draft" | "reviewed" | "published" | "archived" */
    char *fidelity;     /* text of the fidelity_score number in [0, 1], NULL otherwise */
};

struct parse_opts {
    size_t max_file_bytes;         /* PARSE_DEFAULT_MAX_FILE_BYTES unless set */
    const char *fallback_encoding; /* iconv name used when the bytes are not UTF-8; NULL: reject */
};

#define PARSE_DEFAULT_MAX_FILE_BYTES ((size_t)8 << 20)
#define PARSE_MAX_FRONT_MATTER_BYTES ((size_t)64 << 10)
#define PARSE_MAX_DEPTH 64
/* The refusal of deeper nesting, by the byte scan (depth_scan.h) and the YAML converter alike:
 * a format taking PARSE_MAX_DEPTH. */
#define PARSE_TOO_DEEP_FMT "front-matter nested deeper than %d levels"
#define PARSE_MAX_ALIAS_NODES 10000

/*
 * Classify a path relative to the root ("course/lessons/x.md"). On FILE_BRIEF_CANDIDATE
 * and FILE_LESSON, *course_len is the length of the course slug at the start of rel.
 * Ignored: a component common/ignore.h ignores (hidden, editor leftovers), anything that is
 * neither; names that are not valid UTF-8 are NOT ignored here (record_parse rejects them,
 * naming the file).
 */
enum file_kind tree_classify(const char *rel, size_t *course_len);

/*
 * Rank of a brief candidate's file name within its course: 0 for "COURSE-BRIEF.md",
 * else 1; among rank-1 names the lexicographically first (strcmp) wins.
 */
int tree_brief_rank(const char *name);

/*
 * The size rule of a file of len bytes against the limit max (--max-file-bytes): 0 when it
 * is within, else -1 with err "file is LEN bytes, above the limit of MAX (--max-file-bytes)".
 * record_parse applies it; callers that refuse a file before reading it say it the same way.
 */
int record_check_size(size_t len, size_t max, struct err *err);

/*
 * Parse one file: rel is its path relative to the root (already classified as a brief or
 * lesson candidate; a candidate brief parses as RECORD_BRIEF), buf/len its bytes (buf
 * need not be NUL-terminated). Fills *out (zeroed first) and returns 0; on rejection
 * returns -1 with the reason in err (naming the detail: line and column, byte offset),
 * and *out holds nothing to release.
 */
int record_parse(const char *rel, const char *buf, size_t len, const struct parse_opts *opts,
                 struct record *out, struct err *err);

/* Free everything a record owns; accepts a zeroed record; leaves it zeroed. */
void record_release(struct record *rec);

#endif
