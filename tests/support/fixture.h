/* Test helpers: load a fixture file from $AMI_FIXTURES, and collect the
 * packets a parser yields into a comparable form. */
#ifndef AMI_TEST_FIXTURE_H
#define AMI_TEST_FIXTURE_H

#include <ami/ami.h>
#include <stddef.h>

/* Read $AMI_FIXTURES/name whole; aborts the test program if missing.
 * Free with free(). */
char *fixture_load(const char *name, size_t *len);

/* Path of the fixtures directory ($AMI_FIXTURES). */
const char *fixture_dir(void);

/* A parsed stream flattened to one string per packet ("K\x1fV\x1e..."),
 * so that two parses can be compared exactly. */
typedef struct parsed_stream {
    char **packets;
    int *kinds;
    size_t count;
    int error; /* parser error at the end, 0 if none */
} parsed_stream;

/* Parse `data` feeding chunks given by `next_chunk` (NULL: whole). */
typedef size_t (*chunker_fn)(size_t offset, size_t remaining, void *ctx);
int parse_stream(const char *data, size_t len, unsigned flags, chunker_fn chunker, void *ctx,
                 parsed_stream *out);
void parsed_stream_free(parsed_stream *s);
/* Flatten one packet. Free with free(). */
char *packet_flatten(const ami_packet *p);

#endif
