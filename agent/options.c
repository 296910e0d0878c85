/* options.c -- every option of every verb, described once: parsing, environment, --help, README,
 * the man page and the bash completion. */
#include "agent/options.h"

#include <errno.h>
#include <iconv.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/cmd.h"
#include "agent/queue.h"
#include "agent/engine.h"
#include "common/strbuf.h"
#include "parser/record.h"
#include "persist/pg.h"

enum opt_type { OPT_STRING, OPT_LONG, OPT_BOOL, OPT_CHOICE };

struct option_desc {
    const char *name; /* long name without "--"; env CREATOROS_<NAME> */
    enum opt_type type;
    unsigned verbs;
    size_t offset;       /* field in struct config */
    const char *arg;     /* placeholder in --help; NULL for a flag */
    const char *def;     /* OPT_STRING, OPT_CHOICE: default as text; NULL: none (or computed) */
    long def_num;        /* OPT_LONG: the default, from the constant the code uses */
    long min, max;       /* OPT_LONG: the accepted range, both ends included */
    const char *choices; /* OPT_CHOICE: the words, space-separated; stored as their index */
    const char *help;
};

#define FIELD(f) offsetof(struct config, f)
/*
 * One entry per option; adding an option is one entry (and its field in struct config).
 *   OPT_S: a string          OPT_N: a whole number with its default and range
 *   OPT_F: a flag (false)    OPT_C: one word of a list, stored as its index (an enum)
 */
#define OPT_S(name, verbs, field, arg, def, help)                                                  \
    {                                                                                              \
        name, OPT_STRING, verbs, FIELD(field), arg, def, 0, 0, 0, NULL, help                       \
    }
#define OPT_N(name, verbs, field, arg, def, min, max, help)                                        \
    {                                                                                              \
        name, OPT_LONG, verbs, FIELD(field), arg, NULL, def, min, max, NULL, help                  \
    }
#define OPT_F(name, verbs, field, help)                                                            \
    {                                                                                              \
        name, OPT_BOOL, verbs, FIELD(field), NULL, "false", 0, 0, 0, NULL, help                    \
    }
#define OPT_C(name, verbs, field, arg, def, choices, help)                                         \
    {                                                                                              \
        name, OPT_CHOICE, verbs, FIELD(field), arg, def, 0, 0, 0, choices, help                    \
    }

static const struct option_desc option_table[] = {
    OPT_S("root", VERB_TREE, root, "DIR", "outputs/courses",
          "the tree to sync: ROOT/<course>/COURSE-BRIEF.md and ROOT/<course>/lessons/**.md"),
    OPT_S("db", VERB_DB, db_url, "URL", NULL,
          "PostgreSQL URL; else SUPABASE_DB_URL, else DATABASE_URL, else libpq's PG* variables"),
    OPT_S("creator-mind", VERB_WATCH | VERB_BACKFILL | VERB_PARSE, creator_mind, "SLUG", NULL,
          "mind that owns every project this agent writes (overrides front-matter creator_mind)"),
    OPT_S("source", VERB_WATCH | VERB_BACKFILL | VERB_STATUS, source, "NAME", NULL,
          "name of this tree in the agent's file state; default <hostname>:<absolute root>"),
    OPT_C("log-format", VERB_ALL, log_format, "text|json", NULL, "text json",
          "log lines as text or JSON objects; default text on a terminal, json otherwise"),
    OPT_C("log-level", VERB_ALL, log_level, "LEVEL", "info", "debug info warn error",
          "debug, info, warn or error"),
    OPT_S("log-file", VERB_ALL, log_file, "PATH", NULL,
          "append the log to PATH (reopened on SIGHUP) instead of stderr"),
    OPT_F("dry-run", VERB_WATCH | VERB_BACKFILL | VERB_MIGRATE, dry_run,
          "parse and log what would be written, write nothing (also CREATOR_OS_DB_PERSIST=false)"),
    OPT_N("max-file-bytes", VERB_TREE, max_file_bytes, "N", (long)PARSE_DEFAULT_MAX_FILE_BYTES, 1,
          1L << 30, "reject files larger than N bytes"),
    OPT_S("fallback-encoding", VERB_TREE, fallback_encoding, "NAME", NULL,
          "convert files that are not UTF-8 from this iconv encoding (e.g. WINDOWS-1252)"),
    OPT_F("harden", VERB_MIGRATE, harden,
          "also close the known holes of an existing CreatorOS database's policies, listing each "
          "change"),
    OPT_F("revert", VERB_MIGRATE, revert,
          "take back everything migrate (and --harden) added to an existing CreatorOS database; "
          "rows stay"),
    OPT_F("force", VERB_BACKFILL, force,
          "re-read and re-write every file, ignoring the recorded file state"),
    OPT_F("allow-mass-delete", VERB_WATCH | VERB_BACKFILL, allow_mass_delete,
          "let a reconcile delete or archive most of what the tree recorded (an empty tree)"),
    OPT_F("json", VERB_STATUS | VERB_BACKFILL, json, "print the result as one JSON object"),
    OPT_F("no-progress", VERB_BACKFILL, no_progress,
          "no progress line on a terminal (there is none when stderr is not a terminal)"),
    OPT_N("connections", VERB_BACKFILL, connections, "N", ENGINE_MAX_CONN, 1, ENGINE_MAX_CONN,
          "database connections a backfill writes through at once"),
    OPT_N("settle-ms", VERB_WATCH, settle_ms, "MS", QUEUE_DEFAULT_SETTLE_MS, 0, 600000,
          "a file modified without a close, or deleted, syncs once it has been quiet this long"),
    OPT_N("rescan-interval", VERB_WATCH, rescan_interval_s, "SECONDS",
          CMD_DEFAULT_RESCAN_INTERVAL_S, 1, 86400,
          "period of the rescans of what inotify cannot see (unwatched directories, network "
          "filesystems, --poll) and of the checks while a volume is away"),
    OPT_F("poll", VERB_WATCH, poll,
          "rescan every --rescan-interval (network filesystems are detected and polled without it)"),
    OPT_N("queue-limit", VERB_WATCH, queue_limit, "N", QUEUE_DEFAULT_LIMIT, 1, 10000000,
          "dirty paths kept while the database is away; beyond it, rescan when it is back"),
    OPT_S("metrics-file", VERB_WATCH, metrics_file, "PATH", NULL,
          "write Prometheus metrics to PATH (a *.prom file in node_exporter's textfile "
          "directory), atomically, at most once a second"),
    OPT_N("statement-timeout-ms", VERB_DB, statement_timeout_ms, "MS",
          PG_DEFAULT_STATEMENT_TIMEOUT_MS, 1000, 3600000,
          "a database round trip that takes longer drops the connection and retries"),
    OPT_C("pool-mode", VERB_DB, pool_mode, "session|transaction", "session", "session transaction",
          "transaction: through a transaction pooler (PgBouncer, Supabase port 6543)"),
    OPT_N("connect-retry", VERB_BACKFILL | VERB_MIGRATE | VERB_STATUS, connect_retry_s, "SECONDS",
          CMD_DEFAULT_CONNECT_RETRY_S, 0, 86400,
          "how long backfill, migrate and status retry an unreachable database"),
};

#define NOPTIONS (sizeof(option_table) / sizeof(option_table[0]))

_Static_assert(sizeof(enum log_format) == sizeof(int) && sizeof(enum log_level) == sizeof(int),
               "OPT_C stores an int");

static const struct {
    enum verb verb;
    const char *name;
    const char *usage;
    const char *summary;
} verb_table[] = {
    {VERB_WATCH, "watch", "watch [options]",
     "reconcile the tree, then follow it live (the daemon)"},
    {VERB_BACKFILL, "backfill", "backfill [options]",
     "reconcile the tree once and exit (progress on a terminal)"},
    {VERB_MIGRATE, "migrate", "migrate [options]",
     "build the CreatorOS schema in an empty database, or adopt an existing one (recorded)"},
    {VERB_STATUS, "status", "status [options]",
     "what the database holds against the tree; files in error"},
    {VERB_PARSE, "parse", "parse [options] FILE...",
     "print the rows files map to, as JSON lines; no database"},
};

#define NVERBS (sizeof(verb_table) / sizeof(verb_table[0]))

enum verb
options_verb(const char *name)
{
    for (size_t i = 0; i < NVERBS; i++) {
        if (strcmp(verb_table[i].name, name) == 0) {
            return verb_table[i].verb;
        }
    }
    return 0;
}

const char *
options_verb_name(enum verb verb)
{
    for (size_t i = 0; i < NVERBS; i++) {
        if (verb_table[i].verb == verb) {
            return verb_table[i].name;
        }
    }
    return "?";
}

/* "1 to 86400" (or "0 to 600000"): the range as --help and the errors print it. */
static void
range_text(const struct option_desc *opt, char *buf, size_t size)
{
    snprintf(buf, size, "%ld to %ld", opt->min, opt->max);
}

/* The default as text ("" when there is none); buf holds a number's digits. */
static const char *
default_text(const struct option_desc *opt, char *buf, size_t size)
{
    if (opt->type == OPT_LONG) {
        snprintf(buf, size, "%ld", opt->def_num);
        return buf;
    }
    return opt->def != NULL ? opt->def : "";
}

/* The index of word in the space-separated list words, or -1. */
static int
choice_index(const char *words, const char *word)
{
    size_t wlen = strlen(word);
    int i = 0;

    for (const char *p = words; *p; i++) {
        size_t n = strcspn(p, " ");
        if (n == wlen && strncmp(p, word, n) == 0) {
            return i;
        }
        p += n;
        p += *p == ' ';
    }
    return -1;
}

/* "debug info warn error" as "debug, info, warn or error". */
static void
choices_text(const char *words, char *buf, size_t size)
{
    size_t o = 0, nwords = 1;

    for (const char *p = words; *p; p++) {
        nwords += *p == ' ';
    }
    for (size_t k = 0; *words && o + 1 < size; k++) {
        size_t n = strcspn(words, " ");
        const char *sep = k == 0 ? "" : (k + 1 == nwords ? " or " : ", ");
        o += (size_t)snprintf(buf + o, size - o, "%s%.*s", sep, (int)n, words);
        words += n;
        words += *words == ' ';
    }
}

/*
 * Store text into the field that opt describes. from names where the value came from
 * ("--settle-ms", or "CREATOROS_SETTLE_MS" for the environment), for the error.
 */
static int
set_option(struct config *cfg, const struct option_desc *opt, const char *from, const char *text,
           struct err *err)
{
    char *field = (char *)cfg + opt->offset;

    switch (opt->type) {
    case OPT_STRING:
        memcpy(field, &text, sizeof(text));
        return 0;
    case OPT_LONG: {
        char range[64], *end;
        long v;
        range_text(opt, range, sizeof(range));
        errno = 0;
        v = strtol(text, &end, 10);
        if (errno != 0 || end == text || *end != '\0' || v < opt->min || v > opt->max) {
            return err_set(err, "%s: expected a whole number from %s (%s), got \"%s\"", from, range,
                           opt->arg, text);
        }
        memcpy(field, &v, sizeof(v));
        return 0;
    }
    case OPT_BOOL: {
        static const char *const yes[] = {"1", "true", "yes", "on"};
        static const char *const no[] = {"0", "false", "no", "off"};
        for (size_t i = 0; i < 4; i++) {
            if (strcasecmp(text, yes[i]) == 0 || strcasecmp(text, no[i]) == 0) {
                bool b = strcasecmp(text, yes[i]) == 0;
                memcpy(field, &b, sizeof(b));
                return 0;
            }
        }
        return err_set(err, "%s: expected true or false, got \"%s\"", from, text);
    }
    case OPT_CHOICE: {
        int i = choice_index(opt->choices, text);
        if (i < 0) {
            char words[128];
            choices_text(opt->choices, words, sizeof(words));
            return err_set(err, "%s: expected %s, got \"%s\"", from, words, text);
        }
        memcpy(field, &i, sizeof(i));
        return 0;
    }
    }
    return err_set(err, "%s: unknown option type", from);
}

/* CREATOROS_<NAME>: upper case, dashes as underscores. */
static void
option_env_name(const struct option_desc *opt, char *name, size_t size)
{
    size_t n = (size_t)snprintf(name, size, "CREATOROS_");

    for (const char *p = opt->name; *p && n + 1 < size; p++) {
        name[n++] = *p == '-' ? '_' : (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
    }
    name[n] = '\0';
}

static bool
env_false(const char *name)
{
    const char *v = getenv(name);

    return v != NULL && (strcasecmp(v, "false") == 0 || strcasecmp(v, "0") == 0 ||
                         strcasecmp(v, "no") == 0 || strcasecmp(v, "off") == 0);
}

int
options_parse(struct config *cfg, enum verb verb, int argc, char **argv, struct err *err)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->verb = verb;
    cfg->log_format = isatty(STDERR_FILENO) ? LOG_TEXT : LOG_JSON;
    for (size_t i = 0; i < NOPTIONS; i++) {
        const struct option_desc *opt = &option_table[i];
        char env_name[64], def[32], flag[64];
        const char *dtext = default_text(opt, def, sizeof(def));
        snprintf(flag, sizeof(flag), "--%s", opt->name);
        if (*dtext != '\0' && set_option(cfg, opt, flag, dtext, err) != 0) {
            return -1;
        }
        option_env_name(opt, env_name, sizeof(env_name));
        const char *env = getenv(env_name);
        if (env != NULL && *env != '\0' && (opt->verbs & verb)) {
            char from[160];
            snprintf(from, sizeof(from), "%s (%s)", env_name, flag);
            if (set_option(cfg, opt, from, env, err) != 0) {
                return -1;
            }
        }
    }
    if (cfg->db_url == NULL) {
        const char *u = getenv("SUPABASE_DB_URL");
        if (u == NULL || *u == '\0') {
            u = getenv("DATABASE_URL");
        }
        cfg->db_url = u != NULL && *u != '\0' ? u : NULL;
    }
    if (env_false("CREATOR_OS_DB_PERSIST")) {
        cfg->dry_run = true;
    }

    bool only_files = false; /* after "--" */
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!only_files && (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)) {
            options_help(verb);
            return 1;
        }
        if (!only_files && strcmp(a, "--") == 0) {
            only_files = true;
            continue;
        }
        if (only_files || strncmp(a, "--", 2) != 0) {
            if (verb != VERB_PARSE) {
                return err_set(err, "unexpected argument \"%s\" (see %s --help)", a,
                               options_verb_name(verb));
            }
            if (cfg->files == NULL) {
                cfg->files = xcalloc((size_t)argc, sizeof(char *));
            }
            cfg->files[cfg->nfiles++] = argv[i];
            continue;
        }
        const char *name = a + 2;
        const char *eq = strchr(name, '=');
        size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
        const struct option_desc *opt = NULL;
        for (size_t k = 0; k < NOPTIONS; k++) {
            if (strlen(option_table[k].name) == nlen &&
                strncmp(option_table[k].name, name, nlen) == 0) {
                opt = &option_table[k];
                break;
            }
        }
        if (opt == NULL || !(opt->verbs & verb)) {
            return err_set(err, "unknown option --%.*s for %s (see %s --help)", (int)nlen, name,
                           options_verb_name(verb), options_verb_name(verb));
        }
        const char *value;
        if (eq != NULL) {
            value = eq + 1;
        } else if (opt->type == OPT_BOOL) {
            value = "true";
        } else if (i + 1 < argc) {
            value = argv[++i];
        } else {
            return err_set(err, "--%s needs a value (%s)", opt->name, opt->arg);
        }
        char flag[64];
        snprintf(flag, sizeof(flag), "--%s", opt->name);
        if (set_option(cfg, opt, flag, value, err) != 0) {
            return -1;
        }
    }
    if (verb == VERB_PARSE && cfg->nfiles == 0) {
        return err_set(err, "parse needs at least one FILE (see parse --help)");
    }
    if (cfg->harden && cfg->revert) {
        return err_set(err, "--harden and --revert do opposite things; give one of them");
    }
    if (cfg->fallback_encoding != NULL) {
        /* every file would be rejected with "cannot convert": say it once, now */
        iconv_t cd = iconv_open("UTF-8", cfg->fallback_encoding);
        if (cd == (iconv_t)-1) {
            return err_set(err, "--fallback-encoding: unknown encoding \"%s\" (see iconv --list)",
                           cfg->fallback_encoding);
        }
        iconv_close(cd);
    }
    return 0;
}

/* ---- --help ------------------------------------------------------------------------------ */

/* "--settle-ms MS" */
static void
option_left(const struct option_desc *opt, char *buf, size_t size)
{
    snprintf(buf, size, "--%s%s%s", opt->name, opt->arg ? " " : "", opt->arg ? opt->arg : "");
}

void
options_help(enum verb verb)
{
    if (verb == 0) {
        printf("creatoros-agent %s -- keeps PostgreSQL in step with a tree of course files\n\n"
               "usage: creatoros-agent VERB [options]\n"
               "       creatoros-agent --version | --help\n\nverbs:\n",
               CO_VERSION);
        for (size_t i = 0; i < NVERBS; i++) {
            printf("  %-10s %s\n", verb_table[i].name, verb_table[i].summary);
        }
        printf(
            "\n`creatoros-agent VERB --help` lists the options of a verb. Every option can\n"
            "also be set as CREATOROS_<OPTION> in the environment (--creator-mind:\n"
            "CREATOROS_CREATOR_MIND); the command line wins. `man creatoros-agent` has it all.\n");
        return;
    }
    for (size_t i = 0; i < NVERBS; i++) {
        if (verb_table[i].verb == verb) {
            printf("usage: creatoros-agent %s\n\n%s\n\noptions:\n", verb_table[i].usage,
                   verb_table[i].summary);
        }
    }
    for (size_t i = 0; i < NOPTIONS; i++) {
        const struct option_desc *opt = &option_table[i];
        char left[64], def[32], range[64];
        if (!(opt->verbs & verb)) {
            continue;
        }
        option_left(opt, left, sizeof(left));
        printf("  %-28s %s", left, opt->help);
        if (opt->type == OPT_LONG) {
            range_text(opt, range, sizeof(range));
            printf(" (default %s; %s)", default_text(opt, def, sizeof(def)), range);
        } else if (opt->def != NULL && opt->type != OPT_BOOL) {
            printf(" (default %s)", opt->def);
        }
        printf("\n");
    }
    printf("  %-28s %s\n", "--help", "this text");
}

/* ---- the README's table ---------------------------------------------------------------------
 */

/* The verbs of opt, ", "-separated. */
static void
verbs_text(const struct option_desc *opt, struct strbuf *sb)
{
    const char *sep = "";

    for (size_t v = 0; v < NVERBS; v++) {
        if (opt->verbs & verb_table[v].verb) {
            strbuf_addf(sb, "%s%s", sep, verb_table[v].name);
            sep = ", ";
        }
    }
}

/* A Markdown table cell: "|" escaped. */
static void
md_cell(struct strbuf *sb, const char *s)
{
    for (; *s; s++) {
        if (*s == '|') {
            strbuf_addch(sb, '\\');
        }
        strbuf_addch(sb, *s);
    }
}

void
options_markdown(void)
{
    struct strbuf sb = STRBUF_INIT;

    strbuf_addstr(&sb, "| option | verbs | default | range | meaning |\n|---|---|---|---|---|\n");
    for (size_t i = 0; i < NOPTIONS; i++) {
        const struct option_desc *opt = &option_table[i];
        char left[64], def[32], range[64] = "";
        option_left(opt, left, sizeof(left));
        strbuf_addstr(&sb, "| `");
        md_cell(&sb, left);
        strbuf_addstr(&sb, "` | ");
        verbs_text(opt, &sb);
        strbuf_addstr(&sb, " | ");
        md_cell(&sb, default_text(opt, def, sizeof(def)));
        if (opt->type == OPT_LONG) {
            range_text(opt, range, sizeof(range));
        }
        strbuf_addf(&sb, " | %s | ", range);
        md_cell(&sb, opt->help);
        strbuf_addstr(&sb, " |\n");
    }
    fputs(sb.buf, stdout);
    strbuf_release(&sb);
}

/* ---- the man page ----------------------------------------------------------------------------
 */

/* Text for man(7): backslashes and dashes escaped, no line starting with a control character. */
static void
man_text(struct strbuf *sb, const char *s)
{
    if (*s == '.' || *s == '\'') {
        strbuf_addstr(sb, "\\&");
    }
    for (; *s; s++) {
        if (*s == '\\') {
            strbuf_addstr(sb, "\\e");
        } else if (*s == '-') {
            strbuf_addstr(sb, "\\-");
        } else {
            strbuf_addch(sb, *s);
        }
    }
}

static const char *const man_head =
    ".SH NAME\n"
    "creatoros\\-agent \\- keeps PostgreSQL in step with a tree of generated course files\n"
    ".SH SYNOPSIS\n"
    ".B creatoros\\-agent\n"
    ".I verb\n"
    "[\\fIoptions\\fR]\n"
    ".br\n"
    ".B creatoros\\-agent\n"
    "\\-\\-version | \\-\\-help\n"
    ".SH DESCRIPTION\n"
    "Course generators write\n"
    ".I ROOT/<course>/COURSE\\-BRIEF.md\n"
    "and lesson markdown under\n"
    ".IR ROOT/<course>/lessons/ ,\n"
    "each with YAML front\\-matter.\n"
    ".B creatoros\\-agent\n"
    "watches that tree with inotify, parses the front\\-matter of what changed and upserts\n"
    "the rows of the CreatorOS schema (projects, course outlines, modules, lessons, minds,\n"
    "tags, audience profiles) in a PostgreSQL (Supabase) database. The filesystem is the\n"
    "source of truth: the database converges to it, also after a restart, an outage or a\n"
    "kernel queue overflow. Which files become which rows is described in\n"
    ".IR /usr/share/doc/creatoros\\-agent/CONTRACT.md .\n"
    ".SH VERBS\n";

static const char *const man_tail =
    ".SH ENVIRONMENT\n"
    "Every option\n"
    ".BI \\-\\- name\n"
    "can be set as\n"
    ".BI CREATOROS_ NAME\n"
    "(upper case, dashes as underscores); the command line wins.\n"
    ".TP\n"
    ".BR SUPABASE_DB_URL \", \" DATABASE_URL\n"
    "The database URL when\n"
    ".B \\-\\-db\n"
    "is not given, in this order; else libpq's own\n"
    ".B PG*\n"
    "variables. The password of a URL is never printed and is blanked in the process title.\n"
    ".TP\n"
    ".B CREATOR_OS_DB_PERSIST\n"
    ".B false\n"
    "means\n"
    ".BR \\-\\-dry\\-run .\n"
    ".SH EXIT STATUS\n"
    ".TP\n"
    ".B 0\n"
    "success.\n"
    ".TP\n"
    ".B 1\n"
    ".B backfill\n"
    "rejected some files (they are listed), or\n"
    ".B status\n"
    "found the tree and the database apart.\n"
    ".TP\n"
    ".B 2\n"
    "the database could not be reached, or a usage error (an unknown option, a number out\n"
    "of its range).\n"
    ".SH FILES\n"
    ".TP\n"
    ".I /etc/creatoros\\-agent/agent.env\n"
    "the service's settings (an EnvironmentFile, mode 0600); an example is in\n"
    ".IR /usr/share/doc/creatoros\\-agent/examples/agent.env.example .\n"
    ".TP\n"
    ".I creatoros\\-agent.service\n"
    "the hardened systemd unit (disabled until configured).\n"
    ".SH SEE ALSO\n"
    ".BR systemd.service (5),\n"
    ".BR systemd.exec (5),\n"
    ".BR psql (1),\n"
    ".BR inotify (7)\n";

void
options_man(void)
{
    struct strbuf sb = STRBUF_INIT;

    strbuf_addf(&sb, ".TH CREATOROS\\-AGENT 1 \"\" \"creatoros\\-agent %s\" \"User Commands\"\n",
                CO_VERSION);
    strbuf_addstr(&sb, ".nh\n.ad l\n");
    strbuf_addstr(&sb, man_head);
    for (size_t i = 0; i < NVERBS; i++) {
        strbuf_addstr(&sb, ".TP\n.B ");
        man_text(&sb, verb_table[i].usage);
        strbuf_addch(&sb, '\n');
        man_text(&sb, verb_table[i].summary);
        strbuf_addstr(&sb, ".\n");
    }
    strbuf_addstr(&sb, ".SH OPTIONS\n");
    for (size_t i = 0; i < NOPTIONS; i++) {
        const struct option_desc *opt = &option_table[i];
        char def[32], range[64], env[64];
        const char *dtext = default_text(opt, def, sizeof(def));
        strbuf_addstr(&sb, ".TP\n.B \\-\\-");
        man_text(&sb, opt->name);
        if (opt->arg != NULL) {
            strbuf_addstr(&sb, " \\fI");
            man_text(&sb, opt->arg);
            strbuf_addstr(&sb, "\\fR");
        }
        strbuf_addch(&sb, '\n');
        man_text(&sb, opt->help);
        strbuf_addstr(&sb, ".\n.br\nVerbs: ");
        struct strbuf verbs = STRBUF_INIT;
        verbs_text(opt, &verbs);
        man_text(&sb, verbs.buf);
        strbuf_release(&verbs);
        if (opt->type != OPT_BOOL && *dtext != '\0') {
            strbuf_addstr(&sb, "; default ");
            man_text(&sb, dtext);
        }
        if (opt->type == OPT_LONG) {
            range_text(opt, range, sizeof(range));
            strbuf_addstr(&sb, "; from ");
            man_text(&sb, range);
        }
        option_env_name(opt, env, sizeof(env));
        strbuf_addstr(&sb, "; environment \\fB");
        man_text(&sb, env);
        strbuf_addstr(&sb, "\\fR.\n");
    }
    strbuf_addstr(&sb, man_tail);
    fputs(sb.buf, stdout);
    strbuf_release(&sb);
}

/* ---- bash completion ------------------------------------------------------------------------
 */

void
options_bash_completion(void)
{
    struct strbuf sb = STRBUF_INIT;

    strbuf_addstr(&sb, "# bash completion for creatoros-agent -- generated from its option table "
                       "(creatoros-agent --help-bash-completion)\n"
                       "_creatoros_agent()\n{\n"
                       "    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}\n"
                       "    local verb=${COMP_WORDS[1]} opts\n"
                       "    COMPREPLY=()\n"
                       "    if [[ $COMP_CWORD -eq 1 ]]; then\n"
                       "        mapfile -t COMPREPLY < <(compgen -W '");
    for (size_t i = 0; i < NVERBS; i++) {
        strbuf_addf(&sb, "%s ", verb_table[i].name);
    }
    strbuf_addstr(&sb, "--help --version' -- \"$cur\")\n"
                       "        return\n"
                       "    fi\n"
                       "    case $prev in\n");
    /* the values an option takes: directories, files, words, or nothing to offer */
    for (size_t i = 0; i < NOPTIONS; i++) {
        const struct option_desc *opt = &option_table[i];
        if (opt->arg == NULL) {
            continue;
        }
        strbuf_addf(&sb, "    --%s)\n        ", opt->name);
        if (opt->type == OPT_CHOICE) {
            strbuf_addf(&sb, "mapfile -t COMPREPLY < <(compgen -W '%s' -- \"$cur\")\n",
                        opt->choices);
        } else if (strcmp(opt->arg, "DIR") == 0) {
            strbuf_addstr(&sb, "compopt -o filenames 2>/dev/null\n        "
                               "mapfile -t COMPREPLY < <(compgen -d -- \"$cur\")\n");
        } else if (strcmp(opt->arg, "PATH") == 0) {
            strbuf_addstr(&sb, "compopt -o filenames 2>/dev/null\n        "
                               "mapfile -t COMPREPLY < <(compgen -f -- \"$cur\")\n");
        } else {
            strbuf_addstr(&sb, ":\n");
        }
        strbuf_addstr(&sb, "        return\n        ;;\n");
    }
    strbuf_addstr(&sb, "    esac\n    case $verb in\n");
    for (size_t v = 0; v < NVERBS; v++) {
        strbuf_addf(&sb, "    %s) opts='", verb_table[v].name);
        for (size_t i = 0; i < NOPTIONS; i++) {
            if (option_table[i].verbs & verb_table[v].verb) {
                strbuf_addf(&sb, "--%s ", option_table[i].name);
            }
        }
        strbuf_addstr(&sb, "--help' ;;\n");
    }
    strbuf_addstr(&sb, "    *) return ;;\n"
                       "    esac\n"
                       "    if [[ $verb == parse && $cur != -* ]]; then\n"
                       "        compopt -o filenames 2>/dev/null\n"
                       "        mapfile -t COMPREPLY < <(compgen -f -- \"$cur\")\n"
                       "        return\n"
                       "    fi\n"
                       "    mapfile -t COMPREPLY < <(compgen -W \"$opts\" -- \"$cur\")\n"
                       "}\n"
                       "complete -F _creatoros_agent creatoros-agent\n");
    fputs(sb.buf, stdout);
    strbuf_release(&sb);
}
