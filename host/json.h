/* SPDX-License-Identifier: BSD-2-Clause */
/* json.h - a small streaming JSON writer: pretty-printed, strings escaped, commas tracked. */
#ifndef HOST_JSON_H
#define HOST_JSON_H

#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 16

struct json {
	FILE *f;
	int depth;
	int count[JSON_MAX_DEPTH]; /* members written so far at each level */
};

/* key is NULL inside arrays and for the top-level value. */
void json_init(struct json *j, FILE *f);
void json_object(struct json *j, const char *key);
void json_array(struct json *j, const char *key);
void json_end(struct json *j, char close); /* '}' or ']' */
void json_string(struct json *j, const char *key, const char *s); /* NULL writes null */
void json_u64(struct json *j, const char *key, uint64_t v);
void json_bool(struct json *j, const char *key, int v);
void json_null(struct json *j, const char *key);
void json_finish(struct json *j); /* final newline */

#endif
