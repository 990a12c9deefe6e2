/*
 * Arenas: memory for everything that dies with one request, job or plugin call (nginx pools,
 * h2o per-request pools). Allocations are zeroed and 16-byte aligned; nothing is freed singly;
 * hub_arena_destroy() frees it all. A cap bounds the total so outside input cannot make an
 * arena grow without limit. Not thread-safe: one arena belongs to one thread at a time.
 */
#ifndef HUB_CORE_ARENA_H
#define HUB_CORE_ARENA_H

#include <stddef.h>
#include <stdarg.h>

struct hub_arena_block;

struct hub_arena {
    struct hub_arena_block *head;
    size_t                  used;     /* bytes handed out, for accounting and the cap */
    size_t                  cap;      /* 0 = unlimited */
};

/* Initialise an empty arena with a total cap in bytes (0 = none). Allocates nothing yet. */
void  hub_arena_init(struct hub_arena *a, size_t cap);
/* Free every block. The arena may be used again afterwards (it is empty). */
void  hub_arena_destroy(struct hub_arena *a);
/* Zeroed memory owned by the arena; NULL when out of memory or over the cap. */
void *hub_arena_alloc(struct hub_arena *a, size_t size);
/* Copy `len` bytes and append a NUL; NULL on failure. */
char *hub_arena_strndup(struct hub_arena *a, const char *s, size_t len);
char *hub_arena_strdup(struct hub_arena *a, const char *s);
char *hub_arena_printf(struct hub_arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
char *hub_arena_vprintf(struct hub_arena *a, const char *fmt, va_list ap);

#endif
