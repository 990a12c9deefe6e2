/*
 * Two real `simplix-hub serve` processes on one database drain a queue of 10,000 jobs; one of
 * them is killed with SIGKILL in the middle and a third hub takes its place. Every job must
 * run exactly once (the selftest handler commits its row and the job's completion in one
 * transaction, so a killed hub's half-done job rolls back and is re-run after its lease), and
 * every hub that served must have done work. Then SIGTERM stops the others gracefully (exit 0).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "crypto/crypto.h"
#include "db/db.h"
#include "db/migrate.h"
#include "queue/queue.h"
#include "testdb.h"

#define JOBS 10000

static char tmpdir[256];
static char keyfile[300];

static double
now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static pid_t
start_hub(const struct testdb *db, const char *name)
{
    char  ready[400], logf[400];
    pid_t pid;
    int   i, fd;

    snprintf(ready, sizeof(ready), "%s/%s.json", tmpdir, name);
    snprintf(logf, sizeof(logf), "%s/%s.log", tmpdir, name);
    unlink(ready);
    pid = fork();
    if (pid == 0) {
        fd = open(logf, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        setenv("DATABASE_URL", db->conninfo, 1);
        setenv("SX_MASTER_KEY_FILE", keyfile, 1);
        setenv("SX_JOB_LEASE_MS", "3000", 1);
        setenv("SX_PLUGIN_DIR", tmpdir, 1);              /* no plugins needed */
        execl(SX_HUB_BIN, "simplix-hub", "serve", "--listen", "127.0.0.1:0", "--workers", "4",
              "--ready-file", ready, (char *)NULL);
        _exit(127);
    }
    for (i = 0; i < 200; i++) {
        if (access(ready, F_OK) == 0)
            return pid;
        if (waitpid(pid, NULL, WNOHANG) == pid) {
            fprintf(stderr, "hub %s exited early; see %s\n", name, logf);
            return -1;
        }
        usleep(50 * 1000);
    }
    fprintf(stderr, "hub %s did not become ready; see %s\n", name, logf);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

static int
stop_hub(pid_t pid)
{
    int st = 0;

    if (pid <= 0)
        return -1;
    kill(pid, SIGTERM);
    if (waitpid(pid, &st, 0) != pid)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void
test_two_hubs_exactly_once(void)
{
    struct testdb       db;
    struct hub_db       conn;
    struct hub_error    err;
    struct hub_job_spec spec;
    pid_t               a, b, c;
    double              t0, deadline;
    long long           done = 0, runs, distinct, pids;
    int                 applied = 0, i, killed = 0;
    char                sql[256];

    testdb_create(&db, "two_hubs");
    REQUIRE(hub_db_connect(&conn, db.conninfo, &err) == 0);
    REQUIRE(hub_migrate(&conn, hub_migrations_dir(), &applied, &err) == 0);
    REQUIRE(hub_crypto_generate_keyfile(keyfile, "k1", NULL, &err) == 0);

    a = start_hub(&db, "hub_a");
    b = start_hub(&db, "hub_b");
    REQUIRE(a > 0 && b > 0);

    t0 = now_s();
    REQUIRE(hub_db_begin(&conn, &err) == 0);
    for (i = 0; i < JOBS; i++) {
        memset(&spec, 0, sizeof(spec));
        spec.kind = "hub.selftest";
        REQUIRE(hub_queue_enqueue(&conn, &spec, NULL, NULL, &err) == 0);
    }
    REQUIRE(hub_db_commit(&conn, &err) == 0);
    fprintf(stderr, "enqueued %d jobs in %.2f s\n", JOBS, now_s() - t0);

    c = -1;
    deadline = now_s() + 150;
    while (now_s() < deadline) {
        done = testdb_scalar(&db, "SELECT count(*) FROM jobs WHERE status = 'done'");
        if (!killed && done >= JOBS / 4) {
            /* Kill hub A with jobs in flight; hub C joins. */
            kill(a, SIGKILL);
            waitpid(a, NULL, 0);
            killed = 1;
            fprintf(stderr, "SIGKILL hub A at %lld done\n", done);
            c = start_hub(&db, "hub_c");
            CHECK(c > 0);
        }
        if (done == JOBS)
            break;
        usleep(100 * 1000);
    }
    fprintf(stderr, "%lld of %d jobs done in %.2f s\n", done, JOBS, now_s() - t0);
    CHECK_EQ(JOBS, done);
    CHECK_EQ(1, killed);

    runs = testdb_scalar(&db, "SELECT count(*) FROM hub_selftest_runs");
    distinct = testdb_scalar(&db, "SELECT count(DISTINCT job_id) FROM hub_selftest_runs");
    CHECK_EQ(JOBS, runs);
    CHECK_EQ(JOBS, distinct);
    CHECK_EQ(0, testdb_scalar(&db, "SELECT count(*) FROM jobs WHERE status <> 'done'"));
    /* worker ids are host:pid:n: count the processes that ran jobs */
    pids = testdb_scalar(&db, "SELECT count(DISTINCT split_part(worker_id, ':', 2)) "
                         "FROM hub_selftest_runs");
    CHECK_EQ(3, pids);
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM hub_selftest_runs WHERE "
             "split_part(worker_id, ':', 2) = '%d'", (int)a);
    CHECK_GE(testdb_scalar(&db, sql), 1);

    CHECK_EQ(0, stop_hub(b));
    CHECK_EQ(0, stop_hub(c));
    hub_db_close(&conn);
    testdb_drop(&db);
}

int
main(void)
{
    char cmd[600];

    snprintf(tmpdir, sizeof(tmpdir), "/tmp/sx_two_hubs_XXXXXX");
    REQUIRE(mkdtemp(tmpdir) != NULL);
    snprintf(keyfile, sizeof(keyfile), "%s/master.key", tmpdir);
    RUN_TEST(test_two_hubs_exactly_once);
    if (check_failed == 0) {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", tmpdir);
    } else {
        fprintf(stderr, "hub logs kept in %s\n", tmpdir);
    }
    return check_report();
}
