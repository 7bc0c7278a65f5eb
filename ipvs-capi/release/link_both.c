/*
 * Links liblvskit together with libipvs_stubs.c (every name ipvsadm's libipvs
 * defines) and calls into both: each name must resolve to its own library.
 * Needs no kernel. Exit status 0 when both answered as themselves.
 */
#include <stdio.h>
#include <string.h>

#include "lvskit.h"

int ipvs_init(void);
void ipvs_close(void);
int ipvs_flush(void);
unsigned int ipvs_version(void);
const char *ipvs_strerror(int err);

int main(void)
{
    int failures = 0;
    if (ipvs_init() != 4242 || ipvs_flush() != 4242 || ipvs_version() != 4242) {
        fprintf(stderr, "link_both: a libipvs name did not reach the libipvs stub\n");
        failures++;
    }
    if (strcmp(ipvs_strerror(0), "libipvs stub") != 0) {
        fprintf(stderr, "link_both: ipvs_strerror is not the stub's\n");
        failures++;
    }
    ipvs_close();
    const char *v = lvskit_version();
    if (v == NULL || v[0] == '\0') {
        fprintf(stderr, "link_both: lvskit_version() gave nothing\n");
        failures++;
    }
    /* a fallible lvskit call, answered without a kernel */
    if (lvskit_flush(NULL) != LVSKIT_RESULT_NULL_PARAMETER
        || lvskit_last_result() != LVSKIT_RESULT_NULL_PARAMETER) {
        fprintf(stderr, "link_both: lvskit_flush(NULL) did not report a NULL parameter\n");
        failures++;
    }
    printf("link_both: libipvs stubs and liblvskit %s side by side: %s\n", v ? v : "?",
           failures ? "FAILED" : "ok");
    return failures != 0;
}
