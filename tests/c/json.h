/* A small JSON reader for the tests (the conformance manifest): a DOM of
 * nodes, parsed from a NUL-terminated string. Not for untrusted input beyond
 * what the tests generate; it still refuses malformed JSON instead of
 * crashing. */
#ifndef MLE_TEST_JSON_H
#define MLE_TEST_JSON_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { J_NULL, J_BOOL, J_NUMBER, J_STRING, J_ARRAY, J_OBJECT } jtype;

typedef struct jnode jnode;
struct jnode {
    jtype type;
    double number;  /* J_NUMBER, J_BOOL (0/1) */
    char *string;   /* J_STRING (decoded UTF-8, NUL-terminated) */
    size_t length;  /* J_STRING: bytes in string; it may hold NULs (\u0000) */
    char *key;      /* set on members of an object */
    jnode **items;  /* J_ARRAY elements or J_OBJECT members, in order */
    size_t count;
};

/* Parses text; NULL on malformed JSON. Free with json_free. */
jnode *json_parse(const char *text);
void json_free(jnode *n);

/* The member named key of an object, or NULL. */
const jnode *json_get(const jnode *obj, const char *key);
/* The string member key, or NULL. */
const char *json_str(const jnode *obj, const char *key);
/* The number member key, or def. */
double json_num(const jnode *obj, const char *key, double def);

/* Reads a whole file into a NUL-terminated malloc'd buffer (length in *len). */
char *read_file(const char *path, size_t *len);

#ifdef __cplusplus
}
#endif

#endif
