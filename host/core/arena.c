#include "core/arena.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_BLOCK_MIN  (16 * 1024)
#define ARENA_ALIGN      16

struct hub_arena_block {
    struct hub_arena_block *next;
    size_t                  size;
    size_t                  off;
    _Alignas(16) unsigned char data[];
};

void
hub_arena_init(struct hub_arena *a, size_t cap)
{
    a->head = NULL;
    a->used = 0;
    a->cap = cap;
}

void
hub_arena_destroy(struct hub_arena *a)
{
    struct hub_arena_block *b = a->head, *next;

    while (b != NULL) {
        next = b->next;
        free(b);
        b = next;
    }
    a->head = NULL;
    a->used = 0;
}

void *
hub_arena_alloc(struct hub_arena *a, size_t size)
{
    struct hub_arena_block *b = a->head;
    size_t                  need, bsize;
    void                   *p;

    if (size == 0)
        size = 1;
    if (size > SIZE_MAX / 2)
        return NULL;
    need = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    if (a->cap != 0 && (need > a->cap || a->used > a->cap - need))
        return NULL;

    if (b == NULL || b->size - b->off < need) {
        bsize = need > ARENA_BLOCK_MIN ? need : ARENA_BLOCK_MIN;
        b = malloc(sizeof(*b) + bsize);
        if (b == NULL)
            return NULL;
        b->size = bsize;
        b->off = 0;
        b->next = a->head;
        a->head = b;
    }
    p = b->data + b->off;
    b->off += need;
    a->used += need;
    memset(p, 0, size);
    return p;
}

char *
hub_arena_strndup(struct hub_arena *a, const char *s, size_t len)
{
    char *p;

    if (len == SIZE_MAX)
        return NULL;
    p = hub_arena_alloc(a, len + 1);
    if (p == NULL)
        return NULL;
    if (len > 0)
        memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

char *
hub_arena_strdup(struct hub_arena *a, const char *s)
{
    return hub_arena_strndup(a, s, strlen(s));
}

char *
hub_arena_vprintf(struct hub_arena *a, const char *fmt, va_list ap)
{
    va_list ap2;
    char   *p;
    int     n;

    va_copy(ap2, ap);
    n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return NULL;
    p = hub_arena_alloc(a, (size_t)n + 1);
    if (p == NULL)
        return NULL;
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    return p;
}

char *
hub_arena_printf(struct hub_arena *a, const char *fmt, ...)
{
    va_list ap;
    char   *p;

    va_start(ap, fmt);
    p = hub_arena_vprintf(a, fmt, ap);
    va_end(ap);
    return p;
}
