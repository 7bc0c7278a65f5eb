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
        ipvs_result got_ = (expr);                                                     \
        int errno_ = ipvs_last_errno();                                                \
        char *after_ = capture("%s", view);                                            \
        if (got_ != (want) || errno_ != (want_errno)) {                                \
            char msg_[512];                                                            \
            ipvs_last_error_message(msg_, sizeof msg_);                                \
            fprintf(stderr, "  case \"%s\": got %s errno %d (%s), expected %s errno %d\n", \
                    desc, ipvs_result_name(got_), errno_, msg_, ipvs_result_name(want),  \
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

#define NULLP IPVS_RESULT_NULL_PARAMETER
#define BAD IPVS_RESULT_INVALID_INPUT

static ipvs_address addr_of(const char *text) {
    ipvs_address a;
    memset(&a, 0, sizeof a);
    a.family = strchr(text, ':') ? IPVS_AF_INET6 : IPVS_AF_INET;
    REQUIRE(inet_pton(a.family == IPVS_AF_INET6 ? AF_INET6 : AF_INET, text, a.addr) == 1);
    return a;
}

static void services_and_destinations(void) {
    SH_OK("ip link add rs0 type dummy && ip addr add 192.168.1.1/24 dev rs0 && "
          "ip link set rs0 up");
    ipvs_handle *h = open_here();
    ipvs_service s = svc_inet(IPPROTO_TCP, "10.0.0.1", 80);
    set_name(s.scheduler, "rr");
    REQUIRE_OK(ipvs_add_service(h, &s));
    ipvs_destination d = dest_of("192.168.1.11", 80, IPVS_FWD_MASQ, 1);
    REQUIRE_OK(ipvs_add_destination(h, &s, &d));
    ipvs_service b;
    ipvs_destination e;

    CASE("NULL handle", SERVICES_VIEW, ipvs_add_service(NULL, &s), NULLP, 0);
    CASE("NULL service", SERVICES_VIEW, ipvs_add_service(h, NULL), NULLP, 0);
    CASE("NULL destination", SERVICES_VIEW, ipvs_add_destination(h, &s, NULL), NULLP, 0);

    b = svc_inet(IPPROTO_TCP, "10.0.0.2", 80);
    memset(b.scheduler, 'r', sizeof b.scheduler);
    CASE("scheduler name of 16 bytes without NUL", SERVICES_VIEW, ipvs_add_service(h, &b), BAD,
         0);
    b = svc_inet(IPPROTO_TCP, "10.0.0.2", 80);
    set_name(b.scheduler, "r r");
    CASE("scheduler name with a space", SERVICES_VIEW, ipvs_add_service(h, &b), BAD, 0);
    b = svc_inet(IPPROTO_TCP, "10.0.0.2", 80);
    set_name(b.scheduler, "nosuchsched");
    CASE("unknown scheduler", SERVICES_VIEW, ipvs_add_service(h, &b),
         IPVS_RESULT_MODULE_MISSING, ENOENT);
    b = svc_inet(IPPROTO_TCP, "10.0.0.2", 80);
    b.persistence_timeout = 60;
    b.netmask_prefix = 33;
    CASE("IPv4 persistence netmask /33", SERVICES_VIEW, ipvs_add_service(h, &b), BAD, 0);
    b = svc_inet(IPPROTO_TCP, "2001:db8::1", 80);
    b.persistence_timeout = 60;
    b.netmask_prefix = 129;
    CASE("IPv6 persistence prefix /129", SERVICES_VIEW, ipvs_add_service(h, &b), BAD, 0);
    b = svc_inet(IPPROTO_TCP, "10.0.0.2", 80);
    set_name(b.pe_name, "sip");
    CASE("persistence engine without persistence", SERVICES_VIEW, ipvs_add_service(h, &b), BAD,
         0);
    b = svc_inet(IPPROTO_TCP, "10.0.0.2", 80);
    b.fwmark = 3;
    CASE("fwmark service with an address and port", SERVICES_VIEW, ipvs_add_service(h, &b), BAD,
         0);
    b = svc_inet(IPPROTO_TCP, "10.0.0.2", 80);
    b.family = IPVS_AF_INET;
    b.addr[15] = 1; /* IPv4 family with IPv6-length address bytes */
    CASE("family mismatch: IPv4 with 16 address bytes", SERVICES_VIEW, ipvs_add_service(h, &b),
         BAD, 0);
    b = svc_inet(IPPROTO_TCP, "10.0.0.2", 80);
    b.protocol = 99;
    CASE("unknown protocol 99", SERVICES_VIEW, ipvs_add_service(h, &b), BAD, 0);
    b = svc_inet(IPPROTO_TCP, "10.0.0.2", 80);
    b.persistence_timeout = 0x80000000u;
    CASE("persistence timeout 2^31 (the kernel would keep 0)", SERVICES_VIEW,
         ipvs_add_service(h, &b), BAD, 0);
    b.persistence_timeout = 17179870;
    CASE("persistence timeout 17179870 (the kernel would keep 0)", SERVICES_VIEW,
         ipvs_add_service(h, &b), BAD, 0);
    b.persistence_timeout = IPVS_MAX_PERSISTENCE_TIMEOUT + 1;
    CASE("persistence timeout 31 days + 1 s", SERVICES_VIEW, ipvs_update_service(h, &b), BAD, 0);
    b.persistence_timeout = 0;
    b.flags = IPVS_SVC_F_PERSISTENT;
    CASE("persistent with timeout 0 (as listed from another client)", SERVICES_VIEW,
         ipvs_add_service(h, &b), BAD, 0);
    b = svc_inet(IPPROTO_TCP, "10.0.0.2", 0);
    CASE("port 0 without persistence", SERVICES_VIEW, ipvs_add_service(h, &b), BAD, 0);
    b = svc_inet(IPPROTO_UDP, "10.0.0.2", 0);
    CASE("UDP port 0 without persistence", SERVICES_VIEW, ipvs_add_service(h, &b), BAD, 0);
    CASE("double add of a service", SERVICES_VIEW, ipvs_add_service(h, &s), IPVS_RESULT_EXISTS,
         EEXIST);
    b = svc_inet(IPPROTO_TCP, "10.0.0.9", 80);
    CASE("delete of a missing service", SERVICES_VIEW, ipvs_delete_service(h, &b),
         IPVS_RESULT_NOT_FOUND, ESRCH);
    CASE("update of a missing service", SERVICES_VIEW, ipvs_update_service(h, &b),
         IPVS_RESULT_NOT_FOUND, ESRCH);

    e = dest_of("192.168.1.12", 80, IPVS_FWD_MASQ, 0x80000000u);
    CASE("weight 2^31", SERVICES_VIEW, ipvs_add_destination(h, &s, &e), BAD, 0);
    e = dest_of("192.168.1.12", 80, IPVS_FWD_MASQ, 1);
    e.upper_threshold = 0x80000000u;
    CASE("upper threshold 2^31", SERVICES_VIEW, ipvs_add_destination(h, &s, &e), BAD, 0);
    e = dest_of("192.168.1.11", 80, 5, 1);
    CASE("forwarding method 5 (unknown, as listed)", SERVICES_VIEW,
         ipvs_update_destination(h, &s, &e), BAD, 0);
    e = dest_of("192.168.1.11", 80, IPVS_FWD_TUNNEL, 1);
    e.tun_type = 9;
    CASE("tunnel type 9 (unknown, as listed)", SERVICES_VIEW, ipvs_update_destination(h, &s, &e),
         BAD, 0);
    e = dest_of("192.168.1.12", 80, IPVS_FWD_MASQ, 1);
    e.upper_threshold = 10;
    e.lower_threshold = 20;
    CASE("lower threshold above upper", SERVICES_VIEW, ipvs_add_destination(h, &s, &e), BAD, 0);
    e = dest_of("2001:db8::5", 80, IPVS_FWD_MASQ, 1);
    CASE("IPv6 NAT server for an IPv4 service", SERVICES_VIEW, ipvs_add_destination(h, &s, &e),
         BAD, 0);
    e = dest_of("192.168.1.12", 80, IPVS_FWD_TUNNEL, 1);
    e.tun_type = IPVS_TUN_GUE;
    e.tun_port = 0;
    CASE("GUE tunnel without a port", SERVICES_VIEW, ipvs_add_destination(h, &s, &e), BAD, 0);
    CASE("double add of a real server", SERVICES_VIEW, ipvs_add_destination(h, &s, &d),
         IPVS_RESULT_EXISTS, EEXIST);
    e = dest_of("192.168.1.99", 80, IPVS_FWD_MASQ, 1);
    CASE("delete of a missing real server", SERVICES_VIEW, ipvs_delete_destination(h, &s, &e),
         IPVS_RESULT_NOT_FOUND, ENOENT);
    b = svc_inet(IPPROTO_TCP, "10.0.0.9", 80);
    CASE("real server for a missing service", SERVICES_VIEW, ipvs_add_destination(h, &b, &e),
         IPVS_RESULT_NOT_FOUND, ESRCH);

    ipvs_batch_report *r = (ipvs_batch_report *)0x1;
    CASE("rules text with a bad port on line 2", SERVICES_VIEW,
         ipvs_restore_rules(h, "-A -u 10.0.0.5:53\n-A -t 10.0.0.6:99999\n", IPVS_BATCH_CONTINUE,
                            &r),
         IPVS_RESULT_PARSE_ERROR, 0);
    CHECK(r == (ipvs_batch_report *)0x1);

    CHECK_SAVED("-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 192.168.1.11:80 -m -w 1\n");
    printf("  %d cases\n", cases);
    ipvs_close(h);
}

static void daemons_and_timeouts(void) {
    SH_OK("ip link add sync0 type dummy && ip link set sync0 up");
    ipvs_handle *h = open_here();
    ipvs_sync_daemon sd;
    REQUIRE_OK(ipvs_sync_daemon_init(&sd));
    set_name(sd.ifname, "sync0");
    REQUIRE_OK(ipvs_start_sync_daemon(h, &sd));

    ipvs_sync_daemon b = sd;
    CASE("NULL daemon", DAEMONS_VIEW, ipvs_start_sync_daemon(h, NULL), NULLP, 0);
    memset(b.ifname, 'i', sizeof b.ifname);
    CASE("interface name of 16 bytes without NUL", DAEMONS_VIEW, ipvs_start_sync_daemon(h, &b),
         BAD, 0);
    b = sd;
    b.state = IPVS_SYNC_BACKUP;
    set_name(b.ifname, "nosuch0");
    CASE("missing interface", DAEMONS_VIEW, ipvs_start_sync_daemon(h, &b),
         IPVS_RESULT_NOT_FOUND, ENODEV);
    CASE("second master daemon", DAEMONS_VIEW, ipvs_start_sync_daemon(h, &sd),
         IPVS_RESULT_EXISTS, EEXIST);
    CASE("stop of a backup daemon that is not running", DAEMONS_VIEW,
         ipvs_stop_sync_daemon(h, IPVS_SYNC_BACKUP), IPVS_RESULT_NOT_FOUND, ESRCH);
    CASE("daemon state 7", DAEMONS_VIEW, ipvs_stop_sync_daemon(h, 7), BAD, 0);
    b = sd;
    b.state = IPVS_SYNC_BACKUP;
    b.group_family = IPVS_AF_INET6;
    b.group[0] = 0x20; /* 2000::, not multicast */
    CASE("unicast sync group", DAEMONS_VIEW, ipvs_start_sync_daemon(h, &b), BAD, 0);

    b = sd;
    b.sync_id = IPVS_MAX_SYNC_ID + 1;
    CASE("sync id 256", DAEMONS_VIEW, ipvs_start_sync_daemon(h, &b), BAD, 0);
    b = sd;
    b.state = 3;
    CASE("daemon state 3 (unknown, as listed)", DAEMONS_VIEW, ipvs_start_sync_daemon(h, &b), BAD,
         0);
    ipvs_timeouts u = {.udp = IPVS_MAX_TIMEOUT + 1};
    CASE("UDP timeout one above the maximum", TIMEOUTS_VIEW, ipvs_set_timeouts(h, &u), BAD, 0);
    ipvs_timeouts t = {.tcp = 3000000};
    CASE("TCP timeout over INT_MAX/HZ", TIMEOUTS_VIEW, ipvs_set_timeouts(h, &t), BAD, 0);
    CASE("NULL timeouts", TIMEOUTS_VIEW, ipvs_set_timeouts(h, NULL), NULLP, 0);
    CHECK_OK(ipvs_stop_sync_daemon(h, IPVS_SYNC_MASTER));
    printf("  %d cases\n", cases);
    ipvs_close(h);
}

static void tunnels(void) {
    SH_OK("ip link add ul0 type dummy && ip link set ul0 up");
    ipvs_rtnl *r = NULL;
    REQUIRE_OK(ipvs_rtnl_open(&r));
    ipvs_tunnel_config c;
    REQUIRE_OK(ipvs_tunnel_config_init(&c, IPVS_TUNNEL_IPIP));
    /* (without a remote it would match tunl0's parameters, which the kernel refuses) */
    ipvs_address remote = addr_of("192.0.2.2");
    c.remote_family = remote.family;
    memcpy(c.remote, remote.addr, 16);
    REQUIRE_OK(ipvs_rtnl_add_tunnel(r, "tun1", &c, 0, 0, NULL));
    ipvs_tunnel_config b;
    ipvs_link l;

    CASE("NULL tunnel config", LINKS_VIEW, ipvs_rtnl_add_tunnel(r, "tun2", NULL, 0, 0, NULL),
         NULLP, 0);
    CASE("NULL tunnel name", LINKS_VIEW, ipvs_rtnl_add_tunnel(r, NULL, &c, 0, 0, NULL), NULLP, 0);
    CASE("tunnel name of 16 bytes", LINKS_VIEW,
         ipvs_rtnl_add_tunnel(r, "abcdefghijklmnop", &c, 0, 0, NULL), BAD, 0);
    CASE("tunnel name with '/'", LINKS_VIEW, ipvs_rtnl_add_tunnel(r, "a/b", &c, 0, 0, NULL), BAD,
         0);
    CASE("tunnel name with a space", LINKS_VIEW, ipvs_rtnl_add_tunnel(r, "a b", &c, 0, 0, NULL),
         BAD, 0);
    b = c;
    b.kind = 99;
    CASE("unknown tunnel kind", LINKS_VIEW, ipvs_rtnl_add_tunnel(r, "tun2", &b, 0, 0, NULL), BAD,
         0);
    b = c;
    {
        ipvs_address a6 = addr_of("2001:db8::1");
        b.local_family = a6.family;
        memcpy(b.local, a6.addr, 16);
    }
    CASE("IPv6 local address on an ipip tunnel", LINKS_VIEW,
         ipvs_rtnl_add_tunnel(r, "tun2", &b, 0, 0, NULL), BAD, 0);
    b = c;
    b.key_flags = IPVS_TUNNEL_F_IKEY;
    b.ikey = 5;
    CASE("GRE key on an ipip tunnel", LINKS_VIEW, ipvs_rtnl_add_tunnel(r, "tun2", &b, 0, 0, NULL),
         BAD, 0);
    b = c;
    b.encap_type = IPVS_ENCAP_GUE;
    b.encap_dport = 0;
    CASE("GUE encapsulation without a port", LINKS_VIEW,
         ipvs_rtnl_add_tunnel(r, "tun2", &b, 0, 0, NULL), BAD, 0);
    CASE("MTU 10 at creation", LINKS_VIEW, ipvs_rtnl_add_tunnel(r, "tun2", &c, 10, 0, NULL), BAD,
         0);
    CASE("MTU 10", LINKS_VIEW, ipvs_rtnl_set_mtu(r, "tun1", 10), BAD, 0);
    CASE("double add of a tunnel", LINKS_VIEW, ipvs_rtnl_add_tunnel(r, "tun1", &c, 0, 0, NULL),
         IPVS_RESULT_EXISTS, EEXIST);
    CASE("delete of a missing device", LINKS_VIEW, ipvs_rtnl_delete_link(r, "nosuch0"),
         IPVS_RESULT_NOT_FOUND, ENODEV);
    CASE("set up of a missing device", LINKS_VIEW, ipvs_rtnl_set_up(r, "nosuch0", 1),
         IPVS_RESULT_NOT_FOUND, ENODEV);
    ipvs_address a = addr_of("198.51.100.1");
    CASE("address prefix /33", LINKS_VIEW, ipvs_rtnl_add_address(r, "tun1", &a, 33), BAD, 0);
    CASE("delete of a missing address", LINKS_VIEW, ipvs_rtnl_delete_address(r, "tun1", &a, 32),
         IPVS_RESULT_NOT_FOUND, EADDRNOTAVAIL);
    ipvs_fou_port p;
    REQUIRE_OK(ipvs_fou_port_init(&p, 0));
    CASE("FOU port 0", LINKS_VIEW, ipvs_rtnl_add_fou_port(r, &p), BAD, 0);
    REQUIRE_OK(ipvs_fou_port_init(&p, 6080));
    p.encap = IPVS_FOU_DIRECT;
    p.ipproto = 0;
    CASE("direct FOU port without a protocol", LINKS_VIEW, ipvs_rtnl_add_fou_port(r, &p), BAD, 0);
    ipvs_rtnl *other = (ipvs_rtnl *)0x1;
    CASE("missing namespace", LINKS_VIEW, ipvs_rtnl_open_netns_name("capi-no-such-ns", &other),
         IPVS_RESULT_IO, ENOENT);
    CHECK(other == (ipvs_rtnl *)0x1);
    ipvs_real_server rs;
    REQUIRE_OK(ipvs_real_server_init(&rs, IPVS_RS_TUNNEL));
    ipvs_address unspec = addr_of("0.0.0.0");
    ipvs_prepared *prep = (ipvs_prepared *)0x1;
    CASE("real server with VIP 0.0.0.0", LINKS_VIEW,
         ipvs_real_server_prepare(r, &rs, &unspec, 1, &prep), BAD, 0);
    CASE("link lookup of a missing device", LINKS_VIEW, ipvs_rtnl_get_link(r, "nosuch0", &l),
         IPVS_RESULT_NOT_FOUND, ENODEV);
    CHECK(prep == (ipvs_prepared *)0x1);

    CHECK_OK(ipvs_rtnl_delete_link(r, "tun1"));
    printf("  %d cases\n", cases);
    ipvs_rtnl_close(r);
}

int main(void) {
    RUN(services_and_destinations);
    RUN(daemons_and_timeouts);
    RUN(tunnels);
    return finish("test_bad_input_catalogue");
}
