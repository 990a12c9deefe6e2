/*
 * Replay driver for the libFuzzer targets in tests/fuzz/: a main() that lets ordinary builds
 * (gcc, no libFuzzer) and `make test` exercise every target.
 *
 *   fuzz_replay_<name> [--dict FILE] [--seconds S] [--count N] [--seed X] PATH...
 *
 *   1. Every regular file in each PATH directory (sorted by name; a PATH that is a file is
 *      taken as is) goes through LLVMFuzzerTestOneInput once. At least one PATH must exist:
 *      every target has a checked-in seed corpus.
 *   2. Then N (default 10000) deterministic inputs from a fixed-seed PRNG: the seeds mutated
 *      libFuzzer-style (bit flips, interesting bytes, insertions, deletions, duplicated and
 *      spliced ranges, dictionary tokens), plus plain random bytes and random token soup.
 *      Stops early after S seconds (default 4) so a slow sanitizer build stays bounded.
 *
 * Same --seed and --count, same inputs: to reproduce a failure run the printed command with
 * --seconds 0 (no time limit). Each input is a malloc'ed copy of exactly its size, so
 * AddressSanitizer sees over-reads as libFuzzer would.
 *
 * A crash, an abort() from a target's invariant check or a sanitizer report fails the run;
 * the input being run is then written to ./fuzz-replay-crash-<pid> (async-signal-safe) and
 * shown in hex on stderr when short. Feed it to the libFuzzer binary or to this driver.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/buf.h"
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Optional in a target, as in libFuzzer. */
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));
/* Provided by the sanitizer runtimes only. */
void __sanitizer_set_death_callback(void (*cb)(void)) __attribute__((weak));

#define DRIVER_FILE_MAX   (4u * 1024 * 1024)   /* largest corpus file read */
#define DRIVER_INPUT_MAX  (128u * 1024)        /* largest generated input */
#define DRIVER_SEEDS_MAX  4096
#define DRIVER_TOKENS_MAX 1024

struct blob {
    uint8_t *ptr;
    size_t   len;
};

struct blobs {
    struct blob *v;
    size_t       n;
    size_t       cap;
};

static struct blobs seeds;
static struct blobs tokens;

/* The input being run, for the crash handlers. */
static const uint8_t *volatile cur_data;
static volatile size_t         cur_size;
static volatile int            in_crash;

static uint64_t rng_state;

static uint64_t
rng_next(void)
{
    /* xorshift64*: small, fast, and the same sequence everywhere. */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ULL;
}

/* Uniform-enough value in [0, n); n > 0. */
static size_t
rng_below(size_t n)
{
    return (size_t)(rng_next() % n);
}

static double
now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
die(const char *what)
{
    fprintf(stderr, "fuzz replay: %s\n", what);
    exit(2);
}

static void
blobs_push(struct blobs *b, const uint8_t *p, size_t len)
{
    uint8_t *copy;

    if (b->n == b->cap) {
        size_t       cap = b->cap ? b->cap * 2 : 64;
        struct blob *v = realloc(b->v, cap * sizeof(*v));

        if (v == NULL)
            die("out of memory");
        b->v = v;
        b->cap = cap;
    }
    copy = malloc(len ? len : 1);
    if (copy == NULL)
        die("out of memory");
    if (len > 0)
        memcpy(copy, p, len);
    b->v[b->n].ptr = copy;
    b->v[b->n].len = len;
    b->n++;
}

/* ---- crash reporting (async-signal-safe) -------------------------------------------------- */

static void
put(const char *s, size_t len)
{
    while (len > 0) {
        ssize_t n = write(2, s, len);

        if (n <= 0)
            return;
        s += n;
        len -= (size_t)n;
    }
}

static void
save_crash_input(void)
{
    static const char hex[] = "0123456789abcdef";
    char              path[64] = "fuzz-replay-crash-";
    char              digits[24];
    size_t            i, n = 0, plen = strlen(path);
    unsigned long     pid = (unsigned long)getpid();
    const uint8_t    *d = cur_data;
    size_t            len = cur_size;
    int               fd;

    if (in_crash || d == NULL)
        return;
    in_crash = 1;
    do {
        digits[n++] = (char)('0' + pid % 10);
        pid /= 10;
    } while (pid > 0 && n < sizeof(digits));
    while (n > 0)
        path[plen++] = digits[--n];
    path[plen] = '\0';
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
        for (i = 0; i < len;) {
            ssize_t w = write(fd, d + i, len - i);

            if (w <= 0)
                break;
            i += (size_t)w;
        }
        close(fd);
        put("fuzz replay: failing input saved to ", 36);
        put(path, plen);
        put("\n", 1);
    }
    if (len <= 512) {
        put("fuzz replay: failing input (hex): ", 34);
        for (i = 0; i < len; i++) {
            char b[2] = { hex[d[i] >> 4], hex[d[i] & 15] };

            put(b, 2);
        }
        put("\n", 1);
    }
}

static void
on_signal(int sig)
{
    save_crash_input();
    signal(sig, SIG_DFL);
    raise(sig);
}

/* ---- inputs ------------------------------------------------------------------------------ */

static int
run_one(const uint8_t *p, size_t len)
{
    uint8_t *copy = malloc(len ? len : 1);

    if (copy == NULL)
        die("out of memory");
    if (len > 0)
        memcpy(copy, p, len);
    cur_data = copy;
    cur_size = len;
    LLVMFuzzerTestOneInput(copy, len);
    cur_data = NULL;
    cur_size = 0;
    free(copy);
    return 0;
}

static int
read_file(const char *path, struct blobs *out)
{
    FILE    *f = fopen(path, "rb");
    uint8_t *buf;
    size_t   n;

    if (f == NULL)
        return -1;
    buf = malloc(DRIVER_FILE_MAX + 1);
    if (buf == NULL)
        die("out of memory");
    n = fread(buf, 1, DRIVER_FILE_MAX + 1, f);
    fclose(f);
    if (n > DRIVER_FILE_MAX) {
        fprintf(stderr, "fuzz replay: %s: larger than %u bytes, skipped\n", path,
                DRIVER_FILE_MAX);
        free(buf);
        return 0;
    }
    if (out->n < DRIVER_SEEDS_MAX)
        blobs_push(out, buf, n);
    free(buf);
    return 0;
}

static int
cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Load every regular file of `dir` (not recursive), sorted by name. -1 if not a directory. */
static int
read_dir(const char *dir, struct blobs *out)
{
    DIR           *d = opendir(dir);
    struct dirent *e;
    char         **names = NULL;
    size_t         n = 0, cap = 0, i;

    if (d == NULL)
        return -1;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            char **v;

            cap = cap ? cap * 2 : 64;
            v = realloc(names, cap * sizeof(*v));
            if (v == NULL)
                die("out of memory");
            names = v;
        }
        names[n] = strdup(e->d_name);
        if (names[n] == NULL)
            die("out of memory");
        n++;
    }
    closedir(d);
    if (n > 0)
        qsort(names, n, sizeof(*names), cmp_names);
    for (i = 0; i < n; i++) {
        char        path[4096];
        struct stat st;
        int         w = snprintf(path, sizeof(path), "%s/%s", dir, names[i]);

        if (w > 0 && (size_t)w < sizeof(path) && stat(path, &st) == 0 && S_ISREG(st.st_mode))
            read_file(path, out);
        free(names[i]);
    }
    free(names);
    return 0;
}

/* libFuzzer dictionary: lines of [name=]"token" with \\, \" and \xNN escapes; '#' comments. */
static void
read_dict(const char *path)
{
    FILE *f = fopen(path, "r");
    char  line[4096];

    if (f == NULL) {
        fprintf(stderr, "fuzz replay: cannot open dictionary %s: %s\n", path, strerror(errno));
        exit(2);
    }
    while (fgets(line, sizeof(line), f) != NULL && tokens.n < DRIVER_TOKENS_MAX) {
        char   *q = strchr(line, '"');
        uint8_t tok[4096];
        size_t  n = 0;

        if (line[0] == '#' || q == NULL)
            continue;
        for (q++; *q != '\0' && *q != '"' && n < sizeof(tok); q++) {
            if (*q == '\\' && q[1] == 'x' && hub_hex_digit(q[2]) >= 0 &&
                hub_hex_digit(q[3]) >= 0) {
                tok[n++] = (uint8_t)(hub_hex_digit(q[2]) << 4 | hub_hex_digit(q[3]));
                q += 3;
            } else if (*q == '\\' && (q[1] == '\\' || q[1] == '"')) {
                tok[n++] = (uint8_t)q[1];
                q++;
            } else {
                tok[n++] = (uint8_t)*q;
            }
        }
        if (n > 0)
            blobs_push(&tokens, tok, n);
    }
    fclose(f);
}

/* Built-in tokens for every target: separators, numbers and sizes near the usual limits. */
static const char *const builtin_tokens[] = {
    "\n", "\r\n", " ", "\t", "=", ":", "#", "\"", "\\", "/", ".", "-", "+", "0", "1", "9",
    "00", "255", "256", "65535", "65536", "2147483647", "2147483648", "-1",
    "9223372036854775807", "9223372036854775808", "18446744073709551615", "%s%n",
    "\xff", "\x80", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\x00",
};

static const uint8_t interesting_bytes[] = {
    0x00, 0x01, 0x7f, 0x80, 0xff, '\n', '\r', '\t', ' ', '=', ':', '#', '"', '\\', '.', '-',
    '0', '9', 'a', 'z', '{', '}', '/', '%',
};

struct input {
    uint8_t *p;
    size_t   len;
    size_t   cap;
};

static void
input_reserve(struct input *in, size_t extra)
{
    if (in->len + extra > in->cap) {
        size_t   cap = (in->len + extra) * 2;
        uint8_t *p = realloc(in->p, cap);

        if (p == NULL)
            die("out of memory");
        in->p = p;
        in->cap = cap;
    }
}

static void
input_insert(struct input *in, size_t at, const uint8_t *src, size_t n)
{
    if (n == 0 || in->len + n > DRIVER_INPUT_MAX)
        return;
    input_reserve(in, n);
    memmove(in->p + at + n, in->p + at, in->len - at);
    memcpy(in->p + at, src, n);
    in->len += n;
}

static const struct blob *
pick_token(void)
{
    static struct blob b;
    size_t             nb = sizeof(builtin_tokens) / sizeof(builtin_tokens[0]);
    size_t             i = rng_below(nb + tokens.n);

    if (i < tokens.n)
        return &tokens.v[i];
    i -= tokens.n;
    b.ptr = (uint8_t *)builtin_tokens[i];
    /* "\x00" is the one token whose length strlen cannot tell. */
    b.len = builtin_tokens[i][0] == '\0' ? 1 : strlen(builtin_tokens[i]);
    return &b;
}

static void
mutate_once(struct input *in)
{
    size_t at, n;

    switch (rng_below(11)) {
    case 0: /* flip a bit */
        if (in->len > 0)
            in->p[rng_below(in->len)] ^= (uint8_t)(1u << rng_below(8));
        break;
    case 1: /* random byte */
        if (in->len > 0)
            in->p[rng_below(in->len)] = (uint8_t)rng_next();
        break;
    case 2: /* interesting byte */
        if (in->len > 0)
            in->p[rng_below(in->len)] = interesting_bytes[rng_below(sizeof(interesting_bytes))];
        break;
    case 3: { /* insert a byte */
        uint8_t b = rng_below(2) ? (uint8_t)rng_next()
                                 : interesting_bytes[rng_below(sizeof(interesting_bytes))];

        input_insert(in, rng_below(in->len + 1), &b, 1);
        break;
    }
    case 4: /* delete a range */
        if (in->len > 0) {
            at = rng_below(in->len);
            n = 1 + rng_below(in->len - at < 16 ? in->len - at : 16);
            memmove(in->p + at, in->p + at + n, in->len - at - n);
            in->len -= n;
        }
        break;
    case 5: /* duplicate a range */
        if (in->len > 0) {
            uint8_t tmp[64];

            at = rng_below(in->len);
            n = 1 + rng_below(in->len - at < sizeof(tmp) ? in->len - at : sizeof(tmp));
            memcpy(tmp, in->p + at, n);
            input_insert(in, rng_below(in->len + 1), tmp, n);
        }
        break;
    case 6: /* splice in a range of another seed */
        if (seeds.n > 0) {
            const struct blob *s = &seeds.v[rng_below(seeds.n)];

            if (s->len > 0) {
                at = rng_below(s->len);
                n = 1 + rng_below(s->len - at);
                if (n > 256)
                    n = 256;
                input_insert(in, rng_below(in->len + 1), s->ptr + at, n);
            }
        }
        break;
    case 7:
    case 8: { /* insert or overwrite with a token */
        const struct blob *t = pick_token();

        at = rng_below(in->len + 1);
        if (rng_below(2) && at + t->len <= in->len)
            memcpy(in->p + at, t->ptr, t->len);
        else
            input_insert(in, at, t->ptr, t->len);
        break;
    }
    case 9: /* truncate */
        if (in->len > 0)
            in->len = rng_below(in->len);
        break;
    default: /* blow a short range up many times: length limits, long lines */
        if (in->len > 0 && rng_below(8) == 0) {
            uint8_t tmp[16];
            size_t  times = 16 + rng_below(4096), k;

            at = rng_below(in->len);
            n = 1 + rng_below(in->len - at < sizeof(tmp) ? in->len - at : sizeof(tmp));
            memcpy(tmp, in->p + at, n);
            for (k = 0; k < times; k++)
                input_insert(in, at, tmp, n);
        }
        break;
    }
}

/* Build generated input number i into `in`. */
static void
generate(struct input *in)
{
    size_t kind = rng_below(16), k, n;

    in->len = 0;
    if (kind == 0 || seeds.n == 0) {
        /* Plain random bytes. */
        n = rng_below(96);
        input_reserve(in, n);
        for (k = 0; k < n; k++)
            in->p[k] = (uint8_t)rng_next();
        in->len = n;
        return;
    }
    if (kind == 1) {
        /* Token soup: separators, numbers and dictionary words in random order. */
        n = 1 + rng_below(24);
        for (k = 0; k < n; k++) {
            const struct blob *t = pick_token();

            input_insert(in, in->len, t->ptr, t->len);
        }
        return;
    }
    {
        const struct blob *s = &seeds.v[rng_below(seeds.n)];

        input_reserve(in, s->len);
        if (s->len > 0)
            memcpy(in->p, s->ptr, s->len);
        in->len = s->len;
    }
    n = 1 + rng_below(rng_below(4) == 0 ? 32 : 6);
    for (k = 0; k < n; k++)
        mutate_once(in);
}

static void
usage(const char *argv0)
{
    fprintf(stderr, "usage: %s [--dict FILE] [--seconds S] [--count N] [--seed X] "
            "CORPUS_DIR|FILE...\n", argv0);
    exit(2);
}

int
main(int argc, char **argv)
{
    struct input in = { NULL, 0, 0 };
    double       seconds = 4.0, t0, elapsed;
    uint64_t     seed = 0x5eed5eedcafef00dULL;
    size_t       count = 10000, i, n_paths = 0, n_found = 0, done = 0;
    const char  *paths[256];
    int          a;

    for (a = 1; a < argc; a++) {
        if (strcmp(argv[a], "--dict") == 0 && a + 1 < argc) {
            read_dict(argv[++a]);
        } else if (strcmp(argv[a], "--seconds") == 0 && a + 1 < argc) {
            seconds = strtod(argv[++a], NULL);
        } else if (strcmp(argv[a], "--count") == 0 && a + 1 < argc) {
            count = (size_t)strtoull(argv[++a], NULL, 10);
        } else if (strcmp(argv[a], "--seed") == 0 && a + 1 < argc) {
            seed = strtoull(argv[++a], NULL, 0);
        } else if (argv[a][0] == '-' && argv[a][1] == '-') {
            usage(argv[0]);
        } else if (n_paths < sizeof(paths) / sizeof(paths[0])) {
            paths[n_paths++] = argv[a];
        }
    }
    if (n_paths == 0)
        usage(argv[0]);
    rng_state = seed != 0 ? seed : 1;

    signal(SIGSEGV, on_signal);
    signal(SIGBUS, on_signal);
    signal(SIGFPE, on_signal);
    signal(SIGILL, on_signal);
    signal(SIGABRT, on_signal);
    if (__sanitizer_set_death_callback != NULL)
        __sanitizer_set_death_callback(save_crash_input);
    if (LLVMFuzzerInitialize != NULL)
        LLVMFuzzerInitialize(&argc, &argv);

    for (i = 0; i < n_paths; i++) {
        struct stat st;

        if (stat(paths[i], &st) != 0)
            continue;
        n_found++;
        if (S_ISDIR(st.st_mode))
            read_dir(paths[i], &seeds);
        else
            read_file(paths[i], &seeds);
    }
    if (n_found == 0) {
        fprintf(stderr, "fuzz replay: no seed corpus at %s: every fuzz target needs a checked-in "
                "corpus (tests/fuzz/corpus/<name>/, see docs/FUZZING.md)\n", paths[0]);
        return 1;
    }

    t0 = now_s();
    for (i = 0; i < seeds.n; i++)
        run_one(seeds.v[i].ptr, seeds.v[i].len);
    for (i = 0; i < count; i++) {
        if (seconds > 0 && (i & 63) == 0 && now_s() - t0 > seconds)
            break;
        generate(&in);
        run_one(in.p, in.len);
        done++;
    }
    elapsed = now_s() - t0;
    printf("fuzz replay: %zu corpus inputs, %zu of %zu generated inputs (seed 0x%llx) in "
           "%.2fs%s, %zu dictionary tokens: ok\n", seeds.n, done, count,
           (unsigned long long)seed, elapsed, done < count ? " (time limit)" : "", tokens.n);

    free(in.p);
    for (i = 0; i < seeds.n; i++)
        free(seeds.v[i].ptr);
    free(seeds.v);
    for (i = 0; i < tokens.n; i++)
        free(tokens.v[i].ptr);
    free(tokens.v);
    return 0;
}
