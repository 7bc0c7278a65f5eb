/* IPVS sysctls (net.ipv4.vs.*) through lvskit_sysctl_get/lvskit_sysctl_set,
 * cross-checked with /proc in the test's own namespace. */
#include "harness.h"

static void set_int(lvskit_sysctl_value *v, uint32_t kind, int64_t n, int64_t second) {
    memset(v, 0, sizeof *v);
    v->kind = kind;
    v->number = n;
    v->second = second;
}

static void knobs_are_listed_from_the_core(void) {
    size_t n = 0;
    int saw_reuse = 0;
    while (lvskit_sysctl_knob_name(n) != NULL) {
        saw_reuse |= strcmp(lvskit_sysctl_knob_name(n), "conn_reuse_mode") == 0;
        n++;
    }
    CHECK(n >= 31);
    CHECK(saw_reuse);
}

static void written_and_read_back_through_proc(void) {
    lvskit_handle *h = open_here();
    lvskit_sysctl_value v;
    CHECK_OK(lvskit_sysctl_get(h, "conn_reuse_mode", &v));
    CHECK(v.kind == LVSKIT_SYSCTL_INT && v.number == 1);

    set_int(&v, LVSKIT_SYSCTL_INT, 2, 0);
    CHECK_OK(lvskit_sysctl_set(h, "conn_reuse_mode", &v));
    char *shown = capture("cat /proc/sys/net/ipv4/vs/conn_reuse_mode");
    CHECK_STR(shown, "2\n");
    free(shown);

    set_int(&v, LVSKIT_SYSCTL_BOOL, 1, 0);
    CHECK_OK(lvskit_sysctl_set(h, "expire_nodest_conn", &v));
    shown = capture("cat /proc/sys/net/ipv4/vs/expire_nodest_conn");
    CHECK_STR(shown, "1\n");
    free(shown);

    SH_OK("echo '7 90' > /proc/sys/net/ipv4/vs/sync_threshold");
    CHECK_OK(lvskit_sysctl_get(h, "sync_threshold", &v));
    CHECK(v.kind == LVSKIT_SYSCTL_PAIR && v.number == 7 && v.second == 90);
    set_int(&v, LVSKIT_SYSCTL_PAIR, 4, 40);
    CHECK_OK(lvskit_sysctl_set(h, "sync_threshold", &v));
    shown = capture("cat /proc/sys/net/ipv4/vs/sync_threshold | tr '\\t' ' '");
    CHECK_STR(shown, "4 40\n");
    free(shown);
    lvskit_close(h);
}

static void bad_values_are_refused_before_writing(void) {
    lvskit_handle *h = open_here();
    lvskit_sysctl_value v;
    set_int(&v, LVSKIT_SYSCTL_INT, 4, 0);
    CHECK_RESULT(lvskit_sysctl_set(h, "conn_reuse_mode", &v), LVSKIT_RESULT_INVALID_INPUT);
    set_int(&v, LVSKIT_SYSCTL_INT, 3, 0);
    CHECK_RESULT(lvskit_sysctl_set(h, "sync_ports", &v), LVSKIT_RESULT_INVALID_INPUT);
    set_int(&v, LVSKIT_SYSCTL_PAIR, 60, 50);
    CHECK_RESULT(lvskit_sysctl_set(h, "sync_threshold", &v), LVSKIT_RESULT_INVALID_INPUT);
    set_int(&v, LVSKIT_SYSCTL_INT, 1, 0); /* a boolean knob takes BOOL */
    CHECK_RESULT(lvskit_sysctl_set(h, "expire_nodest_conn", &v), LVSKIT_RESULT_INVALID_INPUT);
    set_int(&v, LVSKIT_SYSCTL_BOOL, 2, 0);
    CHECK_RESULT(lvskit_sysctl_set(h, "backup_only", &v), LVSKIT_RESULT_INVALID_INPUT);
    CHECK_RESULT(lvskit_sysctl_set(h, "no_such_knob", &v), LVSKIT_RESULT_INVALID_INPUT);
    set_int(&v, 77, 1, 0); /* no such kind */
    CHECK_RESULT(lvskit_sysctl_set(h, "conn_reuse_mode", &v), LVSKIT_RESULT_INVALID_INPUT);
    CHECK_RESULT(lvskit_sysctl_set(h, NULL, &v), LVSKIT_RESULT_NULL_PARAMETER);
    CHECK_RESULT(lvskit_sysctl_get(h, "conn_reuse_mode", NULL), LVSKIT_RESULT_NULL_PARAMETER);
    char *shown = capture("cat /proc/sys/net/ipv4/vs/conn_reuse_mode /proc/sys/net/ipv4/vs/sync_ports");
    CHECK_STR(shown, "1\n1\n");
    free(shown);
    lvskit_close(h);
}

int main(void) {
    RUN(knobs_are_listed_from_the_core);
    RUN(written_and_read_back_through_proc);
    RUN(bad_values_are_refused_before_writing);
    return finish("test_sysctl");
}
