/* options.h -- every option of every verb, described once: parsing, environment, --help, README. */
#ifndef CO_OPTIONS_H
#define CO_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>

#include "agent/log.h"
#include "common/err.h"

/* The verbs; an option names the verbs it applies to as a bit set. */
enum verb {
    VERB_WATCH = 1 << 0,
    VERB_BACKFILL = 1 << 1,
    VERB_MIGRATE = 1 << 2,
    VERB_STATUS = 1 << 3,
    VERB_PARSE = 1 << 4,
};
#define VERB_ALL (VERB_WATCH | VERB_BACKFILL | VERB_MIGRATE | VERB_STATUS | VERB_PARSE)
#define VERB_DB (VERB_WATCH | VERB_BACKFILL | VERB_MIGRATE | VERB_STATUS)
#define VERB_TREE (VERB_WATCH | VERB_BACKFILL | VERB_STATUS | VERB_PARSE)

/* How connections reach the server: directly or through a session pooler, or through a
 * transaction pooler (PgBouncer pool_mode=transaction, Supabase's port 6543). */
enum pool_mode { POOL_SESSION, POOL_TRANSACTION };

/* The configuration every verb reads. Strings point into argv/environ or are static. */
struct config {
    enum verb verb;
    const char *root;
    const char *db_url; /* NULL: libpq's PG* variables */
    const char *creator_mind;
    const char *source;
    const char *log_file;
    const char *fallback_encoding;
    const char *metrics_file; /* watch: Prometheus textfile; NULL: none */
    enum pool_mode pool_mode; /* session, or behind a transaction pooler */
    enum log_format log_format;
    enum log_level log_level;
    bool dry_run;
    bool harden; /* migrate: close the known holes of the policies */
    bool revert; /* migrate: take back what migrate added to an existing database */
    bool force;
    bool allow_mass_delete;
    bool json;
    bool no_progress; /* backfill: no progress line even on a terminal */
    bool poll; /* watch: rescan every rescan_interval_s even on a local filesystem */
    long max_file_bytes;
    long settle_ms;
    long rescan_interval_s;
    long queue_limit;
    long statement_timeout_ms;
    long connect_retry_s;
    long connections;
    char **files; /* parse: the FILE arguments */
    int nfiles;
};

/* Look a verb name up; 0 when unknown. */
enum verb options_verb(const char *name);
const char *options_verb_name(enum verb verb);

/*
 * Fill cfg from defaults, then the environment (CREATOROS_<NAME>, SUPABASE_DB_URL,
 * DATABASE_URL, CREATOR_OS_DB_PERSIST), then argv (the words after the verb). A number
 * outside its option's range is refused, naming the option (or variable) and the range.
 * Returns 0, 1 when --help was printed, or -1 with a message in err.
 */
int options_parse(struct config *cfg, enum verb verb, int argc, char **argv, struct err *err);

/* Print the help of one verb (or the overview for 0) to stdout. */
void options_help(enum verb verb);

/* Print the option table as Markdown (for the README: `creatoros-agent --help-markdown`). */
void options_markdown(void);

/* Print the man page, creatoros-agent(1), in man(7) markup (`creatoros-agent --help-man`). */
void options_man(void);

/* Print a bash completion script for every verb and option (`--help-bash-completion`). */
void options_bash_completion(void);

#endif
