/*
 * A tiny test harness for the C binding's tests. Each test runs in a forked
 * child that first moves into a fresh network namespace (unshare
 * CLONE_NEWNET), so tests never see each other's IPVS tables and never touch
 * the VM's initial namespace. ipvsadm and ip, run with popen()/system() from
 * the child, inherit that namespace and serve as the independent referee.
 *
 * Needs root and a kernel with IPVS: scripts/test runs these in the test VM.
 */
#ifndef LVSKIT_TEST_HARNESS_H
#define LVSKIT_TEST_HARNESS_H

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lvskit.h"

static int test_failed;

#define CHECK(cond)                                                              \
    do {                                                                         \
        if (!(cond)) {                                                           \
            fprintf(stderr, "  %s:%d: CHECK failed: %s\n", __FILE__, __LINE__,   \
                    #cond);                                                      \
            test_failed = 1;                                                     \
        }                                                                        \
    } while (0)

/* Like CHECK but stops the test: later steps depend on this one. */
#define REQUIRE(cond)                                                            \
    do {                                                                         \
        if (!(cond)) {                                                           \
            fprintf(stderr, "  %s:%d: REQUIRE failed: %s\n", __FILE__, __LINE__, \
                    #cond);                                                      \
            exit(1);                                                             \
        }                                                                        \
    } while (0)

static inline void report_result(const char *file, int line, const char *expr, lvskit_result got,
                          lvskit_result want) {
    char msg[512];
    lvskit_last_error_message(msg, sizeof msg);
    fprintf(stderr, "  %s:%d: %s returned %s (errno %d: %s), expected %s\n", file, line,
            expr, lvskit_result_name(got), lvskit_last_errno(), msg, lvskit_result_name(want));
}

/* Checks that EXPR returns WANT; prints the last error otherwise. */
#define CHECK_RESULT(expr, want)                                                 \
    do {                                                                         \
        lvskit_result got_ = (expr);                                               \
        if (got_ != (lvskit_result)(want)) {                                       \
            report_result(__FILE__, __LINE__, #expr, got_, (want));              \
            test_failed = 1;                                                     \
        }                                                                        \
    } while (0)

#define REQUIRE_OK(expr)                                                         \
    do {                                                                         \
        lvskit_result got_ = (expr);                                               \
        if (got_ != LVSKIT_RESULT_OK) {                                            \
            report_result(__FILE__, __LINE__, #expr, got_, LVSKIT_RESULT_OK);      \
            exit(1);                                                             \
        }                                                                        \
    } while (0)

#define CHECK_OK(expr) CHECK_RESULT(expr, LVSKIT_RESULT_OK)

#define CHECK_STR(got, want)                                                     \
    do {                                                                         \
        const char *g_ = (got), *w_ = (want);                                    \
        if (strcmp(g_, w_) != 0) {                                               \
            fprintf(stderr, "  %s:%d: %s\n    got:\n%s\n    expected:\n%s\n",    \
                    __FILE__, __LINE__, #got, g_, w_);                           \
            test_failed = 1;                                                     \
        }                                                                        \
    } while (0)

/* Runs a shell command (in the test's namespace); returns its exit status. */
static inline int sh(const char *fmt, ...) {
    char cmd[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

#define SH_OK(...) REQUIRE(sh(__VA_ARGS__) == 0)

/* The standard output of a shell command, malloc'ed (free it). */
static inline char *capture(const char *fmt, ...) {
    char cmd[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    FILE *p = popen(cmd, "r");
    REQUIRE(p != NULL);
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    REQUIRE(buf != NULL);
    size_t n;
    while ((n = fread(buf + len, 1, cap - len - 1, p)) > 0) {
        len += n;
        if (cap - len < 2) {
            cap *= 2;
            buf = realloc(buf, cap);
            REQUIRE(buf != NULL);
        }
    }
    buf[len] = '\0';
    int st = pclose(p);
    if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
        fprintf(stderr, "  command failed: %s\n", cmd);
        test_failed = 1;
    }
    return buf;
}

static int cmp_lines(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorts the lines of TEXT in place (the kernel lists services in hash order). */
static inline void sort_lines(char *text) {
    size_t n = 0, len = strlen(text);
    for (size_t i = 0; i < len; i++) n += text[i] == '\n';
    char **lines = calloc(n + 1, sizeof *lines);
    char *copy = strdup(text);
    REQUIRE(lines != NULL && copy != NULL);
    size_t k = 0;
    for (char *save = NULL, *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
        lines[k++] = l;
    qsort(lines, k, sizeof *lines, cmp_lines);
    text[0] = '\0';
    for (size_t i = 0; i < k; i++) {
        strcat(text, lines[i]);
        strcat(text, "\n");
    }
    free(lines);
    free(copy);
}

/* Checks `ipvsadm -Sn` (the referee's view of the table) against WANT,
 * both with their lines sorted. */
#define CHECK_SAVED(want)                                                        \
    do {                                                                         \
        char *saved_ = capture("ipvsadm -Sn");                                   \
        char *expect_ = strdup(want);                                            \
        REQUIRE(expect_ != NULL);                                                \
        sort_lines(saved_);                                                      \
        sort_lines(expect_);                                                     \
        CHECK_STR(saved_, expect_);                                              \
        free(saved_);                                                            \
        free(expect_);                                                           \
    } while (0)

/* Fills an lvskit_service for PROTO ADDR:PORT (ADDR as text, v4 or v6). */
static inline lvskit_service svc_inet(uint16_t proto, const char *addr, uint16_t port) {
    lvskit_service s;
    REQUIRE(lvskit_service_init(&s) == LVSKIT_RESULT_OK);
    s.protocol = proto;
    s.port = port;
    if (strchr(addr, ':')) {
        s.family = LVSKIT_AF_INET6;
        REQUIRE(inet_pton(AF_INET6, addr, s.addr) == 1);
    } else {
        s.family = LVSKIT_AF_INET;
        REQUIRE(inet_pton(AF_INET, addr, s.addr) == 1);
    }
    return s;
}

static inline lvskit_destination dest_of(const char *addr, uint16_t port, uint32_t forward,
                                uint32_t weight) {
    lvskit_destination d;
    REQUIRE(lvskit_destination_init(&d) == LVSKIT_RESULT_OK);
    d.port = port;
    d.forward = forward;
    d.weight = weight;
    if (strchr(addr, ':')) {
        d.family = LVSKIT_AF_INET6;
        REQUIRE(inet_pton(AF_INET6, addr, d.addr) == 1);
    } else {
        d.family = LVSKIT_AF_INET;
        REQUIRE(inet_pton(AF_INET, addr, d.addr) == 1);
    }
    return d;
}

static inline void set_name(char dst[LVSKIT_NAME_LEN], const char *src) {
    memset(dst, 0, LVSKIT_NAME_LEN);
    strncpy(dst, src, LVSKIT_NAME_LEN - 1);
}

/* Opens IPVS in the test's namespace. */
static inline lvskit_handle *open_here(void) {
    lvskit_handle *h = NULL;
    REQUIRE_OK(lvskit_open(&h));
    REQUIRE(h != NULL);
    return h;
}

static inline int run_one(const char *name, void (*fn)(void)) {
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return 1;
    }
    if (pid == 0) {
        if (unshare(CLONE_NEWNET) != 0) {
            perror("unshare(CLONE_NEWNET)");
            exit(1);
        }
        if (sh("ip link set lo up") != 0) exit(1);
        test_failed = 0;
        fn();
        fflush(stdout);
        fflush(stderr);
        exit(test_failed ? 1 : 0);
    }
    int st = 0;
    if (waitpid(pid, &st, 0) < 0) {
        perror("waitpid");
        return 1;
    }
    int ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;
    if (WIFSIGNALED(st)) fprintf(stderr, "  killed by signal %d\n", WTERMSIG(st));
    printf("test %s ... %s\n", name, ok ? "ok" : "FAILED");
    fflush(stdout);
    return ok ? 0 : 1;
}

static int tests_run, tests_failed;
#define RUN(fn)                                                                  \
    do {                                                                         \
        tests_run++;                                                             \
        tests_failed += run_one(#fn, fn);                                        \
    } while (0)

static inline int finish(const char *suite) {
    printf("%s: %d passed, %d failed\n", suite, tests_run - tests_failed, tests_failed);
    return tests_failed ? 1 : 0;
}

#endif
