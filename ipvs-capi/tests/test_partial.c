/* Partial changes through the C binding (lvskit_set_weight, lvskit_set_scheduler):
 * what they do not name is kept; cross-checked with ipvsadm -Sn and -Ln. */
#include "harness.h"

#include <netinet/in.h>

static lvskit_address v4addr(const char *text) {
    lvskit_address a;
    memset(&a, 0, sizeof a);
    a.family = LVSKIT_AF_INET;
    REQUIRE(inet_pton(AF_INET, text, a.addr) == 1);
    return a;
}

#define GUE_LINE(w)                                                               \
    "-A -t 10.0.0.1:80 -s wrr\n"                                                  \
    "-a -t 10.0.0.1:80 -r 10.1.0.2:80 -i -w " w " --tun-type gue --tun-port 6080 " \
    "--tun-csum\n"

static void set_weight_keeps_a_gue_destination(void) {
    SH_OK("ip link add d0 type dummy && ip addr add 10.255.255.254/8 dev d0 && "
          "ip link set d0 up");
    lvskit_handle *h = open_here();
    lvskit_service s = svc_inet(IPPROTO_TCP, "10.0.0.1", 80);
    set_name(s.scheduler, "wrr");
    REQUIRE_OK(lvskit_add_service(h, &s));
    lvskit_destination gue = dest_of("10.1.0.2", 80, LVSKIT_FWD_TUNNEL, 5);
    gue.tun_type = LVSKIT_TUN_GUE;
    gue.tun_port = 6080;
    gue.tun_flags = LVSKIT_TUN_F_CSUM;
    gue.upper_threshold = 100;
    gue.lower_threshold = 10;
    REQUIRE_OK(lvskit_add_destination(h, &s, &gue));
    CHECK_SAVED(GUE_LINE("5"));

    lvskit_address a = v4addr("10.1.0.2");
    CHECK_OK(lvskit_set_weight(h, &s, &a, 80, 0));
    CHECK_SAVED(GUE_LINE("0"));
    char *thr = capture("ipvsadm -Ln --thresholds | grep 10.1.0.2:80 | tr -s ' '");
    CHECK_STR(thr, " -> 10.1.0.2:80 100 10 0 0 \n");
    free(thr);
    lvskit_destination_list *list = NULL;
    REQUIRE_OK(lvskit_list_destinations(h, &s, &list));
    REQUIRE(lvskit_destination_list_len(list) == 1);
    lvskit_destination d;
    REQUIRE_OK(lvskit_destination_list_get(list, 0, &d, NULL));
    lvskit_destination want = gue;
    want.weight = 0;
    CHECK(memcmp(&d, &want, sizeof d) == 0);
    lvskit_destination_list_free(list);

    CHECK_OK(lvskit_set_weight(h, &s, &a, 80, 5));
    CHECK_SAVED(GUE_LINE("5"));

    /* what is missing or out of range changes nothing */
    lvskit_address other = v4addr("10.1.0.3");
    CHECK_RESULT(lvskit_set_weight(h, &s, &other, 80, 0), LVSKIT_RESULT_NOT_FOUND);
    CHECK_RESULT(lvskit_set_weight(h, &s, &a, 81, 0), LVSKIT_RESULT_NOT_FOUND);
    lvskit_service missing = svc_inet(IPPROTO_TCP, "10.0.0.9", 80);
    CHECK_RESULT(lvskit_set_weight(h, &missing, &a, 80, 0), LVSKIT_RESULT_NOT_FOUND);
    CHECK_RESULT(lvskit_set_weight(h, &s, &a, 80, 2147483648u), LVSKIT_RESULT_INVALID_INPUT);
    CHECK_RESULT(lvskit_set_weight(h, &s, NULL, 80, 0), LVSKIT_RESULT_NULL_PARAMETER);
    CHECK_SAVED(GUE_LINE("5"));
    lvskit_close(h);
}

static void set_scheduler_keeps_persistence_flags_and_engine(void) {
    SH_OK("ip link add d0 type dummy && ip addr add 10.255.255.254/8 dev d0 && "
          "ip link set d0 up");
    lvskit_handle *h = open_here();
    lvskit_service s = svc_inet(IPPROTO_UDP, "10.0.0.3", 5060);
    set_name(s.scheduler, "sh");
    set_name(s.pe_name, "sip");
    s.flags = LVSKIT_SVC_F_ONE_PACKET | LVSKIT_SVC_F_SCHED2;
    s.persistence_timeout = 120;
    s.netmask_prefix = 24;
    REQUIRE_OK(lvskit_add_service(h, &s));
    CHECK_SAVED("-A -u 10.0.0.3:5060 -s sh -p 120 -M 255.255.255.0 --pe sip -o -b sh-port\n");

    CHECK_OK(lvskit_set_scheduler(h, &s, "mh"));
    CHECK_SAVED("-A -u 10.0.0.3:5060 -s mh -p 120 -M 255.255.255.0 --pe sip -o -b mh-port\n");
    char *exact = capture("ipvsadm -Ln --exact | grep UDP | tr -s ' '");
    CHECK_STR(exact, "UDP 10.0.0.3:5060 mh (mh-port) persistent 120 mask 255.255.255.0 pe sip ops\n");
    free(exact);

    lvskit_service missing = svc_inet(IPPROTO_UDP, "10.0.0.9", 5060);
    CHECK_RESULT(lvskit_set_scheduler(h, &missing, "rr"), LVSKIT_RESULT_NOT_FOUND);
    CHECK_RESULT(lvskit_set_scheduler(h, &s, NULL), LVSKIT_RESULT_NULL_PARAMETER);
    CHECK_RESULT(lvskit_set_scheduler(h, &s, "no such/name"), LVSKIT_RESULT_INVALID_INPUT);
    CHECK_SAVED("-A -u 10.0.0.3:5060 -s mh -p 120 -M 255.255.255.0 --pe sip -o -b mh-port\n");
    lvskit_close(h);
}

int main(void) {
    RUN(set_weight_keeps_a_gue_destination);
    RUN(set_scheduler_keeps_persistence_flags_and_engine);
    return finish("test_partial");
}
