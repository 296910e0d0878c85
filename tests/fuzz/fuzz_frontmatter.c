/* fuzz_frontmatter.c -- libFuzzer target: front-matter split, YAML to JSON, record_parse, and
 * the rows' JSON. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "common/strbuf.h"
#include "parser/frontmatter.h"
#include "parser/record.h"
#include "parser/yaml_json.h"
#include "persist/rows.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * The first byte picks the path and options: bit 0 brief or lesson, bit 1 a lesson name
 * with numbers, bit 2 the WINDOWS-1252 fallback, bit 3 a --creator-mind. The rest is the
 * file. Every accepted record must print as valid JSON whose metadata parses back.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const paths[] = {
        "course/lessons/modulo-2/aula.md",
        "course/COURSE-BRIEF.md",
        "course/lessons/mod_3/aula-1.12-intro.md",
        "curso ação/COURSE-BRIEF-v2.md",
    };
    const char *buf = (const char *)data + 1;
    struct parse_opts opts = {0};
    struct fm_split sp;
    struct yj_doc doc;
    struct record rec;
    struct err err;
    uint8_t sel;

    if (size < 1) {
        return 0;
    }
    sel = data[0];
    size--;
    opts.fallback_encoding = (sel & 4) ? "WINDOWS-1252" : NULL;

    /*
     * The layers on their own, on NUL-free input as record_parse hands them over. yj_parse
     * checks depth exactly, so YAML it accepts must also pass the byte scan: the scan may
     * miss deep input (yj_parse catches it) but must never refuse valid input.
     */
    if (memchr(buf, '\0', size) == NULL && fm_split(buf, size, &sp, &err) == 0 && sp.has_fm &&
        sp.yaml_len <= PARSE_MAX_FRONT_MATTER_BYTES) {
        int scan = fm_check_limits(sp.yaml, sp.yaml_len, &err);

        if (yj_parse(sp.yaml, sp.yaml_len, sp.yaml_line, &doc, &err) == 0) {
            if (!cJSON_IsObject(doc.root) || scan != 0) {
                fprintf(stderr, "depth scan refused YAML that parses\n");
                abort();
            }
            yj_doc_release(&doc);
        }
    }

    if (record_parse(paths[sel & 3], buf, size, &opts, &rec, &err) == 0) {
        struct strbuf sb = STRBUF_INIT;
        cJSON *j;

        rows_to_json(&rec, (sel & 8) ? "deploy-mind" : NULL, &sb);
        j = cJSON_Parse(sb.buf);
        if (j == NULL || strlen(sb.buf) != sb.len) {
            fprintf(stderr, "rows_to_json produced invalid JSON: %s\n", sb.buf);
            abort();
        }
        cJSON_Delete(j);
        j = cJSON_Parse(rec.metadata);
        if (!cJSON_IsObject(j)) {
            fprintf(stderr, "metadata is not a JSON object: %s\n", rec.metadata);
            abort();
        }
        cJSON_Delete(j);
        strbuf_release(&sb);
        record_release(&rec);
    } else if (err.msg[0] == '\0') {
        abort(); /* a rejection always says why */
    }
    return 0;
}
