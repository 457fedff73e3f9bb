/*
 * Internal definitions shared by libami's source files. Never installed.
 * Non-static functions shared between files use the ami__ prefix.
 */
#ifndef AMI_INTERNAL_H
#define AMI_INTERNAL_H

#include <ami/ami.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AMI__UNUSED(x) ((void)(x))

/*
 * A header is four offsets into the packet's storage rather than pointers:
 * the parser's buffer may move while a packet is still arriving. Keys that
 * do not appear on the wire (the legacy Command body exposed as "Output",
 * the greeting exposed as "Banner") use the sentinel offsets below.
 */
#define AMI__KEY_OUTPUT UINT32_MAX
#define AMI__KEY_BANNER (UINT32_MAX - 1u)

typedef struct ami__header {
    uint32_t key_off;
    uint32_t key_len;
    uint32_t value_off;
    uint32_t value_len;
} ami__header;

struct ami_packet {
    const char *base;     /* storage the offsets point into */
    ami__header *headers; /* ordered */
    size_t count;
    size_t wire_size;
    uint8_t kind;     /* ami_packet_kind */
    uint8_t response; /* ami_response_type */
    uint8_t legacy;   /* legacy Response: Follows framing */
    uint8_t is_copy;  /* allocated by ami_packet_dup (one block) */
};

/* Key pointer of header h in packet p (static text for sentinels). */
const char *ami__packet_key(const ami_packet *p, const ami__header *h);

/* Classify a packet from its first header; fills kind and response. */
void ami__packet_classify(ami_packet *p);

/* ASCII case-insensitive comparison of a (ptr,len) key with a C string. */
bool ami__key_equals(const char *key, size_t key_len, const char *name);

/*
 * Every allocation in libami goes through these so that tests can fail the
 * n-th allocation (nghttp2's failmalloc idea) and check that each failure is
 * reported as AMI_ERR_NOMEM with nothing leaked.
 */
void *ami__malloc(size_t n);
void *ami__calloc(size_t n, size_t size);
void *ami__realloc(void *ptr, size_t n);
void ami__free(void *ptr);
char *ami__strdup(const char *s);
char *ami__strndup(const char *s, size_t n);

/* Test hook: make the allocation after `n` more successful ones fail
 * (n < 0 disables). Returns how many allocations happened since the last
 * call. Not thread-safe; for tests only. */
long ami__alloc_fail_after(long n);

#endif /* AMI_INTERNAL_H */
