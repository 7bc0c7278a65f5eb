/* Virtual services through the C binding, cross-checked with ipvsadm. */
#include "harness.h"

#include <netinet/in.h>

static void adds_services_that_ipvsadm_reads_back(void) {
    ipvs_handle *h = open_here();

    ipvs_service tcp = svc_inet(IPPROTO_TCP, "10.0.0.1", 80);
    set_name(tcp.scheduler, "rr");
    CHECK_OK(ipvs_add_service(h, &tcp));

    ipvs_service udp = svc_inet(IPPROTO_UDP, "10.0.0.2", 53);
    set_name(udp.scheduler, "wrr");
    udp.flags = IPVS_SVC_F_ONE_PACKET;
    CHECK_OK(ipvs_add_service(h, &udp));

    ipvs_service pers = svc_inet(IPPROTO_TCP, "10.0.0.3", 443);
    pers.persistence_timeout = IPVS_PERSISTENCE_DEFAULT_TIMEOUT;
    pers.netmask_prefix = 24;
    CHECK_OK(ipvs_add_service(h, &pers));

    ipvs_service v6 = svc_inet(IPPROTO_SCTP, "2001:db8::1", 9000);
    set_name(v6.scheduler, "sh");
    v6.flags = IPVS_SVC_F_SCHED2; /* sh-port */
    CHECK_OK(ipvs_add_service(h, &v6));

    ipvs_service fwm;
    REQUIRE_OK(ipvs_service_init(&fwm));
    fwm.protocol = 0;
    fwm.fwmark = 7;
    CHECK_OK(ipvs_add_service(h, &fwm));

    CHECK_SAVED("-A -t 10.0.0.1:80 -s rr\n"
                "-A -u 10.0.0.2:53 -s wrr -o\n"
                "-A -t 10.0.0.3:443 -s wlc -p 300 -M 255.255.255.0\n"
                "-A --sctp-service [2001:db8::1]:9000 -s sh -b sh-port\n"
                "-A -f 7 -s wlc\n");

    /* Reading each one back gives exactly what was added. */
    ipvs_service *all[] = {&tcp, &udp, &pers, &v6, &fwm};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        ipvs_service got;
        ipvs_stats stats;
        memset(&got, 0xAA, sizeof got);
        CHECK_OK(ipvs_get_service(h, all[i], &got, &stats));
        CHECK(memcmp(&got, all[i], sizeof got) == 0);
        CHECK(stats.conns == 0);
    }

    /* The listing holds the same five, each exactly once. */
    ipvs_service_list *list = NULL;
    REQUIRE_OK(ipvs_list_services(h, &list));
    CHECK(ipvs_service_list_len(list) == 5);
    int seen[5] = {0};
    for (size_t i = 0; i < ipvs_service_list_len(list); i++) {
        ipvs_service got;
        CHECK_OK(ipvs_service_list_get(list, i, &got, NULL));
        for (size_t j = 0; j < 5; j++)
            if (memcmp(&got, all[j], sizeof got) == 0) seen[j]++;
    }
    for (size_t j = 0; j < 5; j++) CHECK(seen[j] == 1);
    ipvs_service got;
    CHECK_RESULT(ipvs_service_list_get(list, 5, &got, NULL), IPVS_RESULT_OUT_OF_RANGE);
    ipvs_service_list_free(list);
    ipvs_close(h);
}

static void updates_and_deletes_services(void) {
    ipvs_handle *h = open_here();
    ipvs_service s = svc_inet(IPPROTO_TCP, "10.1.0.1", 80);
    CHECK_OK(ipvs_add_service(h, &s));
    set_name(s.scheduler, "mh");
    s.flags = IPVS_SVC_F_SCHED1 | IPVS_SVC_F_SCHED2; /* mh-fallback,mh-port */
    s.persistence_timeout = 60;
    CHECK_OK(ipvs_update_service(h, &s));
    CHECK_SAVED("-A -t 10.1.0.1:80 -s mh -p 60 -b mh-fallback,mh-port\n");
    ipvs_service got;
    CHECK_OK(ipvs_get_service(h, &s, &got, NULL));
    CHECK(strcmp(got.scheduler, "mh") == 0);
    CHECK(got.persistence_timeout == 60);
    CHECK(got.netmask_prefix == 32);

    CHECK_OK(ipvs_delete_service(h, &s));
    CHECK_SAVED("");
    ipvs_close(h);
}

static void reads_services_that_ipvsadm_made(void) {
    SH_OK("ipvsadm -A -u 192.0.2.9:5060 -s lc -p 120 -M 255.255.0.0 --pe sip");
    SH_OK("ipvsadm -A -f 42 -6 -s nq");
    ipvs_handle *h = open_here();
    ipvs_service_list *list = NULL;
    REQUIRE_OK(ipvs_list_services(h, &list));
    REQUIRE(ipvs_service_list_len(list) == 2);
    int found = 0;
    for (size_t i = 0; i < 2; i++) {
        ipvs_service s;
        ipvs_stats st;
        REQUIRE_OK(ipvs_service_list_get(list, i, &s, &st));
        if (s.fwmark == 42) {
            found |= 1;
            CHECK(s.family == IPVS_AF_INET6);
            CHECK(s.protocol == 0);
            CHECK(strcmp(s.scheduler, "nq") == 0);
            CHECK(s.persistence_timeout == 0);
        } else {
            found |= 2;
            uint8_t want[16] = {192, 0, 2, 9};
            CHECK(s.family == IPVS_AF_INET);
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
    ipvs_service_list_free(list);
    ipvs_close(h);
}

static void kernel_refusals_have_codes_and_errnos(void) {
    ipvs_handle *h = open_here();
    ipvs_service s = svc_inet(IPPROTO_TCP, "10.2.0.1", 80);
    CHECK_OK(ipvs_add_service(h, &s));
    CHECK_RESULT(ipvs_add_service(h, &s), IPVS_RESULT_EXISTS);
    CHECK(ipvs_last_result() == IPVS_RESULT_EXISTS);
    CHECK(ipvs_last_errno() == EEXIST);
    char msg[256];
    size_t n = ipvs_last_error_message(msg, sizeof msg);
    CHECK(n > 0 && n < sizeof msg);
    CHECK(strstr(msg, "10.2.0.1:80") != NULL);

    ipvs_service other = svc_inet(IPPROTO_TCP, "10.2.0.2", 80);
    ipvs_service out;
    memset(&out, 0x5A, sizeof out);
    ipvs_service before = out;
    CHECK_RESULT(ipvs_get_service(h, &other, &out, NULL), IPVS_RESULT_NOT_FOUND);
    CHECK(memcmp(&out, &before, sizeof out) == 0); /* untouched on failure */
    CHECK_RESULT(ipvs_delete_service(h, &other), IPVS_RESULT_NOT_FOUND);
    CHECK(ipvs_last_errno() == ESRCH);
    CHECK_RESULT(ipvs_update_service(h, &other), IPVS_RESULT_NOT_FOUND);

    ipvs_service bad_sched = svc_inet(IPPROTO_TCP, "10.2.0.3", 80);
    set_name(bad_sched.scheduler, "nosuchsched");
    CHECK_RESULT(ipvs_add_service(h, &bad_sched), IPVS_RESULT_MODULE_MISSING);
    CHECK(ipvs_last_errno() == ENOENT);

    /* a success clears the last error */
    ipvs_info info;
    CHECK_OK(ipvs_get_info(h, &info));
    CHECK(ipvs_last_result() == IPVS_RESULT_OK);
    CHECK(ipvs_last_errno() == 0);
    CHECK(ipvs_last_error_message(msg, sizeof msg) == 0 && msg[0] == '\0');

    CHECK_SAVED("-A -t 10.2.0.1:80 -s wlc\n");
    ipvs_close(h);
}

int main(void) {
    RUN(adds_services_that_ipvsadm_reads_back);
    RUN(updates_and_deletes_services);
    RUN(reads_services_that_ipvsadm_made);
    RUN(kernel_refusals_have_codes_and_errnos);
    return finish("test_services");
}
