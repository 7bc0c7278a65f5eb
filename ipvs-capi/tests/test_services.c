/* Virtual services through the C binding, cross-checked with ipvsadm. */
#include "harness.h"

#include <netinet/in.h>

static void adds_services_that_ipvsadm_reads_back(void) {
    lvskit_handle *h = open_here();

    lvskit_service tcp = svc_inet(IPPROTO_TCP, "10.0.0.1", 80);
    set_name(tcp.scheduler, "rr");
    CHECK_OK(lvskit_add_service(h, &tcp));

    lvskit_service udp = svc_inet(IPPROTO_UDP, "10.0.0.2", 53);
    set_name(udp.scheduler, "wrr");
    udp.flags = LVSKIT_SVC_F_ONE_PACKET;
    CHECK_OK(lvskit_add_service(h, &udp));

    lvskit_service pers = svc_inet(IPPROTO_TCP, "10.0.0.3", 443);
    pers.persistence_timeout = LVSKIT_PERSISTENCE_DEFAULT_TIMEOUT;
    pers.netmask_prefix = 24;
    CHECK_OK(lvskit_add_service(h, &pers));

    lvskit_service v6 = svc_inet(IPPROTO_SCTP, "2001:db8::1", 9000);
    set_name(v6.scheduler, "sh");
    v6.flags = LVSKIT_SVC_F_SCHED2; /* sh-port */
    CHECK_OK(lvskit_add_service(h, &v6));

    lvskit_service fwm;
    REQUIRE_OK(lvskit_service_init(&fwm));
    fwm.protocol = 0;
    fwm.fwmark = 7;
    CHECK_OK(lvskit_add_service(h, &fwm));

    CHECK_SAVED("-A -t 10.0.0.1:80 -s rr\n"
                "-A -u 10.0.0.2:53 -s wrr -o\n"
                "-A -t 10.0.0.3:443 -s wlc -p 300 -M 255.255.255.0\n"
                "-A --sctp-service [2001:db8::1]:9000 -s sh -b sh-port\n"
                "-A -f 7 -s wlc\n");

    /* Reading each one back gives exactly what was added. */
    lvskit_service *all[] = {&tcp, &udp, &pers, &v6, &fwm};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        lvskit_service got;
        lvskit_stats stats;
        memset(&got, 0xAA, sizeof got);
        CHECK_OK(lvskit_get_service(h, all[i], &got, &stats));
        CHECK(memcmp(&got, all[i], sizeof got) == 0);
        CHECK(stats.conns == 0);
    }

    /* The listing holds the same five, each exactly once. */
    lvskit_service_list *list = NULL;
    REQUIRE_OK(lvskit_list_services(h, &list));
    CHECK(lvskit_service_list_len(list) == 5);
    int seen[5] = {0};
    for (size_t i = 0; i < lvskit_service_list_len(list); i++) {
        lvskit_service got;
        CHECK_OK(lvskit_service_list_get(list, i, &got, NULL));
        for (size_t j = 0; j < 5; j++)
            if (memcmp(&got, all[j], sizeof got) == 0) seen[j]++;
    }
    for (size_t j = 0; j < 5; j++) CHECK(seen[j] == 1);
    lvskit_service got;
    CHECK_RESULT(lvskit_service_list_get(list, 5, &got, NULL), LVSKIT_RESULT_OUT_OF_RANGE);
    lvskit_service_list_free(list);
    lvskit_close(h);
}

static void updates_and_deletes_services(void) {
    lvskit_handle *h = open_here();
    lvskit_service s = svc_inet(IPPROTO_TCP, "10.1.0.1", 80);
    CHECK_OK(lvskit_add_service(h, &s));
    set_name(s.scheduler, "mh");
    s.flags = LVSKIT_SVC_F_SCHED1 | LVSKIT_SVC_F_SCHED2; /* mh-fallback,mh-port */
    s.persistence_timeout = 60;
    CHECK_OK(lvskit_update_service(h, &s));
    CHECK_SAVED("-A -t 10.1.0.1:80 -s mh -p 60 -b mh-fallback,mh-port\n");
    lvskit_service got;
    CHECK_OK(lvskit_get_service(h, &s, &got, NULL));
    CHECK(strcmp(got.scheduler, "mh") == 0);
    CHECK(got.persistence_timeout == 60);
    CHECK(got.netmask_prefix == 32);

    CHECK_OK(lvskit_delete_service(h, &s));
    CHECK_SAVED("");
    lvskit_close(h);
}

static void reads_services_that_ipvsadm_made(void) {
    SH_OK("ipvsadm -A -u 192.0.2.9:5060 -s lc -p 120 -M 255.255.0.0 --pe sip");
    SH_OK("ipvsadm -A -f 42 -6 -s nq");
    lvskit_handle *h = open_here();
    lvskit_service_list *list = NULL;
    REQUIRE_OK(lvskit_list_services(h, &list));
    REQUIRE(lvskit_service_list_len(list) == 2);
    int found = 0;
    for (size_t i = 0; i < 2; i++) {
        lvskit_service s;
        lvskit_stats st;
        REQUIRE_OK(lvskit_service_list_get(list, i, &s, &st));
        if (s.fwmark == 42) {
            found |= 1;
            CHECK(s.family == LVSKIT_AF_INET6);
            CHECK(s.protocol == 0);
            CHECK(strcmp(s.scheduler, "nq") == 0);
            CHECK(s.persistence_timeout == 0);
        } else {
            found |= 2;
            uint8_t want[16] = {192, 0, 2, 9};
            CHECK(s.family == LVSKIT_AF_INET);
            CHECK(s.protocol == IPPROTO_UDP);
            CHECK(memcmp(s.addr, want, 16) == 0);
            CHECK(s.port == 5060);
            CHECK(strcmp(s.scheduler, "lc") == 0);
            CHECK(s.persistence_timeout == 120);
            CHECK(s.netmask_prefix == 16);
            CHECK(strcmp(s.pe_name, "sip") == 0);
            CHECK(s.flags == 0);
        }
    }
    CHECK(found == 3);
    lvskit_service_list_free(list);
    lvskit_close(h);
}

static void kernel_refusals_have_codes_and_errnos(void) {
    lvskit_handle *h = open_here();
    lvskit_service s = svc_inet(IPPROTO_TCP, "10.2.0.1", 80);
    CHECK_OK(lvskit_add_service(h, &s));
    CHECK_RESULT(lvskit_add_service(h, &s), LVSKIT_RESULT_EXISTS);
    CHECK(lvskit_last_result() == LVSKIT_RESULT_EXISTS);
    CHECK(lvskit_last_errno() == EEXIST);
    char msg[256];
    size_t n = lvskit_last_error_message(msg, sizeof msg);
    CHECK(n > 0 && n < sizeof msg);
    CHECK(strstr(msg, "10.2.0.1:80") != NULL);

    lvskit_service other = svc_inet(IPPROTO_TCP, "10.2.0.2", 80);
    lvskit_service out;
    memset(&out, 0x5A, sizeof out);
    lvskit_service before = out;
    CHECK_RESULT(lvskit_get_service(h, &other, &out, NULL), LVSKIT_RESULT_NOT_FOUND);
    CHECK(memcmp(&out, &before, sizeof out) == 0); /* untouched on failure */
    CHECK_RESULT(lvskit_delete_service(h, &other), LVSKIT_RESULT_NOT_FOUND);
    CHECK(lvskit_last_errno() == ESRCH);
    CHECK_RESULT(lvskit_update_service(h, &other), LVSKIT_RESULT_NOT_FOUND);

    lvskit_service bad_sched = svc_inet(IPPROTO_TCP, "10.2.0.3", 80);
    set_name(bad_sched.scheduler, "nosuchsched");
    CHECK_RESULT(lvskit_add_service(h, &bad_sched), LVSKIT_RESULT_MODULE_MISSING);
    CHECK(lvskit_last_errno() == ENOENT);

    /* a success clears the last error */
    lvskit_info info;
    CHECK_OK(lvskit_get_info(h, &info));
    CHECK(lvskit_last_result() == LVSKIT_RESULT_OK);
    CHECK(lvskit_last_errno() == 0);
    CHECK(lvskit_last_error_message(msg, sizeof msg) == 0 && msg[0] == '\0');

    CHECK_SAVED("-A -t 10.2.0.1:80 -s wlc\n");
    lvskit_close(h);
}

int main(void) {
    RUN(adds_services_that_ipvsadm_reads_back);
    RUN(updates_and_deletes_services);
    RUN(reads_services_that_ipvsadm_made);
    RUN(kernel_refusals_have_codes_and_errnos);
    return finish("test_services");
}
