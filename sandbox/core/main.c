/*
 * simplix-sandbox entry point: command line, listeners on 127.0.0.1, ready file, signals.
 */
#include "sbx_int.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/listener.h>
#include <event2/util.h>

/* ------------------------------------------------------------------ registry */

static const struct sbx_platform_ops *registry[SBX_MAX_PLATFORMS];
static size_t                         nregistry;

void
sbx_platform_register(const struct sbx_platform_ops *ops)
{
    size_t i;

    if (nregistry >= SBX_MAX_PLATFORMS)
        return;
    /* Keep the table sorted by name: output and ready file do not depend on link order. */
    i = nregistry++;
    while (i > 0 && strcmp(registry[i - 1]->name, ops->name) > 0) {
        registry[i] = registry[i - 1];
        i--;
    }
    registry[i] = ops;
}

size_t
sbx_registered_count(void)
{
    return nregistry;
}

const struct sbx_platform_ops *
sbx_registered(size_t i)
{
    return i < nregistry ? registry[i] : NULL;
}

/* ------------------------------------------------------------------ help */

static void
usage(FILE *f, struct sbx *s)
{
    size_t                   i;
    const struct sbx_option *o;
    char                     left[64];

    fprintf(f,
"Usage: simplix-sandbox [OPTIONS]\n"
"\n"
"Local, faithful imitations of the platforms' APIs on 127.0.0.1, for tests, demos and\n"
"connector authors. Never contacts a real platform: webhooks go to loopback URLs only.\n"
"Each platform listens on a port of its own and serves its control API under /_sandbox/\n"
"(see docs/SANDBOX.md).\n"
"\n"
"General options:\n"
"  --seed N                 seed of all generated data and fault draws (default 1)\n"
"  --customers N            customers per platform (default 50)\n"
"  --products N             products per platform (default 20)\n"
"  --orders N               orders per platform (default 100)\n"
"  --ready-file PATH        once listening, write {\"<platform>\":\"http://127.0.0.1:PORT\",\n"
"                           ...,\"control\":{...},\"pid\":N} to PATH (atomically)\n"
"  --only LIST              serve only these platforms (comma-separated names)\n"
"  --clock TIME             start the sandbox clock at TIME (ISO-8601 or Unix seconds)\n"
"                           instead of the real time; it then runs from there\n"
"  --freeze-clock           the clock does not move unless set via /_sandbox/clock\n"
"  --time-scale F           divide webhook retry delays by F (e.g. 3600: an hour per\n"
"                           second; default 1, the real schedule)\n"
"  --fault P:KIND:RATE[:GLOB]  add a fault rule for platform P: KIND one of 5xx 429 slow\n"
"                           drop truncate malformed, RATE in [0,1], GLOB an fnmatch\n"
"                           pattern on the path (repeatable; more via /_sandbox/faults)\n"
"  --log-size N             requests kept in the request log (default 20000)\n"
"  --verbose                print every request and delivery on stderr\n"
"  --help                   this text\n"
"  --version                print the version\n");
    for (i = 0; i < s->nplatforms; i++) {
        const struct sbx_platform_ops *ops = s->platforms[i].ops;

        fprintf(f, "\n%s options (%s):\n", ops->name, ops->title);
        snprintf(left, sizeof(left), "--%s-port N", ops->name);
        fprintf(f, "  %-24s port on 127.0.0.1, 0 = any free port (default 0)\n", left);
        for (o = ops->options; o != NULL && o->name != NULL; o++) {
            if (o->metavar != NULL)
                snprintf(left, sizeof(left), "--%s %s", o->name, o->metavar);
            else
                snprintf(left, sizeof(left), "--%s", o->name);
            if (strlen(left) > 24)
                fprintf(f, "  %s\n  %-24s %s\n", left, "", o->help);
            else
                fprintf(f, "  %-24s %s\n", left, o->help);
        }
    }
    fprintf(f,
"\n"
"On start, prints one line per platform: \"<name> http://127.0.0.1:PORT\".\n"
"SIGINT/SIGTERM stop it cleanly.\n");
}

/* ------------------------------------------------------------------ options */

static int
parse_size(const char *opt, const char *v, size_t max, size_t *out)
{
    int64_t n;

    if (sbx_parse_i64(v, 0, (int64_t)max, &n) < 0) {
        fprintf(stderr, "%s: expected an integer 0..%zu, got '%s'\n", opt, max, v);
        return -1;
    }
    *out = (size_t)n;
    return 0;
}

static struct sbx_platform *
platform_by_name(struct sbx *s, const char *name, size_t len)
{
    size_t i;

    for (i = 0; i < s->nplatforms; i++) {
        if (strlen(s->platforms[i].ops->name) == len &&
            strncmp(s->platforms[i].ops->name, name, len) == 0)
            return &s->platforms[i];
    }
    return NULL;
}

static int
apply_only(struct sbx *s, const char *list)
{
    const char          *p = list;
    const char          *end;
    struct sbx_platform *pl;
    size_t               i;

    for (i = 0; i < s->nplatforms; i++)
        s->platforms[i].enabled = false;
    while (*p != '\0') {
        end = strchr(p, ',');
        if (end == NULL)
            end = p + strlen(p);
        pl = platform_by_name(s, p, (size_t)(end - p));
        if (pl == NULL) {
            fprintf(stderr, "--only: unknown platform '%.*s'\n", (int)(end - p), p);
            return -1;
        }
        pl->enabled = true;
        p = *end == ',' ? end + 1 : end;
    }
    return 0;
}

/* Returns 0 to go on, 1 to exit 0 (help/version), -1 on error. */
static int
parse_args(struct sbx *s, int argc, char **argv, const char **faults, size_t *nfaults)
{
    int                      i;
    size_t                   k;
    const char              *arg;
    const char              *val;
    const char              *eq;
    char                     name[128];
    const struct sbx_option *o;
    int64_t                  t;
    char                    *end;

    for (i = 1; i < argc; i++) {
        arg = argv[i];
        if (strncmp(arg, "--", 2) != 0) {
            fprintf(stderr, "unexpected argument '%s' (see --help)\n", arg);
            return -1;
        }
        arg += 2;
        eq = strchr(arg, '=');
        if (eq != NULL) {
            if ((size_t)(eq - arg) >= sizeof(name)) {
                fprintf(stderr, "option too long\n");
                return -1;
            }
            memcpy(name, arg, (size_t)(eq - arg));
            name[eq - arg] = '\0';
            val = eq + 1;
        } else {
            snprintf(name, sizeof(name), "%s", arg);
            val = NULL;
        }
#define NEED_VAL()                                                                  \
        do {                                                                        \
            if (val == NULL) {                                                      \
                if (i + 1 >= argc) {                                                \
                    fprintf(stderr, "--%s needs a value\n", name);                 \
                    return -1;                                                      \
                }                                                                   \
                val = argv[++i];                                                    \
            }                                                                       \
        } while (0)

        if (strcmp(name, "help") == 0) {
            usage(stdout, s);
            return 1;
        } else if (strcmp(name, "version") == 0) {
            printf("simplix-sandbox %s\n", SBX_VERSION);
            return 1;
        } else if (strcmp(name, "seed") == 0) {
            NEED_VAL();
            if (sbx_parse_i64(val, 0, INT64_MAX, &t) < 0) {
                fprintf(stderr, "--seed: expected a non-negative integer\n");
                return -1;
            }
            s->cfg.seed = (uint64_t)t;
        } else if (strcmp(name, "customers") == 0) {
            NEED_VAL();
            if (parse_size("--customers", val, 10000000, &s->cfg.customers) < 0)
                return -1;
        } else if (strcmp(name, "products") == 0) {
            NEED_VAL();
            if (parse_size("--products", val, 10000000, &s->cfg.products) < 0)
                return -1;
        } else if (strcmp(name, "orders") == 0) {
            NEED_VAL();
            if (parse_size("--orders", val, 10000000, &s->cfg.orders) < 0)
                return -1;
        } else if (strcmp(name, "ready-file") == 0) {
            NEED_VAL();
            s->ready_file = val;
        } else if (strcmp(name, "only") == 0) {
            NEED_VAL();
            if (apply_only(s, val) < 0)
                return -1;
        } else if (strcmp(name, "clock") == 0) {
            NEED_VAL();
            if (sbx_parse_i64(val, 0, INT64_MAX / 1000, &t) < 0 &&
                sbx_time_parse(val, 0, &t) < 0) {
                fprintf(stderr, "--clock: expected ISO-8601 or Unix seconds\n");
                return -1;
            }
            s->clock_frozen_ms = t * 1000;
            s->clock_offset_ms = t * 1000 - sbx_now_ms(s);
        } else if (strcmp(name, "freeze-clock") == 0) {
            s->clock_frozen = true;
        } else if (strcmp(name, "time-scale") == 0) {
            NEED_VAL();
            errno = 0;
            s->cfg.time_scale = strtod(val, &end);
            if (errno != 0 || *end != '\0' || !(s->cfg.time_scale > 0) ||
                s->cfg.time_scale > 1e9) {
                fprintf(stderr, "--time-scale: expected a number > 0\n");
                return -1;
            }
        } else if (strcmp(name, "fault") == 0) {
            NEED_VAL();
            if (*nfaults >= SBX_MAX_FAULTS) {
                fprintf(stderr, "--fault: too many\n");
                return -1;
            }
            faults[(*nfaults)++] = val;
        } else if (strcmp(name, "log-size") == 0) {
            NEED_VAL();
            if (parse_size("--log-size", val, 10000000, &s->log_cap) < 0)
                return -1;
            if (s->log_cap == 0)
                s->log_cap = 1;
        } else if (strcmp(name, "verbose") == 0) {
            s->cfg.verbose = true;
        } else {
            /* --<platform>-port N, or a module option */
            bool done = false;

            for (k = 0; k < s->nplatforms && !done; k++) {
                struct sbx_platform *p = &s->platforms[k];
                size_t               nl = strlen(p->ops->name);

                if (strncmp(name, p->ops->name, nl) == 0 && strcmp(name + nl, "-port") == 0) {
                    NEED_VAL();
                    if (sbx_parse_i64(val, 0, 65535, &t) < 0) {
                        fprintf(stderr, "--%s: expected a port 0..65535\n", name);
                        return -1;
                    }
                    p->port = (int)t;
                    done = true;
                    break;
                }
                for (o = p->ops->options; o != NULL && o->name != NULL; o++) {
                    if (strcmp(o->name, name) != 0)
                        continue;
                    if (o->metavar != NULL) {
                        NEED_VAL();
                    } else {
                        val = "1";
                    }
                    if (o->set(p, val) < 0)
                        return -1;
                    done = true;
                    break;
                }
            }
            if (!done) {
                fprintf(stderr, "unknown option --%s (see --help)\n", name);
                return -1;
            }
        }
#undef NEED_VAL
    }
    return 0;
}

/* ------------------------------------------------------------------ ready file */

static int
write_ready_file(struct sbx *s)
{
    char          tmp[4096];
    FILE         *f;
    size_t        i;
    bool          first = true;
    struct sbx_jw w;
    struct evbuffer *buf;

    buf = evbuffer_new();
    if (buf == NULL)
        return -1;
    sbx_jw_init(&w, buf);
    sbx_jw_obj(&w);
    for (i = 0; i < s->nplatforms; i++) {
        if (s->platforms[i].enabled)
            sbx_jw_kstr(&w, s->platforms[i].ops->name, s->platforms[i].base_url);
    }
    sbx_jw_key(&w, "control");
    sbx_jw_obj(&w);
    for (i = 0; i < s->nplatforms; i++) {
        if (!s->platforms[i].enabled)
            continue;
        snprintf(tmp, sizeof(tmp), "%s/_sandbox", s->platforms[i].base_url);
        sbx_jw_kstr(&w, s->platforms[i].ops->name, tmp);
        first = false;
    }
    (void)first;
    sbx_jw_obj_end(&w);
    sbx_jw_ki64(&w, "pid", (int64_t)getpid());
    sbx_jw_key(&w, "seed");
    sbx_jw_u64(&w, s->cfg.seed);
    sbx_jw_obj_end(&w);
    evbuffer_add(buf, "\n", 1);

    if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", s->ready_file, (int)getpid()) >=
        (int)sizeof(tmp)) {
        evbuffer_free(buf);
        fprintf(stderr, "--ready-file: path too long\n");
        return -1;
    }
    f = fopen(tmp, "w");
    if (f == NULL) {
        fprintf(stderr, "--ready-file %s: %s\n", tmp, strerror(errno));
        evbuffer_free(buf);
        return -1;
    }
    fwrite(evbuffer_pullup(buf, -1), 1, evbuffer_get_length(buf), f);
    evbuffer_free(buf);
    if (fclose(f) != 0 || rename(tmp, s->ready_file) != 0) {
        fprintf(stderr, "--ready-file %s: %s\n", s->ready_file, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ main */

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
    struct sbx *s = arg;

    (void)sig;
    (void)what;
    event_base_loopexit(s->base, NULL);
}

static int
listen_platform(struct sbx *s, struct sbx_platform *p)
{
    evutil_socket_t   fd;
    struct sockaddr_in sin;
    socklen_t         len = sizeof(sin);

    p->http = evhttp_new(s->base);
    if (p->http == NULL)
        return -1;
    evhttp_set_allowed_methods(p->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
                                        EVHTTP_REQ_DELETE | EVHTTP_REQ_PATCH |
                                        EVHTTP_REQ_HEAD | EVHTTP_REQ_OPTIONS);
    evhttp_set_max_body_size(p->http, 16 * 1024 * 1024);
    evhttp_set_timeout(p->http, 120);
    evhttp_set_gencb(p->http, sbx_http_cb, p);
    p->bound = evhttp_bind_socket_with_handle(p->http, "127.0.0.1", (uint16_t)p->port);
    if (p->bound == NULL) {
        fprintf(stderr, "%s: cannot listen on 127.0.0.1:%d: %s\n", p->ops->name, p->port,
                strerror(errno));
        return -1;
    }
    fd = evhttp_bound_socket_get_fd(p->bound);
    if (getsockname(fd, (struct sockaddr *)&sin, &len) < 0)
        return -1;
    p->port = ntohs(sin.sin_port);
    snprintf(p->base_url, sizeof(p->base_url), "http://127.0.0.1:%d", p->port);
    return 0;
}

int
main(int argc, char **argv)
{
    struct sbx   s;
    const char  *faults[SBX_MAX_FAULTS];
    size_t       nfaults = 0;
    size_t       i;
    int          rc;
    int          status = 1;

    memset(&s, 0, sizeof(s));
    s.cfg.seed = 1;
    s.cfg.customers = 50;
    s.cfg.products = 20;
    s.cfg.orders = 100;
    s.cfg.time_scale = 1.0;
    s.log_cap = 20000;
    s.dlog_cap = 4096;
    signal(SIGPIPE, SIG_IGN);

    s.base = event_base_new();
    if (s.base == NULL) {
        fprintf(stderr, "event_base_new failed\n");
        return 1;
    }
    for (i = 0; i < sbx_registered_count(); i++) {
        struct sbx_platform *p = &s.platforms[s.nplatforms++];

        p->ops = sbx_registered(i);
        p->sbx = &s;
        p->enabled = true;
        p->faults = calloc(1, sizeof(*p->faults));
        if (p->faults == NULL || (p->ops->create != NULL && p->ops->create(p) < 0)) {
            fprintf(stderr, "%s: cannot initialise\n", p->ops->name);
            goto out;
        }
    }
    rc = parse_args(&s, argc, argv, faults, &nfaults);
    if (rc != 0) {
        status = rc > 0 ? 0 : 2;
        goto out;
    }
    for (i = 0; i < s.nplatforms; i++)
        sbx_faults_clear(&s.platforms[i]);
    for (i = 0; i < nfaults; i++) {
        if (sbx_fault_parse_cli(&s, faults[i]) < 0) {
            status = 2;
            goto out;
        }
    }
    s.log = calloc(s.log_cap, sizeof(*s.log));
    s.dlog = calloc(s.dlog_cap, sizeof(*s.dlog));
    if (s.log == NULL || s.dlog == NULL)
        goto out;

    for (i = 0; i < s.nplatforms; i++) {
        struct sbx_platform *p = &s.platforms[i];

        if (!p->enabled)
            continue;
        if (p->ops->start != NULL && p->ops->start(p) < 0) {
            fprintf(stderr, "%s: cannot start\n", p->ops->name);
            goto out;
        }
        if (listen_platform(&s, p) < 0)
            goto out;
        printf("%s %s\n", p->ops->name, p->base_url);
    }
    fflush(stdout);
    if (s.ready_file != NULL && write_ready_file(&s) < 0)
        goto out;

    s.sig_int = evsignal_new(s.base, SIGINT, on_signal, &s);
    s.sig_term = evsignal_new(s.base, SIGTERM, on_signal, &s);
    if (s.sig_int == NULL || s.sig_term == NULL)
        goto out;
    evsignal_add(s.sig_int, NULL);
    evsignal_add(s.sig_term, NULL);

    event_base_dispatch(s.base);
    status = 0;
out:
    sbx_outbox_free_all(&s);
    sbx_server_free(&s);
    for (i = 0; i < s.nplatforms; i++) {
        struct sbx_platform *p = &s.platforms[i];

        if (p->http != NULL)
            evhttp_free(p->http);
        if (p->ops->destroy != NULL)
            p->ops->destroy(p);
        if (p->faults != NULL) {
            size_t k;

            for (k = 0; k < p->faults->n; k++)
                free(p->faults->rules[k].path);
            free(p->faults);
        }
    }
    if (s.ready_file != NULL && status == 0)
        unlink(s.ready_file);
    if (s.sig_int != NULL)
        event_free(s.sig_int);
    if (s.sig_term != NULL)
        event_free(s.sig_term);
    event_base_free(s.base);
    return status;
}
