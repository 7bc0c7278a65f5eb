/*
 * Bad input: every NULL and every invalid value gives its own result code,
 * a message, errno 0, untouched out-parameters, and an unchanged table.
 */
#include "harness.h"

#include <netinet/in.h>

#define TABLE "-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 192.168.1.11:80 -m -w 1\n"

static lvskit_handle *setup(lvskit_service *s, lvskit_destination *d) {
    SH_OK("ip link add rs0 type dummy && ip addr add 192.168.1.1/24 dev rs0 && "
          "ip link set rs0 up");
    lvskit_handle *h = open_here();
    *s = svc_inet(IPPROTO_TCP, "10.0.0.1", 80);
    set_name(s->scheduler, "rr");
    REQUIRE_OK(lvskit_add_service(h, s));
    *d = dest_of("192.168.1.11", 80, LVSKIT_FWD_MASQ, 1);
    REQUIRE_OK(lvskit_add_destination(h, s, d));
    CHECK_SAVED(TABLE);
    return h;
}

/* The last failure has a message naming something and no errno. */
static void check_refused_locally(const char *needle) {
    char msg[512];
    size_t n = lvskit_last_error_message(msg, sizeof msg);
    CHECK(n > 0);
    CHECK(lvskit_last_errno() == 0);
    if (needle && !strstr(msg, needle)) {
        fprintf(stderr, "  message \"%s\" lacks \"%s\"\n", msg, needle);
        test_failed = 1;
    }
}

#define NULLP LVSKIT_RESULT_NULL_PARAMETER
#define BAD LVSKIT_RESULT_INVALID_INPUT

static void null_parameters(void) {
    lvskit_service s;
    lvskit_destination d;
    lvskit_handle *h = setup(&s, &d);
    lvskit_sync_daemon sd;
    REQUIRE_OK(lvskit_sync_daemon_init(&sd));
    set_name(sd.ifname, "lo");
    lvskit_timeouts t = {0};
    lvskit_info info;
    lvskit_service so;
    lvskit_service_list *sl = NULL;
    lvskit_destination_list *dl = NULL;
    lvskit_sync_daemon_list *yl = NULL;

    CHECK_RESULT(lvskit_open(NULL), NULLP);
    check_refused_locally("handle_out");
    CHECK_RESULT(lvskit_open_netns_name(NULL, &h), NULLP);
    check_refused_locally("name");
    CHECK_RESULT(lvskit_open_netns_path(NULL, &h), NULLP);
    CHECK_RESULT(lvskit_open_netns_path("/proc/self/ns/net", NULL), NULLP);
    CHECK_RESULT(lvskit_open_netns_fd(0, NULL), NULLP);
    CHECK_RESULT(lvskit_set_timeout_ms(NULL, 10), NULLP);
    CHECK_RESULT(lvskit_service_init(NULL), NULLP);
    CHECK_RESULT(lvskit_destination_init(NULL), NULLP);
    CHECK_RESULT(lvskit_sync_daemon_init(NULL), NULLP);

    CHECK_RESULT(lvskit_add_service(NULL, &s), NULLP);
    check_refused_locally("handle");
    CHECK_RESULT(lvskit_add_service(h, NULL), NULLP);
    check_refused_locally("service");
    CHECK_RESULT(lvskit_update_service(NULL, &s), NULLP);
    CHECK_RESULT(lvskit_update_service(h, NULL), NULLP);
    CHECK_RESULT(lvskit_delete_service(NULL, &s), NULLP);
    CHECK_RESULT(lvskit_delete_service(h, NULL), NULLP);
    CHECK_RESULT(lvskit_get_service(NULL, &s, &so, NULL), NULLP);
    CHECK_RESULT(lvskit_get_service(h, NULL, &so, NULL), NULLP);
    CHECK_RESULT(lvskit_get_service(h, &s, NULL, NULL), NULLP);
    check_refused_locally("service_out");
    CHECK_RESULT(lvskit_list_services(NULL, &sl), NULLP);
    CHECK_RESULT(lvskit_list_services(h, NULL), NULLP);
    CHECK_RESULT(lvskit_service_list_get(NULL, 0, &so, NULL), NULLP);

    CHECK_RESULT(lvskit_add_destination(NULL, &s, &d), NULLP);
    CHECK_RESULT(lvskit_add_destination(h, NULL, &d), NULLP);
    CHECK_RESULT(lvskit_add_destination(h, &s, NULL), NULLP);
    check_refused_locally("destination");
    CHECK_RESULT(lvskit_update_destination(NULL, &s, &d), NULLP);
    CHECK_RESULT(lvskit_update_destination(h, NULL, &d), NULLP);
    CHECK_RESULT(lvskit_update_destination(h, &s, NULL), NULLP);
    CHECK_RESULT(lvskit_delete_destination(NULL, &s, &d), NULLP);
    CHECK_RESULT(lvskit_delete_destination(h, NULL, &d), NULLP);
    CHECK_RESULT(lvskit_delete_destination(h, &s, NULL), NULLP);
    CHECK_RESULT(lvskit_list_destinations(NULL, &s, &dl), NULLP);
    CHECK_RESULT(lvskit_list_destinations(h, NULL, &dl), NULLP);
    CHECK_RESULT(lvskit_list_destinations(h, &s, NULL), NULLP);
    CHECK_RESULT(lvskit_destination_list_get(NULL, 0, &d, NULL), NULLP);

    CHECK_RESULT(lvskit_start_sync_daemon(NULL, &sd), NULLP);
    CHECK_RESULT(lvskit_start_sync_daemon(h, NULL), NULLP);
    CHECK_RESULT(lvskit_stop_sync_daemon(NULL, LVSKIT_SYNC_MASTER), NULLP);
    CHECK_RESULT(lvskit_list_sync_daemons(NULL, &yl), NULLP);
    CHECK_RESULT(lvskit_list_sync_daemons(h, NULL), NULLP);
    CHECK_RESULT(lvskit_sync_daemon_list_get(NULL, 0, &sd), NULLP);

    CHECK_RESULT(lvskit_get_timeouts(NULL, &t), NULLP);
    CHECK_RESULT(lvskit_get_timeouts(h, NULL), NULLP);
    CHECK_RESULT(lvskit_set_timeouts(NULL, &t), NULLP);
    CHECK_RESULT(lvskit_set_timeouts(h, NULL), NULLP);
    CHECK_RESULT(lvskit_get_info(NULL, &info), NULLP);
    CHECK_RESULT(lvskit_get_info(h, NULL), NULLP);
    CHECK_RESULT(lvskit_zero(NULL, &s), NULLP);
    CHECK_RESULT(lvskit_flush(NULL), NULLP);

    /* list accessors with NULL out-parameters, on real lists */
    REQUIRE_OK(lvskit_list_services(h, &sl));
    CHECK_RESULT(lvskit_service_list_get(sl, 0, NULL, NULL), NULLP);
    lvskit_service_list_free(sl);
    REQUIRE_OK(lvskit_list_destinations(h, &s, &dl));
    CHECK_RESULT(lvskit_destination_list_get(dl, 0, NULL, NULL), NULLP);
    lvskit_destination_list_free(dl);
    REQUIRE_OK(lvskit_list_sync_daemons(h, &yl));
    CHECK_RESULT(lvskit_sync_daemon_list_get(yl, 0, NULL), NULLP);
    lvskit_sync_daemon_list_free(yl);

    /* NULL is fine for the release functions and the lengths */
    lvskit_close(NULL);
    lvskit_service_list_free(NULL);
    lvskit_destination_list_free(NULL);
    lvskit_sync_daemon_list_free(NULL);
    CHECK(lvskit_service_list_len(NULL) == 0);
    CHECK(lvskit_destination_list_len(NULL) == 0);
    CHECK(lvskit_sync_daemon_list_len(NULL) == 0);
    CHECK(lvskit_last_error_message(NULL, 0) > 0);

    CHECK_SAVED(TABLE);
    lvskit_close(h);
}

static void invalid_services(void) {
    lvskit_service s;
    lvskit_destination d;
    lvskit_handle *h = setup(&s, &d);
    lvskit_service b;

    b = svc_inet(IPPROTO_TCP, "10.0.0.2", 80);
    b.family = 3;
    CHECK_RESULT(lvskit_add_service(h, &b), BAD);
    check_refused_locally("family");

    b = svc_inet(IPPROTO_TCP, "10.0.0.2", 80);
    b.protocol = 1; /* ICMP */
    CHECK_RESULT(lvskit_add_service(h, &b), BAD);
    check_refused_locally("protocol");

    b = svc_inet(IPPROTO_TCP, "10.0.0.2", 80);
    b.addr[4] = 1; /* bytes past an IPv4 address */
    CHECK_RESULT(lvskit_add_service(h, &b), BAD);

    b = svc_inet(IPPROTO_TCP, "224.0.0.1", 80); /* multicast VIP */
    CHECK_RESULT(lvskit_add_service(h, &b), BAD);
    check_refused_locally("multicast");

    b = svc_inet(IPPROTO_TCP, "10.0.0.2", 80);
    b.fwmark = 5; /* fwmark with an address */
    CHECK_RESULT(lvskit_add_service(h, &b), BAD);

    b = svc_inet(IPPROTO_TCP, "10.0.0.2", 80);
    b.flags = 0x40000;
    CHECK_RESULT(lvskit_add_service(h, &b), BAD);
    check_refused_locally("flag");

    b = svc_inet(IPPROTO_TCP, "10.0.0.2", 80);
    memset(b.scheduler, 'x', sizeof b.scheduler); /* not NUL-terminated */
    CHECK_RESULT(lvskit_add_service(h, &b), BAD);
    check_refused_locally("NUL");

    b = svc_inet(IPPROTO_TCP, "10.0.0.2", 80);
    b.scheduler[0] = '\0';
    CHECK_RESULT(lvskit_add_service(h, &b), BAD);

    b = svc_inet(IPPROTO_TCP, "10.0.0.2", 80);
    b.persistence_timeout = 10;
    b.netmask_prefix = 33;
    CHECK_RESULT(lvskit_add_service(h, &b), BAD);

    b = svc_inet(IPPROTO_TCP, "10.0.0.2", 80);
    b.netmask_prefix = 24; /* without persistence */
    CHECK_RESULT(lvskit_add_service(h, &b), BAD);

    b = svc_inet(IPPROTO_TCP, "10.0.0.2", 80);
    set_name(b.pe_name, "sip"); /* a PE needs persistence */
    CHECK_RESULT(lvskit_add_service(h, &b), BAD);
    check_refused_locally("persistence");

    /* an invalid service never reaches the kernel: same codes for update/delete/get */
    b = svc_inet(IPPROTO_TCP, "10.0.0.1", 80);
    b.family = 0;
    lvskit_service out;
    memset(&out, 0x11, sizeof out);
    lvskit_service before = out;
    CHECK_RESULT(lvskit_update_service(h, &b), BAD);
    CHECK_RESULT(lvskit_delete_service(h, &b), BAD);
    CHECK_RESULT(lvskit_get_service(h, &b, &out, NULL), BAD);
    CHECK(memcmp(&out, &before, sizeof out) == 0);
    CHECK_RESULT(lvskit_zero(h, &b), BAD);

    CHECK_SAVED(TABLE);
    lvskit_close(h);
}

static void invalid_destinations_and_others(void) {
    lvskit_service s;
    lvskit_destination d;
    lvskit_handle *h = setup(&s, &d);
    lvskit_destination b;

    b = dest_of("192.168.1.12", 80, 9, 1); /* unknown forwarding method */
    CHECK_RESULT(lvskit_add_destination(h, &s, &b), BAD);
    check_refused_locally("forwarding");

    b = dest_of("192.168.1.12", 80, LVSKIT_FWD_MASQ, 0x80000000u); /* weight > INT_MAX */
    CHECK_RESULT(lvskit_add_destination(h, &s, &b), BAD);
    check_refused_locally("weight");

    b = dest_of("192.168.1.12", 80, LVSKIT_FWD_MASQ, 1);
    b.upper_threshold = 5;
    b.lower_threshold = 10;
    CHECK_RESULT(lvskit_add_destination(h, &s, &b), BAD);

    b = dest_of("0.0.0.0", 80, LVSKIT_FWD_MASQ, 1);
    CHECK_RESULT(lvskit_add_destination(h, &s, &b), BAD);

    b = dest_of("2001:db8::1", 80, LVSKIT_FWD_MASQ, 1); /* mixed family without tunnel */
    CHECK_RESULT(lvskit_add_destination(h, &s, &b), BAD);

    b = dest_of("192.168.1.12", 80, LVSKIT_FWD_TUNNEL, 1);
    b.tun_type = LVSKIT_TUN_GUE; /* GUE without a port */
    CHECK_RESULT(lvskit_add_destination(h, &s, &b), BAD);

    b = dest_of("192.168.1.12", 80, LVSKIT_FWD_TUNNEL, 1);
    b.tun_type = LVSKIT_TUN_GRE;
    b.tun_flags = LVSKIT_TUN_F_REMCSUM; /* GUE only */
    CHECK_RESULT(lvskit_add_destination(h, &s, &b), BAD);

    b = dest_of("192.168.1.12", 80, LVSKIT_FWD_TUNNEL, 1);
    b.tun_type = 42;
    CHECK_RESULT(lvskit_add_destination(h, &s, &b), BAD);

    b = dest_of("192.168.1.12", 80, LVSKIT_FWD_MASQ, 1);
    b.tun_port = 6080; /* tunnel settings without tunnelling */
    CHECK_RESULT(lvskit_add_destination(h, &s, &b), BAD);

    /* an update to invalid values leaves the real server as it was */
    b = d;
    b.forward = 77;
    CHECK_RESULT(lvskit_update_destination(h, &s, &b), BAD);
    b = d;
    b.weight = 0xFFFFFFFFu;
    CHECK_RESULT(lvskit_update_destination(h, &s, &b), BAD);

    /* timeouts beyond what the kernel stores */
    lvskit_timeouts t = {.tcp = 3000000};
    CHECK_RESULT(lvskit_set_timeouts(h, &t), BAD);
    CHECK_RESULT(lvskit_set_timeout_ms(h, 0), BAD);

    /* sync daemons */
    lvskit_sync_daemon sd;
    REQUIRE_OK(lvskit_sync_daemon_init(&sd));
    set_name(sd.ifname, "lo");
    sd.state = 3;
    CHECK_RESULT(lvskit_start_sync_daemon(h, &sd), BAD);
    sd.state = LVSKIT_SYNC_MASTER;
    sd.ifname[0] = '\0';
    CHECK_RESULT(lvskit_start_sync_daemon(h, &sd), BAD);
    set_name(sd.ifname, "lo");
    sd.group_family = LVSKIT_AF_INET;
    sd.group[0] = 10; /* not multicast */
    CHECK_RESULT(lvskit_start_sync_daemon(h, &sd), BAD);
    CHECK_RESULT(lvskit_stop_sync_daemon(h, 0), BAD);

    /* namespace arguments */
    lvskit_handle *o = (lvskit_handle *)0x1;
    CHECK_RESULT(lvskit_open_netns_name("", &o), BAD);
    CHECK_RESULT(lvskit_open_netns_name("../etc", &o), BAD);
    CHECK_RESULT(lvskit_open_netns_path("", &o), BAD);
    CHECK_RESULT(lvskit_open_netns_fd(-1, &o), BAD);
    CHECK(o == (lvskit_handle *)0x1);

    /* result names */
    CHECK(strcmp(lvskit_result_name(LVSKIT_RESULT_OK), "LVSKIT_RESULT_OK") == 0);
    CHECK(strcmp(lvskit_result_name(LVSKIT_RESULT_NOT_FOUND), "LVSKIT_RESULT_NOT_FOUND") == 0);
    CHECK(strcmp(lvskit_result_name(4242), "LVSKIT_RESULT_UNKNOWN") == 0);
    CHECK(lvskit_version()[0] != '\0');

    /* message truncation: snprintf-like */
    CHECK_RESULT(lvskit_stop_sync_daemon(h, 0), BAD);
    char small[8];
    memset(small, 'Z', sizeof small);
    size_t full = lvskit_last_error_message(small, sizeof small);
    CHECK(full > sizeof small);
    CHECK(strlen(small) == sizeof small - 1);

    CHECK_SAVED(TABLE);
    lvskit_close(h);
}

int main(void) {
    RUN(null_parameters);
    RUN(invalid_services);
    RUN(invalid_destinations_and_others);
    return finish("test_bad_input");
}
