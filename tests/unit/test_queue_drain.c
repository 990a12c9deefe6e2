/*
 * Acceptance: two processes draining one queue of 10,000 jobs run each exactly once.
 *
 * The test enqueues 10,000 jobs whose handler inserts (job_id, pid) into `job_runs`, a table
 * with NO unique constraint, so a job run twice would show as two rows. It then starts two
 * copies of itself (fork + exec of /proc/self/exe --child), each with its own pool of 4 worker
 * threads and its own connections, released together through a pipe; each exits when the
 * queue is empty. The claim (FOR UPDATE SKIP LOCKED) must hand every job to exactly one of
 * the 8 workers.
 *
 * Variant 2 kills one child with SIGKILL midway. Its leased jobs stay 'running' until their
 * lease (2 s) expires without heartbeats; the other child's reaper puts them back and runs
 * them. Every job ends done, but a job the dead child was executing may have written its row
 * before the kill: delivery is AT-LEAST-ONCE after a crash, at most twice here, which is why
 * handlers must be idempotent.
 *
 * Variant 3 repeats the kill with a handler registered HUB_WORKER_TX: its insert commits in
 * the same transaction that marks the job done, so the kill rolls back the half-done run and
 * every job has exactly one row.
 */
#include "check.h"
#include "testdb.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "db/db.h"
#include "db/migrate.h"
#include "queue/queue.h"
#include "queue/worker.h"

#define NJOBS          10000
#define CHILD_THREADS  4
#define CHILD_LEASE_MS 2000
#define CHILD_MAX_S    45

static struct testdb tdb;
static struct hub_db db;

static int64_t
mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

    nanosleep(&ts, NULL);
}

/* ---- child ---- */

static int
handle_run(const struct hub_job *job, struct hub_job_run *run, void *ctx,
           struct hub_error *err)
{
    const char *params[2];
    char        id[24], pid[16];

    snprintf(id, sizeof(id), "%" PRId64, job->id);
    snprintf(pid, sizeof(pid), "%ld", (long)getpid());
    params[0] = id;
    params[1] = pid;
    return hub_db_query(run->db, "INSERT INTO job_runs (job_id, pid) VALUES ($1, $2)", 2,
                        params, NULL, err);
}

/* argv: --child <conninfo> <go fd> <tx 0|1>. Exits 0 when the queue is empty. */
static int
child_main(int argc, char **argv)
{
    struct hub_worker_config   cfg;
    struct hub_worker_counters c;
    struct hub_worker_pool    *pool = NULL;
    struct hub_queue_stats     st;
    struct hub_error           err;
    struct hub_db              mon;
    char                       b;
    long                       gofd;
    int64_t                    t0;
    int                        tx, rc, released = 0;

    if (argc != 5)
        return 2;
    gofd = strtol(argv[3], NULL, 10);
    tx = strcmp(argv[4], "1") == 0;
    hub_log_set_level(HUB_LOG_ERROR);
    if (hub_db_connect(&mon, argv[2], &err) < 0) {
        fprintf(stderr, "child: %s\n", err.msg);
        return 2;
    }
    memset(&cfg, 0, sizeof(cfg));
    cfg.conninfo = argv[2];
    cfg.threads = CHILD_THREADS;
    cfg.batch = 10;
    cfg.lease_ms = CHILD_LEASE_MS;
    cfg.poll_ms = 100;
    cfg.reap_interval_ms = 250;
    if (hub_worker_pool_create(&cfg, &pool, &err) < 0 ||
        hub_worker_register_flags(pool, "run", handle_run, NULL, tx ? HUB_WORKER_TX : 0) < 0) {
        fprintf(stderr, "child: pool: %s\n", err.msg);
        return 2;
    }
    /* Both children start together: the parent closes the pipe's write end. */
    while (read((int)gofd, &b, 1) < 0 && errno == EINTR)
        ;
    close((int)gofd);
    if (hub_worker_pool_start(pool, &err) < 0) {
        fprintf(stderr, "child: start: %s\n", err.msg);
        return 2;
    }
    t0 = mono_ms();
    rc = 3;
    while (mono_ms() - t0 < CHILD_MAX_S * 1000) {
        sleep_ms(50);
        if (hub_queue_stats(&mon, NULL, &st, &err) < 0) {
            fprintf(stderr, "child: stats: %s\n", err.msg);
            continue;
        }
        /* Running includes leases of a dead process: wait until they are reaped and run. */
        if (st.queued + st.failed + st.running == 0) {
            rc = 0;
            break;
        }
    }
    hub_worker_pool_stop(pool, 5000, &released);
    hub_worker_pool_counters(pool, &c);
    fprintf(stderr, "  child %ld: claimed %" PRId64 ", done %" PRId64 ", stale %" PRId64
            ", reaped %" PRId64 ", released %" PRId64 ", wake-ups %" PRId64 " in %.1f s\n",
            (long)getpid(), c.claimed, c.done, c.stale, c.reaped, c.released, c.wakeups,
            (mono_ms() - t0) / 1000.0);
    hub_worker_pool_free(pool);
    hub_db_close(&mon);
    return rc;
}

/* ---- parent ---- */

/* The whole schema, through the real migration runner (0005_jobs.sql among the rest). */
static void
apply_schema(void)
{
    struct hub_error err;
    int              applied = 0;

    if (hub_migrate(&db, hub_migrations_dir(), &applied, &err) < 0)
        fprintf(stderr, "migrate: %s\n", err.msg);
    REQUIRE(applied >= 5);
    /* No unique constraint: a job run twice shows as two rows. */
    REQUIRE(hub_db_exec(&db, "CREATE TABLE job_runs (job_id bigint NOT NULL, pid int NOT NULL,"
                             " at timestamptz NOT NULL DEFAULT clock_timestamp())", &err) == 0);
}

static long long
scalar(const char *sql)
{
    return testdb_scalar(&tdb, sql);
}

static void
enqueue_all(int n)
{
    struct hub_job_spec *specs;
    struct hub_error     err;
    char               (*payloads)[32];
    int64_t              t0;
    size_t               inserted = 0;
    int                  i;

    REQUIRE(testdb_exec(&tdb, "TRUNCATE jobs, job_runs RESTART IDENTITY") == 0);
    specs = calloc((size_t)n, sizeof(*specs));
    payloads = calloc((size_t)n, sizeof(*payloads));
    REQUIRE(specs != NULL && payloads != NULL);
    for (i = 0; i < n; i++) {
        snprintf(payloads[i], sizeof(payloads[i]), "{\"seq\": %d}", i);
        specs[i].kind = "run";
        specs[i].payload = payloads[i];
    }
    t0 = mono_ms();
    if (hub_queue_enqueue_many(&db, specs, (size_t)n, &inserted, &err) < 0)
        fprintf(stderr, "enqueue: %s\n", err.msg);
    fprintf(stderr, "  enqueued %zu jobs in %" PRId64 " ms\n", inserted, mono_ms() - t0);
    free(specs);
    free(payloads);
    REQUIRE(inserted == (size_t)n);
    REQUIRE(scalar("SELECT count(*) FROM jobs WHERE status = 'queued'") == n);
}

/* Start two children held at a pipe, then release them together. */
static void
spawn_two(int tx, pid_t pids[2])
{
    char    exe[1024], fdarg[16], conninfo[1200];
    int     go[2], i;
    ssize_t len;

    /* The children commit without waiting for the disk: this tests the queue's semantics
     * (a killed client, not a crashed server), and fsync per job would dominate its time. */
    snprintf(conninfo, sizeof(conninfo), "%s options='-c synchronous_commit=off'",
             tdb.conninfo);
    len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    REQUIRE(len > 0);
    exe[len] = '\0';
    REQUIRE(pipe(go) == 0);
    snprintf(fdarg, sizeof(fdarg), "%d", go[0]);
    fflush(NULL);
    for (i = 0; i < 2; i++) {
        pids[i] = fork();
        REQUIRE(pids[i] >= 0);
        if (pids[i] == 0) {
            char *args[] = { exe, "--child", conninfo, fdarg, tx ? "1" : "0", NULL };

            close(go[1]);
            execv(exe, args);
            _exit(127);
        }
    }
    close(go[0]);
    sleep_ms(100);      /* both have connected their monitor connection */
    close(go[1]);       /* go */
}

/* Wait for `pid` up to timeout_ms; returns the wait status, or -1 (and kills it). */
static int
wait_child(pid_t pid, int timeout_ms)
{
    int64_t deadline = mono_ms() + timeout_ms;
    int     status;

    while (mono_ms() < deadline) {
        pid_t r = waitpid(pid, &status, WNOHANG);

        if (r == pid)
            return status;
        if (r < 0)
            return -1;
        sleep_ms(20);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    fprintf(stderr, "child %ld timed out\n", (long)pid);
    return -1;
}

static long long
runs_by(pid_t pid)
{
    char sql[128];

    snprintf(sql, sizeof(sql), "SELECT count(*) FROM job_runs WHERE pid = %ld", (long)pid);
    return scalar(sql);
}

static void
test_two_processes_exactly_once(void)
{
    pid_t   pids[2];
    int     s0, s1;
    int64_t t0;

    enqueue_all(NJOBS);
    t0 = mono_ms();
    spawn_two(0, pids);
    s0 = wait_child(pids[0], 60000);
    s1 = wait_child(pids[1], 60000);
    fprintf(stderr, "  two processes x %d workers drained %d jobs in %" PRId64 " ms;"
            " runs by child: %lld + %lld\n", CHILD_THREADS, NJOBS, mono_ms() - t0,
            runs_by(pids[0]), runs_by(pids[1]));
    CHECK(WIFEXITED(s0) && WEXITSTATUS(s0) == 0);
    CHECK(WIFEXITED(s1) && WEXITSTATUS(s1) == 0);
    CHECK_EQ(NJOBS, scalar("SELECT count(*) FROM job_runs"));
    CHECK_EQ(NJOBS, scalar("SELECT count(DISTINCT job_id) FROM job_runs"));
    CHECK_EQ(NJOBS, scalar("SELECT count(*) FROM jobs WHERE status = 'done' AND attempts = 1"));
    CHECK_EQ(2, scalar("SELECT count(DISTINCT pid) FROM job_runs"));
    CHECK_GE(runs_by(pids[0]), 1);
    CHECK_GE(runs_by(pids[1]), 1);
    CHECK_EQ(2 * CHILD_THREADS,
             scalar("SELECT count(DISTINCT locked_by) FROM jobs WHERE status = 'done'"));
}

/*
 * Kill child 0 with SIGKILL once a quarter of the jobs ran; child 1 finishes the queue.
 * The victim's reclaimed jobs are found afterwards by the reaper's note in last_error
 * ("lease expired: worker <host>:<pid>:<n> ..."), not by a snapshot at the kill: the
 * victim's server backends outlive it for a moment and may still commit the statement in
 * flight (a claim, or in TX mode the job's COMMIT).
 */
static void
kill_one_midway(int tx)
{
    pid_t     pids[2];
    char      sql[512], victim[128], host[64];
    long long reclaimed, dups, maxruns, victim_runs, kill_db_ms, reclaim_ms;
    int       s0, s1, i;
    int64_t   t_kill, t0;

    enqueue_all(NJOBS);
    t0 = mono_ms();
    spawn_two(tx, pids);
    for (i = 0; i < 3000 && scalar("SELECT count(*) FROM job_runs") < NJOBS / 4; i++)
        sleep_ms(10);
    REQUIRE(kill(pids[0], SIGKILL) == 0);
    t_kill = mono_ms();
    kill_db_ms = scalar("SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint");
    s0 = wait_child(pids[0], 5000);
    CHECK(WIFSIGNALED(s0) && WTERMSIG(s0) == SIGKILL);
    s1 = wait_child(pids[1], 60000);
    CHECK(WIFEXITED(s1) && WEXITSTATUS(s1) == 0);

    gethostname(host, sizeof(host));
    host[sizeof(host) - 1] = '\0';
    snprintf(victim, sizeof(victim), "lease expired: worker %s:%ld:%%", host, (long)pids[0]);
    REQUIRE(testdb_exec(&tdb, "DROP TABLE IF EXISTS reclaimed") == 0);
    snprintf(sql, sizeof(sql), "CREATE TABLE reclaimed AS SELECT id, status, attempts FROM jobs"
             " WHERE last_error LIKE '%s'", victim);
    REQUIRE(testdb_exec(&tdb, sql) == 0);
    reclaimed = scalar("SELECT count(*) FROM reclaimed");
    victim_runs = runs_by(pids[0]);
    dups = scalar("SELECT count(*) FROM job_runs") - NJOBS;
    maxruns = scalar("SELECT coalesce(max(n), 0) FROM"
                     " (SELECT count(*) AS n FROM job_runs GROUP BY job_id) r");
    snprintf(sql, sizeof(sql), "SELECT (extract(epoch FROM min(r.at)) * 1000)::bigint - %lld"
             " FROM job_runs r JOIN reclaimed c ON c.id = r.job_id WHERE r.pid = %ld",
             kill_db_ms, (long)pids[1]);
    reclaim_ms = scalar(sql);
    fprintf(stderr, "  %s: killed a child %" PRId64 " ms in, after %lld runs; %lld of its leased"
            " jobs reclaimed, the first run by the survivor %lld ms after the kill (lease %d ms);"
            " survivor done %" PRId64 " ms after the kill; jobs run twice: %lld\n",
            tx ? "HUB_WORKER_TX" : "plain handler", t_kill - t0, victim_runs, reclaimed,
            reclaim_ms, CHILD_LEASE_MS, mono_ms() - t_kill, dups);

    /* every job done, every job ran */
    CHECK_EQ(NJOBS, scalar("SELECT count(*) FROM jobs WHERE status = 'done'"));
    CHECK_EQ(NJOBS, scalar("SELECT count(DISTINCT job_id) FROM job_runs"));
    CHECK_GE(victim_runs, 1);
    /* the victim held leases; they were reclaimed and run (attempt 2) by the survivor... */
    CHECK_GE(reclaimed, 1);
    CHECK_EQ(reclaimed, scalar("SELECT count(*) FROM reclaimed"
                               " WHERE status = 'done' AND attempts = 2"));
    snprintf(sql, sizeof(sql), "SELECT count(DISTINCT r.job_id) FROM job_runs r"
             " JOIN reclaimed c ON c.id = r.job_id WHERE r.pid = %ld", (long)pids[1]);
    CHECK_EQ(reclaimed, scalar(sql));
    /* ...and only those: no live worker lost a lease */
    CHECK_EQ(reclaimed, scalar("SELECT count(*) FROM jobs WHERE attempts > 1"));
    /* ...not before their lease ran out: the last heartbeat was at most lease/3 before the
     * kill, so the lease ended at least 2/3 of it after */
    CHECK_GE(reclaim_ms, CHILD_LEASE_MS * 2 / 3 - 50);
    if (tx) {
        /* exactly once: the killed runs rolled back with their transaction */
        CHECK_EQ(0, dups);
        CHECK_EQ(1, maxruns);
    } else {
        /* at-least-once: only a job a victim thread was executing can have run twice */
        CHECK_LE(dups, reclaimed);
        CHECK_LE(dups, CHILD_THREADS);
        CHECK_LE(maxruns, 2);
        snprintf(sql, sizeof(sql), "SELECT count(*) FROM (SELECT job_id FROM job_runs"
                 " GROUP BY job_id HAVING count(*) > 1) d JOIN reclaimed c ON c.id = d.job_id");
        CHECK_EQ(dups, scalar(sql));
    }
}

static void
test_kill_one_at_least_once(void)
{
    kill_one_midway(0);
}

static void
test_kill_one_tx_exactly_once(void)
{
    kill_one_midway(1);
}

int
main(int argc, char **argv)
{
    struct hub_error err;

    if (argc > 1 && strcmp(argv[1], "--child") == 0)
        return child_main(argc, argv);

    hub_log_set_level(HUB_LOG_ERROR);
    testdb_create(&tdb, "queue_drain");
    REQUIRE(hub_db_connect(&db, tdb.conninfo, &err) == 0);
    apply_schema();

    RUN_TEST(test_two_processes_exactly_once);
    RUN_TEST(test_kill_one_at_least_once);
    RUN_TEST(test_kill_one_tx_exactly_once);

    hub_db_close(&db);
    testdb_drop(&tdb);
    return check_report();
}
