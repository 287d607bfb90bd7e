#include "json.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *p;
    int depth;
} parser;

static void skip(parser *ps) {
    while (isspace((unsigned char)*ps->p)) ps->p++;
}

static jnode *node_new(jtype t) {
    jnode *n = calloc(1, sizeof *n);
    if (n) n->type = t;
    return n;
}

static int push(jnode *parent, jnode *child) {
    jnode **items = realloc(parent->items, (parent->count + 1) * sizeof *items);
    if (!items) return 0;
    parent->items = items;
    parent->items[parent->count++] = child;
    return 1;
}

/* Appends the UTF-8 encoding of code point cp (at most 0x10FFFF). */
static char *utf8(char *out, unsigned cp) {
    if (cp < 0x80) {
        *out++ = (char)cp;
    } else if (cp < 0x800) {
        *out++ = (char)(0xC0 | cp >> 6);
        *out++ = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        *out++ = (char)(0xE0 | cp >> 12);
        *out++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *out++ = (char)(0x80 | (cp & 0x3F));
    } else {
        *out++ = (char)(0xF0 | cp >> 18);
        *out++ = (char)(0x80 | ((cp >> 12) & 0x3F));
        *out++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *out++ = (char)(0x80 | (cp & 0x3F));
    }
    return out;
}

/* Reads the 4 hex digits after a \u; -1 if they are not hex. */
static long hex4(const char *p) {
    long v = 0;
    for (int i = 0; i < 4; i++) {
        char h = p[i];
        v <<= 4;
        if (h >= '0' && h <= '9') v |= h - '0';
        else if (h >= 'a' && h <= 'f') v |= h - 'a' + 10;
        else if (h >= 'A' && h <= 'F') v |= h - 'A' + 10;
        else return -1; /* also stops at the NUL, so never reads past it */
    }
    return v;
}

/* Parses a JSON string at ps->p; sets *len to its decoded length. A
 * surrogate pair (\uD83D\uDE00) is one code point; a lone surrogate has
 * no UTF-8 form, so it is refused like any other malformed escape. */
static char *parse_string(parser *ps, size_t *len) {
    if (*ps->p != '"') return NULL;
    ps->p++;
    const char *start = ps->p;
    size_t n = 0;
    while (start[n] && start[n] != '"') n += start[n] == '\\' && start[n + 1] ? 2 : 1;
    if (!start[n]) return NULL;
    /* Decoding never grows the text: \uXXXX (6) gives at most 3 bytes, a
     * pair (12) gives 4. */
    char *out = malloc(n + 1), *w = out;
    if (!out) return NULL;
    while (*ps->p != '"') {
        char c = *ps->p++;
        if ((unsigned char)c < 0x20) goto bad; /* control characters must be escaped */
        if (c != '\\') {
            *w++ = c;
            continue;
        }
        c = *ps->p++;
        switch (c) {
        case '"': case '\\': case '/': *w++ = c; break;
        case 'n': *w++ = '\n'; break;
        case 't': *w++ = '\t'; break;
        case 'r': *w++ = '\r'; break;
        case 'b': *w++ = '\b'; break;
        case 'f': *w++ = '\f'; break;
        case 'u': {
            long cp = hex4(ps->p);
            if (cp < 0) goto bad;
            ps->p += 4;
            if (cp >= 0xDC00 && cp <= 0xDFFF) goto bad; /* a low surrogate first */
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                long lo = ps->p[0] == '\\' && ps->p[1] == 'u' ? hex4(ps->p + 2) : -1;
                if (lo < 0xDC00 || lo > 0xDFFF) goto bad;
                ps->p += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            w = utf8(w, (unsigned)cp);
            break;
        }
        default: goto bad;
        }
    }
    ps->p++;
    *w = 0;
    if (len) *len = (size_t)(w - out);
    return out;
bad:
    free(out);
    return NULL;
}

static jnode *parse_value(parser *ps);

static jnode *parse_container(parser *ps, int object) {
    jnode *n = node_new(object ? J_OBJECT : J_ARRAY);
    if (!n) return NULL;
    ps->p++;
    skip(ps);
    if (*ps->p == (object ? '}' : ']')) {
        ps->p++;
        return n;
    }
    for (;;) {
        char *key = NULL;
        skip(ps);
        if (object) {
            if (!(key = parse_string(ps, NULL))) break;
            skip(ps);
            if (*ps->p++ != ':') { free(key); break; }
        }
        jnode *v = parse_value(ps);
        if (!v) { free(key); break; }
        v->key = key;
        if (!push(n, v)) { json_free(v); break; }
        skip(ps);
        if (*ps->p == ',') { ps->p++; continue; }
        if (*ps->p == (object ? '}' : ']')) { ps->p++; return n; }
        break;
    }
    json_free(n);
    return NULL;
}

static jnode *parse_value(parser *ps) {
    skip(ps);
    if (++ps->depth > 64) return NULL;
    jnode *n = NULL;
    char c = *ps->p;
    if (c == '{' || c == '[') {
        n = parse_container(ps, c == '{');
    } else if (c == '"') {
        size_t len = 0;
        char *s = parse_string(ps, &len);
        if (s && (n = node_new(J_STRING))) n->string = s, n->length = len;
        else free(s);
    } else if (!strncmp(ps->p, "true", 4) || !strncmp(ps->p, "false", 5)) {
        if ((n = node_new(J_BOOL))) n->number = c == 't';
        ps->p += c == 't' ? 4 : 5;
    } else if (!strncmp(ps->p, "null", 4)) {
        n = node_new(J_NULL);
        ps->p += 4;
    } else if (c == '-' || isdigit((unsigned char)c)) {
        char *end;
        double v = strtod(ps->p, &end);
        if (end != ps->p && (n = node_new(J_NUMBER))) n->number = v;
        ps->p = end;
    }
    ps->depth--;
    return n;
}

jnode *json_parse(const char *text) {
    parser ps = {text, 0};
    jnode *n = parse_value(&ps);
    skip(&ps);
    if (n && *ps.p) {
        json_free(n);
        return NULL;
    }
    return n;
}

void json_free(jnode *n) {
    if (!n) return;
    for (size_t i = 0; i < n->count; i++) json_free(n->items[i]);
    free(n->items);
    free(n->string);
    free(n->key);
    free(n);
}

const jnode *json_get(const jnode *obj, const char *key) {
    if (!obj || obj->type != J_OBJECT) return NULL;
    for (size_t i = 0; i < obj->count; i++)
        if (!strcmp(obj->items[i]->key, key)) return obj->items[i];
    return NULL;
}

const char *json_str(const jnode *obj, const char *key) {
    const jnode *n = json_get(obj, key);
    return n && n->type == J_STRING ? n->string : NULL;
}

double json_num(const jnode *obj, const char *key, double def) {
    const jnode *n = json_get(obj, key);
    return n && (n->type == J_NUMBER || n->type == J_BOOL) ? n->number : def;
}

char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    if (fseek(f, 0, SEEK_END) == 0) {
        long n = ftell(f);
        if (n >= 0 && fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1))) {
            if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
                free(buf);
                buf = NULL;
            } else {
                buf[n] = 0;
                if (len) *len = (size_t)n;
            }
        }
    }
    fclose(f);
    return buf;
}
