#include "queue/queue.h"

#include "core/buf.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define STATUS_PENDING "('queued', 'running', 'failed')"

/* How often enqueue retries when its dedupe key's pending job finished in between. */
#define DEDUPE_TRIES 3

static const char *const status_names[] = {
    [HUB_JOB_QUEUED]  = "queued",
    [HUB_JOB_RUNNING] = "running",
    [HUB_JOB_DONE]    = "done",
    [HUB_JOB_FAILED]  = "failed",
    [HUB_JOB_DEAD]    = "dead",
};

const char *
hub_job_status_name(enum hub_job_status st)
{
    if ((unsigned)st >= sizeof(status_names) / sizeof(status_names[0]))
        return "?";
    return status_names[st];
}

int
hub_job_status_parse(const char *s)
{
    size_t i;

    for (i = 0; i < sizeof(status_names) / sizeof(status_names[0]); i++) {
        if (strcmp(s, status_names[i]) == 0)
            return (int)i;
    }
    return -1;
}

int
hub_queue_name_ok(const char *name)
{
    size_t i;

    if (name == NULL || name[0] == '\0')
        return 0;
    for (i = 0; name[i] != '\0'; i++) {
        char c = name[i];

        if (i >= HUB_QUEUE_NAME_MAX - 1)
            return 0;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == ':' || c == '-'))
            return 0;
    }
    return 1;
}

int
hub_queue_error_is_permanent(int code)
{
    switch (code) {
    case HUB_E_INVALID:
    case HUB_E_REJECTED:
    case HUB_E_UNSUPPORTED:
    case HUB_E_SIGNATURE:
    case HUB_E_PLUGIN_ABI:
    case HUB_E_CONFIG:
        return 1;
    default:
        return 0;
    }
}

/* xorshift64*, one state per thread, seeded from the clock and the state's address. */
static uint64_t
rand64(void)
{
    static _Thread_local uint64_t state;
    uint64_t                      x;

    if (state == 0) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        state = ((uint64_t)ts.tv_sec * 1000000007u) ^ (uint64_t)ts.tv_nsec ^
                ((uint64_t)(uintptr_t)&state << 16) ^ (uint64_t)getpid();
        if (state == 0)
            state = 0x9e3779b97f4a7c15u;
    }
    x = state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    state = x;
    return x * 0x2545f4914f6cdd1du;
}

int
hub_queue_backoff_ms(int attempts, int base_ms, int cap_ms)
{
    int64_t ceiling;
    int     shift;

    if (base_ms <= 0 || cap_ms <= 0)
        return 0;
    shift = attempts > 1 ? attempts - 1 : 0;
    if (shift > 30)
        shift = 30;
    ceiling = (int64_t)base_ms << shift;
    if (ceiling > cap_ms)
        ceiling = cap_ms;
    /* Full jitter (uniform in [0, ceiling]) spreads the retries of jobs that failed together,
     * e.g. when a platform was down for everyone. */
    return (int)(rand64() % (uint64_t)(ceiling + 1));
}

int
hub_queue_worker_id(char *out, size_t cap)
{
    static atomic_uint next;
    char               host[64];
    unsigned           n;
    int                len;

    if (gethostname(host, sizeof(host)) != 0)
        snprintf(host, sizeof(host), "unknown");
    host[sizeof(host) - 1] = '\0';
    n = atomic_fetch_add(&next, 1) + 1;
    len = snprintf(out, cap, "%s:%ld:%u", host, (long)getpid(), n);
    if (len < 0 || (size_t)len >= cap)
        return HUB_E_LIMIT;
    return 0;
}

static int
check_worker(const struct hub_job *job, struct hub_error *err)
{
    if (job == NULL || job->id <= 0 || job->locked_by[0] == '\0')
        return hub_error_set(err, HUB_E_INVALID, "queue: job was not claimed");
    return 0;
}

/* Copy the error text, cut at HUB_QUEUE_ERROR_MAX bytes without splitting a UTF-8
 * character (PostgreSQL rejects invalid UTF-8). */
static void
error_text(const char *error, char *out, size_t cap)
{
    size_t len = error != NULL ? strlen(error) : 0;

    if (len >= cap) {
        len = cap - 1;
        while (len > 0 && ((unsigned char)error[len] & 0xc0) == 0x80)
            len--;
    }
    if (len > 0)
        memcpy(out, error, len);
    out[len] = '\0';
}

static const char enqueue_sql[] =
    "WITH ins AS ("
    " INSERT INTO jobs (queue, kind, payload, dedupe_key, priority, run_at, max_attempts,"
    "                   organization_id, integration_id)"
    " VALUES ($1, $2, coalesce($3::jsonb, '{}'::jsonb), $4, $5::int,"
    "         now() + $6::int * interval '1 millisecond', $7::int, $8::bigint, $9::bigint)"
    " ON CONFLICT (dedupe_key) WHERE dedupe_key IS NOT NULL AND status IN " STATUS_PENDING
    " DO NOTHING"
    " RETURNING id, run_at)"
    /* Notify only for jobs runnable now; delayed ones are found by the periodic poll. */
    "SELECT id, CASE WHEN run_at <= now() THEN pg_notify('" HUB_QUEUE_CHANNEL "', $1) END"
    " FROM ins";

static const char pending_sql[] =
    "SELECT id FROM jobs WHERE dedupe_key = $1 AND status IN " STATUS_PENDING;

int
hub_queue_enqueue(struct hub_db *db, const struct hub_job_spec *spec, int64_t *out_id,
                  int *out_deduped, struct hub_error *err)
{
    const char *queue = spec->queue != NULL ? spec->queue : HUB_QUEUE_DEFAULT;
    const char *params[9];
    char        prio[16], delay[16], maxa[16], org[24], integ[24];
    PGresult   *res;
    int         rc, tries;

    if (out_id != NULL)
        *out_id = 0;
    if (out_deduped != NULL)
        *out_deduped = 0;
    if (!hub_queue_name_ok(queue) || !hub_queue_name_ok(spec->kind))
        return hub_error_set(err, HUB_E_INVALID, "queue: bad queue or kind name");
    if (spec->delay_ms < 0 || spec->max_attempts < 0)
        return hub_error_set(err, HUB_E_INVALID, "queue: negative delay or max_attempts");
    if (spec->dedupe_key != NULL && (spec->dedupe_key[0] == '\0' || strlen(spec->dedupe_key) > 512))
        return hub_error_set(err, HUB_E_INVALID, "queue: dedupe key empty or over 512 bytes");

    snprintf(prio, sizeof(prio), "%d", spec->priority);
    snprintf(delay, sizeof(delay), "%d", spec->delay_ms);
    snprintf(maxa, sizeof(maxa), "%d", spec->max_attempts > 0 ? spec->max_attempts : 5);
    snprintf(org, sizeof(org), "%" PRId64, spec->organization_id);
    snprintf(integ, sizeof(integ), "%" PRId64, spec->integration_id);
    params[0] = queue;
    params[1] = spec->kind;
    params[2] = spec->payload;
    params[3] = spec->dedupe_key;
    params[4] = prio;
    params[5] = delay;
    params[6] = maxa;
    params[7] = spec->organization_id != 0 ? org : NULL;
    params[8] = spec->integration_id != 0 ? integ : NULL;

    for (tries = 0; tries < DEDUPE_TRIES; tries++) {
        rc = hub_db_query_prepared(db, enqueue_sql, 9, params, &res, err);
        if (rc < 0) {
            /* 22P02: invalid input syntax (the payload is not JSON) */
            if (strstr(err != NULL ? err->msg : "", "22P02") != NULL)
                rc = hub_error_set(err, HUB_E_INVALID, "queue: payload is not valid JSON");
            return rc;
        }
        if (PQntuples(res) == 1) {
            if (out_id != NULL)
                *out_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
            PQclear(res);
            return 0;
        }
        PQclear(res);
        /* A pending job holds the key. Find it; if it finished meanwhile, insert again. */
        rc = hub_db_query(db, pending_sql, 1, &params[3], &res, err);
        if (rc < 0)
            return rc;
        if (PQntuples(res) == 1) {
            if (out_id != NULL)
                *out_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
            if (out_deduped != NULL)
                *out_deduped = 1;
            PQclear(res);
            return 0;
        }
        PQclear(res);
    }
    return hub_error_set(err, HUB_E_CONFLICT, "queue: dedupe key %s keeps changing state",
                         spec->dedupe_key);
}

static const char enqueue_many_sql[] =
    "WITH ins AS ("
    " INSERT INTO jobs (queue, kind, payload, dedupe_key, priority, run_at, max_attempts,"
    "                   organization_id, integration_id)"
    " SELECT u.q, u.k, coalesce(u.p::jsonb, '{}'::jsonb), u.d, u.pr,"
    "        now() + u.dl * interval '1 millisecond', u.ma, u.o, u.i"
    "   FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[], $6::int[],"
    "               $7::int[], $8::bigint[], $9::bigint[]) AS u(q, k, p, d, pr, dl, ma, o, i)"
    " ON CONFLICT (dedupe_key) WHERE dedupe_key IS NOT NULL AND status IN " STATUS_PENDING
    " DO NOTHING"
    " RETURNING queue, run_at),"
    " notified AS ("
    " SELECT pg_notify('" HUB_QUEUE_CHANNEL "', q)"
    "   FROM (SELECT DISTINCT queue AS q FROM ins WHERE run_at <= now()) d)"
    "SELECT (SELECT count(*) FROM ins), (SELECT count(*) FROM notified)";

/* Append `s` (NULL = SQL NULL) as an element of a PostgreSQL array literal. */
static int
array_elem(struct hub_buf *b, const char *s, int first)
{
    size_t i, start;
    int    rc;

    rc = hub_buf_puts(b, first ? "" : ",");
    if (rc == 0 && s == NULL)
        return hub_buf_puts(b, "NULL");
    if (rc == 0)
        rc = hub_buf_puts(b, "\"");
    /* Inside double quotes only '"' and '\' need a backslash. */
    for (i = 0, start = 0; rc == 0 && s[i] != '\0'; i++) {
        if (s[i] != '"' && s[i] != '\\')
            continue;
        rc = hub_buf_append(b, s + start, i - start);
        if (rc == 0)
            rc = hub_buf_append(b, "\\", 1);
        start = i;
    }
    if (rc == 0)
        rc = hub_buf_append(b, s + start, i - start);
    if (rc == 0)
        rc = hub_buf_puts(b, "\"");
    return rc;
}

#define MANY_COLS  9
#define MANY_CHUNK 1000
#define MANY_CAP   (256u * 1024 * 1024)

static int
enqueue_chunk(struct hub_db *db, const struct hub_job_spec *specs, size_t n, size_t *inserted,
              struct hub_error *err)
{
    struct hub_buf cols[MANY_COLS];
    const char    *params[MANY_COLS];
    PGresult      *res;
    size_t         i;
    int            c, rc = 0;

    for (c = 0; c < MANY_COLS; c++) {
        hub_buf_init(&cols[c], MANY_CAP);
        rc = hub_buf_puts(&cols[c], "{");
        if (rc < 0)
            goto free_cols;
    }
    for (i = 0; i < n; i++) {
        const struct hub_job_spec *sp = &specs[i];
        const char                *queue = sp->queue != NULL ? sp->queue : HUB_QUEUE_DEFAULT;
        char                       num[4][24];

        if (!hub_queue_name_ok(queue) || !hub_queue_name_ok(sp->kind) || sp->delay_ms < 0 ||
            sp->max_attempts < 0 || (sp->dedupe_key != NULL &&
                                     (sp->dedupe_key[0] == '\0' || strlen(sp->dedupe_key) > 512))) {
            rc = hub_error_set(err, HUB_E_INVALID, "queue: bad job spec #%zu", i);
            goto free_cols;
        }
        snprintf(num[0], sizeof(num[0]), "%d", sp->priority);
        snprintf(num[1], sizeof(num[1]), "%d", sp->delay_ms);
        snprintf(num[2], sizeof(num[2]), "%d", sp->max_attempts > 0 ? sp->max_attempts : 5);
        rc = array_elem(&cols[0], queue, i == 0);
        rc = rc < 0 ? rc : array_elem(&cols[1], sp->kind, i == 0);
        rc = rc < 0 ? rc : array_elem(&cols[2], sp->payload, i == 0);
        rc = rc < 0 ? rc : array_elem(&cols[3], sp->dedupe_key, i == 0);
        rc = rc < 0 ? rc : array_elem(&cols[4], num[0], i == 0);
        rc = rc < 0 ? rc : array_elem(&cols[5], num[1], i == 0);
        rc = rc < 0 ? rc : array_elem(&cols[6], num[2], i == 0);
        snprintf(num[3], sizeof(num[3]), "%" PRId64, sp->organization_id);
        rc = rc < 0 ? rc : array_elem(&cols[7], sp->organization_id ? num[3] : NULL, i == 0);
        snprintf(num[3], sizeof(num[3]), "%" PRId64, sp->integration_id);
        rc = rc < 0 ? rc : array_elem(&cols[8], sp->integration_id ? num[3] : NULL, i == 0);
        if (rc < 0) {
            rc = hub_error_set(err, rc, "queue: jobs too large to enqueue at once");
            goto free_cols;
        }
    }
    for (c = 0; c < MANY_COLS; c++) {
        rc = hub_buf_puts(&cols[c], "}");
        if (rc < 0) {
            rc = hub_error_set(err, rc, "queue: jobs too large to enqueue at once");
            goto free_cols;
        }
        params[c] = cols[c].data;
    }
    rc = hub_db_query(db, enqueue_many_sql, MANY_COLS, params, &res, err);
    if (rc < 0) {
        if (strstr(err != NULL ? err->msg : "", "22P02") != NULL)
            rc = hub_error_set(err, HUB_E_INVALID, "queue: a payload is not valid JSON");
        goto free_cols;
    }
    *inserted += (size_t)strtoull(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);

free_cols:
    for (c = 0; c < MANY_COLS; c++)
        hub_buf_free(&cols[c]);
    return rc;
}

int
hub_queue_enqueue_many(struct hub_db *db, const struct hub_job_spec *specs, size_t n,
                       size_t *out_inserted, struct hub_error *err)
{
    size_t off, inserted = 0;
    int    rc = 0;

    for (off = 0; off < n && rc == 0; off += MANY_CHUNK)
        rc = enqueue_chunk(db, specs + off, n - off < MANY_CHUNK ? n - off : MANY_CHUNK,
                           &inserted, err);
    if (out_inserted != NULL)
        *out_inserted = inserted;
    return rc;
}

static const char claim_sql[] =
    "UPDATE jobs j SET status = 'running', attempts = j.attempts + 1, locked_by = $3,"
    "       locked_until = now() + $4::int * interval '1 millisecond', started_at = now(),"
    "       finished_at = NULL"
    " WHERE j.id IN ("
    "   SELECT id FROM jobs"
    "    WHERE status IN ('queued', 'failed') AND queue = $1 AND run_at <= now()"
    "      AND ($2::text[] IS NULL OR kind = ANY ($2::text[]))"
    "    ORDER BY priority DESC, run_at, id"
    "    LIMIT $5"
    "    FOR UPDATE SKIP LOCKED)"
    " RETURNING j.id, j.queue, j.kind, j.payload::text, j.dedupe_key, j.organization_id,"
    "           j.integration_id, j.priority, j.attempts, j.max_attempts";

/* "{"a","b"}": names are checked by hub_queue_name_ok(), so need no escaping. */
static int
kinds_array(const char *const *kinds, size_t n, struct hub_arena *arena, char **out,
            struct hub_error *err)
{
    size_t i, len = 2, off = 0;
    char  *s;

    if (n > HUB_QUEUE_KINDS_MAX)
        return hub_error_set(err, HUB_E_LIMIT, "queue: more than %d kinds", HUB_QUEUE_KINDS_MAX);
    for (i = 0; i < n; i++) {
        if (!hub_queue_name_ok(kinds[i]))
            return hub_error_set(err, HUB_E_INVALID, "queue: bad kind name");
        len += strlen(kinds[i]) + 3;
    }
    s = hub_arena_alloc(arena, len + 1);
    if (s == NULL)
        return hub_error_set(err, HUB_E_NOMEM, "queue: out of memory");
    s[off++] = '{';
    for (i = 0; i < n; i++) {
        size_t k = strlen(kinds[i]);

        if (i > 0)
            s[off++] = ',';
        s[off++] = '"';
        memcpy(s + off, kinds[i], k);
        off += k;
        s[off++] = '"';
    }
    s[off++] = '}';
    s[off] = '\0';
    *out = s;
    return 0;
}

static const char *
arena_value(struct hub_arena *arena, const PGresult *res, int row, int col)
{
    if (PQgetisnull(res, row, col))
        return NULL;
    return hub_arena_strndup(arena, PQgetvalue(res, row, col),
                             (size_t)PQgetlength(res, row, col));
}

int
hub_queue_claim(struct hub_db *db, const struct hub_claim_req *req, struct hub_arena *arena,
                struct hub_job *out, size_t cap, size_t *out_n, struct hub_error *err)
{
    const char *queue = req->queue != NULL ? req->queue : HUB_QUEUE_DEFAULT;
    const char *params[5];
    char        lease[16], limit[16];
    char       *kinds = NULL;
    PGresult   *res;
    int         rc, i, n;

    *out_n = 0;
    if (!hub_queue_name_ok(queue))
        return hub_error_set(err, HUB_E_INVALID, "queue: bad queue name");
    if (req->worker_id == NULL || req->worker_id[0] == '\0' ||
        strlen(req->worker_id) >= HUB_QUEUE_WORKER_ID_MAX)
        return hub_error_set(err, HUB_E_INVALID, "queue: bad worker id");
    if (req->lease_ms <= 0 || cap == 0)
        return hub_error_set(err, HUB_E_INVALID, "queue: lease and batch must be positive");
    if (cap > HUB_QUEUE_CLAIM_MAX)
        cap = HUB_QUEUE_CLAIM_MAX;
    if (req->kinds != NULL && req->nkinds > 0) {
        rc = kinds_array(req->kinds, req->nkinds, arena, &kinds, err);
        if (rc < 0)
            return rc;
    }
    snprintf(lease, sizeof(lease), "%d", req->lease_ms);
    snprintf(limit, sizeof(limit), "%zu", cap);
    params[0] = queue;
    params[1] = kinds;
    params[2] = req->worker_id;
    params[3] = lease;
    params[4] = limit;
    rc = hub_db_query(db, claim_sql, 5, params, &res, err);
    if (rc < 0)
        return rc;
    n = PQntuples(res);
    for (i = 0; i < n && (size_t)i < cap; i++) {
        struct hub_job *job = &out[i];

        memset(job, 0, sizeof(*job));
        job->id = strtoll(PQgetvalue(res, i, 0), NULL, 10);
        job->queue = arena_value(arena, res, i, 1);
        job->kind = arena_value(arena, res, i, 2);
        job->payload = arena_value(arena, res, i, 3);
        job->dedupe_key = arena_value(arena, res, i, 4);
        if (!PQgetisnull(res, i, 5))
            job->organization_id = strtoll(PQgetvalue(res, i, 5), NULL, 10);
        if (!PQgetisnull(res, i, 6))
            job->integration_id = strtoll(PQgetvalue(res, i, 6), NULL, 10);
        job->priority = (int)strtol(PQgetvalue(res, i, 7), NULL, 10);
        job->attempts = (int)strtol(PQgetvalue(res, i, 8), NULL, 10);
        job->max_attempts = (int)strtol(PQgetvalue(res, i, 9), NULL, 10);
        snprintf(job->locked_by, sizeof(job->locked_by), "%s", req->worker_id);
        if (job->queue == NULL || job->kind == NULL || job->payload == NULL ||
            (job->dedupe_key == NULL && !PQgetisnull(res, i, 4))) {
            PQclear(res);
            /* The rows stay leased to us; the reaper returns them when the lease ends. */
            return hub_error_set(err, HUB_E_NOMEM, "queue: out of memory for claimed jobs");
        }
    }
    *out_n = (size_t)i;
    PQclear(res);
    return 0;
}

/* Run an UPDATE keyed on (id, locked_by) and return HUB_E_STALE when it matched no row. */
static int
update_owned(struct hub_db *db, const char *sql, const struct hub_job *job, int nextra,
             const char *const *extra, PGresult **out, const char *what, struct hub_error *err)
{
    const char *params[6];
    char        id[24];
    PGresult   *res;
    int         rc, i;

    rc = check_worker(job, err);
    if (rc < 0)
        return rc;
    snprintf(id, sizeof(id), "%" PRId64, job->id);
    params[0] = id;
    params[1] = job->locked_by;
    for (i = 0; i < nextra && i < 4; i++)
        params[2 + i] = extra[i];
    rc = hub_db_query(db, sql, 2 + nextra, params, &res, err);
    if (rc < 0)
        return rc;
    if (strtol(PQcmdTuples(res), NULL, 10) != 1) {
        PQclear(res);
        return hub_error_set(err, HUB_E_STALE, "queue: %s job %" PRId64 ": no longer leased to %s",
                             what, job->id, job->locked_by);
    }
    if (out != NULL)
        *out = res;
    else
        PQclear(res);
    return 0;
}

static const char complete_sql[] =
    "UPDATE jobs SET status = 'done', finished_at = now(), locked_until = NULL,"
    "       result = $3::jsonb"
    " WHERE id = $1 AND status = 'running' AND locked_by = $2";

int
hub_queue_complete(struct hub_db *db, const struct hub_job *job, const char *result_json,
                   struct hub_error *err)
{
    const char *extra[1] = { result_json };

    return update_owned(db, complete_sql, job, 1, extra, NULL, "complete", err);
}

static const char fail_sql[] =
    "UPDATE jobs SET"
    "       status = CASE WHEN $4::bool OR attempts >= max_attempts THEN 'dead' ELSE 'failed' END,"
    "       run_at = CASE WHEN $4::bool OR attempts >= max_attempts THEN run_at"
    "                     ELSE now() + $5::int * interval '1 millisecond' END,"
    "       finished_at = CASE WHEN $4::bool OR attempts >= max_attempts THEN now() END,"
    "       last_error = $3, locked_until = NULL"
    " WHERE id = $1 AND status = 'running' AND locked_by = $2"
    " RETURNING status";

int
hub_queue_fail(struct hub_db *db, const struct hub_job *job, const char *error,
               int retry_delay_ms, int permanent, enum hub_job_status *out_status,
               struct hub_error *err)
{
    char        text[HUB_QUEUE_ERROR_MAX + 1];
    char        delay[16];
    const char *extra[3];
    PGresult   *res;
    int         rc;

    error_text(error != NULL && error[0] != '\0' ? error : "failed (no message)", text,
               sizeof(text));
    snprintf(delay, sizeof(delay), "%d", retry_delay_ms > 0 ? retry_delay_ms : 0);
    extra[0] = text;
    extra[1] = permanent ? "true" : "false";
    extra[2] = delay;
    rc = update_owned(db, fail_sql, job, 3, extra, &res, "fail", err);
    if (rc < 0)
        return rc;
    if (out_status != NULL) {
        int st = hub_job_status_parse(PQgetvalue(res, 0, 0));

        *out_status = st >= 0 ? (enum hub_job_status)st : HUB_JOB_FAILED;
    }
    PQclear(res);
    return 0;
}

/* Releasing gives the attempt back: the job did not fail, we chose to stop it. Like a reaped
 * job it keeps its run_at (already due), and so its place in line. */
static const char release_sql[] =
    "UPDATE jobs SET status = 'queued', attempts = greatest(attempts - 1, 0),"
    "       locked_until = NULL"
    " WHERE id = $1 AND status = 'running' AND locked_by = $2";

int
hub_queue_release(struct hub_db *db, const struct hub_job *job, struct hub_error *err)
{
    return update_owned(db, release_sql, job, 0, NULL, NULL, "release", err);
}

static const char extend_sql[] =
    "UPDATE jobs SET locked_until = now() + $3::int * interval '1 millisecond'"
    " WHERE id = $1 AND status = 'running' AND locked_by = $2";

int
hub_queue_extend(struct hub_db *db, const struct hub_job *job, int lease_ms,
                 struct hub_error *err)
{
    char        lease[16];
    const char *extra[1] = { lease };

    if (lease_ms <= 0)
        return hub_error_set(err, HUB_E_INVALID, "queue: lease must be positive");
    snprintf(lease, sizeof(lease), "%d", lease_ms);
    return update_owned(db, extend_sql, job, 1, extra, NULL, "extend", err);
}

/* Run a statement with parameters (worker_id[, value]) and report the rows it touched. */
static int
by_worker(struct hub_db *db, const char *sql, const char *worker_id, const char *value,
          int *out_n, struct hub_error *err)
{
    const char *params[2];
    PGresult   *res;
    int         rc;

    if (out_n != NULL)
        *out_n = 0;
    if (worker_id == NULL || worker_id[0] == '\0')
        return hub_error_set(err, HUB_E_INVALID, "queue: no worker id");
    params[0] = worker_id;
    params[1] = value;
    rc = hub_db_query(db, sql, value != NULL ? 2 : 1, params, &res, err);
    if (rc < 0)
        return rc;
    if (out_n != NULL)
        *out_n = (int)strtol(PQcmdTuples(res), NULL, 10);
    PQclear(res);
    return 0;
}

int
hub_queue_release_worker(struct hub_db *db, const char *worker_id, int *out_n,
                         struct hub_error *err)
{
    static const char sql[] =
        "UPDATE jobs SET status = 'queued', attempts = greatest(attempts - 1, 0),"
        "       locked_until = NULL"
        " WHERE status = 'running' AND locked_by = $1";

    return by_worker(db, sql, worker_id, NULL, out_n, err);
}

int
hub_queue_extend_worker(struct hub_db *db, const char *worker_id, int lease_ms, int *out_n,
                        struct hub_error *err)
{
    static const char sql[] =
        "UPDATE jobs SET locked_until = now() + $2::int * interval '1 millisecond'"
        " WHERE status = 'running' AND locked_by = $1";
    char lease[16];

    if (lease_ms <= 0)
        return hub_error_set(err, HUB_E_INVALID, "queue: lease must be positive");
    snprintf(lease, sizeof(lease), "%d", lease_ms);
    return by_worker(db, sql, worker_id, lease, out_n, err);
}

static const char reap_sql[] =
    "UPDATE jobs j SET"
    "       status = CASE WHEN j.attempts >= j.max_attempts THEN 'dead' ELSE 'queued' END,"
    "       finished_at = CASE WHEN j.attempts >= j.max_attempts THEN now() END,"
    "       locked_until = NULL,"
    "       last_error = 'lease expired: worker ' || coalesce(j.locked_by, '?')"
    "                    || ' stopped before finishing attempt ' || j.attempts"
    " WHERE j.id IN ("
    "   SELECT id FROM jobs WHERE status = 'running' AND locked_until < now()"
    "    ORDER BY locked_until LIMIT $1 FOR UPDATE SKIP LOCKED)";

int
hub_queue_reap(struct hub_db *db, int max, int *out_n, struct hub_error *err)
{
    const char *params[1];
    char        limit[16];
    PGresult   *res;
    int         rc;

    if (out_n != NULL)
        *out_n = 0;
    snprintf(limit, sizeof(limit), "%d", max > 0 ? max : 1000);
    params[0] = limit;
    rc = hub_db_query(db, reap_sql, 1, params, &res, err);
    if (rc < 0)
        return rc;
    if (out_n != NULL)
        *out_n = (int)strtol(PQcmdTuples(res), NULL, 10);
    PQclear(res);
    return 0;
}

int
hub_queue_retry_dead(struct hub_db *db, int64_t id, struct hub_error *err)
{
    static const char sql[] =
        "WITH up AS ("
        " UPDATE jobs SET status = 'queued', attempts = 0, run_at = now(), finished_at = NULL,"
        "        locked_until = NULL"
        "  WHERE id = $1 AND status = 'dead'"
        "  RETURNING queue)"
        "SELECT pg_notify('" HUB_QUEUE_CHANNEL "', queue) FROM up";
    const char *params[1];
    char        idbuf[24];
    PGresult   *res;
    int         rc, n;

    snprintf(idbuf, sizeof(idbuf), "%" PRId64, id);
    params[0] = idbuf;
    rc = hub_db_query(db, sql, 1, params, &res, err);
    if (rc == HUB_E_CONFLICT)
        return hub_error_set(err, HUB_E_CONFLICT, "queue: job %" PRId64 ": another pending job"
                             " has its dedupe key", id);
    if (rc < 0)
        return rc;
    n = PQntuples(res);
    PQclear(res);
    if (n != 1)
        return hub_error_set(err, HUB_E_NOT_FOUND, "queue: no dead job %" PRId64, id);
    return 0;
}

int
hub_queue_purge(struct hub_db *db, int64_t older_than_ms, int max, int *out_n,
                struct hub_error *err)
{
    static const char sql[] =
        "DELETE FROM jobs WHERE id IN ("
        " SELECT id FROM jobs WHERE status = 'done'"
        "    AND finished_at < now() - $1::bigint * interval '1 millisecond'"
        "  LIMIT $2 FOR UPDATE SKIP LOCKED)";
    const char *params[2];
    char        age[24], limit[16];
    PGresult   *res;
    int         rc;

    if (out_n != NULL)
        *out_n = 0;
    snprintf(age, sizeof(age), "%" PRId64, older_than_ms > 0 ? older_than_ms : 0);
    snprintf(limit, sizeof(limit), "%d", max > 0 ? max : 1000);
    params[0] = age;
    params[1] = limit;
    rc = hub_db_query(db, sql, 2, params, &res, err);
    if (rc < 0)
        return rc;
    if (out_n != NULL)
        *out_n = (int)strtol(PQcmdTuples(res), NULL, 10);
    PQclear(res);
    return 0;
}

static const char stats_sql[] =
    "SELECT count(*) FILTER (WHERE status = 'queued'),"
    "       count(*) FILTER (WHERE status = 'running'),"
    "       count(*) FILTER (WHERE status = 'done'),"
    "       count(*) FILTER (WHERE status = 'failed'),"
    "       count(*) FILTER (WHERE status = 'dead'),"
    "       coalesce(floor(extract(epoch FROM now() - min(run_at) FILTER ("
    "           WHERE status IN ('queued', 'failed') AND run_at <= now())) * 1000), 0)::bigint"
    "  FROM jobs WHERE $1::text IS NULL OR queue = $1";

int
hub_queue_stats(struct hub_db *db, const char *queue, struct hub_queue_stats *out,
                struct hub_error *err)
{
    const char *params[1] = { queue };
    PGresult   *res;
    int         rc;

    memset(out, 0, sizeof(*out));
    rc = hub_db_query(db, stats_sql, 1, params, &res, err);
    if (rc < 0)
        return rc;
    out->queued = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    out->running = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
    out->done = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
    out->failed = strtoll(PQgetvalue(res, 0, 3), NULL, 10);
    out->dead = strtoll(PQgetvalue(res, 0, 4), NULL, 10);
    out->oldest_queued_ms = strtoll(PQgetvalue(res, 0, 5), NULL, 10);
    PQclear(res);
    return 0;
}

int
hub_queue_job_status(struct hub_db *db, int64_t id, enum hub_job_status *out_status,
                     int *out_attempts, char *last_error, size_t cap, struct hub_error *err)
{
    const char *params[1];
    char        idbuf[24];
    PGresult   *res;
    int         rc, st;

    snprintf(idbuf, sizeof(idbuf), "%" PRId64, id);
    params[0] = idbuf;
    rc = hub_db_query(db, "SELECT status, attempts, last_error FROM jobs WHERE id = $1", 1,
                      params, &res, err);
    if (rc < 0)
        return rc;
    if (PQntuples(res) != 1) {
        PQclear(res);
        return hub_error_set(err, HUB_E_NOT_FOUND, "queue: no job %" PRId64, id);
    }
    st = hub_job_status_parse(PQgetvalue(res, 0, 0));
    if (out_status != NULL)
        *out_status = st >= 0 ? (enum hub_job_status)st : HUB_JOB_FAILED;
    if (out_attempts != NULL)
        *out_attempts = (int)strtol(PQgetvalue(res, 0, 1), NULL, 10);
    if (last_error != NULL && cap > 0)
        snprintf(last_error, cap, "%s", PQgetvalue(res, 0, 2));
    PQclear(res);
    return 0;
}

int
hub_queue_listen(struct hub_db *db, struct hub_error *err)
{
    return hub_db_exec(db, "LISTEN " HUB_QUEUE_CHANNEL, err);
}

/* Take every notification libpq has buffered; count those for `queue`. */
static int
drain_notifies(struct hub_db *db, const char *queue)
{
    PGnotify *nt;
    int       n = 0, guard;

    /* Bounded: libpq buffers what one read brought; more arrive on the next wait. */
    for (guard = 0; guard < 100000; guard++) {
        nt = PQnotifies(db->conn);
        if (nt == NULL)
            break;
        if (strcmp(nt->relname, HUB_QUEUE_CHANNEL) == 0 &&
            (queue == NULL || strcmp(nt->extra, queue) == 0))
            n++;
        PQfreemem(nt);
    }
    return n;
}

int
hub_queue_wait(struct hub_db *db, const char *queue, int timeout_ms, int wake_fd,
               struct hub_error *err)
{
    struct pollfd fds[2];
    int           n, sock, nfds = 1;

    if (db->conn == NULL)
        return hub_error_set(err, HUB_E_DB, "queue: listener connection is closed");
    n = drain_notifies(db, queue);
    if (n > 0)
        return n;
    sock = PQsocket(db->conn);
    if (sock < 0)
        return hub_error_set(err, HUB_E_DB, "queue: listener connection has no socket");
    fds[0].fd = sock;
    fds[0].events = POLLIN;
    fds[0].revents = 0;
    if (wake_fd >= 0) {
        fds[1].fd = wake_fd;
        fds[1].events = POLLIN;
        fds[1].revents = 0;
        nfds = 2;
    }
    n = poll(fds, (nfds_t)nfds, timeout_ms < 0 ? 0 : timeout_ms);
    if (n < 0) {
        if (errno == EINTR)
            return 0;
        return hub_error_set(err, HUB_E_IO, "queue: poll: %s", strerror(errno));
    }
    if (n == 0 || (fds[0].revents & (POLLIN | POLLERR | POLLHUP)) == 0)
        return 0;
    if (PQconsumeInput(db->conn) == 0)
        return hub_error_set(err, HUB_E_DB, "queue: listener connection: %s",
                             PQerrorMessage(db->conn));
    return drain_notifies(db, queue);
}
