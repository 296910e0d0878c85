/* depth_scan.h -- a linear byte scan that refuses YAML nested too deep before libyaml parses
 * it (libyaml takes quadratic time on deep flow nesting such as "[[[[..."). */
#ifndef CO_DEPTH_SCAN_H
#define CO_DEPTH_SCAN_H

#include <stddef.h>

#include "common/err.h"

/*
 * Scan len bytes of YAML: -1 with err "front-matter nested deeper than PARSE_MAX_DEPTH
 * levels" when structure certainly nested deeper is found (flow collections, or a chain of
 * "- " entries on one line), else 0. The count never exceeds the true depth, so YAML libyaml
 * accepts within the limit always passes; what the scan misses, the exact check in
 * yaml_json.c catches.
 */
int depth_scan_check(const char *yaml, size_t len, struct err *err);

#endif
