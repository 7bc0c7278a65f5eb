/*
 * A two-data-centre LVS/TUN director, configured through the C binding.
 *
 * The director owns the virtual IP 10.0.0.100 and balances HTTP (80) and
 * HTTPS (443, with client persistence) over real servers in two data
 * centres, reached through tunnels: "east" (the local one, IP-in-IP, full
 * weight) and "west" (the remote one, GUE with checksums, half weight).
 * The real servers answer clients directly (they hold the VIP on a
 * loopback/tunnel device), so only requests cross the director.
 *
 * It reconciles: a service or real server that already exists is updated
 * in place, so running it again is harmless. `--drain DC` sets the weights
 * of one data centre to 0: it gets no new connections while the existing
 * ones finish (e.g. before maintenance).
 *
 * `--real-server east|west` runs the other side instead: it prepares this
 * machine (or namespace) as a real server of that data centre: the VIP on
 * the IP-in-IP fallback device tunl0, brought up, ARP for the VIP and
 * reverse-path filtering off, and for "west" the GUE receive port 6080.
 * It stays until SIGINT or SIGTERM, then undoes exactly what it changed
 * (the sysctls get their previous values back).
 *
 *   director [--netns NAME] [--drain east|west]
 *   director [--netns NAME] --real-server east|west
 *
 * Build: cc -o director director.c $(pkg-config --cflags --libs lvskit)
 * Needs root (CAP_NET_ADMIN) and a kernel with IPVS.
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lvskit.h"

struct real_server {
    const char *dc;
    const char *addr;
    uint32_t tun_type;
    uint16_t tun_port;
    uint16_t tun_flags;
    uint32_t weight;
};

static const struct real_server servers[] = {
    {"east", "192.168.10.11", LVSKIT_TUN_IPIP, 0, 0, 100},
    {"east", "192.168.10.12", LVSKIT_TUN_IPIP, 0, 0, 100},
    {"west", "192.168.20.11", LVSKIT_TUN_GUE, 6080, LVSKIT_TUN_F_CSUM, 50},
    {"west", "192.168.20.12", LVSKIT_TUN_GUE, 6080, LVSKIT_TUN_F_CSUM, 50},
};

static const char *vip = "10.0.0.100";

static int fail(const char *what, lvskit_result r) {
    char msg[512];
    lvskit_last_error_message(msg, sizeof msg);
    fprintf(stderr, "director: %s: %s (%s, errno %d)\n", what, msg, lvskit_result_name(r),
            lvskit_last_errno());
    return 1;
}

/* Adds the service, or updates it if it exists. */
static lvskit_result ensure_service(lvskit_handle *h, const lvskit_service *s) {
    lvskit_result r = lvskit_add_service(h, s);
    if (r == LVSKIT_RESULT_EXISTS) r = lvskit_update_service(h, s);
    return r;
}

/* Adds the real server, or updates it if it exists. */
static lvskit_result ensure_destination(lvskit_handle *h, const lvskit_service *s,
                                      const lvskit_destination *d) {
    lvskit_result r = lvskit_add_destination(h, s, d);
    if (r == LVSKIT_RESULT_EXISTS) r = lvskit_update_destination(h, s, d);
    return r;
}

static int configure(lvskit_handle *h, const char *drain) {
    static const uint16_t ports[] = {80, 443};
    for (size_t p = 0; p < sizeof ports / sizeof ports[0]; p++) {
        lvskit_service s;
        lvskit_service_init(&s);
        s.family = LVSKIT_AF_INET;
        s.protocol = IPPROTO_TCP;
        inet_pton(AF_INET, vip, s.addr);
        s.port = ports[p];
        strcpy(s.scheduler, "wrr");
        if (ports[p] == 443) {
            /* TLS sessions stick to one real server per client /24 for 5 minutes */
            s.persistence_timeout = LVSKIT_PERSISTENCE_DEFAULT_TIMEOUT;
            s.netmask_prefix = 24;
        }
        lvskit_result r = ensure_service(h, &s);
        if (r != LVSKIT_RESULT_OK) return fail("configuring a service", r);

        for (size_t i = 0; i < sizeof servers / sizeof servers[0]; i++) {
            const struct real_server *rs = &servers[i];
            lvskit_destination d;
            lvskit_destination_init(&d);
            d.family = LVSKIT_AF_INET;
            inet_pton(AF_INET, rs->addr, d.addr);
            d.port = ports[p];
            d.forward = LVSKIT_FWD_TUNNEL;
            d.tun_type = rs->tun_type;
            d.tun_port = rs->tun_port;
            d.tun_flags = rs->tun_flags;
            d.weight = (drain && strcmp(drain, rs->dc) == 0) ? 0 : rs->weight;
            r = ensure_destination(h, &s, &d);
            if (r != LVSKIT_RESULT_OK) return fail("configuring a real server", r);
        }
    }
    return 0;
}

static const char *tunnel_name(const lvskit_destination *d) {
    if (d->forward != LVSKIT_FWD_TUNNEL) return "-";
    switch (d->tun_type) {
    case LVSKIT_TUN_IPIP: return "ipip";
    case LVSKIT_TUN_GUE: return "gue";
    case LVSKIT_TUN_GRE: return "gre";
    default: return "?";
    }
}

/* Prints the table as the kernel now holds it. */
static int show(lvskit_handle *h) {
    lvskit_service_list *services = NULL;
    lvskit_result r = lvskit_list_services(h, &services);
    if (r != LVSKIT_RESULT_OK) return fail("listing services", r);
    for (size_t i = 0; i < lvskit_service_list_len(services); i++) {
        lvskit_service s;
        lvskit_stats st;
        if (lvskit_service_list_get(services, i, &s, &st) != LVSKIT_RESULT_OK) continue;
        char a[INET6_ADDRSTRLEN];
        inet_ntop(s.family == LVSKIT_AF_INET ? AF_INET : AF_INET6, s.addr, a, sizeof a);
        printf("TCP %s:%u %s", a, s.port, s.scheduler);
        if (s.persistence_timeout)
            printf(" persistent %u /%u", s.persistence_timeout, s.netmask_prefix);
        printf(" (%llu connections)\n", (unsigned long long)st.conns);

        lvskit_destination_list *dests = NULL;
        r = lvskit_list_destinations(h, &s, &dests);
        if (r != LVSKIT_RESULT_OK) {
            lvskit_service_list_free(services);
            return fail("listing real servers", r);
        }
        for (size_t j = 0; j < lvskit_destination_list_len(dests); j++) {
            lvskit_destination d;
            lvskit_destination_counters c;
            if (lvskit_destination_list_get(dests, j, &d, &c) != LVSKIT_RESULT_OK) continue;
            inet_ntop(d.family == LVSKIT_AF_INET ? AF_INET : AF_INET6, d.addr, a, sizeof a);
            printf("  -> %s:%u tunnel %s weight %u active %u inactive %u\n", a, d.port,
                   tunnel_name(&d), d.weight, c.active_conns, c.inactive_conns);
        }
        lvskit_destination_list_free(dests);
    }
    lvskit_service_list_free(services);
    return 0;
}

/* The real-server side: prepare, wait for SIGINT/SIGTERM, undo. */
static int real_server(const char *netns, const char *dc) {
    /* block the signals first, so one arriving early is not lost */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);

    lvskit_rtnl *r = NULL;
    lvskit_result res = netns ? lvskit_rtnl_open_netns_name(netns, &r) : lvskit_rtnl_open(&r);
    if (res != LVSKIT_RESULT_OK) return fail("opening rtnetlink", res);

    lvskit_real_server rs;
    lvskit_real_server_init(&rs, LVSKIT_RS_TUNNEL); /* tunl0, ARP and rp_filter handled */
    if (strcmp(dc, "west") == 0) {
        /* west is reached with GUE: decapsulate UDP port 6080 first */
        rs.has_fou = 1;
        lvskit_fou_port_init(&rs.fou, 6080);
    }
    lvskit_address v = {.family = LVSKIT_AF_INET};
    inet_pton(AF_INET, vip, v.addr);
    lvskit_prepared *prepared = NULL;
    res = lvskit_real_server_prepare(r, &rs, &v, 1, &prepared);
    if (res != LVSKIT_RESULT_OK) {
        lvskit_rtnl_close(r);
        return fail("preparing the real server", res);
    }
    lvskit_link tunl0;
    if (lvskit_rtnl_get_link(r, "tunl0", &tunl0) == LVSKIT_RESULT_OK)
        printf("real server (%s): VIP %s on %s (index %u, %s), %zu sysctls changed\n", dc, vip,
               tunl0.name, tunl0.index, tunl0.up ? "up" : "down",
               lvskit_prepared_sysctl_count(prepared));
    printf("ready\n");
    fflush(stdout);

    int sig = 0;
    sigwait(&stop, &sig);
    res = lvskit_prepared_teardown(prepared);
    int rc = res == LVSKIT_RESULT_OK ? 0 : fail("undoing the real-server set-up", res);
    if (rc == 0) printf("undone\n");
    lvskit_prepared_free(prepared);
    lvskit_rtnl_close(r);
    return rc;
}

static int is_dc(const char *s) {
    return strcmp(s, "east") == 0 || strcmp(s, "west") == 0;
}

int main(int argc, char **argv) {
    const char *netns = NULL, *drain = NULL, *rs = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--netns") == 0 && i + 1 < argc) {
            netns = argv[++i];
        } else if (strcmp(argv[i], "--drain") == 0 && i + 1 < argc && is_dc(argv[i + 1])) {
            drain = argv[++i];
        } else if (strcmp(argv[i], "--real-server") == 0 && i + 1 < argc && is_dc(argv[i + 1])) {
            rs = argv[++i];
        } else {
            fprintf(stderr, "usage: director [--netns NAME] [--drain east|west]\n"
                            "       director [--netns NAME] --real-server east|west\n");
            return 2;
        }
    }
    if (rs) return real_server(netns, rs);

    lvskit_handle *h = NULL;
    lvskit_result r = netns ? lvskit_open_netns_name(netns, &h) : lvskit_open(&h);
    if (r != LVSKIT_RESULT_OK) return fail("opening IPVS", r);

    int rc = configure(h, drain);
    if (rc == 0) rc = show(h);
    lvskit_close(h);
    return rc;
}
