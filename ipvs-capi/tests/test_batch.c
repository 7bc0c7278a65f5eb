/* Batches: a result per operation, in both modes, cross-checked with ipvsadm. */
#include "harness.h"

#include <netinet/in.h>

static void check_op(const ipvs_batch_report *r, size_t i, uint32_t status, uint32_t result,
                     int err_no) {
    ipvs_op_result o;
    memset(&o, 0xEE, sizeof o);
    CHECK_OK(ipvs_batch_report_get(r, i, &o));
    if (o.status != status || o.result != result || o.err_no != err_no) {
        char msg[256];
        ipvs_batch_report_message(r, i, msg, sizeof msg);
        fprintf(stderr, "  operation %zu: status %u result %s errno %d (%s); expected %u %s %d\n",
                i, o.status, ipvs_result_name(o.result), o.err_no, msg, status,
                ipvs_result_name(result), err_no);
        test_failed = 1;
    }
}

static ipvs_batch *sample(ipvs_service *s) {
    ipvs_batch *b = NULL;
    REQUIRE_OK(ipvs_batch_new(&b));
    *s = svc_inet(IPPROTO_TCP, "10.0.0.1", 80);
    set_name(s->scheduler, "rr");
    ipvs_destination d1 = dest_of("192.168.1.11", 80, IPVS_FWD_MASQ, 1);
    ipvs_destination d2 = dest_of("192.168.1.12", 80, IPVS_FWD_MASQ, 2);
    ipvs_service other = svc_inet(IPPROTO_TCP, "10.0.0.2", 80);
    CHECK_OK(ipvs_batch_add_service(b, s));            /* 0: done */
    CHECK_OK(ipvs_batch_add_destination(b, s, &d1));   /* 1: done */
    CHECK_OK(ipvs_batch_add_service(b, s));            /* 2: exists */
    CHECK_OK(ipvs_batch_add_destination(b, s, &d2));   /* 3: done, or not attempted */
    CHECK_OK(ipvs_batch_delete_service(b, &other));    /* 4: no such service */
    CHECK_OK(ipvs_batch_add_service(b, &other));       /* 5: done, or not attempted */
    CHECK(ipvs_batch_len(b) == 6);
    return b;
}

static void continue_mode_reports_each_operation(void) {
    SH_OK("ip link add rs0 type dummy && ip addr add 192.168.1.1/24 dev rs0 && "
          "ip link set rs0 up");
    ipvs_handle *h = open_here();
    ipvs_service s;
    ipvs_batch *b = sample(&s);
    ipvs_batch_report *r = NULL;
    CHECK_OK(ipvs_execute(h, b, IPVS_BATCH_CONTINUE, &r));
    REQUIRE(r != NULL);
    CHECK(ipvs_batch_report_len(r) == 6);
    CHECK(ipvs_batch_report_done(r) == 4);
    check_op(r, 0, IPVS_OP_DONE, IPVS_RESULT_OK, 0);
    check_op(r, 1, IPVS_OP_DONE, IPVS_RESULT_OK, 0);
    check_op(r, 2, IPVS_OP_FAILED, IPVS_RESULT_EXISTS, EEXIST);
    check_op(r, 3, IPVS_OP_DONE, IPVS_RESULT_OK, 0);
    check_op(r, 4, IPVS_OP_FAILED, IPVS_RESULT_NOT_FOUND, ESRCH);
    check_op(r, 5, IPVS_OP_DONE, IPVS_RESULT_OK, 0);
    char msg[256];
    CHECK(ipvs_batch_report_message(r, 0, msg, sizeof msg) == 0 && msg[0] == '\0');
    CHECK(ipvs_batch_report_message(r, 2, msg, sizeof msg) > 0);
    CHECK(strstr(msg, "10.0.0.1:80") != NULL);
    CHECK(ipvs_batch_report_message(r, 6, msg, sizeof msg) == 0);
    ipvs_op_result o;
    CHECK_RESULT(ipvs_batch_report_get(r, 6, &o), IPVS_RESULT_OUT_OF_RANGE);
    ipvs_batch_report_free(r);

    CHECK_SAVED("-A -t 10.0.0.1:80 -s rr\n"
                "-a -t 10.0.0.1:80 -r 192.168.1.11:80 -m -w 1\n"
                "-a -t 10.0.0.1:80 -r 192.168.1.12:80 -m -w 2\n"
                "-A -t 10.0.0.2:80 -s wlc\n");

    /* the same batch again: the first four now exist; the delete finds the
     * service the first run added last, which the last operation re-adds */
    CHECK_OK(ipvs_execute(h, b, IPVS_BATCH_CONTINUE, &r));
    CHECK(ipvs_batch_report_done(r) == 2);
    for (size_t i = 0; i < 4; i++) check_op(r, i, IPVS_OP_FAILED, IPVS_RESULT_EXISTS, EEXIST);
    check_op(r, 4, IPVS_OP_DONE, IPVS_RESULT_OK, 0);
    check_op(r, 5, IPVS_OP_DONE, IPVS_RESULT_OK, 0);
    ipvs_batch_report_free(r);
    ipvs_batch_free(b);
    ipvs_close(h);
}

static void stop_on_error_sends_nothing_after_a_failure(void) {
    SH_OK("ip link add rs0 type dummy && ip addr add 192.168.1.1/24 dev rs0 && "
          "ip link set rs0 up");
    ipvs_handle *h = open_here();
    ipvs_service s;
    ipvs_batch *b = sample(&s);
    ipvs_batch_report *r = NULL;
    CHECK_OK(ipvs_execute(h, b, IPVS_BATCH_STOP_ON_ERROR, &r));
    REQUIRE(r != NULL);
    CHECK(ipvs_batch_report_done(r) == 2);
    check_op(r, 0, IPVS_OP_DONE, IPVS_RESULT_OK, 0);
    check_op(r, 1, IPVS_OP_DONE, IPVS_RESULT_OK, 0);
    check_op(r, 2, IPVS_OP_FAILED, IPVS_RESULT_EXISTS, EEXIST);
    for (size_t i = 3; i < 6; i++) check_op(r, i, IPVS_OP_NOT_ATTEMPTED, IPVS_RESULT_NOT_ATTEMPTED, 0);
    ipvs_batch_report_free(r);
    CHECK_SAVED("-A -t 10.0.0.1:80 -s rr\n"
                "-a -t 10.0.0.1:80 -r 192.168.1.11:80 -m -w 1\n");
    ipvs_batch_free(b);
    ipvs_close(h);
}

static void every_kind_of_operation(void) {
    SH_OK("ip link add rs0 type dummy && ip addr add 192.168.1.1/24 dev rs0 && "
          "ip link set rs0 up");
    ipvs_handle *h = open_here();
    ipvs_batch *b = NULL;
    REQUIRE_OK(ipvs_batch_new(&b));
    ipvs_service s = svc_inet(IPPROTO_UDP, "10.0.0.5", 53);
    ipvs_destination d = dest_of("192.168.1.20", 53, IPVS_FWD_TUNNEL, 3);
    ipvs_timeouts t = {.tcp = 900, .tcp_fin = 30, .udp = 60};
    ipvs_sync_daemon sd;
    REQUIRE_OK(ipvs_sync_daemon_init(&sd));
    set_name(sd.ifname, "rs0");
    CHECK_OK(ipvs_batch_add_service(b, &s));
    set_name(s.scheduler, "sed");
    CHECK_OK(ipvs_batch_update_service(b, &s));
    CHECK_OK(ipvs_batch_add_destination(b, &s, &d));
    d.weight = 9;
    CHECK_OK(ipvs_batch_update_destination(b, &s, &d));
    CHECK_OK(ipvs_batch_set_timeouts(b, &t));
    CHECK_OK(ipvs_batch_start_sync_daemon(b, &sd));
    CHECK_OK(ipvs_batch_zero(b, &s));
    CHECK_OK(ipvs_batch_zero(b, NULL));
    ipvs_batch_report *r = NULL;
    REQUIRE_OK(ipvs_execute(h, b, IPVS_BATCH_STOP_ON_ERROR, &r));
    CHECK(ipvs_batch_report_done(r) == ipvs_batch_len(b));
    ipvs_batch_report_free(r);
    CHECK_SAVED("-A -u 10.0.0.5:53 -s sed\n"
                "-a -u 10.0.0.5:53 -r 192.168.1.20:53 -i -w 9 --tun-type ipip\n");
    char *shown = capture("ipvsadm -L --timeout");
    CHECK_STR(shown, "Timeout (tcp tcpfin udp): 900 30 60\n");
    free(shown);
    shown = capture("ipvsadm -L --daemon");
    CHECK(strstr(shown, "master sync daemon (mcast=rs0, syncid=0") != NULL);
    free(shown);
    ipvs_batch_free(b);

    /* the undo: stop the daemon, remove the real server, then flush */
    REQUIRE_OK(ipvs_batch_new(&b));
    CHECK_OK(ipvs_batch_stop_sync_daemon(b, IPVS_SYNC_MASTER));
    CHECK_OK(ipvs_batch_delete_destination(b, &s, &d));
    CHECK_OK(ipvs_batch_delete_service(b, &s));
    CHECK_OK(ipvs_batch_flush(b));
    REQUIRE_OK(ipvs_execute(h, b, IPVS_BATCH_CONTINUE, &r));
    CHECK(ipvs_batch_report_done(r) == 4);
    ipvs_batch_report_free(r);
    CHECK_SAVED("");
    shown = capture("ipvsadm -L --daemon");
    CHECK_STR(shown, "");
    free(shown);
    ipvs_batch_free(b);
    ipvs_close(h);
}

static void bad_input_leaves_the_batch_unchanged(void) {
    ipvs_handle *h = open_here();
    ipvs_batch *b = NULL;
    REQUIRE_OK(ipvs_batch_new(&b));
    ipvs_service s = svc_inet(IPPROTO_TCP, "10.0.0.1", 80);
    CHECK_OK(ipvs_batch_add_service(b, &s));

    ipvs_service bad = s;
    bad.family = 7;
    ipvs_destination d = dest_of("192.168.1.11", 80, IPVS_FWD_MASQ, 1);
    ipvs_destination badd = d;
    badd.weight = 0x80000000u;
    ipvs_timeouts t = {.udp = 4000000};
    ipvs_sync_daemon sd;
    REQUIRE_OK(ipvs_sync_daemon_init(&sd)); /* no interface */
    CHECK_RESULT(ipvs_batch_add_service(b, &bad), IPVS_RESULT_INVALID_INPUT);
    CHECK_RESULT(ipvs_batch_update_service(b, &bad), IPVS_RESULT_INVALID_INPUT);
    CHECK_RESULT(ipvs_batch_delete_service(b, &bad), IPVS_RESULT_INVALID_INPUT);
    CHECK_RESULT(ipvs_batch_add_destination(b, &bad, &d), IPVS_RESULT_INVALID_INPUT);
    CHECK_RESULT(ipvs_batch_add_destination(b, &s, &badd), IPVS_RESULT_INVALID_INPUT);
    CHECK_RESULT(ipvs_batch_update_destination(b, &s, &badd), IPVS_RESULT_INVALID_INPUT);
    CHECK_RESULT(ipvs_batch_delete_destination(b, &bad, &d), IPVS_RESULT_INVALID_INPUT);
    CHECK_RESULT(ipvs_batch_set_timeouts(b, &t), IPVS_RESULT_INVALID_INPUT);
    CHECK_RESULT(ipvs_batch_start_sync_daemon(b, &sd), IPVS_RESULT_INVALID_INPUT);
    CHECK_RESULT(ipvs_batch_stop_sync_daemon(b, 5), IPVS_RESULT_INVALID_INPUT);
    CHECK_RESULT(ipvs_batch_zero(b, &bad), IPVS_RESULT_INVALID_INPUT);

    CHECK_RESULT(ipvs_batch_new(NULL), IPVS_RESULT_NULL_PARAMETER);
    CHECK_RESULT(ipvs_batch_add_service(NULL, &s), IPVS_RESULT_NULL_PARAMETER);
    CHECK_RESULT(ipvs_batch_add_service(b, NULL), IPVS_RESULT_NULL_PARAMETER);
    CHECK_RESULT(ipvs_batch_add_destination(b, &s, NULL), IPVS_RESULT_NULL_PARAMETER);
    CHECK_RESULT(ipvs_batch_add_destination(b, NULL, &d), IPVS_RESULT_NULL_PARAMETER);
    CHECK_RESULT(ipvs_batch_set_timeouts(b, NULL), IPVS_RESULT_NULL_PARAMETER);
    CHECK_RESULT(ipvs_batch_start_sync_daemon(b, NULL), IPVS_RESULT_NULL_PARAMETER);
    CHECK_RESULT(ipvs_batch_flush(NULL), IPVS_RESULT_NULL_PARAMETER);
    CHECK(ipvs_batch_len(b) == 1);
    CHECK(ipvs_batch_len(NULL) == 0);

    ipvs_batch_report *r = (ipvs_batch_report *)0x1;
    CHECK_RESULT(ipvs_execute(NULL, b, IPVS_BATCH_CONTINUE, &r), IPVS_RESULT_NULL_PARAMETER);
    CHECK_RESULT(ipvs_execute(h, NULL, IPVS_BATCH_CONTINUE, &r), IPVS_RESULT_NULL_PARAMETER);
    CHECK_RESULT(ipvs_execute(h, b, IPVS_BATCH_CONTINUE, NULL), IPVS_RESULT_NULL_PARAMETER);
    CHECK_RESULT(ipvs_execute(h, b, 2, &r), IPVS_RESULT_INVALID_INPUT);
    CHECK(r == (ipvs_batch_report *)0x1);
    CHECK_RESULT(ipvs_batch_report_get(NULL, 0, NULL), IPVS_RESULT_NULL_PARAMETER);
    CHECK(ipvs_batch_report_len(NULL) == 0);
    CHECK(ipvs_batch_report_done(NULL) == 0);
    CHECK(ipvs_batch_report_message(NULL, 0, NULL, 0) == 0);
    ipvs_batch_report_free(NULL);
    ipvs_batch_free(NULL);
    CHECK_SAVED(""); /* nothing was sent */

    /* the valid operation still runs */
    REQUIRE_OK(ipvs_execute(h, b, IPVS_BATCH_CONTINUE, &r));
    CHECK(ipvs_batch_report_done(r) == 1);
    CHECK_RESULT(ipvs_batch_report_get(r, 0, NULL), IPVS_RESULT_NULL_PARAMETER);
    ipvs_batch_report_free(r);
    CHECK_SAVED("-A -t 10.0.0.1:80 -s wlc\n");
    ipvs_batch_free(b);
    ipvs_close(h);
}

int main(void) {
    RUN(continue_mode_reports_each_operation);
    RUN(stop_on_error_sends_nothing_after_a_failure);
    RUN(every_kind_of_operation);
    RUN(bad_input_leaves_the_batch_unchanged);
    return finish("test_batch");
}
