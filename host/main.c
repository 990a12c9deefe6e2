/* simplix-hub: placeholder entry until the daemon lands in this session. */
#include <stdio.h>
int
main(void)
{
    puts("simplix-hub " SX_HUB_VERSION);
    return 0;
}
