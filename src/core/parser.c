/*
 * Incremental AMI stream parser.
 *
 * Bytes are appended to one buffer; complete lines are turned into header
 * slices as soon as their '\n' arrives, so no byte is looked at twice and a
 * packet fed one byte at a time costs the same as one fed whole. Headers
 * are offsets from the start of the current packet: the buffer may be
 * compacted or grown between calls without invalidating them.
 *
 * Each key and value is NUL-terminated in place (the ':' and the line end
 * are overwritten) so that callers get C strings without a copy; lengths
 * stay authoritative for hostile input that carries NUL bytes.
 */
#include "internal.h"

#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define INITIAL_CAPACITY (64u * 1024u)
/* Above this, an idle buffer is given back so a single huge packet does not
 * pin its memory for the life of the connection. */
#define SHRINK_ABOVE    (256u * 1024u)
#define INITIAL_HEADERS 32u
/* The buffer keeps this many bytes allocated past its capacity so the
 * vector scanner may load a whole block that straddles the end of data. */
#define SCAN_PAD        64u
#define NO_COLON        SIZE_MAX
#define END_COMMAND     "--END COMMAND--"
#define END_COMMAND_LEN (sizeof(END_COMMAND) - 1)

typedef enum legacy_state {
    LEGACY_NONE = 0, /* ordinary packet */
    LEGACY_HEADERS,  /* Response: Follows seen, still in its headers */
    LEGACY_BODY,     /* inside the command output */
    LEGACY_DONE      /* --END COMMAND-- seen, waiting for the blank line */
} legacy_state;

struct ami_parser {
    char *buf;
    size_t cap;
    size_t start;    /* first byte of the current packet */
    size_t line;     /* first byte of the current line */
    size_t searched; /* bytes of the current line already searched for '\n' */
    size_t colon;    /* offset of the line's first ':' once seen, else NO_COLON */
    size_t end;      /* bytes in buf */
    uint64_t base;   /* stream offset of buf[0] */

    unsigned flags;
    bool banner_done;
    bool returned; /* pkt was handed out; release it on the next call */
    legacy_state legacy;

    size_t max_line;
    size_t max_headers;
    size_t max_packet;

    ami_packet pkt;
    size_t headers_cap;

    int error;
    uint64_t error_offset;
};

int ami_parser_create(ami_parser **out, unsigned flags)
{
    if (!out)
        return AMI_ERR_INVALID;
    *out = NULL;
    ami_parser *p = ami__calloc(1, sizeof(*p));
    if (!p)
        return AMI_ERR_NOMEM;
    p->flags = flags;
    p->colon = NO_COLON;
    ami_parser_set_limits(p, 0, 0, 0);
    *out = p;
    return AMI_OK;
}

void ami_parser_free(ami_parser *p)
{
    if (!p)
        return;
    ami__free(p->buf);
    ami__free(p->pkt.headers);
    ami__free(p);
}

void ami_parser_set_limits(ami_parser *p, size_t max_line, size_t max_headers, size_t max_packet)
{
    if (!p)
        return;
    /* Offsets are 32-bit: a packet may never reach 4 GiB. */
    const size_t hard_max = (size_t)UINT32_MAX - 2u;
    p->max_line = max_line ? max_line : AMI_PARSER_DEFAULT_MAX_LINE;
    p->max_headers = max_headers ? max_headers : AMI_PARSER_DEFAULT_MAX_HEADERS;
    p->max_packet = max_packet ? max_packet : AMI_PARSER_DEFAULT_MAX_PACKET;
    if (p->max_packet > hard_max)
        p->max_packet = hard_max;
    if (p->max_line > p->max_packet)
        p->max_line = p->max_packet;
}

void ami_parser_reset(ami_parser *p)
{
    if (!p)
        return;
    p->start = p->line = p->searched = p->end = 0;
    p->colon = NO_COLON;
    p->base = 0;
    p->banner_done = false;
    p->returned = false;
    p->legacy = LEGACY_NONE;
    p->pkt.count = 0;
    p->error = 0;
    p->error_offset = 0;
}

int ami_parser_error(const ami_parser *p)
{
    return p ? p->error : AMI_ERR_INVALID;
}

uint64_t ami_parser_error_offset(const ami_parser *p)
{
    return p ? p->error_offset : 0;
}

size_t ami_parser_buffered(const ami_parser *p)
{
    if (!p)
        return 0;
    return p->end - (p->returned ? p->line : p->start);
}

static int fail(ami_parser *p, int code, size_t at)
{
    p->error = code;
    p->error_offset = p->base + at;
    return code;
}

/* Drop the packet handed out by the previous call. */
static void release_returned(ami_parser *p)
{
    if (!p->returned)
        return;
    p->returned = false;
    p->start = p->line;
    p->searched = 0;
    p->colon = NO_COLON;
    p->pkt.count = 0;
    p->legacy = LEGACY_NONE;
}

/* Move unconsumed bytes to the front, and give back a large idle buffer. */
static void compact(ami_parser *p)
{
    if (p->start == 0)
        return;
    size_t keep = p->end - p->start;
    if (keep)
        memmove(p->buf, p->buf + p->start, keep);
    p->base += p->start;
    p->line -= p->start;
    p->end = keep;
    p->start = 0;
}

int ami_parser_reserve(ami_parser *p, size_t min, char **area, size_t *area_len)
{
    if (!p || !area || !area_len)
        return AMI_ERR_INVALID;
    if (p->error)
        return p->error;
    release_returned(p);
    if (min == 0)
        min = 1;
    if (p->start == p->end && p->cap > SHRINK_ABOVE && min <= INITIAL_CAPACITY) {
        /* Idle after a big packet: return to the normal footprint. */
        char *small = ami__realloc(p->buf, INITIAL_CAPACITY + SCAN_PAD);
        if (small) {
            p->base += p->start;
            p->buf = small;
            p->cap = INITIAL_CAPACITY;
            p->start = p->line = p->end = 0;
        }
    }
    if (p->cap - p->end < min && p->start > 0)
        compact(p);
    if (p->cap - p->end < min) {
        size_t need = p->end + min;
        size_t cap = p->cap ? p->cap : INITIAL_CAPACITY;
        while (cap < need) {
            if (cap > SIZE_MAX / 2)
                return AMI_ERR_NOMEM;
            cap *= 2;
        }
        char *grown = ami__realloc(p->buf, cap + SCAN_PAD);
        if (!grown)
            return AMI_ERR_NOMEM;
        /* Not cleared here: touching the whole growth would make every
         * idle connection's 64 KiB resident. extend() clears what the
         * scanner may see. */
        p->buf = grown;
        p->cap = cap;
    }
    *area = p->buf + p->end;
    *area_len = p->cap - p->end;
    return AMI_OK;
}

/*
 * Take n more bytes as data. The scanner loads whole 64-byte blocks and
 * masks off what lies past the data; those bytes are cleared so memory
 * checkers see no uninitialised reads. Everything below the cleared tail
 * was data or a cleared tail before, so compaction and realloc keep it so.
 */
static void extend(ami_parser *p, size_t n)
{
    p->end += n;
    memset(p->buf + p->end, 0, SCAN_PAD);
}

int ami_parser_commit(ami_parser *p, size_t n)
{
    if (!p || n > p->cap - p->end)
        return AMI_ERR_INVALID;
    if (p->error)
        return p->error;
    if (p->buf)
        extend(p, n);
    return AMI_OK;
}

int ami_parser_feed(ami_parser *p, const char *data, size_t len)
{
    if (!p || (!data && len))
        return AMI_ERR_INVALID;
    if (p->error)
        return p->error;
    if (len == 0)
        return AMI_OK;
    char *area;
    size_t area_len;
    int rc = ami_parser_reserve(p, len, &area, &area_len);
    if (rc < 0)
        return rc;
    memcpy(area, data, len);
    extend(p, len);
    return AMI_OK;
}

/*
 * Newline and colon positions of a 64-byte block as two bitmaps. Lines are
 * short (about 22 bytes in real event streams), so looking for the line
 * end and the first colon with a call per line costs more than the bytes:
 * one block describes about three lines, each then found with a bit scan.
 */
typedef struct scan_block {
    size_t base;    /* buffer offset of bit 0 */
    uint64_t nl;    /* '\n' positions not yet consumed */
    uint64_t colon; /* ':' positions not yet consumed */
} scan_block;

#if defined(__GNUC__)
#define HOT_INLINE inline __attribute__((always_inline))
#else
#define HOT_INLINE inline
#endif

/* Inlined: it runs every 64 bytes, and a call costs more than its body. */
static HOT_INLINE void scan_block_load(const char *buf, size_t base, size_t end, scan_block *b)
{
    uint64_t nl = 0, colon = 0;
#if defined(__SSE2__)
    const __m128i newlines = _mm_set1_epi8('\n');
    const __m128i colons = _mm_set1_epi8(':');
    for (unsigned k = 0; k < 4; k++) {
        /* May read past `end`: inside SCAN_PAD, and masked off below. */
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(buf + base + 16u * k));
        nl |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, newlines)) << (16u * k);
        colon |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, colons)) << (16u * k);
    }
#else
    for (unsigned k = 0; k < 64 && base + k < end; k++) {
        nl |= (uint64_t)(buf[base + k] == '\n') << k;
        colon |= (uint64_t)(buf[base + k] == ':') << k;
    }
#endif
    if (end - base < 64) {
        uint64_t keep = (UINT64_C(1) << (end - base)) - 1u;
        nl &= keep;
        colon &= keep;
    }
    b->base = base;
    b->nl = nl;
    b->colon = colon;
}

/* Room for one more header: the limit check and growth, off the hot path. */
static int grow_headers(ami_parser *p)
{
    if (p->pkt.count >= p->max_headers)
        return fail(p, AMI_ERR_HEADER_LIMIT, p->line);
    size_t cap = p->headers_cap ? p->headers_cap * 2 : INITIAL_HEADERS;
    ami__header *grown = ami__realloc(p->pkt.headers, cap * sizeof(*grown));
    if (!grown)
        return fail(p, AMI_ERR_NOMEM, p->line);
    p->pkt.headers = grown;
    p->headers_cap = cap;
    return AMI_OK;
}

static HOT_INLINE int push_header(ami_parser *p, uint32_t key_off, uint32_t key_len,
                                  uint32_t value_off, uint32_t value_len)
{
    /* Both bounds in one rarely taken branch; grow_headers tells them
     * apart. */
    size_t count = p->pkt.count;
    if (count >= p->headers_cap || count >= p->max_headers) {
        int rc = grow_headers(p);
        if (rc < 0)
            return rc;
    }
    ami__header *h = &p->pkt.headers[count];
    p->pkt.count = count + 1;
    h->key_off = key_off;
    h->key_len = key_len;
    h->value_off = value_off;
    h->value_len = value_len;
    return AMI_OK;
}

/* One line of legacy Command output, exposed as an "Output" header. */
static int push_output(ami_parser *p, size_t from, size_t len)
{
    p->buf[from + len] = '\0';
    return push_header(p, AMI__KEY_OUTPUT, 6, (uint32_t)(from - p->start), (uint32_t)len);
}

static bool is_legacy_header_key(const char *key, size_t len)
{
    return ami__key_equals(key, len, "Privilege") || ami__key_equals(key, len, "ActionID");
}

/* Hand out the current packet; its bytes stay put until the next call. */
static int emit(ami_parser *p, size_t next_line)
{
    p->pkt.base = p->buf + p->start;
    p->pkt.wire_size = next_line - p->start;
    p->pkt.legacy = p->legacy != LEGACY_NONE;
    ami__packet_classify(&p->pkt);
    p->line = next_line;
    p->returned = true;
    return 1;
}

static int take_banner(ami_parser *p, size_t len, size_t next_line)
{
    if (ami_banner_parse(p->buf + p->line, len, NULL, NULL, NULL) < 0)
        return fail(p, AMI_ERR_BAD_BANNER, p->line);
    p->buf[p->line + len] = '\0';
    p->banner_done = true;
    p->pkt.count = 0;
    int rc = push_header(p, AMI__KEY_BANNER, 6, 0, (uint32_t)len);
    if (rc < 0)
        return rc;
    rc = emit(p, next_line);
    p->pkt.kind = AMI_PACKET_BANNER;
    p->pkt.response = AMI_RESPONSE_NONE;
    return rc;
}

/* Process the line [p->line, p->line + len). Returns 1 when it completed a
 * packet, 0 to go on, or an error. */
static int take_line(ami_parser *p, size_t len, size_t next_line)
{
    char *line = p->buf + p->line;

    if ((p->flags & AMI_PARSER_EXPECT_BANNER) && !p->banner_done)
        return take_banner(p, len, next_line);

    if (p->legacy == LEGACY_BODY) {
        /* The body ends with a line that ends in --END COMMAND--; the CLI
         * output before it may lack its final newline. */
        if (len >= END_COMMAND_LEN &&
            memcmp(line + len - END_COMMAND_LEN, END_COMMAND, END_COMMAND_LEN) == 0) {
            p->legacy = LEGACY_DONE;
            if (len > END_COMMAND_LEN)
                return push_output(p, p->line, len - END_COMMAND_LEN);
            return 0;
        }
        return push_output(p, p->line, len);
    }

    if (len == 0) {
        if (p->pkt.count == 0) {
            /* Stray blank line between packets: skip it. */
            p->start = next_line;
            return 0;
        }
        return emit(p, next_line);
    }

    char *colon = p->colon < len ? line + p->colon : NULL;
    if (p->legacy == LEGACY_HEADERS) {
        if (!colon || !is_legacy_header_key(line, (size_t)(colon - line))) {
            p->legacy = LEGACY_BODY;
            return take_line(p, len, next_line);
        }
    } else if (p->legacy == LEGACY_DONE) {
        return fail(p, AMI_ERR_PROTOCOL, p->line);
    }
    if (!colon)
        return fail(p, AMI_ERR_PROTOCOL, p->line);

    size_t key_len = (size_t)(colon - line);
    size_t value_at = key_len + 1;
    if (value_at < len && line[value_at] == ' ')
        value_at++;
    *colon = '\0';
    line[len] = '\0';
    size_t rel = p->line - p->start;
    int rc = push_header(p, (uint32_t)rel, (uint32_t)key_len, (uint32_t)(rel + value_at),
                         (uint32_t)(len - value_at));
    if (rc < 0)
        return rc;
    if (p->pkt.count == 1 && ami__key_equals(line, key_len, "Response") &&
        ami__key_equals(line + value_at, len - value_at, "Follows"))
        p->legacy = LEGACY_HEADERS;
    return 0;
}

/* Neither a banner nor legacy Command framing to look after: each line is
 * a plain header or the blank line that ends the packet. */
static bool is_ordinary(const ami_parser *p)
{
    return p->legacy == LEGACY_NONE && (p->banner_done || !(p->flags & AMI_PARSER_EXPECT_BANNER));
}

int ami_parser_next(ami_parser *p, const ami_packet **out)
{
    if (!p || !out)
        return AMI_ERR_INVALID;
    *out = NULL;
    if (p->error)
        return p->error;
    release_returned(p);

    /* Loop invariants in locals: the NUL stores into the buffer may alias
     * anything, so fields read through p would be reloaded every line. */
    const char *const buf = p->buf;
    const size_t end = p->end;
    const size_t max_line = p->max_line;
    const size_t max_packet = p->max_packet;
    bool ordinary = is_ordinary(p);
    /* The current line's start and first colon live in locals too, and go
     * back to p only where code outside this loop may look at them. */
    size_t line = p->line;
    size_t colon = p->colon;
    size_t start = p->start;
    scan_block b = {line + p->searched, 0, 0};
    if (b.base < end)
        scan_block_load(buf, b.base, end, &b);
    for (;;) {
        if (!b.nl) {
            /* No line end in this block: remember a colon of the current
             * line, then move on to the next block, if bytes are there. */
            if (colon == NO_COLON && b.colon)
                colon = b.base + (size_t)__builtin_ctzll(b.colon) - line;
            size_t next = b.base + 64;
            if (next >= end) {
                size_t avail = end - line;
                p->colon = colon;
                p->searched = avail;
                /* One byte of slack for the '\r' of a line exactly at the
                 * limit, so the verdict never depends on where a read ends. */
                if (avail > max_line + 1 || (avail == max_line + 1 && buf[end - 1] != '\r'))
                    return fail(p, AMI_ERR_LINE_LIMIT, line + max_line);
                if (end - start > max_packet)
                    return fail(p, AMI_ERR_PACKET_LIMIT, start + max_packet);
                return 0;
            }
            scan_block_load(buf, next, end, &b);
            continue;
        }
        unsigned bit = (unsigned)__builtin_ctzll(b.nl);
        uint64_t before = (UINT64_C(1) << bit) - 1u;
        if (colon == NO_COLON && (b.colon & before))
            colon = b.base + (size_t)__builtin_ctzll(b.colon & before) - line;
        /* Consume this line's bits (for bit 63 the shift wraps to 0 and
         * the mask correctly becomes 0). */
        uint64_t after = ~((UINT64_C(2) << bit) - 1u);
        b.nl &= after;
        b.colon &= after;

        size_t nl_at = b.base + bit;
        size_t len = nl_at - line;
        size_t next_line = nl_at + 1;
        if (len > 0 && buf[nl_at - 1] == '\r')
            len--;
        if (len > max_line)
            return fail(p, AMI_ERR_LINE_LIMIT, line + max_line);
        if (next_line - start > max_packet)
            return fail(p, AMI_ERR_PACKET_LIMIT, start + max_packet);
        int rc;
        if (ordinary && len > 0 && colon < len && p->pkt.count > 0) {
            /* The common line: a header after the first of an ordinary
             * packet, exactly as take_line would take it. */
            char *text = p->buf + line;
            size_t value_at = colon + 1;
            if (value_at < len && text[value_at] == ' ')
                value_at++;
            text[colon] = '\0';
            text[len] = '\0';
            size_t rel = line - start;
            rc = push_header(p, (uint32_t)rel, (uint32_t)colon, (uint32_t)(rel + value_at),
                             (uint32_t)(len - value_at));
        } else {
            p->colon = colon;
            rc = take_line(p, len, next_line);
            ordinary = is_ordinary(p);
            start = p->start;
        }
        p->searched = 0;
        p->colon = colon = NO_COLON;
        if (rc < 0)
            return rc;
        if (rc == 1) {
            *out = &p->pkt;
            return 1;
        }
        p->line = line = next_line;
    }
}
