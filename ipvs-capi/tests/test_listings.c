/*
 * Listings through the lvskit_rtnl handle: every device (lvskit_rtnl_list_links),
 * addresses (lvskit_rtnl_list_addresses) and FOU/GUE receive ports
 * (lvskit_rtnl_list_fou_ports), cross-checked with ip(8).
 */
#include "harness.h"

static lvskit_rtnl *rtnl_here(void) {
    lvskit_rtnl *r = NULL;
    REQUIRE_OK(lvskit_rtnl_open(&r));
    REQUIRE(r != NULL);
    return r;
}

static int count_lines(const char *text) {
    int n = 0;
    for (; *text; text++) n += *text == '\n';
    return n;
}

static const lvskit_link *link_named(const lvskit_link *all, size_t n, const char *name) {
    for (size_t i = 0; i < n; i++)
        if (strcmp(all[i].name, name) == 0) return &all[i];
    return NULL;
}

static void lists_every_device_like_ip_link(void) {
    SH_OK("ip link add d1 type dummy && ip link add d2 mtu 1300 type dummy && ip link set d2 up");
    SH_OK("ip link add t1 type ipip remote 192.0.2.9 local 192.0.2.1 ttl 64");
    lvskit_rtnl *r = rtnl_here();
    lvskit_link_list *list = NULL;
    REQUIRE_OK(lvskit_rtnl_list_links(r, &list));
    size_t n = lvskit_link_list_len(list);
    REQUIRE(n > 0 && n < 64);
    lvskit_link links[64];
    memset(links, 0, sizeof links);
    for (size_t i = 0; i < n; i++) CHECK_OK(lvskit_link_list_get(list, i, &links[i]));
    lvskit_link keep = links[0];
    CHECK_RESULT(lvskit_link_list_get(list, n, &links[0]), LVSKIT_RESULT_OUT_OF_RANGE);
    CHECK(memcmp(&keep, &links[0], sizeof keep) == 0);
    lvskit_link_list_free(list);

    /* the referee: ip -o link lists the same devices (lo, d1, d2, tunl0, t1) */
    char *ip_links = capture("ip -o link");
    CHECK((size_t)count_lines(ip_links) == n);
    char needle[80];
    for (size_t i = 0; i < n; i++) {
        snprintf(needle, sizeof needle, "%u: %s", links[i].index, links[i].name);
        CHECK(strstr(ip_links, needle) != NULL);
    }
    free(ip_links);
    const lvskit_link *d1 = link_named(links, n, "d1"), *d2 = link_named(links, n, "d2");
    const lvskit_link *t1 = link_named(links, n, "t1"), *lo = link_named(links, n, "lo");
    REQUIRE(d1 && d2 && t1 && lo);
    CHECK(strcmp(d1->kind, "dummy") == 0 && d1->up == 0 && d1->is_tunnel == 0);
    CHECK(d2->up == 1 && d2->mtu == 1300);
    CHECK(strcmp(t1->kind, "ipip") == 0 && t1->is_tunnel == 1 && t1->tunnel.ttl == 64);
    CHECK(t1->tunnel.remote_family == LVSKIT_AF_INET && t1->tunnel.remote[3] == 9);
    CHECK(lo->up == 1 && lo->kind[0] == '\0');
    /* the same device read alone */
    lvskit_link alone;
    CHECK_OK(lvskit_rtnl_get_link(r, "t1", &alone));
    /* field by field: the structs' padding bytes are not part of the value */
    CHECK(alone.index == t1->index && strcmp(alone.name, t1->name) == 0);
    CHECK(strcmp(alone.kind, t1->kind) == 0 && alone.mtu == t1->mtu && alone.up == t1->up);
    CHECK(alone.is_tunnel == 1 && alone.tunnel.ttl == t1->tunnel.ttl);
    CHECK(memcmp(alone.tunnel.remote, t1->tunnel.remote, 16) == 0);
    lvskit_rtnl_close(r);
}

/* The one-byte value of attribute WANT in the netlink attributes DATA, or -1. */
static int attr_u8(const uint8_t *data, size_t len, uint16_t want) {
    size_t off = 0;
    while (off + 4 <= len) {
        uint16_t alen, type;
        memcpy(&alen, data + off, 2);
        memcpy(&type, data + off + 2, 2);
        if (alen < 4 || off + alen > len) return -1;
        if ((type & 0x3fff) == want && alen >= 5) return data[off + 4];
        off += (alen + 3u) & ~3u;
    }
    return -1;
}

static size_t index_named(const lvskit_link_list *list, const char *name) {
    size_t n = lvskit_link_list_len(list);
    for (size_t i = 0; i < n; i++) {
        lvskit_link l;
        REQUIRE_OK(lvskit_link_list_get(list, i, &l));
        if (strcmp(l.name, name) == 0) return i;
    }
    return n;
}

static void keeps_what_it_does_not_decode_and_the_underlying_device(void) {
    SH_OK("ip link add br9 type bridge vlan_filtering 1");
    SH_OK("ip link add t9 type ipip local 192.0.2.1 fwmark 7");
    SH_OK("ip link add va type veth peer name vb");
    lvskit_rtnl *r = rtnl_here();
    lvskit_link_list *list = NULL;
    REQUIRE_OK(lvskit_rtnl_list_links(r, &list));
    size_t n = lvskit_link_list_len(list);
    size_t br = index_named(list, "br9"), t9 = index_named(list, "t9");
    size_t va = index_named(list, "va"), vb = index_named(list, "vb");
    REQUIRE(br < n && t9 < n && va < n && vb < n);

    /* a bridge's parameters, raw: IFLA_BR_VLAN_FILTERING (7) is 1, as ip set it */
    size_t len = lvskit_link_list_kind_data(list, br, NULL, 0);
    REQUIRE(len > 0 && len < 4096);
    uint8_t data[4096];
    CHECK(lvskit_link_list_kind_data(list, br, data, len) == len);
    CHECK(attr_u8(data, len, 7) == 1);
    CHECK(lvskit_link_list_kind_data(list, br, data, 4) == len); /* cut, full length */
    /* a kind the library decodes keeps none */
    CHECK(lvskit_link_list_kind_data(list, t9, data, sizeof data) == 0);

    /* ipip's fwmark (IFLA_IPTUN_FWMARK, 20) is not decoded: kept as sent, 7 */
    size_t count = lvskit_link_list_unknown_attr_count(list, t9);
    int seen = 0;
    for (size_t a = 0; a < count; a++) {
        uint16_t type = 0;
        uint32_t v = 0;
        size_t plen = lvskit_link_list_unknown_attr(list, t9, a, &type, (uint8_t *)&v, sizeof v);
        CHECK(type != 0);
        if (type == 20) {
            seen = 1;
            CHECK(plen == 4 && v == 7);
        }
    }
    CHECK(seen);
    uint16_t type = 99;
    CHECK(lvskit_link_list_unknown_attr(list, t9, count, &type, data, sizeof data) == 0);
    CHECK(type == 0);
    CHECK(lvskit_link_list_unknown_attr_count(list, n) == 0);
    CHECK(lvskit_link_list_unknown_attr_count(NULL, 0) == 0);
    CHECK(lvskit_link_list_kind_data(NULL, 0, data, sizeof data) == 0);

    /* IFLA_LINK: each end of a veth pair names the other */
    lvskit_link a, b;
    REQUIRE_OK(lvskit_link_list_get(list, va, &a));
    REQUIRE_OK(lvskit_link_list_get(list, vb, &b));
    CHECK(a.link == b.index && b.link == a.index);
    lvskit_link_list_free(list);
    lvskit_rtnl_close(r);
}

static void lists_addresses_like_ip_addr(void) {
    SH_OK("ip link add d1 type dummy && ip link set d1 up");
    SH_OK("ip addr add 192.0.2.1/24 dev d1 && ip addr add 198.51.100.7/32 dev d1");
    SH_OK("ip addr add 2001:db8::1/64 dev d1 nodad");
    lvskit_rtnl *r = rtnl_here();
    lvskit_address_list *list = NULL;
    REQUIRE_OK(lvskit_rtnl_list_addresses(r, "d1", &list));
    size_t n = lvskit_address_list_len(list);
    char *ip_addrs = capture("ip -o addr show dev d1");
    CHECK((size_t)count_lines(ip_addrs) == n);
    int v4 = 0, v6 = 0;
    char text[64], needle[96];
    for (size_t i = 0; i < n; i++) {
        lvskit_address_entry e;
        CHECK_OK(lvskit_address_list_get(list, i, &e));
        inet_ntop(e.address.family == LVSKIT_AF_INET6 ? AF_INET6 : AF_INET, e.address.addr, text,
                  sizeof text);
        snprintf(needle, sizeof needle, " %s/%u ", text, e.prefix_len);
        CHECK(strstr(ip_addrs, needle) != NULL);
        if (e.address.family == LVSKIT_AF_INET) {
            v4++;
            CHECK(strcmp(e.label, "d1") == 0);
        } else if (strcmp(text, "2001:db8::1") == 0) {
            v6++;
            CHECK(e.prefix_len == 64 && e.scope == 0);
        }
    }
    CHECK(v4 == 2 && v6 == 1);
    lvskit_address_entry keep;
    memset(&keep, 0x5a, sizeof keep);
    lvskit_address_entry e = keep;
    CHECK_RESULT(lvskit_address_list_get(list, n, &e), LVSKIT_RESULT_OUT_OF_RANGE);
    CHECK(memcmp(&keep, &e, sizeof e) == 0);
    free(ip_addrs);
    lvskit_address_list_free(list);

    /* NULL: every device's addresses, as many as ip -o addr prints */
    REQUIRE_OK(lvskit_rtnl_list_addresses(r, NULL, &list));
    char *all = capture("ip -o addr");
    CHECK((size_t)count_lines(all) == lvskit_address_list_len(list));
    free(all);
    lvskit_address_list_free(list);

    lvskit_address_list *none = (lvskit_address_list *)0x1;
    CHECK_RESULT(lvskit_rtnl_list_addresses(r, "nosuchdev", &none), LVSKIT_RESULT_NOT_FOUND);
    CHECK_RESULT(lvskit_rtnl_list_addresses(r, "a-name-too-long-for-linux", &none),
                 LVSKIT_RESULT_INVALID_INPUT);
    CHECK(none == (lvskit_address_list *)0x1);
    lvskit_rtnl_close(r);
}

static void lists_fou_ports_like_ip_fou_show(void) {
    lvskit_rtnl *r = rtnl_here();
    lvskit_fou_port_list *list = NULL;
    REQUIRE_OK(lvskit_rtnl_list_fou_ports(r, &list));
    CHECK(lvskit_fou_port_list_len(list) == 0);
    lvskit_fou_port_list_free(list);
    SH_OK("ip fou add port 6080 gue && ip fou add port 5555 ipproto 4");
    REQUIRE_OK(lvskit_rtnl_list_fou_ports(r, &list));
    size_t n = lvskit_fou_port_list_len(list);
    char *shown = capture("ip fou show");
    CHECK((size_t)count_lines(shown) == n && n == 2);
    free(shown);
    int gue = 0, direct = 0;
    lvskit_fou_port p, gue_port;
    memset(&gue_port, 0, sizeof gue_port);
    for (size_t i = 0; i < n; i++) {
        CHECK_OK(lvskit_fou_port_list_get(list, i, &p));
        CHECK(p.ipv6 == 0 && p.local_family == 0 && p.peer_family == 0);
        if (p.port == 6080 && p.encap == LVSKIT_FOU_GUE && p.ipproto == 0) {
            gue++;
            gue_port = p;
        }
        if (p.port == 5555 && p.encap == LVSKIT_FOU_DIRECT && p.ipproto == 4) direct++;
    }
    CHECK(gue == 1 && direct == 1);
    CHECK_RESULT(lvskit_fou_port_list_get(list, n, &p), LVSKIT_RESULT_OUT_OF_RANGE);
    lvskit_fou_port_list_free(list);
    /* a listed port is a valid argument: delete it with what the list gave */
    CHECK_OK(lvskit_rtnl_delete_fou_port(r, &gue_port));
    shown = capture("ip fou show");
    CHECK(strstr(shown, "6080") == NULL && strstr(shown, "port 5555 ipproto 4") != NULL);
    free(shown);
    lvskit_rtnl_close(r);
}

static void bad_input_leaves_the_out_parameters_alone(void) {
    lvskit_rtnl *r = rtnl_here();
    lvskit_link_list *ll = (lvskit_link_list *)0x1;
    lvskit_address_list *al = (lvskit_address_list *)0x1;
    lvskit_fou_port_list *fl = (lvskit_fou_port_list *)0x1;
    CHECK_RESULT(lvskit_rtnl_list_links(NULL, &ll), LVSKIT_RESULT_NULL_PARAMETER);
    CHECK_RESULT(lvskit_rtnl_list_links(r, NULL), LVSKIT_RESULT_NULL_PARAMETER);
    CHECK_RESULT(lvskit_rtnl_list_addresses(NULL, NULL, &al), LVSKIT_RESULT_NULL_PARAMETER);
    CHECK_RESULT(lvskit_rtnl_list_addresses(r, "lo", NULL), LVSKIT_RESULT_NULL_PARAMETER);
    CHECK_RESULT(lvskit_rtnl_list_fou_ports(NULL, &fl), LVSKIT_RESULT_NULL_PARAMETER);
    CHECK_RESULT(lvskit_rtnl_list_fou_ports(r, NULL), LVSKIT_RESULT_NULL_PARAMETER);
    CHECK(ll == (lvskit_link_list *)0x1 && al == (lvskit_address_list *)0x1 &&
          fl == (lvskit_fou_port_list *)0x1);
    lvskit_link l;
    lvskit_address_entry e;
    lvskit_fou_port p;
    CHECK_RESULT(lvskit_link_list_get(NULL, 0, &l), LVSKIT_RESULT_NULL_PARAMETER);
    CHECK_RESULT(lvskit_address_list_get(NULL, 0, &e), LVSKIT_RESULT_NULL_PARAMETER);
    CHECK_RESULT(lvskit_fou_port_list_get(NULL, 0, &p), LVSKIT_RESULT_NULL_PARAMETER);
    CHECK(lvskit_link_list_len(NULL) == 0 && lvskit_address_list_len(NULL) == 0 &&
          lvskit_fou_port_list_len(NULL) == 0);
    lvskit_link_list_free(NULL);
    lvskit_address_list_free(NULL);
    lvskit_fou_port_list_free(NULL);
    lvskit_link_list *real = NULL;
    REQUIRE_OK(lvskit_rtnl_list_links(r, &real));
    CHECK_RESULT(lvskit_link_list_get(real, 0, NULL), LVSKIT_RESULT_NULL_PARAMETER);
    lvskit_link_list_free(real);
    lvskit_rtnl_close(r);
}

int main(void) {
    RUN(lists_every_device_like_ip_link);
    RUN(keeps_what_it_does_not_decode_and_the_underlying_device);
    RUN(lists_addresses_like_ip_addr);
    RUN(lists_fou_ports_like_ip_fou_show);
    RUN(bad_input_leaves_the_out_parameters_alone);
    return finish("test_listings");
}
