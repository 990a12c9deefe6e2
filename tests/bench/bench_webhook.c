/*
 * bench_webhook: a load generator for the webhook receiver, and the same box's ceiling for
 * raw durable inserts, measured by the same program so that the ratio is the figure.
 *
 *   bench_webhook post --url URL --secret S [--conns N] [--seconds T] [--body-bytes B]
 *                      [--rate R] [--topic customers/update|orders/create]
 *       Posts signed Shopify deliveries (unique X-Shopify-Event-Id) on N
 *       keep-alive connections for T seconds, at most R per second in all when --rate is
 *       given. Prints accepted/s, p50/p99 ack latency, and the count of each status.
 *       --total N instead posts exactly deliveries k-0 .. k-(N-1) (customer k % 500 at
 *       version k) and every tenth of them again, each retried until it gets a 200 (through
 *       hub restarts), logging each acknowledged event id to --log FILE; for kill tests.
 *       With --total: --keys K spreads them over K customers instead of 500, and
 *       --same-time gives every version the same updated_at, so that only the order in which
 *       the hub applies them decides which version a customer ends with (with --conns 1 the
 *       deliveries arrive in k order: the last version of each customer must win).
 *
 *   bench_webhook raw --db URL [--conns N] [--seconds T] [--body-bytes B] [--batch K]
 *       Inserts rows shaped like a stored delivery into a scratch table, K rows per durable
 *       commit (synchronous_commit=on), on N connections. Prints rows/s.
 *
 * It asserts nothing about speed; it exits non-zero only when it could not run at all or when
 * a post got an answer other than 200.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#define MAX_CONNS 256
#define MAX_LAT   (1u << 22)

static const char *g_host = "127.0.0.1";
static int         g_port;
static char        g_path[512];
static const char *g_secret;
static const char *g_db;
static int         g_body_bytes = 5000;
static int         g_batch = 64;
static double      g_seconds = 5.0;
static double      g_rate;            /* deliveries/s in all, 0 = as fast as possible */
static int         g_conns = 1;
static unsigned    g_run;
static const char *g_topic = "customers/update";
static long        g_total;           /* --total: exactly these deliveries, each until a 200 */
static long        g_keys = 500;      /* --keys: customers the --total deliveries update */
static int         g_same_time;       /* --same-time: one updated_at for every version */
static FILE       *g_log;             /* --log: the event id of every 200, one per line */
static pthread_mutex_t g_log_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_long g_next;

static atomic_int  g_stop;
static atomic_long g_ok, g_dup, g_other, g_fail, g_rows;

static double     *g_lat;             /* seconds, one per 200 */
static atomic_uint g_nlat;

static double
now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static int
connect_hub(void)
{
    struct sockaddr_in sa;
    int                fd, one = 1;

    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)g_port);
    inet_pton(AF_INET, g_host, &sa.sin_addr);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return -1;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

static int
write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Read one HTTP/1.1 response; returns its status, or -1. Keeps nothing beyond it. */
static int
read_response(int fd, char *buf, size_t cap, int *close_after)
{
    size_t      have = 0;
    const char *end = NULL;
    long        clen = 0;
    int         status;

    *close_after = 0;
    while (end == NULL) {
        ssize_t r;

        if (have + 1 >= cap)
            return -1;
        r = read(fd, buf + have, cap - 1 - have);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        have += (size_t)r;
        buf[have] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    if (sscanf(buf, "HTTP/1.%*c %d", &status) != 1)
        return -1;
    {
        const char *cl = strcasestr(buf, "\r\nContent-Length:");

        if (cl != NULL)
            clen = strtol(cl + 17, NULL, 10);
        if (strcasestr(buf, "\r\nConnection: close") != NULL)
            *close_after = 1;
    }
    {
        size_t body_have = have - (size_t)(end + 4 - buf);

        while ((long)body_have < clen) {
            ssize_t r = read(fd, buf, cap - 1);

            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                return -1;
            body_have += (size_t)r;
        }
    }
    return status;
}

/* A customer (customers/update) or an order that becomes an invoice (orders/create), padded
 * with a note to about --body-bytes. Ids are unique per delivery for orders, and cycle over
 * 500 per connection for customers (so updates of the same record are mixed in). */
static char *
make_body(unsigned run, int thread, long i, size_t *len)
{
    size_t pad = g_body_bytes > 700 ? (size_t)g_body_bytes - 700 : 0;
    char  *b = malloc(pad + 1024);
    long   id = 9000000000L + (long)thread * 100000000L;
    int    n;

    if (b == NULL)
        return NULL;
    if (g_total > 0) {
        /* Delivery k updates customer k % 500 to version k; updated_at grows with k, so the
         * final state of each customer is its highest k whatever the order of arrival. */
        time_t    at = (time_t)1793491200 + (g_same_time ? 0 : (time_t)i); /* 2026-11-01 + k s */
        struct tm tm;
        char      ts[32];

        gmtime_r(&at, &tm);
        strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
        n = snprintf(b, 1024,
                     "{\"id\":%ld,\"email\":\"kill%ld@example.com\",\"first_name\":\"Kill\","
                     "\"last_name\":\"V%ld\",\"updated_at\":\"%s\",\"note\":\"",
                     7000000000L + i % g_keys, i % g_keys, i, ts);
    } else if (strcmp(g_topic, "orders/create") == 0)
        n = snprintf(b, 1024,
                     "{\"id\":%ld,\"name\":\"#B%u-%d-%ld\",\"currency\":\"EUR\","
                     "\"taxes_included\":false,\"created_at\":\"2026-11-24T10:00:00Z\","
                     "\"updated_at\":\"2026-11-24T10:00:00Z\",\"total_line_items_price\":\"20.00\","
                     "\"total_discounts\":\"0.00\",\"total_tax\":\"0.00\",\"total_price\":\"20.00\","
                     "\"tax_lines\":[],\"line_items\":[{\"id\":%ld,\"title\":\"Bench widget\","
                     "\"quantity\":2,\"price\":\"10.00\",\"sku\":\"BENCH-1\",\"tax_lines\":[]}],"
                     "\"customer\":{\"id\":%ld,\"email\":\"buyer%d@example.com\","
                     "\"first_name\":\"Bench\",\"last_name\":\"Buyer\"},\"note\":\"",
                     id + i, run, thread, i, id + i, 8000000000L + thread, thread);
    else
        n = snprintf(b, 1024,
                     "{\"id\":%ld,\"email\":\"bench%u.%d.%ld@example.com\",\"first_name\":\"Bench\","
                     "\"last_name\":\"T%d\",\"updated_at\":\"2026-11-24T10:00:00Z\",\"note\":\"",
                     id + i % 500, run, thread, i, thread);
    memset(b + n, 'x', pad);
    n += (int)pad;
    n += snprintf(b + n, 8, "\"}");
    *len = (size_t)n;
    return b;
}

static void *
post_thread(void *arg)
{
    int     t = (int)(intptr_t)arg, fd = -1;
    char    sig_b64[64], *req = NULL, resp[8192];
    long    i = 0;
    double  start = now_s(), per_conn = g_rate > 0 ? g_rate / g_conns : 0;

    req = malloc((size_t)g_body_bytes + 4096);
    if (req == NULL)
        return NULL;
    while (!atomic_load(&g_stop)) {
        size_t        blen, hlen;
        unsigned char mac[32];
        unsigned int  maclen = 0;
        char         *body;
        double        t0;
        int           status, close_after;
        char          evid[64];

        if (g_total > 0) {
            /* k in [0, total) once each, then every tenth again (duplicates, later). */
            long k = atomic_fetch_add(&g_next, 1);

            if (k >= g_total + g_total / 10)
                break;
            i = k < g_total ? k : (k - g_total) * 10;
            snprintf(evid, sizeof(evid), "k-%ld", i);
        } else {
            snprintf(evid, sizeof(evid), "bench-%u-%d-%ld", g_run, t, i);
        }
again:
        if (per_conn > 0) {
            double due = start + (double)i / per_conn, w = due - now_s();

            if (w > 0) {
                struct timespec ts = { (time_t)w, (long)((w - (double)(time_t)w) * 1e9) };

                nanosleep(&ts, NULL);
            }
        }
        body = make_body(g_run, t, i, &blen);
        if (body == NULL)
            break;
        HMAC(EVP_sha256(), g_secret, (int)strlen(g_secret), (unsigned char *)body, blen, mac,
             &maclen);
        EVP_EncodeBlock((unsigned char *)sig_b64, mac, (int)maclen);
        hlen = (size_t)snprintf(req, 4096,
                                "POST %s HTTP/1.1\r\nHost: %s:%d\r\n"
                                "Content-Type: application/json\r\nContent-Length: %zu\r\n"
                                "X-Shopify-Topic: %s\r\n"
                                "X-Shopify-Hmac-Sha256: %s\r\n"
                                "X-Shopify-Shop-Domain: sandbox-shop.myshopify.com\r\n"
                                "X-Shopify-Event-Id: %s\r\n"
                                "X-Shopify-Webhook-Id: wh-%u-%d-%ld\r\n\r\n",
                                g_path, g_host, g_port, blen, g_topic, sig_b64, evid, g_run, t, i);
        memcpy(req + hlen, body, blen);
        free(body);
        if (fd < 0 && (fd = connect_hub()) < 0) {
            atomic_fetch_add(&g_fail, 1);
            usleep(10000);
            if (g_total > 0 && !atomic_load(&g_stop))
                goto again;             /* the hub is down: retry this delivery, as platforms do */
            continue;
        }
        t0 = now_s();
        if (write_all(fd, req, hlen + blen) != 0 ||
            (status = read_response(fd, resp, sizeof(resp), &close_after)) < 0) {
            atomic_fetch_add(&g_fail, 1);
            close(fd);
            fd = -1;
            if (g_total > 0 && !atomic_load(&g_stop)) {
                usleep(10000);
                goto again;
            }
            continue;
        }
        if (status >= 500 && g_total > 0 && !atomic_load(&g_stop)) {
            atomic_fetch_add(&g_fail, 1);
            usleep(10000);
            goto again;
        }
        if (status == 200 && g_log != NULL) {
            pthread_mutex_lock(&g_log_lock);
            fprintf(g_log, "%s\n", evid);
            fflush(g_log);
            pthread_mutex_unlock(&g_log_lock);
        }
        if (status == 200) {
            unsigned k = atomic_fetch_add(&g_nlat, 1);

            if (k < MAX_LAT)
                g_lat[k] = now_s() - t0;
            if (strstr(resp, "duplicate") != NULL)
                atomic_fetch_add(&g_dup, 1);
            else
                atomic_fetch_add(&g_ok, 1);
        } else {
            atomic_fetch_add(&g_other, 1);
            if (atomic_load(&g_other) <= 3)
                fprintf(stderr, "bench_webhook: HTTP %d: %.200s\n", status, resp);
        }
        if (close_after) {
            close(fd);
            fd = -1;
        }
        i++;
    }
    if (fd >= 0)
        close(fd);
    free(req);
    return NULL;
}

static void *
raw_thread(void *arg)
{
    int         t = (int)(intptr_t)arg;
    PGconn     *c = PQconnectdb(g_db);
    long        i = 0;
    size_t      blen;
    char       *body = make_body(g_run, t, 0, &blen);
    const char *params[3];
    char        key[64];

    if (PQstatus(c) != CONNECTION_OK || body == NULL) {
        fprintf(stderr, "bench_webhook: %s", PQerrorMessage(c));
        PQfinish(c);
        free(body);
        atomic_fetch_add(&g_fail, 1);
        return NULL;
    }
    PQclear(PQexec(c, "SET synchronous_commit = on"));
    /* One statement per batch: unnest of K keys, the same body, as the hub's writer does. */
    while (!atomic_load(&g_stop)) {
        char     *arr = malloc((size_t)g_batch * 48 + 8), *p = arr;
        PGresult *r;

        if (arr == NULL)
            break;
        *p++ = '{';
        for (int k = 0; k < g_batch; k++) {
            snprintf(key, sizeof(key), "%sraw-%u-%d-%ld", k ? "," : "", g_run, t, i++);
            p = stpcpy(p, key);
        }
        *p++ = '}';
        *p = '\0';
        params[0] = arr;
        params[1] = body;
        params[2] = NULL;
        r = PQexecParams(c,
                         "INSERT INTO bench_raw_insert (delivery_id, body, received_at) "
                         "SELECT k, convert_to($2, 'UTF8'), now() FROM unnest($1::text[]) k",
                         2, NULL, params, NULL, NULL, 0);
        free(arr);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            fprintf(stderr, "bench_webhook: %s", PQerrorMessage(c));
            PQclear(r);
            atomic_fetch_add(&g_fail, 1);
            break;
        }
        PQclear(r);
        atomic_fetch_add(&g_rows, g_batch);
    }
    free(body);
    PQfinish(c);
    return NULL;
}

static int
parse_url(const char *url)
{
    const char *p;

    if (strncmp(url, "http://127.0.0.1:", 17) != 0)
        return -1;              /* loopback only, by design */
    g_port = atoi(url + 17);
    p = strchr(url + 17, '/');
    if (g_port <= 0 || p == NULL || strlen(p) >= sizeof(g_path))
        return -1;
    strcpy(g_path, p);
    return 0;
}

static void
usage(void)
{
    fprintf(stderr,
            "usage: bench_webhook post --url http://127.0.0.1:PORT/api/webhooks/shopify/ID "
            "--secret S [--conns N] [--seconds T] [--body-bytes B] [--rate R] [--topic T]\n"
            "                     [--total N --log FILE [--keys K] [--same-time]]\n"
            "       bench_webhook raw --db URL [--conns N] [--seconds T] [--body-bytes B] "
            "[--batch K]\n");
}

int
main(int argc, char **argv)
{
    pthread_t   th[MAX_CONNS];
    const char *mode;
    double      t0, el;
    int         raw;

    if (argc < 2) {
        usage();
        return 2;
    }
    mode = argv[1];
    raw = strcmp(mode, "raw") == 0;
    if (!raw && strcmp(mode, "post") != 0) {
        usage();
        return 2;
    }
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

        if (strcmp(a, "--same-time") == 0) {
            g_same_time = 1;
            continue;
        }
        if (v == NULL) {
            usage();
            return 2;
        }
        if (strcmp(a, "--url") == 0) {
            if (parse_url(v) != 0) {
                fprintf(stderr, "bench_webhook: --url must be http://127.0.0.1:PORT/path\n");
                return 2;
            }
        } else if (strcmp(a, "--secret") == 0)
            g_secret = v;
        else if (strcmp(a, "--db") == 0)
            g_db = v;
        else if (strcmp(a, "--conns") == 0)
            g_conns = atoi(v);
        else if (strcmp(a, "--seconds") == 0)
            g_seconds = atof(v);
        else if (strcmp(a, "--body-bytes") == 0)
            g_body_bytes = atoi(v);
        else if (strcmp(a, "--batch") == 0)
            g_batch = atoi(v);
        else if (strcmp(a, "--rate") == 0)
            g_rate = atof(v);
        else if (strcmp(a, "--total") == 0)
            g_total = atol(v);
        else if (strcmp(a, "--keys") == 0)
            g_keys = atol(v);
        else if (strcmp(a, "--log") == 0) {
            if ((g_log = fopen(v, "a")) == NULL) {
                perror(v);
                return 2;
            }
        } else if (strcmp(a, "--topic") == 0) {
            if (strcmp(v, "customers/update") != 0 && strcmp(v, "orders/create") != 0) {
                fprintf(stderr, "bench_webhook: --topic customers/update or orders/create\n");
                return 2;
            }
            g_topic = v;
        }
        else {
            usage();
            return 2;
        }
        i++;
    }
    if (g_keys < 1 || g_keys > 100000000L) {
        fprintf(stderr, "bench_webhook: --keys 1..100000000\n");
        return 2;
    }
    if (g_conns < 1 || g_conns > MAX_CONNS || g_seconds <= 0 || g_body_bytes < 0 ||
        g_body_bytes > 1 << 20 || g_batch < 1 || g_batch > 10000) {
        fprintf(stderr, "bench_webhook: --conns 1..%d, --seconds > 0, --body-bytes <= 1 MiB, "
                        "--batch 1..10000\n", MAX_CONNS);
        return 2;
    }
    if ((raw && g_db == NULL) || (!raw && (g_port == 0 || g_secret == NULL))) {
        usage();
        return 2;
    }
    g_run = (unsigned)time(NULL) ^ ((unsigned)getpid() << 16);
    if (raw) {
        PGconn *c = PQconnectdb(g_db);

        if (PQstatus(c) != CONNECTION_OK) {
            fprintf(stderr, "bench_webhook: %s", PQerrorMessage(c));
            PQfinish(c);
            return 1;
        }
        PQclear(PQexec(c, "CREATE TABLE IF NOT EXISTS bench_raw_insert (id bigserial PRIMARY KEY, "
                          "delivery_id text NOT NULL UNIQUE, body bytea NOT NULL, "
                          "received_at timestamptz NOT NULL)"));
        PQfinish(c);
    } else {
        g_lat = malloc(sizeof(double) * MAX_LAT);
        if (g_lat == NULL)
            return 1;
    }
    t0 = now_s();
    for (int i = 0; i < g_conns; i++)
        pthread_create(&th[i], NULL, raw ? raw_thread : post_thread, (void *)(intptr_t)i);
    while (now_s() - t0 < g_seconds && !(raw && atomic_load(&g_fail) > 0) &&
           !(g_total > 0 && atomic_load(&g_next) >= g_total + g_total / 10 + g_conns))
        usleep(20000);
    atomic_store(&g_stop, 1);
    for (int i = 0; i < g_conns; i++)
        pthread_join(th[i], NULL);
    el = now_s() - t0;
    if (raw) {
        PGconn *c = PQconnectdb(g_db);

        PQclear(PQexec(c, "DROP TABLE IF EXISTS bench_raw_insert"));
        PQfinish(c);
        printf("raw durable inserts: conns=%d batch=%d body=%d B: %.0f rows/s (%ld rows in "
               "%.2f s)\n", g_conns, g_batch, g_body_bytes, (double)atomic_load(&g_rows) / el,
               atomic_load(&g_rows), el);
        return atomic_load(&g_fail) > 0;
    }
    {
        unsigned n = atomic_load(&g_nlat);
        double   p50 = 0, p99 = 0, mx = 0;

        if (n > MAX_LAT)
            n = MAX_LAT;
        if (n > 0) {
            qsort(g_lat, n, sizeof(double), cmp_double);
            p50 = g_lat[n / 2];
            p99 = g_lat[(size_t)((double)n * 0.99)];
            mx = g_lat[n - 1];
        }
        printf("webhook acks (%s): conns=%d body=%d B%s: %.0f accepted/s, p50 %.2f ms, p99 %.2f ms, "
               "max %.2f ms (accepted %ld, duplicate %ld, other status %ld, transport errors "
               "%ld, %.2f s)\n",
               g_topic, g_conns, g_body_bytes, g_rate > 0 ? " (paced)" : "",
               (double)(atomic_load(&g_ok) + atomic_load(&g_dup)) / el, p50 * 1e3, p99 * 1e3,
               mx * 1e3, atomic_load(&g_ok), atomic_load(&g_dup), atomic_load(&g_other),
               atomic_load(&g_fail), el);
        free(g_lat);
        return atomic_load(&g_other) > 0 || atomic_load(&g_ok) == 0;
    }
}
