/* options.c -- every option of every verb, described once: parsing, environment, --help, README. */
#include "agent/options.h"

#include <errno.h>
#include <iconv.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/strbuf.h"

enum opt_type { OPT_STRING, OPT_LONG, OPT_BOOL, OPT_LOG_FORMAT, OPT_LOG_LEVEL };

struct option_desc {
    const char *name; /* long name without "--"; env CREATOROS_<NAME> */
    enum opt_type type;
    unsigned verbs;
    size_t offset;   /* field in struct config */
    const char *def; /* default as text (shown in --help); NULL: none */
    const char *arg; /* placeholder in --help */
    const char *help;
};

#define FIELD(f) offsetof(struct config, f)

static const struct option_desc option_table[] = {
    {"root", OPT_STRING, VERB_TREE, FIELD(root), "outputs/courses", "DIR",
     "the tree to sync: ROOT/<course>/COURSE-BRIEF.md and ROOT/<course>/lessons/**.md"},
    {"db", OPT_STRING, VERB_DB, FIELD(db_url), NULL, "URL",
     "PostgreSQL URL; else SUPABASE_DB_URL, else DATABASE_URL, else libpq's PG* variables"},
    {"creator-mind", OPT_STRING, VERB_WATCH | VERB_BACKFILL | VERB_PARSE, FIELD(creator_mind), NULL,
     "SLUG",
     "mind that owns every project this agent writes (overrides front-matter creator_mind)"},
    {"source", OPT_STRING, VERB_WATCH | VERB_BACKFILL | VERB_STATUS, FIELD(source), NULL, "NAME",
     "name of this tree in the agent's file state; default <hostname>:<absolute root>"},
    {"log-format", OPT_LOG_FORMAT, VERB_ALL, FIELD(log_format), NULL, "text|json",
     "log lines as text or JSON objects; default text on a terminal, json otherwise"},
    {"log-level", OPT_LOG_LEVEL, VERB_ALL, FIELD(log_level), "info", "LEVEL",
     "debug, info, warn or error"},
    {"log-file", OPT_STRING, VERB_ALL, FIELD(log_file), NULL, "PATH",
     "append the log to PATH (reopened on SIGHUP) instead of stderr"},
    {"dry-run", OPT_BOOL, VERB_WATCH | VERB_BACKFILL | VERB_MIGRATE, FIELD(dry_run), "false", NULL,
     "parse and log what would be written, write nothing (also CREATOR_OS_DB_PERSIST=false)"},
    {"max-file-bytes", OPT_LONG, VERB_TREE, FIELD(max_file_bytes), "8388608", "N",
     "reject files larger than N bytes"},
    {"fallback-encoding", OPT_STRING, VERB_TREE, FIELD(fallback_encoding), NULL, "NAME",
     "convert files that are not UTF-8 from this iconv encoding (e.g. WINDOWS-1252)"},
    {"force", OPT_BOOL, VERB_BACKFILL, FIELD(force), "false", NULL,
     "re-read and re-write every file, ignoring the recorded file state"},
    {"allow-mass-delete", OPT_BOOL, VERB_WATCH | VERB_BACKFILL, FIELD(allow_mass_delete), "false",
     NULL, "let a reconcile delete or archive most of what the tree recorded (an empty tree)"},
    {"json", OPT_BOOL, VERB_STATUS | VERB_BACKFILL, FIELD(json), "false", NULL,
     "print the result as one JSON object"},
    {"connections", OPT_LONG, VERB_BACKFILL, FIELD(connections), "2", "N",
     "database connections a backfill writes through at once (1 or 2)"},
    {"settle-ms", OPT_LONG, VERB_WATCH, FIELD(settle_ms), "100", "MS",
     "a file modified without a close, or deleted, syncs once it has been quiet this long"},
    {"rescan-interval", OPT_LONG, VERB_WATCH, FIELD(rescan_interval_s), "60", "SECONDS",
     "period of the fallback rescan while some directories cannot be watched, and of the "
     "checks while a volume is away"},
    {"queue-limit", OPT_LONG, VERB_WATCH, FIELD(queue_limit), "100000", "N",
     "dirty paths kept while the database is away; beyond it, rescan when it is back"},
    {"statement-timeout-ms", OPT_LONG, VERB_DB, FIELD(statement_timeout_ms), "60000", "MS",
     "a database round trip that takes longer drops the connection and retries"},
    {"connect-retry", OPT_LONG, VERB_BACKFILL | VERB_MIGRATE | VERB_STATUS, FIELD(connect_retry_s),
     "10", "SECONDS", "how long backfill, migrate and status retry an unreachable database"},
};

#define NOPTIONS (sizeof(option_table) / sizeof(option_table[0]))

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
     "apply the sql/ migrations compiled into the binary (idempotent, recorded)"},
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

static int
set_long(long *dst, const char *name, const char *text, struct err *err)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v < 0) {
        return err_set(err, "--%s: expected a non-negative whole number, got \"%s\"", name, text);
    }
    *dst = v;
    return 0;
}

static int
parse_bool(const char *text, bool *out)
{
    static const char *const yes[] = {"1", "true", "yes", "on"};
    static const char *const no[] = {"0", "false", "no", "off"};

    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(text, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(text, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return -1;
}

/* Store text into the field that opt describes. */
static int
set_option(struct config *cfg, const struct option_desc *opt, const char *text, struct err *err)
{
    char *field = (char *)cfg + opt->offset;

    switch (opt->type) {
    case OPT_STRING:
        memcpy(field, &text, sizeof(text));
        return 0;
    case OPT_LONG:
        return set_long((long *)(void *)field, opt->name, text, err);
    case OPT_BOOL: {
        bool b;
        if (parse_bool(text, &b) != 0) {
            return err_set(err, "--%s: expected true or false, got \"%s\"", opt->name, text);
        }
        *(bool *)field = b;
        return 0;
    }
    case OPT_LOG_FORMAT:
        if (strcmp(text, "text") == 0) {
            cfg->log_format = LOG_TEXT;
        } else if (strcmp(text, "json") == 0) {
            cfg->log_format = LOG_JSON;
        } else {
            return err_set(err, "--log-format: expected text or json, got \"%s\"", text);
        }
        return 0;
    case OPT_LOG_LEVEL: {
        static const char *const names[] = {"debug", "info", "warn", "error"};
        for (int i = 0; i < 4; i++) {
            if (strcmp(text, names[i]) == 0) {
                cfg->log_level = (enum log_level)i;
                return 0;
            }
        }
        return err_set(err, "--log-level: expected debug, info, warn or error, got \"%s\"", text);
    }
    }
    return err_set(err, "--%s: unknown option type", opt->name);
}

/* CREATOROS_<NAME>: upper case, dashes as underscores. */
static const char *
option_env(const struct option_desc *opt)
{
    char name[64] = "CREATOROS_";
    size_t n = strlen(name);

    for (const char *p = opt->name; *p && n + 1 < sizeof(name); p++) {
        name[n++] = *p == '-' ? '_' : (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
    }
    name[n] = '\0';
    return getenv(name);
}

int
options_parse(struct config *cfg, enum verb verb, int argc, char **argv, struct err *err)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->verb = verb;
    cfg->log_format = isatty(STDERR_FILENO) ? LOG_TEXT : LOG_JSON;
    for (size_t i = 0; i < NOPTIONS; i++) {
        const struct option_desc *opt = &option_table[i];
        const char *env = option_env(opt);
        if (opt->def != NULL && set_option(cfg, opt, opt->def, err) != 0) {
            return -1;
        }
        if (env != NULL && *env != '\0' && (opt->verbs & verb)) {
            if (set_option(cfg, opt, env, err) != 0) {
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
    const char *persist = getenv("CREATOR_OS_DB_PERSIST");
    bool b;
    if (persist != NULL && parse_bool(persist, &b) == 0 && !b) {
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
        if (set_option(cfg, opt, value, err) != 0) {
            return -1;
        }
    }
    if (verb == VERB_PARSE && cfg->nfiles == 0) {
        return err_set(err, "parse needs at least one FILE (see parse --help)");
    }
    if (cfg->connections < 1 || cfg->connections > 2) {
        return err_set(err, "--connections: expected 1 or 2, got %ld", cfg->connections);
    }
    if (cfg->max_file_bytes < 1) {
        return err_set(err, "--max-file-bytes: expected at least 1");
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
        printf("\n`creatoros-agent VERB --help` lists the options of a verb. Every option can\n"
               "also be set as CREATOROS_<OPTION> in the environment (--creator-mind:\n"
               "CREATOROS_CREATOR_MIND); the command line wins.\n");
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
        char left[64];
        if (!(opt->verbs & verb)) {
            continue;
        }
        snprintf(left, sizeof(left), "--%s%s%s", opt->name, opt->arg ? " " : "",
                 opt->arg ? opt->arg : "");
        printf("  %-28s %s", left, opt->help);
        if (opt->def != NULL && opt->type != OPT_BOOL) {
            printf(" (default %s)", opt->def);
        }
        printf("\n");
    }
    printf("  %-28s %s\n", "--help", "this text");
}

void
options_markdown(void)
{
    printf("| option | verbs | default | meaning |\n|---|---|---|---|\n");
    for (size_t i = 0; i < NOPTIONS; i++) {
        const struct option_desc *opt = &option_table[i];
        printf("| `--%s%s%s` | ", opt->name, opt->arg ? " " : "", opt->arg ? opt->arg : "");
        const char *sep = "";
        for (size_t v = 0; v < NVERBS; v++) {
            if (opt->verbs & verb_table[v].verb) {
                printf("%s%s", sep, verb_table[v].name);
                sep = ", ";
            }
        }
        printf(" | %s | %s |\n", opt->def ? opt->def : "", opt->help);
    }
}
