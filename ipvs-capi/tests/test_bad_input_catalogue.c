/*
 * The bad-input catalogue (issue #10), C side: each case names its input,
 * asserts the specific result code (and, for kernel refusals, the errno),
 * and that the kernel's state is unchanged, as the referee sees it:
 * `ipvsadm -Sn` for services and real servers, `ipvsadm -Ln --daemon` for
 * sync daemons, `ipvsadm -L --timeout` for timeouts, `ip -o link` (and
 * addresses, FOU ports) for tunnels. The snapshot is taken right before and
 * right after the call.
 */
#include "harness.h"

#include <netinet/in.h>

#define SERVICES_VIEW "ipvsadm -Sn"
#define DAEMONS_VIEW "ipvsadm -Ln --daemon"
#define TIMEOUTS_VIEW "ipvsadm -L --timeout"
#define LINKS_VIEW "ip -o link; ip -o addr; ip fou show"

static int cases;

/* Runs EXPR between two snapshots of VIEW; checks its result, errno and that
 * the snapshots are equal. */
#define CASE(desc, view, expr, want, want_errno)                                       \
    do {                                                                               \
        cases++;                                                                       \
        char *before_ = capture("%s", view);                                           \
        lvskit_result got_ = (expr);                                                     \
        int errno_ = lvskit_last_errno();                                                \
        char *after_ = capture("%s", view);                                            \
        if (got_ != (want) || errno_ != (want_errno)) {                                \
            char msg_[512];                                                            \
            lvskit_last_error_message(msg_, sizeof msg_);                                \
            fprintf(stderr, "  case \"%s\": got %s errno %d (%s), expected %s errno %d\n", \
                    desc, lvskit_result_name(got_), errno_, msg_, lvskit_result_name(want),  \
                    want_errno);                                                       \
            test_failed = 1;                                                           \
        }                                                                              \
        if (strcmp(before_, after_) != 0) {                                            \
            fprintf(stderr, "  case \"%s\" changed the state:\n%s\n  ->\n%s\n", desc,  \
                    before_, after_);                                                  \
            test_failed = 1;                                                           \
        }                                                                              \
        free(before_);                                                                 \
        free(after_);                                                                  \
    } while (0)

#define NULLP LVSKIT_RESULT_NULL_PARAMETER
#define BAD LVSKIT_RESULT_INVALID_INPUT

static lvskit_address addr_of(const char *text) {
    lvskit_address a;
    memset(&a, 0, sizeof a);
    a.family = strchr(text, ':') ? LVSKIT_AF_INET6 : LVSKIT_AF_INET;
    REQUIRE(inet_pton(a.family == LVSKIT_AF_INET6 ? AF_INET6 : AF_INET, text, a.addr) == 1);
    return a;
}

static void services_and_destinations(void) {
    SH_OK("ip link add rs0 type dummy && ip addr add 192.168.1.1/24 dev rs0 && "
          "ip link set rs0 up");
    lvskit_handle *h = open_here();
    lvskit_service s = svc_inet(IPPROTO_TCP, "10.0.0.1", 80);
    set_name(s.scheduler, "rr");
    REQUIRE_OK(lvskit_add_service(h, &s));
    lvskit_destination d = dest_of("192.168.1.11", 80, LVSKIT_FWD_MASQ, 1);
    REQUIRE_OK(lvskit_add_destination(h, &s, &d));
    lvskit_service b;
    lvskit_destination e;

    CASE("NULL handle", SERVICES_VIEW, lvskit_add_service(NULL, &s), NULLP, 0);
    CASE("NULL service", SERVICES_VIEW, lvskit_add_service(h, NULL), NULLP, 0);
    CASE("NULL destination", SERVICES_VIEW, lvskit_add_destination(h, &s, NULL), NULLP, 0);

    b = svc_inet(IPPROTO_TCP, "10.0.0.2", 80);
    memset(b.scheduler, 'r', sizeof b.scheduler);
    CASE("scheduler name of 16 bytes without NUL", SERVICES_VIEW, lvskit_add_service(h, &b), BAD,
         0);
    b = svc_inet(IPPROTO_TCP, "10.0.0.2", 80);
    set_name(b.scheduler, "r r");
    CASE("scheduler name with a space", SERVICES_VIEW, lvskit_add_service(h, &b), BAD, 0);
    b = svc_inet(IPPROTO_TCP, "10.0.0.2", 80);
    set_name(b.scheduler, "nosuchsched");
    CASE("unknown scheduler", SERVICES_VIEW, lvskit_add_service(h, &b),
         LVSKIT_RESULT_MODULE_MISSING, ENOENT);
    b = svc_inet(IPPROTO_TCP, "10.0.0.2", 80);
    b.persistence_timeout = 60;
    b.netmask_prefix = 33;
    CASE("IPv4 persistence netmask /33", SERVICES_VIEW, lvskit_add_service(h, &b), BAD, 0);
    b = svc_inet(IPPROTO_TCP, "2001:db8::1", 80);
    b.persistence_timeout = 60;
    b.netmask_prefix = 129;
    CASE("IPv6 persistence prefix /129", SERVICES_VIEW, lvskit_add_service(h, &b), BAD, 0);
    b = svc_inet(IPPROTO_TCP, "10.0.0.2", 80);
    set_name(b.pe_name, "sip");
    CASE("persistence engine without persistence", SERVICES_VIEW, lvskit_add_service(h, &b), BAD,
         0);
    b = svc_inet(IPPROTO_TCP, "10.0.0.2", 80);
    b.fwmark = 3;
    CASE("fwmark service with an address and port", SERVICES_VIEW, lvskit_add_service(h, &b), BAD,
         0);
    b = svc_inet(IPPROTO_TCP, "10.0.0.2", 80);
    b.family = LVSKIT_AF_INET;
    b.addr[15] = 1; /* IPv4 family with IPv6-length address bytes */
    CASE("family mismatch: IPv4 with 16 address bytes", SERVICES_VIEW, lvskit_add_service(h, &b),
         BAD, 0);
    b = svc_inet(IPPROTO_TCP, "10.0.0.2", 80);
    b.protocol = 99;
    CASE("unknown protocol 99", SERVICES_VIEW, lvskit_add_service(h, &b), BAD, 0);
    b = svc_inet(IPPROTO_TCP, "10.0.0.2", 80);
    b.persistence_timeout = 0x80000000u;
    CASE("persistence timeout 2^31 (the kernel would keep 0)", SERVICES_VIEW,
         lvskit_add_service(h, &b), BAD, 0);
    b.persistence_timeout = 17179870;
    CASE("persistence timeout 17179870 (the kernel would keep 0)", SERVICES_VIEW,
         lvskit_add_service(h, &b), BAD, 0);
    b.persistence_timeout = LVSKIT_MAX_PERSISTENCE_TIMEOUT + 1;
    CASE("persistence timeout 31 days + 1 s", SERVICES_VIEW, lvskit_update_service(h, &b), BAD, 0);
    b.persistence_timeout = 0;
    b.flags = LVSKIT_SVC_F_PERSISTENT;
    CASE("persistent with timeout 0 (as listed from another client)", SERVICES_VIEW,
         lvskit_add_service(h, &b), BAD, 0);
    b = svc_inet(IPPROTO_TCP, "10.0.0.2", 0);
    CASE("port 0 without persistence", SERVICES_VIEW, lvskit_add_service(h, &b), BAD, 0);
    b = svc_inet(IPPROTO_UDP, "10.0.0.2", 0);
    CASE("UDP port 0 without persistence", SERVICES_VIEW, lvskit_add_service(h, &b), BAD, 0);
    CASE("double add of a service", SERVICES_VIEW, lvskit_add_service(h, &s), LVSKIT_RESULT_EXISTS,
         EEXIST);
    b = svc_inet(IPPROTO_TCP, "10.0.0.9", 80);
    CASE("delete of a missing service", SERVICES_VIEW, lvskit_delete_service(h, &b),
         LVSKIT_RESULT_NOT_FOUND, ESRCH);
    CASE("update of a missing service", SERVICES_VIEW, lvskit_update_service(h, &b),
         LVSKIT_RESULT_NOT_FOUND, ESRCH);

    e = dest_of("192.168.1.12", 80, LVSKIT_FWD_MASQ, 0x80000000u);
    CASE("weight 2^31", SERVICES_VIEW, lvskit_add_destination(h, &s, &e), BAD, 0);
    e = dest_of("192.168.1.12", 80, LVSKIT_FWD_MASQ, 1);
    e.upper_threshold = 0x80000000u;
    CASE("upper threshold 2^31", SERVICES_VIEW, lvskit_add_destination(h, &s, &e), BAD, 0);
    e = dest_of("192.168.1.11", 80, 5, 1);
    CASE("forwarding method 5 (unknown, as listed)", SERVICES_VIEW,
         lvskit_update_destination(h, &s, &e), BAD, 0);
    e = dest_of("192.168.1.11", 80, LVSKIT_FWD_TUNNEL, 1);
    e.tun_type = 9;
    CASE("tunnel type 9 (unknown, as listed)", SERVICES_VIEW, lvskit_update_destination(h, &s, &e),
         BAD, 0);
    e = dest_of("192.168.1.12", 80, LVSKIT_FWD_MASQ, 1);
    e.upper_threshold = 10;
    e.lower_threshold = 20;
    CASE("lower threshold above upper", SERVICES_VIEW, lvskit_add_destination(h, &s, &e), BAD, 0);
    e = dest_of("2001:db8::5", 80, LVSKIT_FWD_MASQ, 1);
    CASE("IPv6 NAT server for an IPv4 service", SERVICES_VIEW, lvskit_add_destination(h, &s, &e),
         BAD, 0);
    e = dest_of("192.168.1.12", 80, LVSKIT_FWD_TUNNEL, 1);
    e.tun_type = LVSKIT_TUN_GUE;
    e.tun_port = 0;
    CASE("GUE tunnel without a port", SERVICES_VIEW, lvskit_add_destination(h, &s, &e), BAD, 0);
    CASE("double add of a real server", SERVICES_VIEW, lvskit_add_destination(h, &s, &d),
         LVSKIT_RESULT_EXISTS, EEXIST);
    e = dest_of("192.168.1.99", 80, LVSKIT_FWD_MASQ, 1);
    CASE("delete of a missing real server", SERVICES_VIEW, lvskit_delete_destination(h, &s, &e),
         LVSKIT_RESULT_NOT_FOUND, ENOENT);
    b = svc_inet(IPPROTO_TCP, "10.0.0.9", 80);
    CASE("real server for a missing service", SERVICES_VIEW, lvskit_add_destination(h, &b, &e),
         LVSKIT_RESULT_NOT_FOUND, ESRCH);

    lvskit_batch_report *r = (lvskit_batch_report *)0x1;
    CASE("rules text with a bad port on line 2", SERVICES_VIEW,
         lvskit_restore_rules(h, "-A -u 10.0.0.5:53\n-A -t 10.0.0.6:99999\n", LVSKIT_BATCH_CONTINUE,
                            &r),
         LVSKIT_RESULT_PARSE_ERROR, 0);
    CHECK(r == (lvskit_batch_report *)0x1);

    CHECK_SAVED("-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 192.168.1.11:80 -m -w 1\n");
    printf("  %d cases\n", cases);
    lvskit_close(h);
}

static void daemons_and_timeouts(void) {
    SH_OK("ip link add sync0 type dummy && ip link set sync0 up");
    lvskit_handle *h = open_here();
    lvskit_sync_daemon sd;
    REQUIRE_OK(lvskit_sync_daemon_init(&sd));
    set_name(sd.ifname, "sync0");
    REQUIRE_OK(lvskit_start_sync_daemon(h, &sd));

    lvskit_sync_daemon b = sd;
    CASE("NULL daemon", DAEMONS_VIEW, lvskit_start_sync_daemon(h, NULL), NULLP, 0);
    memset(b.ifname, 'i', sizeof b.ifname);
    CASE("interface name of 16 bytes without NUL", DAEMONS_VIEW, lvskit_start_sync_daemon(h, &b),
         BAD, 0);
    b = sd;
    b.state = LVSKIT_SYNC_BACKUP;
    set_name(b.ifname, "nosuch0");
    CASE("missing interface", DAEMONS_VIEW, lvskit_start_sync_daemon(h, &b),
         LVSKIT_RESULT_NOT_FOUND, ENODEV);
    CASE("second master daemon", DAEMONS_VIEW, lvskit_start_sync_daemon(h, &sd),
         LVSKIT_RESULT_EXISTS, EEXIST);
    CASE("stop of a backup daemon that is not running", DAEMONS_VIEW,
         lvskit_stop_sync_daemon(h, LVSKIT_SYNC_BACKUP), LVSKIT_RESULT_NOT_FOUND, ESRCH);
    CASE("daemon state 7", DAEMONS_VIEW, lvskit_stop_sync_daemon(h, 7), BAD, 0);
    b = sd;
    b.state = LVSKIT_SYNC_BACKUP;
    b.group_family = LVSKIT_AF_INET6;
    b.group[0] = 0x20; /* 2000::, not multicast */
    CASE("unicast sync group", DAEMONS_VIEW, lvskit_start_sync_daemon(h, &b), BAD, 0);

    b = sd;
    b.sync_id = LVSKIT_MAX_SYNC_ID + 1;
    CASE("sync id 256", DAEMONS_VIEW, lvskit_start_sync_daemon(h, &b), BAD, 0);
    b = sd;
    b.state = 3;
    CASE("daemon state 3 (unknown, as listed)", DAEMONS_VIEW, lvskit_start_sync_daemon(h, &b), BAD,
         0);
    lvskit_timeouts u = {.udp = LVSKIT_MAX_TIMEOUT + 1};
    CASE("UDP timeout one above the maximum", TIMEOUTS_VIEW, lvskit_set_timeouts(h, &u), BAD, 0);
    lvskit_timeouts t = {.tcp = 3000000};
    CASE("TCP timeout over INT_MAX/HZ", TIMEOUTS_VIEW, lvskit_set_timeouts(h, &t), BAD, 0);
    CASE("NULL timeouts", TIMEOUTS_VIEW, lvskit_set_timeouts(h, NULL), NULLP, 0);
    CHECK_OK(lvskit_stop_sync_daemon(h, LVSKIT_SYNC_MASTER));
    printf("  %d cases\n", cases);
    lvskit_close(h);
}

static void tunnels(void) {
    SH_OK("ip link add ul0 type dummy && ip link set ul0 up");
    lvskit_rtnl *r = NULL;
    REQUIRE_OK(lvskit_rtnl_open(&r));
    lvskit_tunnel_config c;
    REQUIRE_OK(lvskit_tunnel_config_init(&c, LVSKIT_TUNNEL_IPIP));
    /* (without a remote it would match tunl0's parameters, which the kernel refuses) */
    lvskit_address remote = addr_of("192.0.2.2");
    c.remote_family = remote.family;
    memcpy(c.remote, remote.addr, 16);
    REQUIRE_OK(lvskit_rtnl_add_tunnel(r, "tun1", &c, 0, 0, NULL));
    lvskit_tunnel_config b;
    lvskit_link l;

    CASE("NULL tunnel config", LINKS_VIEW, lvskit_rtnl_add_tunnel(r, "tun2", NULL, 0, 0, NULL),
         NULLP, 0);
    CASE("NULL tunnel name", LINKS_VIEW, lvskit_rtnl_add_tunnel(r, NULL, &c, 0, 0, NULL), NULLP, 0);
    CASE("tunnel name of 16 bytes", LINKS_VIEW,
         lvskit_rtnl_add_tunnel(r, "abcdefghijklmnop", &c, 0, 0, NULL), BAD, 0);
    CASE("tunnel name with '/'", LINKS_VIEW, lvskit_rtnl_add_tunnel(r, "a/b", &c, 0, 0, NULL), BAD,
         0);
    CASE("tunnel name with a space", LINKS_VIEW, lvskit_rtnl_add_tunnel(r, "a b", &c, 0, 0, NULL),
         BAD, 0);
    b = c;
    b.kind = 99;
    CASE("unknown tunnel kind", LINKS_VIEW, lvskit_rtnl_add_tunnel(r, "tun2", &b, 0, 0, NULL), BAD,
         0);
    b = c;
    {
        lvskit_address a6 = addr_of("2001:db8::1");
        b.local_family = a6.family;
        memcpy(b.local, a6.addr, 16);
    }
    CASE("IPv6 local address on an ipip tunnel", LINKS_VIEW,
         lvskit_rtnl_add_tunnel(r, "tun2", &b, 0, 0, NULL), BAD, 0);
    b = c;
    b.key_flags = LVSKIT_TUNNEL_F_IKEY;
    b.ikey = 5;
    CASE("GRE key on an ipip tunnel", LINKS_VIEW, lvskit_rtnl_add_tunnel(r, "tun2", &b, 0, 0, NULL),
         BAD, 0);
    b = c;
    b.key_flags = LVSKIT_TUNNEL_F_OCSUM;
    CASE("GRE checksum on an ipip tunnel", LINKS_VIEW,
         lvskit_rtnl_add_tunnel(r, "tun2", &b, 0, 0, NULL), BAD, 0);
    b = c;
    b.key_flags = 0x40;
    CASE("unknown tunnel flag bit", LINKS_VIEW, lvskit_rtnl_add_tunnel(r, "tun2", &b, 0, 0, NULL),
         BAD, 0);
    b = c;
    b.encap_type = LVSKIT_ENCAP_GUE;
    b.encap_dport = 0;
    CASE("GUE encapsulation without a port", LINKS_VIEW,
         lvskit_rtnl_add_tunnel(r, "tun2", &b, 0, 0, NULL), BAD, 0);
    CASE("MTU 10 at creation", LINKS_VIEW, lvskit_rtnl_add_tunnel(r, "tun2", &c, 10, 0, NULL), BAD,
         0);
    CASE("MTU 10", LINKS_VIEW, lvskit_rtnl_set_mtu(r, "tun1", 10), BAD, 0);
    CASE("double add of a tunnel", LINKS_VIEW, lvskit_rtnl_add_tunnel(r, "tun1", &c, 0, 0, NULL),
         LVSKIT_RESULT_EXISTS, EEXIST);
    CASE("delete of a missing device", LINKS_VIEW, lvskit_rtnl_delete_link(r, "nosuch0"),
         LVSKIT_RESULT_NOT_FOUND, ENODEV);
    CASE("set up of a missing device", LINKS_VIEW, lvskit_rtnl_set_up(r, "nosuch0", 1),
         LVSKIT_RESULT_NOT_FOUND, ENODEV);
    lvskit_address a = addr_of("198.51.100.1");
    CASE("address prefix /33", LINKS_VIEW, lvskit_rtnl_add_address(r, "tun1", &a, 33), BAD, 0);
    CASE("delete of a missing address", LINKS_VIEW, lvskit_rtnl_delete_address(r, "tun1", &a, 32),
         LVSKIT_RESULT_NOT_FOUND, EADDRNOTAVAIL);
    lvskit_fou_port p;
    REQUIRE_OK(lvskit_fou_port_init(&p, 0));
    CASE("FOU port 0", LINKS_VIEW, lvskit_rtnl_add_fou_port(r, &p), BAD, 0);
    REQUIRE_OK(lvskit_fou_port_init(&p, 6080));
    p.encap = LVSKIT_FOU_DIRECT;
    p.ipproto = 0;
    CASE("direct FOU port without a protocol", LINKS_VIEW, lvskit_rtnl_add_fou_port(r, &p), BAD, 0);
    lvskit_rtnl *other = (lvskit_rtnl *)0x1;
    CASE("missing namespace", LINKS_VIEW, lvskit_rtnl_open_netns_name("capi-no-such-ns", &other),
         LVSKIT_RESULT_IO, ENOENT);
    CHECK(other == (lvskit_rtnl *)0x1);
    lvskit_real_server rs;
    REQUIRE_OK(lvskit_real_server_init(&rs, LVSKIT_RS_TUNNEL));
    lvskit_address unspec = addr_of("0.0.0.0");
    lvskit_prepared *prep = (lvskit_prepared *)0x1;
    CASE("real server with VIP 0.0.0.0", LINKS_VIEW,
         lvskit_real_server_prepare(r, &rs, &unspec, 1, &prep), BAD, 0);
    CASE("link lookup of a missing device", LINKS_VIEW, lvskit_rtnl_get_link(r, "nosuch0", &l),
         LVSKIT_RESULT_NOT_FOUND, ENODEV);
    CHECK(prep == (lvskit_prepared *)0x1);

    CHECK_OK(lvskit_rtnl_delete_link(r, "tun1"));
    printf("  %d cases\n", cases);
    lvskit_rtnl_close(r);
}

int main(void) {
    RUN(services_and_destinations);
    RUN(daemons_and_timeouts);
    RUN(tunnels);
    return finish("test_bad_input_catalogue");
}
