#include "check.h"

int         check_passed;
int         check_failed;
const char *check_current;

int
check_report(void)
{
    printf("%d passed, %d failed\n", check_passed, check_failed);
    fflush(stdout);
    if (check_failed > 0)
        return 1;
    return check_passed > 0 ? 0 : 1;
}

void
check_skip(const char *why)
{
    const char *req = getenv("SX_REQUIRE_ALL");

    if (req != NULL && strcmp(req, "1") == 0) {
        fprintf(stderr, "FAIL: would skip, but SX_REQUIRE_ALL=1: %s\n", why);
        exit(1);
    }
    fprintf(stderr, "SKIP: %s\n", why);
    exit(77);
}
