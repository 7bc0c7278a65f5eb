/* The director through the C API: health checks (TCP against a real server
 * in a namespace of its own that stops being reachable, and a C callback),
 * drain and restore read back through lvskit_list_destinations() and
 * `ipvsadm`, quorum with a sorry server, events (callback and queue),
 * metrics text, probe_once, and bad input refused before anything changes.
 * Every wait is bounded in count (and so in time); no test asserts a time. */
#include "harness.h" /* first: it defines _GNU_SOURCE */

#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/socket.h>

/* The real server's namespace and its listener (killed and removed at exit). */
static char rs_ns[64];
static pid_t rs_pid;

static void rs_cleanup(void) {
    if (rs_pid > 0) {
        kill(rs_pid, SIGKILL);
        waitpid(rs_pid, NULL, 0);
        rs_pid = 0;
    }
    if (rs_ns[0]) {
        sh("ip netns del %s 2>/dev/null", rs_ns);
        rs_ns[0] = '\0';
    }
}

/* A TCP listener on ADDR:PORT inside namespace NS, accepting and closing
 * (a forked child; it ends by itself after 120 s at the latest). */
static pid_t listen_in(const char *ns, const char *addr, uint16_t port) {
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid > 0) return pid;
    alarm(120);
    char path[128];
    snprintf(path, sizeof path, "/run/netns/%s", ns);
    int nsfd = open(path, O_RDONLY | O_CLOEXEC);
    if (nsfd < 0 || setns(nsfd, CLONE_NEWNET) != 0) _exit(2);
    int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, addr, &sa.sin_addr);
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(s, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(s, 16) != 0) _exit(3);
    for (;;) {
        int c = accept(s, NULL, NULL);
        if (c >= 0) close(c);
    }
}

/* A real server namespace on a veth: 10.31.0.1 here, 10.31.0.2 there,
 * listening on 8080. */
static void real_server_up(void) {
    snprintf(rs_ns, sizeof rs_ns, "capi-dir-rs-%d", (int)getpid());
    atexit(rs_cleanup);
    SH_OK("ip netns add %s", rs_ns);
    SH_OK("ip link add vd0 type veth peer name eth0 netns %s", rs_ns);
    SH_OK("ip addr add 10.31.0.1/24 dev vd0 && ip link set vd0 up");
    SH_OK("ip -n %s link set lo up && ip -n %s addr add 10.31.0.2/24 dev eth0 && "
          "ip -n %s link set eth0 up", rs_ns, rs_ns, rs_ns);
    rs_pid = listen_in(rs_ns, "10.31.0.2", 8080);
}

/* The weight of real server ADDR:PORT of SERVICE as the C listing shows it;
 * -1 when it is not listed. */
static long listed_weight(lvskit_handle *h, const lvskit_service *svc, const char *addr,
                          uint16_t port) {
    lvskit_destination_list *list = NULL;
    if (lvskit_list_destinations(h, svc, &list) != LVSKIT_RESULT_OK) return -1;
    lvskit_destination want = dest_of(addr, port, LVSKIT_FWD_MASQ, 0);
    long w = -1;
    for (size_t i = 0; i < lvskit_destination_list_len(list); i++) {
        lvskit_destination d;
        REQUIRE_OK(lvskit_destination_list_get(list, i, &d, NULL));
        if (d.port == want.port && memcmp(d.addr, want.addr, 16) == 0) w = (long)d.weight;
    }
    lvskit_destination_list_free(list);
    return w;
}

/* Waits (at most 300 x 100 ms) until the listed weight is WANT. */
static int wait_weight(lvskit_handle *h, const lvskit_service *svc, const char *addr,
                       uint16_t port, long want) {
    for (int i = 0; i < 300; i++) {
        if (listed_weight(h, svc, addr, port) == want) return 1;
        usleep(100 * 1000);
    }
    fprintf(stderr, "  weight of %s:%u is %ld, expected %ld\n", addr, port,
            listed_weight(h, svc, addr, port), want);
    return 0;
}

/* ipvsadm's view: the forwarding word and weight of ADDR:PORT ("Masq 0"). */
static void check_ipvsadm_weight(const char *addr_port, const char *want) {
    char *got = capture("ipvsadm -Ln | awk '$2 == \"%s\" { print $3, $4 }'", addr_port);
    char expect[64];
    snprintf(expect, sizeof expect, "%s\n", want);
    CHECK_STR(got, expect);
    free(got);
}

/* Polls the director's queue (at most 300 x 100 ms) for a HEALTH event of
 * port PORT with HEALTH (and the text WANT, unless NULL: an emulated VM may
 * time a check out now and then); copies its text into TEXT when found. */
static int wait_health_event(lvskit_director *d, uint16_t port, uint32_t health,
                             const char *want, char *text, size_t len) {
    for (int i = 0; i < 300; i++) {
        lvskit_director_event *e = NULL;
        REQUIRE_OK(lvskit_director_poll_event(d, 100, &e));
        if (e == NULL) continue;
        const lvskit_event *ev = lvskit_director_event_get(e);
        int hit = ev->kind == LVSKIT_EVENT_KIND_HEALTH && ev->destination.port == port &&
                  ev->health == health && (want == NULL || strcmp(ev->text, want) == 0);
        if (hit && text) snprintf(text, len, "%s", ev->text);
        lvskit_director_event_free(e);
        if (hit) return 1;
    }
    return 0;
}

static lvskit_service masq_service(const char *vip, uint16_t port) {
    lvskit_service s = svc_inet(IPPROTO_TCP, vip, port);
    set_name(s.scheduler, "wlc");
    return s;
}

static atomic_int events_seen;

static void count_events(void *user, const lvskit_event *e) {
    (void)user;
    if (e->text != NULL) atomic_fetch_add(&events_seen, 1);
}

static void unreachable_server_is_drained_and_restored(void) {
    real_server_up();
    lvskit_handle *h = open_here();
    lvskit_service svc = masq_service("10.31.1.100", 80);
    lvskit_check *check = NULL;
    REQUIRE_OK(lvskit_check_new_tcp(&check));
    REQUIRE_OK(lvskit_check_set_timing(check, 500, 400, 1, 2));
    lvskit_desired *desired = NULL;
    REQUIRE_OK(lvskit_desired_new(&desired));
    REQUIRE_OK(lvskit_desired_add_service(desired, &svc, check, LVSKIT_ON_FAILURE_INHIBIT));
    lvskit_check_free(check); /* the desired state has its own copy */
    lvskit_destination rs = dest_of("10.31.0.2", 8080, LVSKIT_FWD_MASQ, 5);
    REQUIRE_OK(lvskit_desired_add_destination(desired, &svc, &rs));
    lvskit_director_options opts;
    REQUIRE_OK(lvskit_director_options_init(&opts));
    opts.period_ms = 500;
    lvskit_director *d = NULL;
    REQUIRE_OK(lvskit_director_start(desired, &opts, NULL, count_events, NULL, &d));
    lvskit_desired_free(desired);

    REQUIRE(wait_weight(h, &svc, "10.31.0.2", 8080, 5));
    check_ipvsadm_weight("10.31.0.2:8080", "Masq 5");

    SH_OK("ip -n %s link set eth0 down", rs_ns);
    char reason[256] = "";
    CHECK(wait_health_event(d, 8080, LVSKIT_HEALTH_DOWN, NULL, reason, sizeof reason));
    CHECK(reason[0] != '\0');
    REQUIRE(wait_weight(h, &svc, "10.31.0.2", 8080, 0));
    check_ipvsadm_weight("10.31.0.2:8080", "Masq 0");
    uint32_t health = 0;
    CHECK_OK(lvskit_director_health(d, &svc, &rs, &health));
    CHECK(health == LVSKIT_HEALTH_DOWN);

    SH_OK("ip -n %s link set eth0 up", rs_ns);
    CHECK(wait_health_event(d, 8080, LVSKIT_HEALTH_UP, NULL, NULL, 0));
    REQUIRE(wait_weight(h, &svc, "10.31.0.2", 8080, 5));
    check_ipvsadm_weight("10.31.0.2:8080", "Masq 5");
    CHECK_OK(lvskit_director_health(d, &svc, &rs, &health));
    CHECK(health == LVSKIT_HEALTH_UP);

    char *text = NULL;
    REQUIRE_OK(lvskit_director_metrics_text(d, &text));
    CHECK(strstr(text, "lvskit_service_connections_total{service=\"TCP 10.31.1.100:80\"}") != NULL);
    CHECK(strstr(text, "lvskit_destination_weight{service=\"TCP 10.31.1.100:80\","
                       "destination=\"10.31.0.2:8080\"} 5\n") != NULL);
    CHECK(strstr(text, "lvskit_destination_up{service=\"TCP 10.31.1.100:80\","
                       "destination=\"10.31.0.2:8080\"} 1\n") != NULL);
    lvskit_string_free(text);

    CHECK_OK(lvskit_director_stop(d));
    CHECK(atomic_load(&events_seen) > 0);
    /* stopped: the table stays as it is, the director refuses work, the
     * queue still ends with STOPPED */
    CHECK_RESULT(lvskit_director_metrics_text(d, &text), LVSKIT_RESULT_INVALID_INPUT);
    CHECK_OK(lvskit_director_stop(d));
    int stopped = 0;
    for (int i = 0; i < 2000 && !stopped; i++) {
        lvskit_director_event *e = NULL;
        REQUIRE_OK(lvskit_director_poll_event(d, 0, &e));
        if (e == NULL) break;
        stopped = lvskit_director_event_get(e)->kind == LVSKIT_EVENT_KIND_STOPPED;
        lvskit_director_event_free(e);
    }
    CHECK(stopped);
    check_ipvsadm_weight("10.31.0.2:8080", "Masq 5");
    lvskit_director_free(d);
    lvskit_close(h);
}

/* A callback check: healthy while `flag_up` is set; records what it saw. */
static atomic_int flag_up = 1, calls, seen_port;
static _Atomic uint32_t seen_addr;

static int flag_check(void *user, const lvskit_check_target *t) {
    CHECK(user == &flag_up);
    atomic_fetch_add(&calls, 1);
    atomic_store(&seen_port, t->target.port);
    uint32_t a;
    memcpy(&a, t->target.addr, 4);
    atomic_store(&seen_addr, a);
    if (atomic_load(&flag_up)) return 0;
    snprintf(t->reason, t->reason_len, "flag says down");
    return 1;
}

#define CB_TABLE_UP "-A -t 10.32.1.1:80 -s wlc\n-a -t 10.32.1.1:80 -r 10.32.0.2:8081 -m -w 3\n"
#define CB_TABLE_SORRY "-A -t 10.32.1.1:80 -s wlc\n-a -t 10.32.1.1:80 -r 10.32.0.9:80 -m -w 1\n"

static int wait_saved(const char *want) {
    for (int i = 0; i < 300; i++) {
        char *got = capture("ipvsadm -Sn");
        int same = strcmp(got, want) == 0;
        free(got);
        if (same) return 1;
        usleep(100 * 1000);
    }
    return 0;
}

static void a_callback_check_removes_and_the_sorry_server_takes_over(void) {
    SH_OK("ip link add d0 type dummy && ip addr add 10.32.0.1/24 dev d0 && ip link set d0 up");
    lvskit_service svc = masq_service("10.32.1.1", 80);
    lvskit_check *check = NULL;
    REQUIRE_OK(lvskit_check_new_callback(flag_check, &flag_up, &check));
    REQUIRE_OK(lvskit_check_set_timing(check, 1000, 900, 1, 1));
    lvskit_desired *desired = NULL;
    REQUIRE_OK(lvskit_desired_new(&desired));
    REQUIRE_OK(lvskit_desired_add_service(desired, &svc, check, LVSKIT_ON_FAILURE_REMOVE));
    lvskit_destination rs = dest_of("10.32.0.2", 8081, LVSKIT_FWD_MASQ, 3);
    REQUIRE_OK(lvskit_desired_add_destination(desired, &svc, &rs));
    lvskit_destination sorry = dest_of("10.32.0.9", 80, LVSKIT_FWD_MASQ, 1);
    REQUIRE_OK(lvskit_desired_set_quorum(desired, &svc, 1, &sorry));
    REQUIRE_OK(lvskit_desired_validate(desired));
    lvskit_director *d = NULL;
    REQUIRE_OK(lvskit_director_start(desired, NULL, NULL, NULL, NULL, &d));

    CHECK(wait_saved(CB_TABLE_UP));
    atomic_store(&flag_up, 0);
    char reason[256] = "";
    CHECK(wait_health_event(d, 8081, LVSKIT_HEALTH_DOWN, "flag says down", reason,
                            sizeof reason));
    CHECK(wait_saved(CB_TABLE_SORRY)); /* removed, and below quorum: the sorry server */
    atomic_store(&flag_up, 1);
    CHECK(wait_health_event(d, 8081, LVSKIT_HEALTH_UP, NULL, NULL, 0));
    CHECK(wait_saved(CB_TABLE_UP)); /* back: the sorry server leaves */

    CHECK(atomic_load(&calls) >= 3);
    CHECK(atomic_load(&seen_port) == 8081);
    uint32_t want;
    inet_pton(AF_INET, "10.32.0.2", &want);
    CHECK(atomic_load(&seen_addr) == want);

    /* the same check once, from this thread */
    int healthy = -1;
    char why[64] = "x";
    CHECK_OK(lvskit_check_probe_once(check, &rs, &healthy, why, sizeof why));
    CHECK(healthy == 1 && why[0] == '\0');
    atomic_store(&flag_up, 0);
    CHECK_OK(lvskit_check_probe_once(check, &rs, &healthy, why, sizeof why));
    CHECK(healthy == 0);
    CHECK_STR(why, "flag says down");
    atomic_store(&flag_up, 1);

    lvskit_director_free(d); /* returns once no callback runs */
    lvskit_desired_free(desired);
    lvskit_check_free(check);
}

static void probe_once_runs_tcp_checks(void) {
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    REQUIRE(bind(l, (struct sockaddr *)&sa, sizeof sa) == 0 && listen(l, 4) == 0);
    socklen_t n = sizeof sa;
    REQUIRE(getsockname(l, (struct sockaddr *)&sa, &n) == 0);
    uint16_t port = ntohs(sa.sin_port);
    lvskit_check *check = NULL;
    REQUIRE_OK(lvskit_check_new_tcp(&check));
    REQUIRE_OK(lvskit_check_set_timing(check, 2000, 1000, 1, 1));
    lvskit_destination server = dest_of("127.0.0.1", port, LVSKIT_FWD_MASQ, 1);
    int healthy = -1;
    char why[128];
    CHECK_OK(lvskit_check_probe_once(check, &server, &healthy, why, sizeof why));
    CHECK(healthy == 1);
    close(l);
    CHECK_OK(lvskit_check_probe_once(check, &server, &healthy, why, sizeof why));
    CHECK(healthy == 0);
    CHECK(strstr(why, "refused") != NULL);
    /* the check's port setting applies */
    REQUIRE_OK(lvskit_check_set_port(check, 1));
    CHECK_OK(lvskit_check_probe_once(check, &server, &healthy, NULL, 0));
    CHECK(healthy == 0);
    lvskit_check_free(check);
}

static lvskit_desired *one_service(const lvskit_service *svc, const lvskit_check *check,
                                   const char *rs_addr) {
    lvskit_desired *desired = NULL;
    REQUIRE_OK(lvskit_desired_new(&desired));
    REQUIRE_OK(lvskit_desired_add_service(desired, svc, check, LVSKIT_ON_FAILURE_INHIBIT));
    lvskit_destination rs = dest_of(rs_addr, 80, LVSKIT_FWD_MASQ, 1);
    REQUIRE_OK(lvskit_desired_add_destination(desired, svc, &rs));
    return desired;
}

/* Starting with DESIRED must fail with INVALID_INPUT, the message holding WHAT. */
static void refused(const lvskit_desired *desired, const lvskit_director_options *opts,
                    const char *what) {
    lvskit_director *d = (lvskit_director *)0x1;
    CHECK_RESULT(lvskit_director_start(desired, opts, NULL, NULL, NULL, &d),
                 LVSKIT_RESULT_INVALID_INPUT);
    CHECK(d == (lvskit_director *)0x1);
    char msg[512];
    lvskit_last_error_message(msg, sizeof msg);
    if (strstr(msg, what) == NULL) {
        fprintf(stderr, "  message %s lacks %s\n", msg, what);
        test_failed = 1;
    }
}

static void bad_input_is_refused_before_anything_changes(void) {
    SH_OK("ip link add d0 type dummy && ip addr add 10.33.0.1/24 dev d0 && ip link set d0 up");
    lvskit_service svc = masq_service("10.33.1.1", 80);
    lvskit_check *check = NULL;
    REQUIRE_OK(lvskit_check_new_tcp(&check));

    REQUIRE_OK(lvskit_check_set_timing(check, 0, 0, 1, 1)); /* zero interval */
    lvskit_desired *desired = one_service(&svc, check, "10.33.0.2");
    refused(desired, NULL, "interval");
    CHECK_RESULT(lvskit_desired_validate(desired), LVSKIT_RESULT_INVALID_INPUT);
    lvskit_desired_free(desired);

    REQUIRE_OK(lvskit_check_set_timing(check, 1000, 500, 0, 1)); /* rise 0 */
    desired = one_service(&svc, check, "10.33.0.2");
    refused(desired, NULL, "rise and fall");
    lvskit_desired_free(desired);
    REQUIRE_OK(lvskit_check_set_timing(check, 1000, 500, 1, 0)); /* fall 0 */
    desired = one_service(&svc, check, "10.33.0.2");
    refused(desired, NULL, "rise and fall");
    lvskit_desired_free(desired);

    REQUIRE_OK(lvskit_check_set_timing(check, 1000, 500, 1, 1));
    desired = one_service(&svc, check, "0.0.0.0"); /* a real server that is nothing */
    refused(desired, NULL, "unicast");
    lvskit_desired_free(desired);
    lvskit_socket_address nowhere = {.family = LVSKIT_AF_INET, .port = 80};
    REQUIRE_OK(lvskit_check_set_target(check, &nowhere)); /* a check pointing at nothing */
    desired = one_service(&svc, check, "10.33.0.2");
    refused(desired, NULL, "points at nothing");
    lvskit_desired_free(desired);
    REQUIRE_OK(lvskit_check_set_target(check, NULL));

    desired = one_service(&svc, check, "10.33.0.2"); /* the sorry server is a real server */
    lvskit_destination same = dest_of("10.33.0.2", 80, LVSKIT_FWD_MASQ, 1);
    REQUIRE_OK(lvskit_desired_set_quorum(desired, &svc, 1, &same));
    refused(desired, NULL, "sorry server");
    REQUIRE_OK(lvskit_desired_set_quorum(desired, &svc, 2, NULL)); /* quorum above 1 server */
    refused(desired, NULL, "quorum");
    REQUIRE_OK(lvskit_desired_set_quorum(desired, &svc, 0, NULL));
    lvskit_director_options opts;
    REQUIRE_OK(lvskit_director_options_init(&opts));
    opts.period_ms = 0;
    refused(desired, &opts, "period");

    /* the binding's own checks */
    CHECK_RESULT(lvskit_desired_add_service(desired, &svc, NULL, LVSKIT_ON_FAILURE_INHIBIT),
                 LVSKIT_RESULT_INVALID_INPUT); /* listed twice */
    lvskit_service other = masq_service("10.33.1.2", 80);
    CHECK_RESULT(lvskit_desired_add_service(desired, &other, NULL, 7), LVSKIT_RESULT_INVALID_INPUT);
    CHECK_RESULT(lvskit_desired_add_destination(desired, &other, &same),
                 LVSKIT_RESULT_INVALID_INPUT); /* no such service */
    CHECK_RESULT(lvskit_check_set_body(check, "x"), LVSKIT_RESULT_INVALID_INPUT);
    CHECK_RESULT(lvskit_check_set_tls(check, LVSKIT_TLS_VERIFY_OFF, NULL, NULL),
                 LVSKIT_RESULT_INVALID_INPUT);
    lvskit_check *https = NULL;
    REQUIRE_OK(lvskit_check_new_https("/", 200, &https));
    CHECK_RESULT(lvskit_check_set_tls(https, 9, NULL, NULL), LVSKIT_RESULT_INVALID_INPUT);
    CHECK_RESULT(lvskit_check_set_tls(https, LVSKIT_TLS_VERIFY_CA_PEM, NULL, NULL),
                 LVSKIT_RESULT_NULL_PARAMETER);
    REQUIRE_OK(lvskit_check_set_tls(https, LVSKIT_TLS_VERIFY_CA_PEM, "not a certificate",
                                    "backend.test"));
    lvskit_desired *with_https = one_service(&svc, https, "10.33.0.2");
    refused(with_https, NULL, "CA certificate");
    lvskit_desired_free(with_https);
    lvskit_check_free(https);

    /* NULLs */
    lvskit_director *d = NULL;
    CHECK_RESULT(lvskit_director_start(NULL, NULL, NULL, NULL, NULL, &d),
                 LVSKIT_RESULT_NULL_PARAMETER);
    CHECK_RESULT(lvskit_director_start(desired, NULL, NULL, NULL, NULL, NULL),
                 LVSKIT_RESULT_NULL_PARAMETER);
    CHECK_RESULT(lvskit_desired_add_service(NULL, &svc, NULL, 0), LVSKIT_RESULT_NULL_PARAMETER);
    CHECK_RESULT(lvskit_desired_add_destination(desired, &svc, NULL), LVSKIT_RESULT_NULL_PARAMETER);
    CHECK_RESULT(lvskit_check_new_http(NULL, 200, &check), LVSKIT_RESULT_NULL_PARAMETER);
    CHECK_RESULT(lvskit_check_new_callback(NULL, NULL, &check), LVSKIT_RESULT_NULL_PARAMETER);
    CHECK_RESULT(lvskit_check_set_timing(NULL, 1, 1, 1, 1), LVSKIT_RESULT_NULL_PARAMETER);
    CHECK_RESULT(lvskit_director_metrics_text(NULL, NULL), LVSKIT_RESULT_NULL_PARAMETER);
    CHECK_RESULT(lvskit_director_poll_event(NULL, 0, NULL), LVSKIT_RESULT_NULL_PARAMETER);
    CHECK(lvskit_director_event_get(NULL) == NULL);
    lvskit_director_free(NULL);
    lvskit_desired_free(NULL);
    lvskit_check_free(NULL);
    lvskit_director_event_free(NULL);

    /* nothing reached the kernel */
    CHECK_SAVED("");

    /* a running director keeps its state when given a bad one */
    lvskit_desired_free(desired);
    desired = one_service(&svc, NULL, "10.33.0.2"); /* unchecked: stays at weight 1 */
    REQUIRE_OK(lvskit_director_start(desired, NULL, NULL, NULL, NULL, &d));
    const char *table = "-A -t 10.33.1.1:80 -s wlc\n-a -t 10.33.1.1:80 -r 10.33.0.2:80 -m -w 1\n";
    CHECK(wait_saved(table));
    lvskit_desired *bad = one_service(&svc, check, "10.33.0.2");
    REQUIRE_OK(lvskit_desired_set_quorum(bad, &svc, 1, &same));
    CHECK_RESULT(lvskit_director_set_desired(d, bad), LVSKIT_RESULT_INVALID_INPUT);
    CHECK_OK(lvskit_director_reconcile_now(d));
    usleep(300 * 1000);
    CHECK_SAVED(table);
    lvskit_desired_free(bad);
    lvskit_director_free(d);
    lvskit_desired_free(desired);
    lvskit_check_free(check);
}

int main(void) {
    RUN(unreachable_server_is_drained_and_restored);
    RUN(a_callback_check_removes_and_the_sorry_server_takes_over);
    RUN(probe_once_runs_tcp_checks);
    RUN(bad_input_is_refused_before_anything_changes);
    return finish("test_director");
}
