/*
 * The README's C block, compiled and run: ipvs-capi/scripts/build-c copies
 * the ```c block of README.md into readme_block.inc (in the build's
 * generated directory) and this file includes it as the body of a function,
 * so the front page is exactly what runs here. It runs in the test's fresh
 * namespace and is checked with ipvsadm -Sn.
 */
#include "harness.h"

static void the_readme_block(void) {
#include "readme_block.inc"
}

static void the_readme_block_adds_a_tunnelled_service(void) {
    the_readme_block();
    CHECK_SAVED("-A -t 10.0.0.100:80 -s wlc\n"
                "-a -t 10.0.0.100:80 -r 192.168.10.11:80 -i -w 1 --tun-type ipip\n");
}

int main(void) {
    RUN(the_readme_block_adds_a_tunnelled_service);
    return finish("test_readme");
}
