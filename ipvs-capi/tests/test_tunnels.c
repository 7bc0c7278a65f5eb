/*
 * Tunnel devices, addresses, FOU ports and real-server set-up through the
 * lvskit_rtnl handle, cross-checked with ip(8) and /proc/sys.
 */
#include "harness.h"

#include <fcntl.h>
#include <netinet/in.h>

static lvskit_rtnl *rtnl_here(void) {
    lvskit_rtnl *r = NULL;
    REQUIRE_OK(lvskit_rtnl_open(&r));
    REQUIRE(r != NULL);
    return r;
}

static lvskit_address addr_of(const char *text) {
    lvskit_address a;
    memset(&a, 0, sizeof a);
    if (strchr(text, ':')) {
        a.family = LVSKIT_AF_INET6;
        REQUIRE(inet_pton(AF_INET6, text, a.addr) == 1);
    } else {
        a.family = LVSKIT_AF_INET;
        REQUIRE(inet_pton(AF_INET, text, a.addr) == 1);
    }
    return a;
}

/* Checks that the output of CMD contains NEEDLE (or not, when WANT is 0). */
#define CHECK_SHOWS(want, needle, ...)                                           \
    do {                                                                         \
        char *out_ = capture(__VA_ARGS__);                                       \
        if ((strstr(out_, needle) != NULL) != (want)) {                          \
            fprintf(stderr, "  %s:%d: expected %s\"%s\" in:\n%s\n", __FILE__,    \
                    __LINE__, (want) ? "" : "no ", needle, out_);                \
            test_failed = 1;                                                     \
        }                                                                        \
        free(out_);                                                              \
    } while (0)

static char *sysctl(const char *path) {
    return capture("cat /proc/sys/%s", path);
}

static void creates_reads_changes_and_deletes_an_ipip_tunnel(void) {
    SH_OK("ip link add ul0 type dummy && ip addr add 192.0.2.1/24 dev ul0 && ip link set ul0 up");
    lvskit_rtnl *r = rtnl_here();
    lvskit_tunnel_config c;
    REQUIRE_OK(lvskit_tunnel_config_init(&c, LVSKIT_TUNNEL_IPIP));
    CHECK(c.pmtudisc == 1 && c.proto == -1 && c.encap_limit == -1 && c.encap_type == 0);
    lvskit_address local = addr_of("192.0.2.1"), remote = addr_of("192.0.2.2");
    c.local_family = local.family;
    memcpy(c.local, local.addr, 16);
    c.remote_family = remote.family;
    memcpy(c.remote, remote.addr, 16);
    c.ttl = 64;
    lvskit_link made;
    REQUIRE_OK(lvskit_rtnl_add_tunnel(r, "tun1", &c, 1400, 1, &made));
    CHECK(strcmp(made.name, "tun1") == 0 && strcmp(made.kind, "ipip") == 0);
    CHECK(made.up == 1 && made.mtu == 1400 && made.is_tunnel == 1);
    CHECK(made.tunnel.ttl == 64 && made.tunnel.local_family == LVSKIT_AF_INET);
    CHECK(memcmp(made.tunnel.remote, remote.addr, 16) == 0);
    CHECK_SHOWS(1, "ipip remote 192.0.2.2 local 192.0.2.1 ttl 64", "ip -d -o link show tun1");
    CHECK_SHOWS(1, "mtu 1400", "ip -o link show tun1");
    CHECK_SHOWS(1, ",UP", "ip -o link show tun1");

    lvskit_link l;
    REQUIRE_OK(lvskit_rtnl_get_link(r, "tun1", &l));
    CHECK(l.index == made.index);
    char *idx = capture("ip -o link show tun1 | cut -d: -f1");
    CHECK((unsigned)atoi(idx) == l.index);
    free(idx);

    /* down, MTU, addresses */
    CHECK_OK(lvskit_rtnl_set_up(r, "tun1", 0));
    CHECK_OK(lvskit_rtnl_get_link(r, "tun1", &l));
    CHECK(l.up == 0);
    CHECK_SHOWS(0, ",UP", "ip -o link show tun1");
    CHECK_OK(lvskit_rtnl_set_mtu(r, "tun1", 1300));
    CHECK_SHOWS(1, "mtu 1300", "ip -o link show tun1");
    lvskit_address vip = addr_of("198.51.100.10");
    CHECK_OK(lvskit_rtnl_add_address(r, "tun1", &vip, 32));
    CHECK_SHOWS(1, "inet 198.51.100.10/32", "ip -o addr show dev tun1");
    CHECK_RESULT(lvskit_rtnl_add_address(r, "tun1", &vip, 32), LVSKIT_RESULT_EXISTS);
    CHECK(lvskit_last_errno() == EEXIST);
    CHECK_OK(lvskit_rtnl_delete_address(r, "tun1", &vip, 32));
    CHECK_SHOWS(0, "198.51.100.10", "ip -o addr show dev tun1");

    /* replace the parameters: read, edit, set back */
    REQUIRE_OK(lvskit_rtnl_get_link(r, "tun1", &l));
    l.tunnel.ttl = 7;
    CHECK_OK(lvskit_rtnl_set_tunnel(r, "tun1", &l.tunnel));
    CHECK_SHOWS(1, "ttl 7", "ip -d -o link show tun1");

    CHECK_OK(lvskit_rtnl_delete_link(r, "tun1"));
    CHECK(sh("ip link show tun1 >/dev/null 2>&1") != 0);
    CHECK_RESULT(lvskit_rtnl_get_link(r, "tun1", &l), LVSKIT_RESULT_NOT_FOUND);
    CHECK(lvskit_last_errno() == ENODEV);
    lvskit_rtnl_close(r);
}

static void gre_with_keys_and_gue_encap_and_ip6tnl(void) {
    lvskit_rtnl *r = rtnl_here();
    lvskit_tunnel_config c;
    REQUIRE_OK(lvskit_tunnel_config_init(&c, LVSKIT_TUNNEL_GRE));
    lvskit_address remote = addr_of("192.0.2.9");
    c.remote_family = remote.family;
    memcpy(c.remote, remote.addr, 16);
    c.key_flags = LVSKIT_TUNNEL_F_IKEY | LVSKIT_TUNNEL_F_OKEY | LVSKIT_TUNNEL_F_OCSUM |
                  LVSKIT_TUNNEL_F_ISEQ;
    c.ikey = 42;
    c.okey = 43;
    c.encap_type = LVSKIT_ENCAP_GUE;
    c.encap_dport = 6080;
    lvskit_link l;
    REQUIRE_OK(lvskit_rtnl_add_tunnel(r, "gre1", &c, 0, 0, &l));
    CHECK(strcmp(l.kind, "gre") == 0 && l.up == 0);
    CHECK(l.tunnel.ikey == 42 && l.tunnel.okey == 43 && l.tunnel.encap_type == LVSKIT_ENCAP_GUE &&
          l.tunnel.encap_dport == 6080);
    CHECK_SHOWS(1, "ikey 0.0.0.42 okey 0.0.0.43", "ip -d -o link show gre1");
    CHECK_SHOWS(1, "encap gue encap-sport auto encap-dport 6080", "ip -d -o link show gre1");
    CHECK(l.tunnel.key_flags == c.key_flags);
    CHECK_SHOWS(1, "iseq", "ip -d -o link show gre1");
    CHECK_SHOWS(1, "ocsum", "ip -d -o link show gre1");
    CHECK_SHOWS(0, "icsum", "ip -d -o link show gre1");
    CHECK_SHOWS(0, "oseq", "ip -d -o link show gre1");
    /* read, edit, set back: the checksum and sequence flags stay */
    REQUIRE_OK(lvskit_rtnl_get_link(r, "gre1", &l));
    l.tunnel.ttl = 5;
    CHECK_OK(lvskit_rtnl_set_tunnel(r, "gre1", &l.tunnel));
    CHECK_SHOWS(1, "ttl 5", "ip -d -o link show gre1");
    CHECK_SHOWS(1, "ocsum", "ip -d -o link show gre1");
    CHECK_SHOWS(1, "iseq", "ip -d -o link show gre1");

    lvskit_tunnel_config c6;
    REQUIRE_OK(lvskit_tunnel_config_init(&c6, LVSKIT_TUNNEL_IP6TNL));
    CHECK(c6.encap_limit == 4);
    lvskit_address r6 = addr_of("2001:db8::2");
    c6.remote_family = r6.family;
    memcpy(c6.remote, r6.addr, 16);
    c6.proto = 4; /* ipip6 */
    REQUIRE_OK(lvskit_rtnl_add_tunnel(r, "t6", &c6, 0, 1, &l));
    CHECK(strcmp(l.kind, "ip6tnl") == 0 && l.tunnel.proto == 4);
    CHECK_SHOWS(1, "ip6tnl ipip6 remote 2001:db8::2", "ip -d -o link show t6");

    REQUIRE_OK(lvskit_rtnl_add_dummy(r, "vip0", 1, &l));
    CHECK(strcmp(l.kind, "dummy") == 0 && l.is_tunnel == 0 && l.up == 1);
    CHECK_OK(lvskit_rtnl_delete_link(r, "gre1"));
    CHECK_OK(lvskit_rtnl_delete_link(r, "t6"));
    CHECK_OK(lvskit_rtnl_delete_link(r, "vip0"));
    lvskit_rtnl_close(r);
}

static void fou_ports(void) {
    lvskit_rtnl *r = rtnl_here();
    lvskit_fou_port p;
    REQUIRE_OK(lvskit_fou_port_init(&p, 6080));
    CHECK_OK(lvskit_rtnl_add_fou_port(r, &p));
    CHECK_SHOWS(1, "port 6080 gue", "ip fou show");
    CHECK_RESULT(lvskit_rtnl_add_fou_port(r, &p), LVSKIT_RESULT_EXISTS);
    lvskit_fou_port d;
    REQUIRE_OK(lvskit_fou_port_init(&d, 5555));
    d.encap = LVSKIT_FOU_DIRECT;
    d.ipproto = 4;
    CHECK_OK(lvskit_rtnl_add_fou_port(r, &d));
    CHECK_SHOWS(1, "port 5555 ipproto 4", "ip fou show");
    CHECK_OK(lvskit_rtnl_delete_fou_port(r, &p));
    CHECK_OK(lvskit_rtnl_delete_fou_port(r, &d));
    CHECK_SHOWS(0, "port", "ip fou show");
    CHECK_RESULT(lvskit_rtnl_delete_fou_port(r, &p), LVSKIT_RESULT_NOT_FOUND);
    lvskit_rtnl_close(r);
}

static void opens_other_namespaces(void) {
    SH_OK("ip netns add capi-rt && ip -n capi-rt link set lo up");
    lvskit_rtnl *byname = NULL, *bypath = NULL, *byfd = NULL;
    CHECK_OK(lvskit_rtnl_open_netns_name("capi-rt", &byname));
    CHECK_OK(lvskit_rtnl_open_netns_path("/run/netns/capi-rt", &bypath));
    int fd = open("/run/netns/capi-rt", O_RDONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    CHECK_OK(lvskit_rtnl_open_netns_fd(fd, &byfd));
    close(fd); /* the handle keeps its own copy */
    REQUIRE(byname && bypath && byfd);
    CHECK_OK(lvskit_rtnl_add_dummy(byname, "d1", 0, NULL));
    CHECK_OK(lvskit_rtnl_add_dummy(bypath, "d2", 0, NULL));
    CHECK_OK(lvskit_rtnl_add_dummy(byfd, "d3", 0, NULL));
    /* FOU and real-server set-up by descriptor work after the caller closed it */
    lvskit_fou_port p;
    REQUIRE_OK(lvskit_fou_port_init(&p, 7777));
    CHECK_OK(lvskit_rtnl_add_fou_port(byfd, &p));
    CHECK_SHOWS(1, "port 7777 gue", "ip netns exec capi-rt ip fou show");
    lvskit_real_server rs;
    REQUIRE_OK(lvskit_real_server_init(&rs, LVSKIT_RS_DR_DUMMY));
    set_name(rs.device, "d3");
    lvskit_address vip = addr_of("203.0.113.5");
    lvskit_prepared *prep = NULL;
    CHECK_OK(lvskit_real_server_prepare(byfd, &rs, &vip, 1, &prep));
    lvskit_rtnl_close(byfd); /* the record outlives its handle */
    CHECK_SHOWS(1, "inet 203.0.113.5/32", "ip -n capi-rt -o addr show dev d3");
    CHECK_OK(lvskit_prepared_teardown(prep));
    CHECK_SHOWS(0, "203.0.113.5", "ip -n capi-rt -o addr show dev d3");
    lvskit_prepared_free(prep);

    /* each name once (sort -u: a link dump taken while other namespaces
       change can repeat an entry, as kernel 6.12 once did here) */
    char *links = capture("ip -n capi-rt -o link show | grep -o ' d[123]:' | sort -u | tr -d '\\n'");
    CHECK_STR(links, " d1: d2: d3:");
    free(links);
    CHECK_SHOWS(0, " d1:", "ip -o link show"); /* not in the test's own namespace */
    lvskit_rtnl *missing = (lvskit_rtnl *)0x1;
    CHECK_RESULT(lvskit_rtnl_open_netns_name("capi-no-such-ns", &missing), LVSKIT_RESULT_IO);
    CHECK(lvskit_last_errno() == ENOENT && missing == (lvskit_rtnl *)0x1);
    lvskit_rtnl_close(byname);
    lvskit_rtnl_close(bypath);
    SH_OK("ip netns del capi-rt");
}

static void real_server_tunnel_prepare_and_teardown(void) {
    lvskit_rtnl *r = rtnl_here();
    char *ignore0 = sysctl("net/ipv4/conf/all/arp_ignore");
    char *rp0 = sysctl("net/ipv4/conf/all/rp_filter");
    SH_OK("echo 1 > /proc/sys/net/ipv4/conf/all/rp_filter");
    char *rp1 = sysctl("net/ipv4/conf/all/rp_filter");

    lvskit_real_server rs;
    REQUIRE_OK(lvskit_real_server_init(&rs, LVSKIT_RS_TUNNEL));
    CHECK(strcmp(rs.device, "tunl0") == 0 && rs.arp == 1 && rs.rp_filter_off == 1);
    rs.has_fou = 1;
    REQUIRE_OK(lvskit_fou_port_init(&rs.fou, 6080));
    lvskit_address vips[2] = {addr_of("198.51.100.10"), addr_of("198.51.100.11")};
    lvskit_prepared *prep = NULL;
    REQUIRE_OK(lvskit_real_server_prepare(r, &rs, vips, 2, &prep));
    CHECK(lvskit_prepared_is_empty(prep) == 0);
    CHECK(lvskit_prepared_sysctl_count(prep) >= 4);
    CHECK_SHOWS(1, "inet 198.51.100.10/32", "ip -o addr show dev tunl0");
    CHECK_SHOWS(1, "inet 198.51.100.11/32", "ip -o addr show dev tunl0");
    CHECK_SHOWS(1, ",UP", "ip -o link show tunl0");
    CHECK_SHOWS(1, "port 6080 gue", "ip fou show");
    char *v = sysctl("net/ipv4/conf/all/arp_ignore");
    CHECK_STR(v, "1\n");
    free(v);
    v = sysctl("net/ipv4/conf/all/arp_announce");
    CHECK_STR(v, "2\n");
    free(v);
    v = sysctl("net/ipv4/conf/all/rp_filter");
    CHECK_STR(v, "0\n");
    free(v);
    v = sysctl("net/ipv4/conf/tunl0/rp_filter");
    CHECK_STR(v, "0\n");
    free(v);

    /* preparing again changes nothing */
    lvskit_prepared *again = NULL;
    REQUIRE_OK(lvskit_real_server_prepare(r, &rs, vips, 2, &again));
    CHECK(lvskit_prepared_is_empty(again) == 1);
    lvskit_prepared_free(again);

    CHECK_OK(lvskit_prepared_teardown(prep));
    CHECK_SHOWS(0, "198.51.100.1", "ip -o addr show dev tunl0");
    CHECK_SHOWS(0, ",UP", "ip -o link show tunl0");
    CHECK_SHOWS(0, "6080", "ip fou show");
    v = sysctl("net/ipv4/conf/all/arp_ignore");
    CHECK_STR(v, ignore0);
    free(v);
    v = sysctl("net/ipv4/conf/all/rp_filter");
    CHECK_STR(v, rp1); /* restored to what it was before prepare */
    free(v);
    CHECK_OK(lvskit_prepared_teardown(prep)); /* repeatable */
    lvskit_prepared_free(prep);

    /* bad input: nothing changed */
    lvskit_prepared *none = (lvskit_prepared *)0x1;
    CHECK_RESULT(lvskit_real_server_prepare(r, &rs, vips, 0, &none), LVSKIT_RESULT_INVALID_INPUT);
    CHECK_RESULT(lvskit_real_server_prepare(r, &rs, NULL, 1, &none), LVSKIT_RESULT_NULL_PARAMETER);
    rs.mode = 9;
    CHECK_RESULT(lvskit_real_server_prepare(r, &rs, vips, 2, &none), LVSKIT_RESULT_INVALID_INPUT);
    CHECK(none == (lvskit_prepared *)0x1);
    CHECK_RESULT(lvskit_prepared_teardown(NULL), LVSKIT_RESULT_NULL_PARAMETER);
    CHECK(lvskit_prepared_is_empty(NULL) == 1);
    lvskit_prepared_free(NULL);
    CHECK_SHOWS(0, "198.51.100", "ip -o addr");

    free(ignore0);
    free(rp0);
    free(rp1);
    lvskit_rtnl_close(r);
}

int main(void) {
    RUN(creates_reads_changes_and_deletes_an_ipip_tunnel);
    RUN(gre_with_keys_and_gue_encap_and_ip6tnl);
    RUN(fou_ports);
    RUN(opens_other_namespaces);
    RUN(real_server_tunnel_prepare_and_teardown);
    return finish("test_tunnels");
}
