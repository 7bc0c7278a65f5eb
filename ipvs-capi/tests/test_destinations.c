/* Real servers through the C binding, cross-checked with ipvsadm. */
#include "harness.h"

#include <netinet/in.h>

static void adds_destinations_of_every_forwarding_method(void) {
    SH_OK("ip link add rs0 type dummy && ip addr add 192.168.1.1/24 dev rs0 && "
          "ip link set rs0 up");
    lvskit_handle *h = open_here();
    lvskit_service s = svc_inet(IPPROTO_TCP, "10.0.0.1", 80);
    set_name(s.scheduler, "wrr");
    REQUIRE_OK(lvskit_add_service(h, &s));

    lvskit_destination route = dest_of("192.168.1.11", 80, LVSKIT_FWD_ROUTE, 1);
    lvskit_destination masq = dest_of("192.168.1.12", 8080, LVSKIT_FWD_MASQ, 5);
    masq.upper_threshold = 100;
    masq.lower_threshold = 10;
    lvskit_destination ipip = dest_of("192.168.1.13", 80, LVSKIT_FWD_TUNNEL, 3);
    lvskit_destination gue = dest_of("192.168.1.14", 80, LVSKIT_FWD_TUNNEL, 2);
    gue.tun_type = LVSKIT_TUN_GUE;
    gue.tun_port = 6080;
    gue.tun_flags = LVSKIT_TUN_F_CSUM;
    lvskit_destination gre = dest_of("192.168.1.15", 80, LVSKIT_FWD_TUNNEL, 0);
    gre.tun_type = LVSKIT_TUN_GRE;
    lvskit_destination *all[] = {&route, &masq, &ipip, &gue, &gre};
    for (size_t i = 0; i < 5; i++) CHECK_OK(lvskit_add_destination(h, &s, all[i]));

    CHECK_SAVED("-A -t 10.0.0.1:80 -s wrr\n"
                "-a -t 10.0.0.1:80 -r 192.168.1.11:80 -g -w 1\n"
                "-a -t 10.0.0.1:80 -r 192.168.1.12:8080 -m -w 5\n"
                "-a -t 10.0.0.1:80 -r 192.168.1.13:80 -i -w 3 --tun-type ipip\n"
                "-a -t 10.0.0.1:80 -r 192.168.1.14:80 -i -w 2 --tun-type gue --tun-port 6080 "
                "--tun-csum\n"
                "-a -t 10.0.0.1:80 -r 192.168.1.15:80 -i -w 0 --tun-type gre --tun-nocsum\n");
    /* thresholds are not in -Sn: check them with -Ln --thresholds */
    char *thr = capture("ipvsadm -Ln --thresholds | grep 192.168.1.12:8080");
    CHECK(strstr(thr, "100") != NULL && strstr(thr, "10") != NULL);
    free(thr);

    lvskit_destination_list *list = NULL;
    REQUIRE_OK(lvskit_list_destinations(h, &s, &list));
    CHECK(lvskit_destination_list_len(list) == 5);
    int seen[5] = {0};
    for (size_t i = 0; i < lvskit_destination_list_len(list); i++) {
        lvskit_destination d;
        lvskit_destination_counters c;
        memset(&c, 0xFF, sizeof c);
        CHECK_OK(lvskit_destination_list_get(list, i, &d, &c));
        CHECK(c.active_conns == 0 && c.inactive_conns == 0 && c.stats.conns == 0);
        for (size_t j = 0; j < 5; j++)
            if (memcmp(&d, all[j], sizeof d) == 0) seen[j]++;
    }
    for (size_t j = 0; j < 5; j++) CHECK(seen[j] == 1);
    lvskit_destination d;
    CHECK_RESULT(lvskit_destination_list_get(list, 99, &d, NULL), LVSKIT_RESULT_OUT_OF_RANGE);
    lvskit_destination_list_free(list);
    lvskit_close(h);
}

static void updates_drains_and_removes_destinations(void) {
    SH_OK("ip link add rs0 type dummy && ip addr add 192.168.2.1/24 dev rs0 && "
          "ip link set rs0 up");
    lvskit_handle *h = open_here();
    lvskit_service s = svc_inet(IPPROTO_UDP, "10.0.0.2", 53);
    REQUIRE_OK(lvskit_add_service(h, &s));
    lvskit_destination a = dest_of("192.168.2.11", 53, LVSKIT_FWD_MASQ, 10);
    lvskit_destination b = dest_of("192.168.2.12", 53, LVSKIT_FWD_MASQ, 10);
    CHECK_OK(lvskit_add_destination(h, &s, &a));
    CHECK_OK(lvskit_add_destination(h, &s, &b));
    CHECK_RESULT(lvskit_add_destination(h, &s, &a), LVSKIT_RESULT_EXISTS);
    CHECK(lvskit_last_errno() == EEXIST);

    a.weight = 0; /* drain */
    CHECK_OK(lvskit_update_destination(h, &s, &a));
    CHECK_OK(lvskit_delete_destination(h, &s, &b));
    CHECK_SAVED("-A -u 10.0.0.2:53 -s wlc\n"
                "-a -u 10.0.0.2:53 -r 192.168.2.11:53 -m -w 0\n");
    CHECK_RESULT(lvskit_delete_destination(h, &s, &b), LVSKIT_RESULT_NOT_FOUND);
    CHECK(lvskit_last_errno() == ENOENT);

    lvskit_service missing = svc_inet(IPPROTO_UDP, "10.0.0.3", 53);
    CHECK_RESULT(lvskit_add_destination(h, &missing, &b), LVSKIT_RESULT_NOT_FOUND);
    CHECK(lvskit_last_errno() == ESRCH);
    lvskit_destination_list *list = (lvskit_destination_list *)0x1;
    CHECK_RESULT(lvskit_list_destinations(h, &missing, &list), LVSKIT_RESULT_NOT_FOUND);
    CHECK(list == (lvskit_destination_list *)0x1);
    CHECK(lvskit_last_errno() == ESRCH);
    {
        char msg[256];
        lvskit_last_error_message(msg, sizeof msg);
        CHECK(strstr(msg, "listing destinations of service") != NULL);
    }

    /* an existing service without real servers lists as empty */
    lvskit_service empty = svc_inet(IPPROTO_UDP, "10.0.0.4", 53);
    REQUIRE_OK(lvskit_add_service(h, &empty));
    CHECK_OK(lvskit_list_destinations(h, &empty, &list));
    CHECK(lvskit_destination_list_len(list) == 0);
    lvskit_destination_list_free(list);
    lvskit_close(h);
}

static void reads_destinations_that_ipvsadm_made(void) {
    SH_OK("ip link add rs0 type dummy && ip addr add 2001:db8:1::1/64 dev rs0 && "
          "ip addr add 192.168.3.1/24 dev rs0 && ip link set rs0 up");
    SH_OK("ipvsadm -A -t [2001:db8::10]:443 -s rr");
    SH_OK("ipvsadm -a -t [2001:db8::10]:443 -r [2001:db8:1::5]:443 -i -w 7 "
          "--tun-type gue --tun-port 5555 --tun-remcsum");
    SH_OK("ipvsadm -a -t [2001:db8::10]:443 -r 192.168.3.5 -i -w 4");
    lvskit_handle *h = open_here();
    lvskit_service s = svc_inet(IPPROTO_TCP, "2001:db8::10", 443);
    lvskit_destination_list *list = NULL;
    REQUIRE_OK(lvskit_list_destinations(h, &s, &list));
    REQUIRE(lvskit_destination_list_len(list) == 2);
    int found = 0;
    for (size_t i = 0; i < 2; i++) {
        lvskit_destination d;
        REQUIRE_OK(lvskit_destination_list_get(list, i, &d, NULL));
        CHECK(d.forward == LVSKIT_FWD_TUNNEL);
        if (d.family == LVSKIT_AF_INET6) {
            found |= 1;
            uint8_t want[16];
            inet_pton(AF_INET6, "2001:db8:1::5", want);
            CHECK(memcmp(d.addr, want, 16) == 0);
            CHECK(d.port == 443 && d.weight == 7);
            CHECK(d.tun_type == LVSKIT_TUN_GUE && d.tun_port == 5555);
            CHECK(d.tun_flags == LVSKIT_TUN_F_REMCSUM);
        } else {
            found |= 2;
            uint8_t want[16] = {192, 168, 3, 5};
            CHECK(memcmp(d.addr, want, 16) == 0);
            CHECK(d.weight == 4 && d.tun_type == LVSKIT_TUN_IPIP);
        }
    }
    CHECK(found == 3);
    lvskit_destination_list_free(list);
    lvskit_close(h);
}

int main(void) {
    RUN(adds_destinations_of_every_forwarding_method);
    RUN(updates_drains_and_removes_destinations);
    RUN(reads_destinations_that_ipvsadm_made);
    return finish("test_destinations");
}
