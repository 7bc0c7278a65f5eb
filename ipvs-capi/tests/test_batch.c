/* Batches: a result per operation, in both modes, cross-checked with ipvsadm. */
#include "harness.h"

#include <netinet/in.h>

static void check_op(const lvskit_batch_report *r, size_t i, uint32_t status, uint32_t result,
                     int err_no) {
    lvskit_op_result o;
    memset(&o, 0xEE, sizeof o);
    CHECK_OK(lvskit_batch_report_get(r, i, &o));
    if (o.status != status || o.result != result || o.err_no != err_no) {
        char msg[256];
        lvskit_batch_report_message(r, i, msg, sizeof msg);
        fprintf(stderr, "  operation %zu: status %u result %s errno %d (%s); expected %u %s %d\n",
                i, o.status, lvskit_result_name(o.result), o.err_no, msg, status,
                lvskit_result_name(result), err_no);
        test_failed = 1;
    }
}

static lvskit_batch *sample(lvskit_service *s) {
    lvskit_batch *b = NULL;
    REQUIRE_OK(lvskit_batch_new(&b));
    *s = svc_inet(IPPROTO_TCP, "10.0.0.1", 80);
    set_name(s->scheduler, "rr");
    lvskit_destination d1 = dest_of("192.168.1.11", 80, LVSKIT_FWD_MASQ, 1);
    lvskit_destination d2 = dest_of("192.168.1.12", 80, LVSKIT_FWD_MASQ, 2);
    lvskit_service other = svc_inet(IPPROTO_TCP, "10.0.0.2", 80);
    CHECK_OK(lvskit_batch_add_service(b, s));            /* 0: done */
    CHECK_OK(lvskit_batch_add_destination(b, s, &d1));   /* 1: done */
    CHECK_OK(lvskit_batch_add_service(b, s));            /* 2: exists */
    CHECK_OK(lvskit_batch_add_destination(b, s, &d2));   /* 3: done, or not attempted */
    CHECK_OK(lvskit_batch_delete_service(b, &other));    /* 4: no such service */
    CHECK_OK(lvskit_batch_add_service(b, &other));       /* 5: done, or not attempted */
    CHECK(lvskit_batch_len(b) == 6);
    return b;
}

static void continue_mode_reports_each_operation(void) {
    SH_OK("ip link add rs0 type dummy && ip addr add 192.168.1.1/24 dev rs0 && "
          "ip link set rs0 up");
    lvskit_handle *h = open_here();
    lvskit_service s;
    lvskit_batch *b = sample(&s);
    lvskit_batch_report *r = NULL;
    CHECK_OK(lvskit_execute(h, b, LVSKIT_BATCH_CONTINUE, &r));
    REQUIRE(r != NULL);
    CHECK(lvskit_batch_report_len(r) == 6);
    CHECK(lvskit_batch_report_done(r) == 4);
    check_op(r, 0, LVSKIT_OP_DONE, LVSKIT_RESULT_OK, 0);
    check_op(r, 1, LVSKIT_OP_DONE, LVSKIT_RESULT_OK, 0);
    check_op(r, 2, LVSKIT_OP_FAILED, LVSKIT_RESULT_EXISTS, EEXIST);
    check_op(r, 3, LVSKIT_OP_DONE, LVSKIT_RESULT_OK, 0);
    check_op(r, 4, LVSKIT_OP_FAILED, LVSKIT_RESULT_NOT_FOUND, ESRCH);
    check_op(r, 5, LVSKIT_OP_DONE, LVSKIT_RESULT_OK, 0);
    char msg[256];
    CHECK(lvskit_batch_report_message(r, 0, msg, sizeof msg) == 0 && msg[0] == '\0');
    CHECK(lvskit_batch_report_message(r, 2, msg, sizeof msg) > 0);
    CHECK(strstr(msg, "10.0.0.1:80") != NULL);
    CHECK(lvskit_batch_report_message(r, 6, msg, sizeof msg) == 0);
    lvskit_op_result o;
    CHECK_RESULT(lvskit_batch_report_get(r, 6, &o), LVSKIT_RESULT_OUT_OF_RANGE);
    lvskit_batch_report_free(r);

    CHECK_SAVED("-A -t 10.0.0.1:80 -s rr\n"
                "-a -t 10.0.0.1:80 -r 192.168.1.11:80 -m -w 1\n"
                "-a -t 10.0.0.1:80 -r 192.168.1.12:80 -m -w 2\n"
                "-A -t 10.0.0.2:80 -s wlc\n");

    /* the same batch again: the first four now exist; the delete finds the
     * service the first run added last, which the last operation re-adds */
    CHECK_OK(lvskit_execute(h, b, LVSKIT_BATCH_CONTINUE, &r));
    CHECK(lvskit_batch_report_done(r) == 2);
    for (size_t i = 0; i < 4; i++) check_op(r, i, LVSKIT_OP_FAILED, LVSKIT_RESULT_EXISTS, EEXIST);
    check_op(r, 4, LVSKIT_OP_DONE, LVSKIT_RESULT_OK, 0);
    check_op(r, 5, LVSKIT_OP_DONE, LVSKIT_RESULT_OK, 0);
    lvskit_batch_report_free(r);
    lvskit_batch_free(b);
    lvskit_close(h);
}

static void stop_on_error_sends_nothing_after_a_failure(void) {
    SH_OK("ip link add rs0 type dummy && ip addr add 192.168.1.1/24 dev rs0 && "
          "ip link set rs0 up");
    lvskit_handle *h = open_here();
    lvskit_service s;
    lvskit_batch *b = sample(&s);
    lvskit_batch_report *r = NULL;
    CHECK_OK(lvskit_execute(h, b, LVSKIT_BATCH_STOP_ON_ERROR, &r));
    REQUIRE(r != NULL);
    CHECK(lvskit_batch_report_done(r) == 2);
    check_op(r, 0, LVSKIT_OP_DONE, LVSKIT_RESULT_OK, 0);
    check_op(r, 1, LVSKIT_OP_DONE, LVSKIT_RESULT_OK, 0);
    check_op(r, 2, LVSKIT_OP_FAILED, LVSKIT_RESULT_EXISTS, EEXIST);
    for (size_t i = 3; i < 6; i++) check_op(r, i, LVSKIT_OP_NOT_ATTEMPTED, LVSKIT_RESULT_NOT_ATTEMPTED, 0);
    lvskit_batch_report_free(r);
    CHECK_SAVED("-A -t 10.0.0.1:80 -s rr\n"
                "-a -t 10.0.0.1:80 -r 192.168.1.11:80 -m -w 1\n");
    lvskit_batch_free(b);
    lvskit_close(h);
}

static void every_kind_of_operation(void) {
    SH_OK("ip link add rs0 type dummy && ip addr add 192.168.1.1/24 dev rs0 && "
          "ip link set rs0 up");
    lvskit_handle *h = open_here();
    lvskit_batch *b = NULL;
    REQUIRE_OK(lvskit_batch_new(&b));
    lvskit_service s = svc_inet(IPPROTO_UDP, "10.0.0.5", 53);
    lvskit_destination d = dest_of("192.168.1.20", 53, LVSKIT_FWD_TUNNEL, 3);
    lvskit_timeouts t = {.tcp = 900, .tcp_fin = 30, .udp = 60};
    lvskit_sync_daemon sd;
    REQUIRE_OK(lvskit_sync_daemon_init(&sd));
    set_name(sd.ifname, "rs0");
    CHECK_OK(lvskit_batch_add_service(b, &s));
    set_name(s.scheduler, "sed");
    CHECK_OK(lvskit_batch_update_service(b, &s));
    CHECK_OK(lvskit_batch_add_destination(b, &s, &d));
    d.weight = 9;
    CHECK_OK(lvskit_batch_update_destination(b, &s, &d));
    CHECK_OK(lvskit_batch_set_timeouts(b, &t));
    CHECK_OK(lvskit_batch_start_sync_daemon(b, &sd));
    CHECK_OK(lvskit_batch_zero(b, &s));
    CHECK_OK(lvskit_batch_zero(b, NULL));
    lvskit_batch_report *r = NULL;
    REQUIRE_OK(lvskit_execute(h, b, LVSKIT_BATCH_STOP_ON_ERROR, &r));
    CHECK(lvskit_batch_report_done(r) == lvskit_batch_len(b));
    lvskit_batch_report_free(r);
    CHECK_SAVED("-A -u 10.0.0.5:53 -s sed\n"
                "-a -u 10.0.0.5:53 -r 192.168.1.20:53 -i -w 9 --tun-type ipip\n");
    char *shown = capture("ipvsadm -L --timeout");
    CHECK_STR(shown, "Timeout (tcp tcpfin udp): 900 30 60\n");
    free(shown);
    shown = capture("ipvsadm -L --daemon");
    CHECK(strstr(shown, "master sync daemon (mcast=rs0, syncid=0") != NULL);
    free(shown);
    lvskit_batch_free(b);

    /* the undo: stop the daemon, remove the real server, then flush */
    REQUIRE_OK(lvskit_batch_new(&b));
    CHECK_OK(lvskit_batch_stop_sync_daemon(b, LVSKIT_SYNC_MASTER));
    CHECK_OK(lvskit_batch_delete_destination(b, &s, &d));
    CHECK_OK(lvskit_batch_delete_service(b, &s));
    CHECK_OK(lvskit_batch_flush(b));
    REQUIRE_OK(lvskit_execute(h, b, LVSKIT_BATCH_CONTINUE, &r));
    CHECK(lvskit_batch_report_done(r) == 4);
    lvskit_batch_report_free(r);
    CHECK_SAVED("");
    shown = capture("ipvsadm -L --daemon");
    CHECK_STR(shown, "");
    free(shown);
    lvskit_batch_free(b);
    lvskit_close(h);
}

static void bad_input_leaves_the_batch_unchanged(void) {
    lvskit_handle *h = open_here();
    lvskit_batch *b = NULL;
    REQUIRE_OK(lvskit_batch_new(&b));
    lvskit_service s = svc_inet(IPPROTO_TCP, "10.0.0.1", 80);
    CHECK_OK(lvskit_batch_add_service(b, &s));

    lvskit_service bad = s;
    bad.family = 7;
    lvskit_destination d = dest_of("192.168.1.11", 80, LVSKIT_FWD_MASQ, 1);
    lvskit_destination badd = d;
    badd.weight = 0x80000000u;
    lvskit_timeouts t = {.udp = 4000000};
    lvskit_sync_daemon sd;
    REQUIRE_OK(lvskit_sync_daemon_init(&sd)); /* no interface */
    CHECK_RESULT(lvskit_batch_add_service(b, &bad), LVSKIT_RESULT_INVALID_INPUT);
    CHECK_RESULT(lvskit_batch_update_service(b, &bad), LVSKIT_RESULT_INVALID_INPUT);
    CHECK_RESULT(lvskit_batch_delete_service(b, &bad), LVSKIT_RESULT_INVALID_INPUT);
    CHECK_RESULT(lvskit_batch_add_destination(b, &bad, &d), LVSKIT_RESULT_INVALID_INPUT);
    CHECK_RESULT(lvskit_batch_add_destination(b, &s, &badd), LVSKIT_RESULT_INVALID_INPUT);
    CHECK_RESULT(lvskit_batch_update_destination(b, &s, &badd), LVSKIT_RESULT_INVALID_INPUT);
    CHECK_RESULT(lvskit_batch_delete_destination(b, &bad, &d), LVSKIT_RESULT_INVALID_INPUT);
    CHECK_RESULT(lvskit_batch_set_timeouts(b, &t), LVSKIT_RESULT_INVALID_INPUT);
    CHECK_RESULT(lvskit_batch_start_sync_daemon(b, &sd), LVSKIT_RESULT_INVALID_INPUT);
    CHECK_RESULT(lvskit_batch_stop_sync_daemon(b, 5), LVSKIT_RESULT_INVALID_INPUT);
    CHECK_RESULT(lvskit_batch_zero(b, &bad), LVSKIT_RESULT_INVALID_INPUT);

    CHECK_RESULT(lvskit_batch_new(NULL), LVSKIT_RESULT_NULL_PARAMETER);
    CHECK_RESULT(lvskit_batch_add_service(NULL, &s), LVSKIT_RESULT_NULL_PARAMETER);
    CHECK_RESULT(lvskit_batch_add_service(b, NULL), LVSKIT_RESULT_NULL_PARAMETER);
    CHECK_RESULT(lvskit_batch_add_destination(b, &s, NULL), LVSKIT_RESULT_NULL_PARAMETER);
    CHECK_RESULT(lvskit_batch_add_destination(b, NULL, &d), LVSKIT_RESULT_NULL_PARAMETER);
    CHECK_RESULT(lvskit_batch_set_timeouts(b, NULL), LVSKIT_RESULT_NULL_PARAMETER);
    CHECK_RESULT(lvskit_batch_start_sync_daemon(b, NULL), LVSKIT_RESULT_NULL_PARAMETER);
    CHECK_RESULT(lvskit_batch_flush(NULL), LVSKIT_RESULT_NULL_PARAMETER);
    CHECK(lvskit_batch_len(b) == 1);
    CHECK(lvskit_batch_len(NULL) == 0);

    lvskit_batch_report *r = (lvskit_batch_report *)0x1;
    CHECK_RESULT(lvskit_execute(NULL, b, LVSKIT_BATCH_CONTINUE, &r), LVSKIT_RESULT_NULL_PARAMETER);
    CHECK_RESULT(lvskit_execute(h, NULL, LVSKIT_BATCH_CONTINUE, &r), LVSKIT_RESULT_NULL_PARAMETER);
    CHECK_RESULT(lvskit_execute(h, b, LVSKIT_BATCH_CONTINUE, NULL), LVSKIT_RESULT_NULL_PARAMETER);
    CHECK_RESULT(lvskit_execute(h, b, 2, &r), LVSKIT_RESULT_INVALID_INPUT);
    CHECK(r == (lvskit_batch_report *)0x1);
    CHECK_RESULT(lvskit_batch_report_get(NULL, 0, NULL), LVSKIT_RESULT_NULL_PARAMETER);
    CHECK(lvskit_batch_report_len(NULL) == 0);
    CHECK(lvskit_batch_report_done(NULL) == 0);
    CHECK(lvskit_batch_report_message(NULL, 0, NULL, 0) == 0);
    lvskit_batch_report_free(NULL);
    lvskit_batch_free(NULL);
    CHECK_SAVED(""); /* nothing was sent */

    /* the valid operation still runs */
    REQUIRE_OK(lvskit_execute(h, b, LVSKIT_BATCH_CONTINUE, &r));
    CHECK(lvskit_batch_report_done(r) == 1);
    CHECK_RESULT(lvskit_batch_report_get(r, 0, NULL), LVSKIT_RESULT_NULL_PARAMETER);
    lvskit_batch_report_free(r);
    CHECK_SAVED("-A -t 10.0.0.1:80 -s wlc\n");
    lvskit_batch_free(b);
    lvskit_close(h);
}

int main(void) {
    RUN(continue_mode_reports_each_operation);
    RUN(stop_on_error_sends_nothing_after_a_failure);
    RUN(every_kind_of_operation);
    RUN(bad_input_leaves_the_batch_unchanged);
    return finish("test_batch");
}
