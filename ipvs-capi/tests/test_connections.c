/*
 * The connection table through lvskit_list_connections(), cross-checked with
 * /proc/net/ip_vs_conn and ipvsadm -Lnc. The test's namespace is the
 * director; a client namespace sends UDP datagrams to the VIP over a veth
 * pair, and IPVS forwards them (NAT) to a real server behind a dummy device,
 * so the entries live for the UDP timeout whether or not anything answers.
 */
#include "harness.h"

#include <fcntl.h>

static char client_ns[64];

/* director <-> client over veth; the real servers' subnet on a dummy */
static void make_lab(void) {
    snprintf(client_ns, sizeof client_ns, "capi-conn-%d", (int)getpid());
    SH_OK("ip netns add %s && ip -n %s link set lo up", client_ns, client_ns);
    SH_OK("ip link add d0 type veth peer name c0 netns %s", client_ns);
    SH_OK("ip addr add 10.0.1.1/24 dev d0 && ip link set d0 up");
    SH_OK("ip -n %s addr add 10.0.1.2/24 dev c0 && ip -n %s link set c0 up", client_ns, client_ns);
    SH_OK("ip link add d1 type dummy && ip addr add 10.0.2.1/24 dev d1 && ip link set d1 up");
    SH_OK("ipvsadm -A -u 10.0.1.1:53 -s rr && ipvsadm -a -u 10.0.1.1:53 -r 10.0.2.2:5300 -m");
    SH_OK("ipvsadm -A -u 10.0.1.1:54 -s rr -p 60 && ipvsadm -a -u 10.0.1.1:54 -r 10.0.2.3:5400 -m");
}

/* one datagram from the client's port SPORT to the VIP's port DPORT */
static void send_udp(int sport, int dport) {
    SH_OK("ip netns exec %s python3 -c \"import socket; s = socket.socket(socket.AF_INET, "
          "socket.SOCK_DGRAM); s.bind(('10.0.1.2', %d)); s.sendto(b'x', ('10.0.1.1', %d))\"",
          client_ns, sport, dport);
}

static void drop_lab(void) {
    sh("ip netns del %s", client_ns);
}

static void addr_text(const lvskit_address *a, char *buf, size_t len) {
    inet_ntop(a->family == LVSKIT_AF_INET6 ? AF_INET6 : AF_INET, a->addr, buf, (socklen_t)len);
}

/* the entry from CLIENT_PORT (0 for a template) to the VIP's VPORT, or NULL */
static const lvskit_connection *find(const lvskit_connection *all, size_t n, int client_port,
                                     int vport) {
    for (size_t i = 0; i < n; i++)
        if (all[i].client_port == client_port && all[i].virtual_port == vport) return &all[i];
    return NULL;
}

static size_t read_all(lvskit_handle *h, uint32_t flags, lvskit_connection *out, size_t cap) {
    lvskit_connection_list *list = NULL;
    REQUIRE_OK(lvskit_list_connections(h, flags, &list));
    size_t n = lvskit_connection_list_len(list);
    REQUIRE(n <= cap);
    for (size_t i = 0; i < n; i++) CHECK_OK(lvskit_connection_list_get(list, i, &out[i]));
    lvskit_connection c = out[0];
    CHECK_RESULT(lvskit_connection_list_get(list, n, &out[0]), LVSKIT_RESULT_OUT_OF_RANGE);
    CHECK(memcmp(&c, &out[0], sizeof c) == 0); /* untouched on failure */
    char pe[64];
    for (size_t i = 0; i < n; i++) CHECK(lvskit_connection_list_pe_data(list, i, pe, sizeof pe) == 0);
    CHECK(lvskit_connection_list_pe_data(list, n, pe, sizeof pe) == 0);
    lvskit_connection_list_free(list);
    return n;
}

static void lists_the_connection_table_like_proc(void) {
    make_lab();
    lvskit_handle *h = open_here();
    lvskit_connection conns[16];
    memset(conns, 0, sizeof conns);
    lvskit_connection_list *empty = NULL;
    REQUIRE_OK(lvskit_list_connections(h, 0, &empty));
    CHECK(lvskit_connection_list_len(empty) == 0);
    lvskit_connection_list_free(empty);

    send_udp(40000, 53);
    send_udp(40001, 53);
    send_udp(40002, 54); /* persistent: a connection and its template */
    size_t n = read_all(h, 0, conns, 16);
    /* the referee: one line per entry after the header */
    char *proc = capture("tail -n +2 /proc/net/ip_vs_conn | wc -l");
    CHECK(n == (size_t)atoi(proc));
    free(proc);
    CHECK(n == 4);
    char *lnc = capture("ipvsadm -Lnc");
    char a[64], v[64], d[64];
    for (size_t i = 0; i < n; i++) {
        addr_text(&conns[i].client, a, sizeof a);
        addr_text(&conns[i].virtual_address, v, sizeof v);
        addr_text(&conns[i].destination, d, sizeof d);
        /* ipvsadm -Lnc: pro expire state source virtual destination */
        char src[80], vip[80], dst[80];
        snprintf(src, sizeof src, " %s:%d ", a, conns[i].client_port);
        snprintf(vip, sizeof vip, " %s:%d ", v, conns[i].virtual_port);
        snprintf(dst, sizeof dst, " %s:%d", d, conns[i].destination_port);
        CHECK(strstr(lnc, src) != NULL && strstr(lnc, vip) != NULL && strstr(lnc, dst) != NULL);
        CHECK(strcmp(conns[i].protocol, "UDP") == 0 || strcmp(conns[i].protocol, "IP") == 0);
        CHECK(conns[i].origin == LVSKIT_CONN_ORIGIN_UNKNOWN);
        CHECK(conns[i].pe_name[0] == '\0');
        CHECK(conns[i].expires > 0 && conns[i].expires <= 300);
    }
    free(lnc);
    const lvskit_connection *c = find(conns, n, 40000, 53);
    REQUIRE(c != NULL);
    addr_text(&c->client, a, sizeof a);
    addr_text(&c->destination, d, sizeof d);
    CHECK(strcmp(a, "10.0.1.2") == 0 && strcmp(d, "10.0.2.2") == 0);
    CHECK(c->destination_port == 5300 && c->is_template == 0);
    CHECK(strcmp(c->state, "UDP") == 0);
    CHECK(find(conns, n, 40001, 53) != NULL);
    const lvskit_connection *p = find(conns, n, 40002, 54);
    const lvskit_connection *t = find(conns, n, 0, 54);
    REQUIRE(p != NULL && t != NULL);
    CHECK(p->is_template == 0 && t->is_template == 1 && t->destination_port == 5400);
    size_t templates = 0;
    for (size_t i = 0; i < n; i++) templates += conns[i].is_template;
    CHECK(templates == 1);

    /* the sync form says where each came from: all made here */
    size_t m = read_all(h, LVSKIT_CONN_SYNC, conns, 16);
    CHECK(m == n);
    for (size_t i = 0; i < m; i++) CHECK(conns[i].origin == LVSKIT_CONN_ORIGIN_LOCAL);

    /* a handle opened by descriptor reads the same table after the fd is closed */
    int fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    lvskit_handle *byfd = NULL;
    REQUIRE_OK(lvskit_open_netns_fd(fd, &byfd));
    close(fd);
    CHECK(read_all(byfd, 0, conns, 16) == n);
    lvskit_close(byfd);

    /* a table read from another namespace is that namespace's: empty */
    lvskit_handle *other = NULL;
    REQUIRE_OK(lvskit_open_netns_name(client_ns, &other));
    lvskit_connection_list *none = NULL;
    CHECK_OK(lvskit_list_connections(other, 0, &none));
    CHECK(lvskit_connection_list_len(none) == 0);
    lvskit_connection_list_free(none);
    lvskit_close(other);

    lvskit_close(h);
    drop_lab();
}

static void bad_input_leaves_the_out_parameter_alone(void) {
    lvskit_handle *h = open_here();
    lvskit_connection_list *list = (lvskit_connection_list *)0x1;
    CHECK_RESULT(lvskit_list_connections(NULL, 0, &list), LVSKIT_RESULT_NULL_PARAMETER);
    CHECK_RESULT(lvskit_list_connections(h, 0, NULL), LVSKIT_RESULT_NULL_PARAMETER);
    CHECK_RESULT(lvskit_list_connections(h, 2, &list), LVSKIT_RESULT_INVALID_INPUT);
    CHECK(lvskit_last_errno() == 0);
    CHECK(list == (lvskit_connection_list *)0x1);
    lvskit_connection c;
    CHECK_RESULT(lvskit_connection_list_get(NULL, 0, &c), LVSKIT_RESULT_NULL_PARAMETER);
    CHECK(lvskit_connection_list_len(NULL) == 0);
    CHECK(lvskit_connection_list_pe_data(NULL, 0, NULL, 0) == 0);
    lvskit_connection_list_free(NULL);
    lvskit_connection_list *real = NULL;
    REQUIRE_OK(lvskit_list_connections(h, 0, &real));
    CHECK_RESULT(lvskit_connection_list_get(real, 0, NULL), LVSKIT_RESULT_NULL_PARAMETER);
    lvskit_connection_list_free(real);
    lvskit_close(h);
}

int main(void) {
    RUN(lists_the_connection_table_like_proc);
    RUN(bad_input_leaves_the_out_parameter_alone);
    return finish("test_connections");
}
