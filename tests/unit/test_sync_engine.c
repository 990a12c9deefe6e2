/*
 * The sync engine end to end: the template connector (build/plugins/template.so) against an
 * "Acme" platform served in this process, through the real worker pool, queue, instances,
 * HTTP client and PostgreSQL. Covers: full import, incremental with the same-second boundary
 * and changes during a run, resume after a failing page without re-reading committed pages,
 * no duplicates, conflicts both ways, export of Simplix changes, no echo, no ping-pong, and the
 * deletion sweep (list_ids): deletions marked once, a failing listing page retried in the same
 * log, an empty listing and the safety limit refused with nothing marked; and two
 * transactions applying the same new record at once (an import page and a webhook batch, say):
 * the second waits for the first and updates what it created, never a second row; and an
 * export whose record came back by webhook before its mapping was written.
 */
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "core/log.h"
#include "db/migrate.h"
#include "plugin/hostapi.h"
#include "queue/queue.h"
#include "queue/worker.h"
#include "sync/apply.h"
#include "sync/engine.h"
#include "testdb.h"

#define API_KEY  "acme-key-0123456789"
#define MAX_RECS 2000

/* ---- the Acme platform ------------------------------------------------------------------------- */

struct acme_rec {
    int     id;
    char    email[64];
    char    name[64];
    int64_t upd;             /* epoch seconds */
    int     gone;            /* deleted on Acme: in no listing */
};

static pthread_mutex_t   mu = PTHREAD_MUTEX_INITIALIZER;
static struct acme_rec   recs[MAX_RECS];
static int               n_recs;
static int               fail_page = 0;       /* answer 503 for this page number */
static int               pages_served[64];    /* requests per page number */
static int               puts_seen, posts_seen;
static char              last_put_body[512];
static int               touch_on_page = 0;   /* while serving this page, change record 1 */
static int               ids_fail_after = -1; /* answer 503 to the id page after this id */
static int               ids_fail_times;      /* that many times (the client retries 4) */
static int               ids_served;
static struct event_base *acme_base;
static struct evhttp     *acme_http;
static int               acme_port;

static int64_t
now_s(void)
{
    return (int64_t)time(NULL);
}

static void
iso(int64_t t, char *out, size_t cap)
{
    struct tm tm;
    time_t    tt = (time_t)t;

    gmtime_r(&tt, &tm);
    strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void
reply(struct evhttp_request *req, int code, const char *body)
{
    struct evbuffer *b = evbuffer_new();

    evbuffer_add(b, body, strlen(body));
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
    evhttp_send_reply(req, code, NULL, b);
    evbuffer_free(b);
}

static void
rec_json(const struct acme_rec *r, char *out, size_t cap)
{
    char t[32];

    iso(r->upd, t, sizeof(t));
    snprintf(out, cap, "{\"id\":\"c%d\",\"email\":\"%s\",\"name\":\"%s\",\"updated_at\":\"%s\"}",
             r->id, r->email, r->name, t);
}

static void
handle(struct evhttp_request *req, void *arg)
{
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char              *path = evhttp_uri_get_path(uri);
    const char              *key = evhttp_find_header(evhttp_request_get_input_headers(req),
                                                      "X-Api-Key");
    struct evkeyvalq         q;
    char                     buf[256 * 1024];
    size_t                   len = 0;
    int                      i;

    (void)arg;
    if (key == NULL || strcmp(key, API_KEY) != 0) {
        reply(req, 401, "{}");
        return;
    }
    pthread_mutex_lock(&mu);
    if (strcmp(path, "/api/me") == 0) {
        reply(req, 200, "{}");
    } else if (strcmp(path, "/api/customers/ids") == 0) {
        const char *qs = evhttp_uri_get_query(uri), *v;
        int         limit = 10, after = 0, emitted = 0, more = 0;

        memset(&q, 0, sizeof(q));
        evhttp_parse_query_str(qs ? qs : "", &q);
        if ((v = evhttp_find_header(&q, "limit")) != NULL)
            limit = atoi(v);
        if ((v = evhttp_find_header(&q, "after")) != NULL)
            after = atoi(v + 1);                        /* "c<N>" */
        evhttp_clear_headers(&q);
        ids_served++;
        if (after == ids_fail_after && ids_fail_times > 0) {
            ids_fail_times--;
            pthread_mutex_unlock(&mu);
            reply(req, 503, "{\"error\":\"down\"}");
            return;
        }
        len = (size_t)snprintf(buf, sizeof(buf), "{\"ids\":[");
        for (i = 0; i < n_recs; i++) {
            if (recs[i].gone || recs[i].id <= after)
                continue;
            if (emitted == limit) {
                more = 1;
                break;
            }
            len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s\"c%d\"",
                                    emitted ? "," : "", recs[i].id);
            emitted++;
        }
        snprintf(buf + len, sizeof(buf) - len, "],\"more\":%s}", more ? "true" : "false");
        reply(req, 200, buf);
    } else if (strcmp(path, "/api/customers") == 0 &&
               evhttp_request_get_command(req) == EVHTTP_REQ_GET) {
        const char *qs = evhttp_uri_get_query(uri), *v;
        int         page = 1, per = 10, skip, emitted = 0, more = 0;
        int64_t     since = 0;

        memset(&q, 0, sizeof(q));
        evhttp_parse_query_str(qs ? qs : "", &q);
        if ((v = evhttp_find_header(&q, "page")) != NULL)
            page = atoi(v);
        if ((v = evhttp_find_header(&q, "per_page")) != NULL)
            per = atoi(v);
        if ((v = evhttp_find_header(&q, "updated_since")) != NULL) {
            struct tm tm;

            memset(&tm, 0, sizeof(tm));
            strptime(v, "%Y-%m-%dT%H:%M:%SZ", &tm);
            since = (int64_t)timegm(&tm);
        }
        evhttp_clear_headers(&q);
        if (page >= 0 && page < 64)
            pages_served[page]++;
        if (page == fail_page) {
            pthread_mutex_unlock(&mu);
            reply(req, 503, "{\"error\":\"down\"}");
            return;
        }
        if (page == touch_on_page) {
            /* A merchant edits record 1 (already on an earlier page) during the run. */
            recs[0].upd = now_s() + 1;
            snprintf(recs[0].name, sizeof(recs[0].name), "Changed during the run");
        }
        len = (size_t)snprintf(buf, sizeof(buf), "{\"customers\":[");
        skip = (page - 1) * per;
        for (i = 0; i < n_recs; i++) {
            char one[512];

            if (recs[i].upd < since || recs[i].gone)   /* inclusive lower bound, as documented */
                continue;
            if (skip-- > 0)
                continue;
            if (emitted == per) {
                more = 1;
                break;
            }
            rec_json(&recs[i], one, sizeof(one));
            len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s", emitted ? "," : "",
                                    one);
            emitted++;
        }
        if (more)
            snprintf(buf + len, sizeof(buf) - len, "],\"next_page\":%d}", page + 1);
        else
            snprintf(buf + len, sizeof(buf) - len, "],\"next_page\":null}");
        reply(req, 200, buf);
    } else if (strncmp(path, "/api/customers", 14) == 0) {
        struct evbuffer *in = evhttp_request_get_input_buffer(req);
        size_t           blen = evbuffer_get_length(in);
        char             body[512], one[512];
        json_object     *o;
        struct acme_rec *r = NULL;

        if (blen >= sizeof(body))
            blen = sizeof(body) - 1;
        evbuffer_copyout(in, body, blen);
        body[blen] = '\0';
        o = json_tokener_parse(body);
        if (evhttp_request_get_command(req) == EVHTTP_REQ_POST && n_recs < MAX_RECS) {
            r = &recs[n_recs];
            r->id = n_recs + 1;
            n_recs++;
            posts_seen++;
        } else if (evhttp_request_get_command(req) == EVHTTP_REQ_PUT) {
            int id = atoi(path + strlen("/api/customers/c"));

            if (id >= 1 && id <= n_recs)
                r = &recs[id - 1];
            puts_seen++;
            snprintf(last_put_body, sizeof(last_put_body), "%s", body);
        }
        if (r == NULL || o == NULL) {
            json_object_put(o);
            pthread_mutex_unlock(&mu);
            reply(req, 404, "{}");
            return;
        }
        snprintf(r->email, sizeof(r->email), "%s",
                 json_object_get_string(json_object_object_get(o, "email")) ?: "");
        snprintf(r->name, sizeof(r->name), "%s",
                 json_object_get_string(json_object_object_get(o, "name")) ?: "");
        r->upd = now_s();
        json_object_put(o);
        rec_json(r, one, sizeof(one));
        reply(req, 200, one);
    } else {
        reply(req, 404, "{}");
    }
    pthread_mutex_unlock(&mu);
}

static void *
acme_main(void *arg)
{
    (void)arg;
    event_base_dispatch(acme_base);
    return NULL;
}

/* ---- fixtures ---------------------------------------------------------------------------------- */

static struct testdb             db;
static struct hub_db             conn;
static struct hub_crypto_keyring keys;
static struct hub_plugins        plugins;
static struct hub_sync          *sync_engine;
static struct hub_worker_pool   *pool;
static int64_t                   integ;

/* Enqueue and wait for the job to end; returns its final status. */
static int
run_job(int import, const char *mode)
{
    struct hub_error     err;
    enum hub_job_status  st = HUB_JOB_QUEUED;
    int64_t              job = 0;
    int                  i, attempts = 0;
    char                 last[256];

    if (import)
        REQUIRE(hub_sync_enqueue_import(&conn, integ, "customer", mode, &job, &err) == 0);
    else
        REQUIRE(hub_sync_enqueue_export(&conn, integ, &job, &err) == 0);
    for (i = 0; i < 600; i++) {
        REQUIRE(hub_queue_job_status(&conn, job, &st, &attempts, last, sizeof(last), &err) == 0);
        if (st == HUB_JOB_DONE || st == HUB_JOB_DEAD)
            break;
        usleep(50 * 1000);
    }
    return (int)st;
}

static long long
q(const char *sql)
{
    return testdb_scalar(&db, sql);
}

static void
set_rec(int i, const char *name, int64_t upd)
{
    pthread_mutex_lock(&mu);
    snprintf(recs[i].name, sizeof(recs[i].name), "%s", name);
    recs[i].upd = upd;
    pthread_mutex_unlock(&mu);
}

/* ---- tests ------------------------------------------------------------------------------------- */

static void
test_full_import(void)
{
    CHECK_EQ(HUB_JOB_DONE, run_job(1, "full"));
    CHECK_EQ(95, q("SELECT count(*) FROM companies"));
    CHECK_EQ(95, q("SELECT count(*) FROM integration_mappings WHERE entity = 'customer'"));
    CHECK_EQ(1, q("SELECT count(*) FROM integration_sync_logs WHERE status = 'COMPLETED' "
                  "AND processed = 95 AND created = 95 AND pages = 10"));
    CHECK_EQ(1, q("SELECT count(*) FROM companies WHERE name = 'Customer Seven' "
                  "AND email = 'c7@acme.test' AND origin_integration_id IS NOT NULL"));
    /* The import's own changes are tagged: they will not be exported back. */
    CHECK_EQ(0, q("SELECT count(*) FROM outbox WHERE origin_integration_id IS NULL"));
    CHECK_EQ(1, q("SELECT count(*) FROM integrations WHERE sync_count = 1 AND "
                  "last_success_at IS NOT NULL"));
}

static void
test_incremental_same_second_and_during_run(void)
{
    int64_t wm = q("SELECT extract(epoch FROM watermark)::bigint FROM sync_state WHERE "
                   "entity = 'customer'");
    int     i;

    REQUIRE(wm > 0);
    /* 40 records changed in the very second the last run started (the boundary), others not. */
    for (i = 10; i < 50; i++)
        set_rec(i, "Same second", wm);
    set_rec(60, "Old change", wm - 3600);      /* older than the window: not re-read */
    pthread_mutex_lock(&mu);
    touch_on_page = 2;                         /* record 1 changes while page 2 is served */
    pthread_mutex_unlock(&mu);
    CHECK_EQ(HUB_JOB_DONE, run_job(1, "incremental"));
    CHECK_EQ(40, q("SELECT count(*) FROM companies WHERE name = 'Same second'"));
    CHECK_EQ(0, q("SELECT count(*) FROM companies WHERE name = 'Old change'"));
    CHECK_EQ(95, q("SELECT count(*) FROM companies"));            /* no duplicate */
    pthread_mutex_lock(&mu);
    touch_on_page = 0;
    pthread_mutex_unlock(&mu);
    /* The change made during the run is picked up by the next incremental run. */
    sleep(2);
    CHECK_EQ(HUB_JOB_DONE, run_job(1, "incremental"));
    CHECK_EQ(1, q("SELECT count(*) FROM companies WHERE name = 'Changed during the run'"));
    CHECK_EQ(95, q("SELECT count(*) FROM companies"));
    /* Re-reading the overlap is free: unchanged records are skipped by their hash. */
    CHECK_EQ(1, q("SELECT count(*) FROM (SELECT * FROM integration_sync_logs ORDER BY id DESC "
                  "LIMIT 1) l WHERE skipped >= 40 AND updated <= 2"));
}

static void
test_resume_after_failing_page(void)
{
    int i;

    for (i = 0; i < 95; i++)
        set_rec(i, "Resumed", now_s());
    pthread_mutex_lock(&mu);
    memset(pages_served, 0, sizeof(pages_served));
    fail_page = 4;
    pthread_mutex_unlock(&mu);
    {
        struct hub_error err;
        int64_t          job = 0;

        REQUIRE(hub_sync_enqueue_import(&conn, integ, "customer", "full", &job, &err) == 0);
        for (i = 0; i < 200 && q("SELECT count(*) FROM integration_sync_logs WHERE status = "
                                 "'RUNNING' AND pages = 3") != 1; i++)
            usleep(50 * 1000);
        /* Pages 1-3 are committed; page 4 keeps failing: the run is waiting to resume. */
        CHECK_EQ(30, q("SELECT count(*) FROM companies WHERE name = 'Resumed'"));
        CHECK_EQ(1, q("SELECT count(*) FROM sync_state WHERE run_cursor = '4'"));
        pthread_mutex_lock(&mu);
        fail_page = 0;
        pthread_mutex_unlock(&mu);
        for (i = 0; i < 600 && q("SELECT count(*) FROM integration_sync_logs WHERE status = "
                                 "'RUNNING'") != 0; i++)
            usleep(50 * 1000);
    }
    CHECK_EQ(95, q("SELECT count(*) FROM companies WHERE name = 'Resumed'"));
    CHECK_EQ(95, q("SELECT count(*) FROM companies"));
    pthread_mutex_lock(&mu);
    CHECK_EQ(1, pages_served[1]);     /* committed pages were not read again */
    CHECK_EQ(1, pages_served[3]);
    CHECK_GE(pages_served[4], 2);
    pthread_mutex_unlock(&mu);
    CHECK_EQ(1, q("SELECT count(*) FROM (SELECT * FROM integration_sync_logs ORDER BY id DESC "
                  "LIMIT 1) l WHERE status = 'COMPLETED' AND pages = 10 AND processed = 95"));
}

static void
test_conflicts_both_ways(void)
{
    /* Simplix edits record 3 and record 4 now; the platform edits record 3 earlier than
     * Simplix (Simplix wins) and record 4 later (the platform wins). */
    REQUIRE(testdb_exec(&db, "UPDATE companies SET name = 'Edited in Simplix', "
                        "updated_at = now() + interval '10 seconds' WHERE email IN "
                        "('c3@acme.test', 'c4@acme.test')") == 0);
    set_rec(2, "Edited on the platform (older)", now_s() + 5);
    set_rec(3, "Edited on the platform (newer)", now_s() + 60);
    CHECK_EQ(HUB_JOB_DONE, run_job(1, "incremental"));
    CHECK_EQ(1, q("SELECT count(*) FROM companies WHERE email = 'c3@acme.test' AND "
                  "name = 'Edited in Simplix'"));
    CHECK_EQ(1, q("SELECT count(*) FROM companies WHERE email = 'c4@acme.test' AND "
                  "name = 'Edited on the platform (newer)'"));
    CHECK_EQ(1, q("SELECT count(*) FROM (SELECT * FROM integration_sync_logs ORDER BY id DESC "
                  "LIMIT 1) l WHERE conflicts = 2 AND error_details::text LIKE "
                  "'%Simplix is newer and wins%' AND error_details::text LIKE "
                  "'%the platform is newer and wins%'"));
}

static void
test_export_no_echo_no_ping_pong(void)
{
    int puts_before, posts_before;

    REQUIRE(testdb_exec(&db, "UPDATE integrations SET sync_settings = "
                        "'{\"entities\":[\"customer\"],\"directions\":{\"customer\":"
                        "[\"import\",\"export\"]}}'") == 0);
    hub_sync_forget(sync_engine, 0);
    /* First export pass: everything in the outbox so far came from imports (no echo)... but
     * the conflict test left Simplix's own edit of record 3 to send. */
    pthread_mutex_lock(&mu);
    puts_before = puts_seen;
    posts_before = posts_seen;
    pthread_mutex_unlock(&mu);
    CHECK_EQ(HUB_JOB_DONE, run_job(0, NULL));
    pthread_mutex_lock(&mu);
    CHECK_EQ(posts_before, posts_seen);
    pthread_mutex_unlock(&mu);

    /* A Simplix-side change is pushed, once. */
    REQUIRE(testdb_exec(&db, "UPDATE companies SET name = 'Renamed in Simplix' "
                        "WHERE email = 'c9@acme.test'") == 0);
    pthread_mutex_lock(&mu);
    puts_before = puts_seen;
    pthread_mutex_unlock(&mu);
    CHECK_EQ(HUB_JOB_DONE, run_job(0, NULL));
    pthread_mutex_lock(&mu);
    CHECK_EQ(puts_before + 1, puts_seen);
    CHECK_STR_HAS(last_put_body, "\"name\":\"Renamed in Simplix\"");
    CHECK_STR_EQ("Renamed in Simplix", recs[8].name);
    pthread_mutex_unlock(&mu);
    CHECK_EQ(1, q("SELECT count(*) FROM integration_mappings m JOIN companies c ON "
                  "c.id = m.internal_id WHERE c.email = 'c9@acme.test' AND "
                  "m.last_direction = 'export'"));

    /* A company created in Simplix is created on the platform and mapped. */
    REQUIRE(testdb_exec(&db, "INSERT INTO companies (organization_id, name, email) SELECT id, "
                        "'Made in Simplix', 'new@simplix.test' FROM organizations LIMIT 1") == 0);
    CHECK_EQ(HUB_JOB_DONE, run_job(0, NULL));
    pthread_mutex_lock(&mu);
    CHECK_EQ(posts_before + 1, posts_seen);
    pthread_mutex_unlock(&mu);

    /* The next import brings both back: recognised as ours, nothing applied, no new export. */
    CHECK_EQ(HUB_JOB_DONE, run_job(1, "incremental"));
    CHECK_EQ(1, q("SELECT count(*) FROM companies WHERE email = 'new@simplix.test'"));
    CHECK_EQ(96, q("SELECT count(*) FROM companies"));
    CHECK_EQ(1, q("SELECT count(*) FROM (SELECT * FROM integration_sync_logs WHERE direction = "
                  "'import' ORDER BY id DESC LIMIT 1) l WHERE created = 0 AND updated = 0"));
    pthread_mutex_lock(&mu);
    puts_before = puts_seen;
    posts_before = posts_seen;
    pthread_mutex_unlock(&mu);
    CHECK_EQ(HUB_JOB_DONE, run_job(0, NULL));
    pthread_mutex_lock(&mu);
    CHECK_EQ(puts_before, puts_seen);          /* no ping-pong */
    CHECK_EQ(posts_before, posts_seen);
    pthread_mutex_unlock(&mu);

    /* An edit on Acme in the same second as our push carries the push's updated_at (Acme,
     * like the real platforms, keeps seconds). It is not the echo: the push returned the
     * record as Acme had it, and this one differs. Applied, not skipped. */
    REQUIRE(testdb_exec(&db, "UPDATE companies SET name = 'Renamed again' "
                        "WHERE email = 'c9@acme.test'") == 0);
    CHECK_EQ(HUB_JOB_DONE, run_job(0, NULL));
    pthread_mutex_lock(&mu);
    CHECK_STR_EQ("Renamed again", recs[8].name);
    pthread_mutex_unlock(&mu);
    CHECK_EQ(1, q("SELECT count(*) FROM integration_mappings m JOIN companies c ON "
                  "c.id = m.internal_id WHERE c.email = 'c9@acme.test' AND "
                  "m.last_direction = 'export' AND m.echo_hash IS NOT NULL"));
    set_rec(8, "Edited on Acme in the same second", recs[8].upd);
    CHECK_EQ(HUB_JOB_DONE, run_job(1, "incremental"));
    CHECK_EQ(1, q("SELECT count(*) FROM companies WHERE email = 'c9@acme.test' AND "
                  "name = 'Edited on Acme in the same second'"));
}

static void
set_gone(int from, int to, int gone)
{
    int i;

    pthread_mutex_lock(&mu);
    for (i = from; i < to; i++)
        recs[i].gone = gone;
    pthread_mutex_unlock(&mu);
}

static void
test_sweep(void)
{
    long long mapped = q("SELECT count(*) FROM integration_mappings WHERE entity = 'customer'");

    REQUIRE(mapped >= 95);
    REQUIRE(testdb_exec(&db, "UPDATE integrations SET sync_settings = sync_settings || "
                        "'{\"sweep_page_size\": 10}'") == 0);
    /* Three customers deleted on Acme (which sends nothing); a listing page fails once. */
    set_gone(20, 23, 1);
    pthread_mutex_lock(&mu);
    ids_fail_after = 10;                 /* the page after c10: pages of 10, the second */
    ids_fail_times = 4;                  /* every attempt of the HTTP client: the page fails */
    ids_served = 0;
    pthread_mutex_unlock(&mu);
    CHECK_EQ(HUB_JOB_DONE, run_job(1, "sweep"));
    CHECK_EQ(1, q("SELECT count(*) FROM integration_sync_logs WHERE type = 'sweep'"));
    CHECK_EQ(1, q("SELECT count(*) FROM integration_sync_logs WHERE type = 'sweep' AND "
                  "status = 'COMPLETED' AND deleted = 3 AND error_details::text LIKE "
                  "'%listing page 2 failed%the sweep starts again%'"));
    CHECK_EQ(mapped - 3, q("SELECT processed FROM integration_sync_logs WHERE type = 'sweep'"));
    /* Page 1, page 2 failing 4 times, then every page again from the first. */
    CHECK_EQ(1 + 4 + (mapped - 3 + 9) / 10, ids_served);
    CHECK_EQ(3, q("SELECT count(*) FROM integration_mappings WHERE deleted_at IS NOT NULL AND "
                  "external_id IN ('c21', 'c22', 'c23')"));
    CHECK_EQ(3, q("SELECT count(*) FROM integration_mappings WHERE deleted_at IS NOT NULL"));
    CHECK_EQ(3, q("SELECT count(*) FROM companies c JOIN integration_mappings m ON "
                  "m.internal_id = c.id AND m.entity = 'customer' WHERE "
                  "(c.external_data->>'deleted_on_platform')::boolean"));
    /* Marked once: the next sweep finds nothing new. */
    CHECK_EQ(HUB_JOB_DONE, run_job(1, "sweep"));
    CHECK_EQ(1, q("SELECT count(*) FROM integration_sync_logs WHERE type = 'sweep' AND "
                  "status = 'COMPLETED' AND deleted = 0"));
    /* An empty listing against mapped records: refused, nothing marked. */
    set_gone(0, MAX_RECS, 1);
    CHECK_EQ(HUB_JOB_DEAD, run_job(1, "sweep"));
    CHECK_EQ(1, q("SELECT count(*) FROM integration_sync_logs WHERE type = 'sweep' AND "
                  "status = 'FAILED' AND processed = 0 AND error_details::text LIKE "
                  "'%listed 0 customers%nothing was marked deleted%'"));
    /* Half of them gone: over the default limit of 50 %; at 100 % accepted. */
    set_gone(0, MAX_RECS, 0);
    set_gone(0, 60, 1);
    CHECK_EQ(HUB_JOB_DEAD, run_job(1, "sweep"));
    CHECK_EQ(3, q("SELECT count(*) FROM integration_mappings WHERE deleted_at IS NOT NULL"));
    REQUIRE(testdb_exec(&db, "UPDATE integrations SET sync_settings = sync_settings || "
                        "'{\"sweep_max_delete_pct\": 100}'") == 0);
    CHECK_EQ(HUB_JOB_DONE, run_job(1, "sweep"));
    CHECK_EQ(60, q("SELECT count(*) FROM integration_mappings WHERE deleted_at IS NOT NULL"));
    /* Back on Acme: the next import clears the mark. */
    set_gone(0, 60, 0);
    set_rec(5, "Back again", now_s());
    CHECK_EQ(HUB_JOB_DONE, run_job(1, "incremental"));
    CHECK_EQ(0, q("SELECT count(*) FROM integration_mappings WHERE deleted_at IS NOT NULL AND "
                  "external_id = 'c6'"));
    REQUIRE(testdb_exec(&db, "UPDATE integrations SET sync_settings = sync_settings - "
                        "'sweep_max_delete_pct'") == 0);
}

/* ---- two transactions, one new record -------------------------------------------------------- */

struct race_arg {
    const char      *json;
    const char      *entity;       /* NULL: customer */
    int              hold_ms;      /* keep the transaction open this long after the apply */
    int              rc;
    int64_t          created, updated, failed;
    struct hub_error err;
};

static void *
race_main(void *arg)
{
    struct race_arg       *a = arg;
    struct hub_db          d;
    struct hub_sync_page   pg;
    struct hub_sync_counts c;
    struct hub_buf         det;
    int64_t                org = q("SELECT min(id) FROM organizations");

    memset(&d, 0, sizeof(d));
    memset(&c, 0, sizeof(c));
    hub_sync_page_init(&pg);
    hub_buf_init(&det, 1 << 16);
    a->rc = hub_db_connect(&d, db.conninfo, &a->err);
    if (a->rc == 0)
        a->rc = hub_db_begin(&d, &a->err);
    if (a->rc == 0)
        a->rc = hub_sync_page_add(&pg, a->json, strlen(a->json), &a->err);
    if (a->rc == 0)
        a->rc = hub_sync_apply_page(&d, integ, org, a->entity != NULL ? a->entity : "customer",
                                    &pg, &c, &det, &a->err);
    usleep((useconds_t)a->hold_ms * 1000);
    if (a->rc == 0)
        a->rc = hub_db_commit(&d, &a->err);
    else
        hub_db_rollback(&d);
    a->created = c.created;
    a->updated = c.updated;
    a->failed = c.failed;
    hub_sync_page_free(&pg);
    hub_buf_free(&det);
    hub_db_close(&d);
    return NULL;
}

/* A product whose currency is not an ISO code ("eur"): the product and its variant both get
 * "XXX" (no currency), as the SQL reads the product's; the variant used to keep "eur", which
 * the table's check refused, and the record failed. */
static void
test_product_currency_not_iso(void)
{
    struct race_arg a;

    memset(&a, 0, sizeof(a));
    a.entity = "product";
    a.json = "{\"external_id\":\"cur-1\",\"updated_at\":\"2026-01-01T00:00:00Z\","
             "\"title\":\"Lowercase\",\"currency\":\"eur\",\"variants\":[{\"external_id\":"
             "\"cur-1-v\",\"sku\":\"CUR-1\",\"price_minor\":100}]}";
    race_main(&a);
    CHECK_EQ(0, a.rc);
    CHECK_EQ(1, a.created);
    CHECK_EQ(0, a.failed);
    CHECK_EQ(2, q("SELECT count(*) FROM products WHERE (name = 'Lowercase' OR sku = 'CUR-1') "
                  "AND currency = 'XXX'"));
}

static void
test_same_new_record_at_once(void)
{
    struct race_arg a, b;
    pthread_t       ta, tb;

    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    a.json = "{\"external_id\":\"race-1\",\"updated_at\":\"2026-01-01T00:00:00Z\","
             "\"email\":\"race@acme.test\",\"company_name\":\"Race one\"}";
    a.hold_ms = 600;
    b.json = "{\"external_id\":\"race-1\",\"updated_at\":\"2026-01-01T00:00:01Z\","
             "\"email\":\"race@acme.test\",\"company_name\":\"Race two\"}";
    REQUIRE(pthread_create(&ta, NULL, race_main, &a) == 0);
    usleep(200 * 1000);                       /* a has applied, and holds its transaction */
    REQUIRE(pthread_create(&tb, NULL, race_main, &b) == 0);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    CHECK_EQ(0, a.rc);
    CHECK_EQ(0, b.rc);
    CHECK_EQ(1, a.created);
    CHECK_EQ(0, b.created);                   /* it saw the first one's mapping... */
    CHECK_EQ(1, b.updated);                   /* ...and updated that company */
    CHECK_EQ(1, q("SELECT count(*) FROM companies WHERE email = 'race@acme.test'"));
    CHECK_EQ(1, q("SELECT count(*) FROM companies c JOIN integration_mappings m ON "
                  "m.internal_id = c.id AND m.entity = 'customer' AND m.external_id = 'race-1' "
                  "WHERE c.name = 'Race two'"));
}

/*
 * A record Simplix creates on the platform comes back by webhook (or an import) before the
 * export has recorded the id the push returned: the platform's id is already mapped to the
 * row that webhook created, a copy. The export moves the mapping to the row it pushed, the
 * copy stays (for review), and the export succeeds: no failed run, no second creation.
 */
static void
test_export_raced_by_its_echo(void)
{
    char      sql[512];
    int       next, posts_before;
    long long copy;

    pthread_mutex_lock(&mu);
    next = n_recs + 1;                    /* the id Acme gives the next created customer */
    posts_before = posts_seen;
    pthread_mutex_unlock(&mu);
    REQUIRE(testdb_exec(&db, "INSERT INTO companies (organization_id, name, email) SELECT id, "
                        "'Copy from the webhook', 'echo@simplix.test' FROM organizations "
                        "LIMIT 1") == 0);
    copy = q("SELECT id FROM companies WHERE name = 'Copy from the webhook'");
    snprintf(sql, sizeof(sql), "INSERT INTO integration_mappings (integration_id, entity, "
             "internal_id, external_id, last_direction) VALUES (%lld, 'customer', %lld, 'c%d', "
             "'import')", (long long)integ, copy, next);
    REQUIRE(testdb_exec(&db, sql) == 0);
    /* The copy's own insert is in the outbox: mark it sent, as an import's row would be. */
    REQUIRE(testdb_exec(&db, "DELETE FROM outbox") == 0);
    REQUIRE(testdb_exec(&db, "INSERT INTO companies (organization_id, name, email) SELECT id, "
                        "'Original in Simplix', 'echo@simplix.test' FROM organizations "
                        "LIMIT 1") == 0);
    CHECK_EQ(HUB_JOB_DONE, run_job(0, NULL));
    pthread_mutex_lock(&mu);
    CHECK_EQ(posts_before + 1, posts_seen);    /* created once */
    pthread_mutex_unlock(&mu);
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM integration_mappings m JOIN companies c ON "
             "c.id = m.internal_id WHERE m.external_id = 'c%d' AND c.name = "
             "'Original in Simplix'", next);
    CHECK_EQ(1, q(sql));
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM integration_mappings WHERE external_id = "
             "'c%d'", next);
    CHECK_EQ(1, q(sql));
    CHECK_EQ(1, q("SELECT count(*) FROM companies WHERE name = 'Copy from the webhook'"));
    CHECK_EQ(1, q("SELECT count(*) FROM (SELECT * FROM integration_sync_logs WHERE direction = "
                  "'export' ORDER BY id DESC LIMIT 1) l WHERE status = 'COMPLETED' AND "
                  "failed = 0"));
    /* The run's details name the copy, for the administrator. */
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM (SELECT * FROM integration_sync_logs WHERE "
             "direction = 'export' ORDER BY id DESC LIMIT 1) l, jsonb_array_elements("
             "l.error_details) d WHERE (d->>'copy_internal_id')::bigint = %lld AND "
             "d->>'external_id' = 'c%d' AND d->>'warning' LIKE '%%copy to review%%'", copy, next);
    CHECK_EQ(1, q(sql));
    /* Nothing left to send: the next export pushes nothing. */
    CHECK_EQ(HUB_JOB_DONE, run_job(0, NULL));
    pthread_mutex_lock(&mu);
    CHECK_EQ(posts_before + 1, posts_seen);
    pthread_mutex_unlock(&mu);
}

int
main(void)
{
    struct hub_error         err;
    struct hub_worker_config wc;
    struct hub_sync_opts     so;
    struct evhttp_bound_socket *sock;
    struct sockaddr_in       sa;
    socklen_t                sl = sizeof(sa);
    uint8_t                  key[HUB_CRYPTO_KEY_LEN];
    size_t                   loaded = 0, refused = 0;
    pthread_t                t;
    int                      applied = 0, i;
    char                     sql[512];

    for (i = 0; i < 95; i++) {
        recs[i].id = i + 1;
        snprintf(recs[i].email, sizeof(recs[i].email), "c%d@acme.test", i + 1);
        snprintf(recs[i].name, sizeof(recs[i].name), "Customer %s", i == 6 ? "Seven" : "X");
        recs[i].upd = now_s() - 86400 + (i / 10);       /* groups share a second */
    }
    n_recs = 95;
    evthread_use_pthreads();
    acme_base = event_base_new();
    acme_http = evhttp_new(acme_base);
    evhttp_set_gencb(acme_http, handle, NULL);
    sock = evhttp_bind_socket_with_handle(acme_http, "127.0.0.1", 0);
    REQUIRE(sock != NULL);
    getsockname(evhttp_bound_socket_get_fd(sock), (struct sockaddr *)&sa, &sl);
    acme_port = ntohs(sa.sin_port);
    pthread_create(&t, NULL, acme_main, NULL);

    testdb_create(&db, "sync_engine");
    REQUIRE(hub_db_connect(&conn, db.conninfo, &err) == 0);
    REQUIRE(hub_migrate(&conn, hub_migrations_dir(), &applied, &err) == 0);
    REQUIRE(testdb_exec(&db, "INSERT INTO organizations (name) VALUES ('Org')") == 0);
    snprintf(sql, sizeof(sql), "INSERT INTO integrations (organization_id, platform, name, "
             "status, config, sync_settings) SELECT id, 'template', 'Acme', 'ACTIVE', "
             "'{\"base_url\":\"http://127.0.0.1:%d\"}', '{\"entities\":[\"customer\"],"
             "\"page_size\":10}' FROM organizations", acme_port);
    REQUIRE(testdb_exec(&db, sql) == 0);
    integ = q("SELECT max(id) FROM integrations");
    memset(key, 9, sizeof(key));
    REQUIRE(hub_crypto_keyring_add(&keys, "k1", key, 1, &err) == 0);
    REQUIRE(hub_secret_store(&conn, &keys, integ, "api_key", API_KEY, strlen(API_KEY), &err) == 0);
    REQUIRE(hub_http_global_init(&err) == 0);
    hub_plugins_init(&plugins);
    REQUIRE(hub_plugins_load_dir(&plugins, SX_PLUGIN_DIR, &loaded, &refused, &err) == 0);

    memset(&so, 0, sizeof(so));
    so.conninfo = db.conninfo;
    so.plugins = &plugins;
    so.keys = &keys;
    REQUIRE(hub_sync_new(&so, &sync_engine, &err) == 0);
    memset(&wc, 0, sizeof(wc));
    wc.conninfo = db.conninfo;
    wc.threads = 2;
    wc.poll_ms = 200;
    wc.backoff_base_ms = 100;
    wc.backoff_cap_ms = 300;
    REQUIRE(hub_worker_pool_create(&wc, &pool, &err) == 0);
    REQUIRE(hub_sync_register(sync_engine, pool, &err) == 0);
    REQUIRE(hub_worker_pool_start(pool, &err) == 0);

    RUN_TEST(test_full_import);
    RUN_TEST(test_incremental_same_second_and_during_run);
    RUN_TEST(test_resume_after_failing_page);
    RUN_TEST(test_conflicts_both_ways);
    RUN_TEST(test_export_no_echo_no_ping_pong);
    RUN_TEST(test_sweep);
    RUN_TEST(test_same_new_record_at_once);
    RUN_TEST(test_product_currency_not_iso);
    RUN_TEST(test_export_raced_by_its_echo);

    hub_worker_pool_free(pool);
    hub_sync_free(sync_engine);
    hub_plugins_destroy(&plugins);
    hub_http_global_cleanup();
    hub_crypto_keyring_wipe(&keys);
    hub_log_redact_clear();
    hub_db_close(&conn);
    event_base_loopbreak(acme_base);
    pthread_join(t, NULL);
    evhttp_free(acme_http);
    event_base_free(acme_base);
    testdb_drop(&db);
    return check_report();
}
