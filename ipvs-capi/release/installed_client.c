/*
 * Built against an installed copy of liblvskit through pkg-config (by
 * ipvs-capi/scripts/release-checks): prints the library's version, which the
 * check compares with the workspace's. Needs no kernel.
 */
#include <stdio.h>

#include <lvskit.h>

int main(void)
{
    lvskit_service s;
    if (lvskit_service_init(&s) != LVSKIT_RESULT_OK)
        return 1;
    printf("%s\n", lvskit_version());
    return 0;
}
