/*
 * Threads: four pthreads share one handle (and, in the second test, each
 * has its own) doing mixed adds, updates and deletes, some of which must
 * fail. Every result is checked by the thread that got it, the last error
 * is per thread, and the final table is cross-checked with ipvsadm -Sn.
 */
#include "harness.h"

#include <netinet/in.h>
#include <pthread.h>

#define THREADS 4
#define SERVICES 20

struct worker {
    lvskit_handle *h; /* shared, or NULL: open one */
    int id;
    int failures;   /* checks that failed in this thread */
};

#define W_CHECK(w, cond)                                                         \
    do {                                                                         \
        if (!(cond)) {                                                           \
            fprintf(stderr, "  thread %d: %s:%d: %s\n", (w)->id, __FILE__,       \
                    __LINE__, #cond);                                            \
            (w)->failures++;                                                     \
        }                                                                        \
    } while (0)

static lvskit_service svc_of(int t, int i) {
    char a[32];
    snprintf(a, sizeof a, "10.%d.0.%d", t + 1, i + 1);
    lvskit_service s;
    if (lvskit_service_init(&s) != LVSKIT_RESULT_OK) abort();
    s.family = LVSKIT_AF_INET;
    s.protocol = IPPROTO_TCP;
    s.port = 80;
    if (inet_pton(AF_INET, a, s.addr) != 1) abort();
    return s;
}

static lvskit_destination dst_of(int t, int i, int j, uint32_t weight) {
    char a[32];
    snprintf(a, sizeof a, "192.168.%d.%d", t + 1, i * 2 + j + 1);
    lvskit_destination d;
    if (lvskit_destination_init(&d) != LVSKIT_RESULT_OK) abort();
    d.family = LVSKIT_AF_INET;
    d.port = 8080;
    d.forward = LVSKIT_FWD_MASQ;
    d.weight = weight;
    if (inet_pton(AF_INET, a, d.addr) != 1) abort();
    return d;
}

static void *work(void *arg) {
    struct worker *w = arg;
    lvskit_handle *h = w->h;
    if (!h) {
        if (lvskit_open(&h) != LVSKIT_RESULT_OK) {
            w->failures++;
            return NULL;
        }
    }
    int t = w->id;
    for (int i = 0; i < SERVICES; i++) {
        lvskit_service s = svc_of(t, i);
        W_CHECK(w, lvskit_add_service(h, &s) == LVSKIT_RESULT_OK);
        /* the same again: refused, and this thread's last error says so */
        W_CHECK(w, lvskit_add_service(h, &s) == LVSKIT_RESULT_EXISTS);
        W_CHECK(w, lvskit_last_result() == LVSKIT_RESULT_EXISTS);
        W_CHECK(w, lvskit_last_errno() == EEXIST);
        char msg[256];
        lvskit_last_error_message(msg, sizeof msg);
        char addr[32];
        snprintf(addr, sizeof addr, "10.%d.0.%d:80", t + 1, i + 1);
        W_CHECK(w, strstr(msg, addr) != NULL); /* its own service, not another thread's */
        for (int j = 0; j < 2; j++) {
            lvskit_destination d = dst_of(t, i, j, 1);
            W_CHECK(w, lvskit_add_destination(h, &s, &d) == LVSKIT_RESULT_OK);
        }
        lvskit_destination d = dst_of(t, i, 0, (uint32_t)(t * 100 + i));
        W_CHECK(w, lvskit_update_destination(h, &s, &d) == LVSKIT_RESULT_OK);
        W_CHECK(w, lvskit_last_result() == LVSKIT_RESULT_OK);
        if (i % 2 == 1) {
            W_CHECK(w, lvskit_delete_service(h, &s) == LVSKIT_RESULT_OK);
            W_CHECK(w, lvskit_delete_service(h, &s) == LVSKIT_RESULT_NOT_FOUND);
            W_CHECK(w, lvskit_last_errno() == ESRCH);
        } else {
            lvskit_destination gone = dst_of(t, i, 1, 1);
            W_CHECK(w, lvskit_delete_destination(h, &s, &gone) == LVSKIT_RESULT_OK);
            W_CHECK(w, lvskit_delete_destination(h, &s, &gone) == LVSKIT_RESULT_NOT_FOUND);
        }
        /* a read in between: the service is there (or not) as this thread left it */
        lvskit_service got;
        lvskit_result r = lvskit_get_service(h, &s, &got, NULL);
        W_CHECK(w, r == (i % 2 ? LVSKIT_RESULT_NOT_FOUND : LVSKIT_RESULT_OK));
    }
    if (!w->h) lvskit_close(h);
    return NULL;
}

/* ipvsadm -Sn of what the workers leave: even services with their first server. */
static char *expected_table(void) {
    char *want = calloc(1, 64 * 1024);
    REQUIRE(want != NULL);
    for (int t = 0; t < THREADS; t++)
        for (int i = 0; i < SERVICES; i += 2) {
            char line[128];
            snprintf(line, sizeof line, "-A -t 10.%d.0.%d:80 -s wlc\n", t + 1, i + 1);
            strcat(want, line);
            snprintf(line, sizeof line, "-a -t 10.%d.0.%d:80 -r 192.168.%d.%d:8080 -m -w %d\n",
                     t + 1, i + 1, t + 1, i * 2 + 1, t * 100 + i);
            strcat(want, line);
        }
    return want;
}

static void run_workers(lvskit_handle *shared) {
    pthread_t th[THREADS];
    struct worker w[THREADS];
    for (int t = 0; t < THREADS; t++) {
        w[t] = (struct worker){.h = shared, .id = t, .failures = 0};
        REQUIRE(pthread_create(&th[t], NULL, work, &w[t]) == 0);
    }
    for (int t = 0; t < THREADS; t++) {
        REQUIRE(pthread_join(th[t], NULL) == 0);
        CHECK(w[t].failures == 0);
    }
    char *want = expected_table();
    CHECK_SAVED(want);
    free(want);
}

static void four_threads_share_one_handle(void) {
    lvskit_handle *h = open_here();
    run_workers(h);
    /* the shared handle still works, and its listing agrees */
    lvskit_service_list *l = NULL;
    REQUIRE_OK(lvskit_list_services(h, &l));
    CHECK(lvskit_service_list_len(l) == THREADS * SERVICES / 2);
    lvskit_service_list_free(l);
    lvskit_close(h);
}

static void four_threads_with_their_own_handles(void) {
    run_workers(NULL);
}

int main(void) {
    RUN(four_threads_share_one_handle);
    RUN(four_threads_with_their_own_handles);
    return finish("test_threads");
}
