/* Handles in other namespaces, timeouts, info, zero, flush and sync daemons. */
#include "harness.h"

#include <fcntl.h>
#include <netinet/in.h>

static void opens_named_path_and_fd_namespaces(void) {
    /* The test's own namespace holds one service; "capi-other" another. */
    SH_OK("ip netns add capi-other && ip -n capi-other link set lo up");
    lvskit_handle *here = open_here();
    lvskit_service mine = svc_inet(IPPROTO_TCP, "10.0.0.1", 80);
    CHECK_OK(lvskit_add_service(here, &mine));

    lvskit_handle *byname = NULL, *bypath = NULL, *byfd = NULL;
    CHECK_OK(lvskit_open_netns_name("capi-other", &byname));
    CHECK_OK(lvskit_open_netns_path("/run/netns/capi-other", &bypath));
    int fd = open("/run/netns/capi-other", O_RDONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    CHECK_OK(lvskit_open_netns_fd(fd, &byfd));
    close(fd); /* the handle does not need it after opening */
    REQUIRE(byname && bypath && byfd);

    lvskit_service a = svc_inet(IPPROTO_UDP, "10.9.0.1", 1);
    lvskit_service b = svc_inet(IPPROTO_UDP, "10.9.0.2", 2);
    lvskit_service c = svc_inet(IPPROTO_UDP, "10.9.0.3", 3);
    CHECK_OK(lvskit_add_service(byname, &a));
    CHECK_OK(lvskit_add_service(bypath, &b));
    CHECK_OK(lvskit_add_service(byfd, &c));

    CHECK_SAVED("-A -t 10.0.0.1:80 -s wlc\n");
    char *other = capture("ip netns exec capi-other ipvsadm -Sn");
    CHECK_STR(other, "-A -u 10.9.0.1:1 -s wlc\n"
                     "-A -u 10.9.0.2:2 -s wlc\n"
                     "-A -u 10.9.0.3:3 -s wlc\n");
    free(other);

    lvskit_handle *missing = (lvskit_handle *)0x1;
    CHECK_RESULT(lvskit_open_netns_name("capi-no-such-ns", &missing), LVSKIT_RESULT_IO);
    CHECK(lvskit_last_errno() == ENOENT);
    CHECK(missing == (lvskit_handle *)0x1);

    lvskit_close(byname);
    lvskit_close(bypath);
    lvskit_close(byfd);
    lvskit_close(here);
    SH_OK("ip netns del capi-other");
}

static void timeouts_info_zero_and_flush(void) {
    lvskit_handle *h = open_here();
    lvskit_timeouts t = {.tcp = 1000, .tcp_fin = 20, .udp = 40};
    CHECK_OK(lvskit_set_timeouts(h, &t));
    lvskit_timeouts got;
    CHECK_OK(lvskit_get_timeouts(h, &got));
    CHECK(got.tcp == 1000 && got.tcp_fin == 20 && got.udp == 40);
    char *shown = capture("ipvsadm -L --timeout");
    CHECK_STR(shown, "Timeout (tcp tcpfin udp): 1000 20 40\n");
    free(shown);
    /* 0 keeps a value */
    lvskit_timeouts only_udp = {.udp = 77};
    CHECK_OK(lvskit_set_timeouts(h, &only_udp));
    CHECK_OK(lvskit_get_timeouts(h, &got));
    CHECK(got.tcp == 1000 && got.tcp_fin == 20 && got.udp == 77);

    lvskit_info info;
    CHECK_OK(lvskit_get_info(h, &info));
    CHECK(info.version >= 0x010200);
    CHECK(info.conn_table_size > 0);
    char want[128];
    snprintf(want, sizeof want, "IP Virtual Server version %u.%u.%u (size=%u)",
             (info.version >> 16) & 0xff, (info.version >> 8) & 0xff, info.version & 0xff,
             info.conn_table_size);
    char *listing = capture("ipvsadm -Ln");
    CHECK(strncmp(listing, want, strlen(want)) == 0);
    free(listing);

    lvskit_service s = svc_inet(IPPROTO_TCP, "10.0.0.1", 80);
    lvskit_service f;
    REQUIRE_OK(lvskit_service_init(&f));
    f.protocol = 0;
    f.fwmark = 3;
    CHECK_OK(lvskit_add_service(h, &s));
    CHECK_OK(lvskit_add_service(h, &f));
    CHECK_OK(lvskit_zero(h, &s));
    CHECK_OK(lvskit_zero(h, NULL));
    lvskit_service absent = svc_inet(IPPROTO_TCP, "10.0.0.9", 80);
    CHECK_RESULT(lvskit_zero(h, &absent), LVSKIT_RESULT_NOT_FOUND);

    CHECK_OK(lvskit_flush(h));
    CHECK_SAVED("");
    lvskit_service_list *list = NULL;
    CHECK_OK(lvskit_list_services(h, &list));
    CHECK(lvskit_service_list_len(list) == 0);
    lvskit_service_list_free(list);

    CHECK_OK(lvskit_set_timeout_ms(h, 2000));
    CHECK_OK(lvskit_get_info(h, &info));
    lvskit_close(h);
}

static void sync_daemons(void) {
    SH_OK("ip link add sync0 type dummy && ip link set sync0 up");
    lvskit_handle *h = open_here();
    lvskit_sync_daemon d;
    REQUIRE_OK(lvskit_sync_daemon_init(&d));
    CHECK(d.state == LVSKIT_SYNC_MASTER);
    set_name(d.ifname, "sync0");
    d.sync_id = 9;
    CHECK_OK(lvskit_start_sync_daemon(h, &d));
    lvskit_sync_daemon b;
    REQUIRE_OK(lvskit_sync_daemon_init(&b));
    b.state = LVSKIT_SYNC_BACKUP;
    set_name(b.ifname, "sync0");
    b.sync_id = 4;
    b.port = 9000;
    CHECK_OK(lvskit_start_sync_daemon(h, &b));
    CHECK_RESULT(lvskit_start_sync_daemon(h, &b), LVSKIT_RESULT_EXISTS);

    char *shown = capture("ipvsadm -L --daemon");
    CHECK(strstr(shown, "master sync daemon (mcast=sync0, syncid=9") != NULL);
    CHECK(strstr(shown, "backup sync daemon (mcast=sync0, syncid=4") != NULL);
    free(shown);

    lvskit_sync_daemon_list *list = NULL;
    REQUIRE_OK(lvskit_list_sync_daemons(h, &list));
    CHECK(lvskit_sync_daemon_list_len(list) == 2);
    int found = 0;
    for (size_t i = 0; i < lvskit_sync_daemon_list_len(list); i++) {
        lvskit_sync_daemon got;
        CHECK_OK(lvskit_sync_daemon_list_get(list, i, &got));
        CHECK(strcmp(got.ifname, "sync0") == 0);
        if (got.state == LVSKIT_SYNC_MASTER) {
            found |= 1;
            CHECK(got.sync_id == 9);
        } else if (got.state == LVSKIT_SYNC_BACKUP) {
            found |= 2;
            CHECK(got.sync_id == 4);
            CHECK(got.port == 9000);
        }
    }
    CHECK(found == 3);
    lvskit_sync_daemon_list_free(list);

    CHECK_OK(lvskit_stop_sync_daemon(h, LVSKIT_SYNC_MASTER));
    CHECK_OK(lvskit_stop_sync_daemon(h, LVSKIT_SYNC_BACKUP));
    CHECK_RESULT(lvskit_stop_sync_daemon(h, LVSKIT_SYNC_BACKUP), LVSKIT_RESULT_NOT_FOUND);
    shown = capture("ipvsadm -L --daemon");
    CHECK_STR(shown, "");
    free(shown);

    set_name(d.ifname, "nosuch0");
    CHECK_RESULT(lvskit_start_sync_daemon(h, &d), LVSKIT_RESULT_NOT_FOUND);
    CHECK(lvskit_last_errno() == ENODEV);
    lvskit_close(h);
}

/* Tables other clients wrote, with values the library refuses to write: a
 * persistent service with timeout 0 and a real server with forwarding method
 * 5 (written by ipvs-py/tests/raw_genl.py, raw netlink), a sync daemon on an
 * interface whose name is not UTF-8 (ipvsadm). They list as the kernel holds
 * them; written back, the unknown values are refused before sending. */
static void tables_other_clients_wrote(void) {
    SH_OK("ip link add d0 type dummy && ip addr add 10.255.255.254/8 dev d0 && "
          "ip link set d0 up && python3 ipvs-py/tests/raw_genl.py");
    lvskit_handle *h = open_here();
    char *saved = capture("ipvsadm -Sn");
    CHECK(strstr(saved, "-A -t 10.0.0.1:80 -s wlc -p 0\n") != NULL);

    lvskit_service_list *services = NULL;
    REQUIRE_OK(lvskit_list_services(h, &services));
    REQUIRE(lvskit_service_list_len(services) == 1);
    lvskit_service s;
    CHECK_OK(lvskit_service_list_get(services, 0, &s, NULL));
    lvskit_service_list_free(services);
    CHECK(s.port == 80 && s.persistence_timeout == 0);
    CHECK(s.flags == LVSKIT_SVC_F_PERSISTENT);
    CHECK_RESULT(lvskit_update_service(h, &s), LVSKIT_RESULT_INVALID_INPUT);

    lvskit_destination_list *dests = NULL;
    REQUIRE_OK(lvskit_list_destinations(h, &s, &dests));
    REQUIRE(lvskit_destination_list_len(dests) == 1);
    lvskit_destination d;
    CHECK_OK(lvskit_destination_list_get(dests, 0, &d, NULL));
    lvskit_destination_list_free(dests);
    CHECK(d.forward == 5 && d.port == 80);
    CHECK_RESULT(lvskit_update_destination(h, &s, &d), LVSKIT_RESULT_INVALID_INPUT);
    char *after = capture("ipvsadm -Sn");
    CHECK_STR(after, saved);
    free(after);
    free(saved);

    SH_OK("n=$(printf 's\\377nc') && ip link add \"$n\" type dummy && "
          "ip addr add 192.0.2.1/24 dev \"$n\" && ip link set \"$n\" up && "
          "ipvsadm --start-daemon master --mcast-interface \"$n\" --syncid 9");
    char *shown = capture("ipvsadm -L --daemon");
    lvskit_sync_daemon_list *list = NULL;
    REQUIRE_OK(lvskit_list_sync_daemons(h, &list));
    REQUIRE(lvskit_sync_daemon_list_len(list) == 1);
    lvskit_sync_daemon got;
    CHECK_OK(lvskit_sync_daemon_list_get(list, 0, &got));
    lvskit_sync_daemon_list_free(list);
    CHECK(strcmp(got.ifname, "s\377nc") == 0);
    CHECK(got.state == LVSKIT_SYNC_MASTER && got.sync_id == 9);
    CHECK_OK(lvskit_stop_sync_daemon(h, LVSKIT_SYNC_MASTER));
    CHECK_OK(lvskit_start_sync_daemon(h, &got));
    char *again = capture("ipvsadm -L --daemon");
    CHECK_STR(again, shown);
    free(again);
    free(shown);
    lvskit_close(h);
}

int main(void) {
    RUN(opens_named_path_and_fd_namespaces);
    RUN(timeouts_info_zero_and_flush);
    RUN(sync_daemons);
    RUN(tables_other_clients_wrote);
    return finish("test_misc");
}
