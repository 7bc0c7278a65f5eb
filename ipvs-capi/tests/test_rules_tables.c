/*
 * Rules text in and out (lvskit_save_rules, lvskit_restore_rules) and
 * desired-state tables (JSON, rules text, diff, plan text, apply, converge),
 * each cross-checked with ipvsadm.
 */
#include "harness.h"

#include <netinet/in.h>

/* A table made by ipvsadm, the referee: IPv4, IPv6, fwmark, persistence, thresholds. */
static void ipvsadm_table(void) {
    SH_OK("ipvsadm -A -t 10.0.0.1:80 -s rr && "
          "ipvsadm -a -t 10.0.0.1:80 -r 10.0.1.2:8080 -m -w 3 -x 100 -y 10 && "
          "ipvsadm -a -t 10.0.0.1:80 -r 10.0.1.1:8080 -m -w 2 && "
          "ipvsadm -A -u [2001:db8::1]:53 -s wlc -p 600 && "
          "ipvsadm -a -u [2001:db8::1]:53 -r [2001:db8:1::5]:53 -i -w 1 && "
          "ipvsadm -A -f 7 -s sh -b sh-port");
}

static char *take_error(void) {
    static char msg[512];
    lvskit_last_error_message(msg, sizeof msg);
    return msg;
}

static void saves_what_ipvsadm_saves(void) {
    ipvsadm_table();
    lvskit_handle *h = open_here();
    char *text = (char *)0x1;
    REQUIRE_OK(lvskit_save_rules(h, LVSKIT_RULES_IPVSADM, &text));
    char *want = capture("ipvsadm -Sn");
    CHECK_STR(text, want); /* byte for byte, order included */
    free(want);
    lvskit_string_free(text);

    /* lossless: the thresholds that ipvsadm -Sn drops are there */
    REQUIRE_OK(lvskit_save_rules(h, LVSKIT_RULES_LOSSLESS, &text));
    CHECK(strstr(text, "-r 10.0.1.2:8080 -m -w 3 -x 100 -y 10") != NULL);
    /* and ipvsadm -R rebuilds the same table from it */
    SH_OK("ipvsadm -C");
    FILE *p = popen("ipvsadm -R", "w");
    REQUIRE(p != NULL);
    fputs(text, p);
    REQUIRE(pclose(p) == 0);
    char *again = NULL;
    REQUIRE_OK(lvskit_save_rules(h, LVSKIT_RULES_LOSSLESS, &again));
    CHECK_STR(again, text);
    lvskit_string_free(again);
    lvskit_string_free(text);

    /* an empty table gives "" */
    SH_OK("ipvsadm -C");
    REQUIRE_OK(lvskit_save_rules(h, LVSKIT_RULES_IPVSADM, &text));
    CHECK_STR(text, "");
    lvskit_string_free(text);

    /* bad arguments: out-parameter untouched */
    text = (char *)0x1;
    CHECK_RESULT(lvskit_save_rules(h, 7, &text), LVSKIT_RESULT_INVALID_INPUT);
    CHECK_RESULT(lvskit_save_rules(NULL, LVSKIT_RULES_IPVSADM, &text), LVSKIT_RESULT_NULL_PARAMETER);
    CHECK_RESULT(lvskit_save_rules(h, LVSKIT_RULES_IPVSADM, NULL), LVSKIT_RESULT_NULL_PARAMETER);
    CHECK(text == (char *)0x1);
    lvskit_string_free(NULL);
    lvskit_close(h);
}

static void restores_rules_with_a_result_per_line(void) {
    lvskit_handle *h = open_here();
    const char *rules = "# a comment, then a blank line\n"
                        "\n"
                        "-A -t 10.0.0.1:80 -s rr\n"
                        "ipvsadm -a -t 10.0.0.1:80 -r 10.0.1.1:80 -m -w 5\n"
                        "-A -t 10.0.0.1:80 -s wlc\n" /* exists: fails alone */
                        "-a -t 10.0.0.1:80 -r 10.0.1.2:80 -m -w 1\n"
                        "-d -t 10.0.0.1:80 -r 10.0.1.9:80\n" /* missing */
                        "--set 100 20 30\n";
    lvskit_batch_report *r = NULL;
    REQUIRE_OK(lvskit_restore_rules(h, rules, LVSKIT_BATCH_CONTINUE, &r));
    REQUIRE(lvskit_batch_report_len(r) == 6); /* comment and blank line are not rules */
    CHECK(lvskit_batch_report_done(r) == 4);
    lvskit_op_result o;
    CHECK_OK(lvskit_batch_report_get(r, 2, &o));
    CHECK(o.status == LVSKIT_OP_FAILED && o.result == LVSKIT_RESULT_EXISTS && o.err_no == EEXIST);
    CHECK_OK(lvskit_batch_report_get(r, 4, &o));
    CHECK(o.status == LVSKIT_OP_FAILED && o.result == LVSKIT_RESULT_NOT_FOUND && o.err_no == ENOENT);
    char msg[256];
    CHECK(lvskit_batch_report_message(r, 2, msg, sizeof msg) > 0);
    CHECK(strstr(msg, "10.0.0.1:80") != NULL);
    CHECK_OK(lvskit_batch_report_get(r, 5, &o));
    CHECK(o.status == LVSKIT_OP_DONE);
    lvskit_batch_report_free(r);
    CHECK_SAVED("-A -t 10.0.0.1:80 -s rr\n"
                "-a -t 10.0.0.1:80 -r 10.0.1.1:80 -m -w 5\n"
                "-a -t 10.0.0.1:80 -r 10.0.1.2:80 -m -w 1\n");
    char *to = capture("ipvsadm -L --timeout");
    CHECK_STR(to, "Timeout (tcp tcpfin udp): 100 20 30\n");
    free(to);

    /* stop on error: nothing after the first failure is sent */
    REQUIRE_OK(lvskit_restore_rules(h,
                                  "-D -t 10.9.9.9:1\n"
                                  "-A -u 10.0.0.2:53\n",
                                  LVSKIT_BATCH_STOP_ON_ERROR, &r));
    CHECK_OK(lvskit_batch_report_get(r, 1, &o));
    CHECK(o.status == LVSKIT_OP_NOT_ATTEMPTED && o.result == LVSKIT_RESULT_NOT_ATTEMPTED);
    lvskit_batch_report_free(r);

    /* a parse error anywhere: nothing is sent, the message says where */
    r = (lvskit_batch_report *)0x1;
    CHECK_RESULT(lvskit_restore_rules(h,
                                    "-A -u 10.0.0.3:53\n"
                                    "-a -t 10.0.0.1:80 -r 10.0.1.3:80 -w lots\n",
                                    LVSKIT_BATCH_CONTINUE, &r),
                 LVSKIT_RESULT_PARSE_ERROR);
    CHECK(r == (lvskit_batch_report *)0x1);
    CHECK(lvskit_last_errno() == 0);
    const char *m = take_error();
    CHECK(strncmp(m, "line 2, column ", 15) == 0);
    CHECK(strstr(m, "lvskit_restore_rules") != NULL);
    CHECK_SAVED("-A -t 10.0.0.1:80 -s rr\n"
                "-a -t 10.0.0.1:80 -r 10.0.1.1:80 -m -w 5\n"
                "-a -t 10.0.0.1:80 -r 10.0.1.2:80 -m -w 1\n");
    CHECK_RESULT(lvskit_restore_rules(h, "-A -t 10.0.0.1:80\n", 9, &r), LVSKIT_RESULT_INVALID_INPUT);
    CHECK_RESULT(lvskit_restore_rules(h, NULL, LVSKIT_BATCH_CONTINUE, &r), LVSKIT_RESULT_NULL_PARAMETER);
    lvskit_close(h);
}

#define DESIRED_JSON                                                                       \
    "{\"services\": [\n"                                                                   \
    "  {\"service\": {\"key\": {\"inet\": {\"protocol\": \"tcp\", \"addr\": \"10.0.0.1\", " \
    "\"port\": 80}}, \"scheduler\": \"rr\"},\n"                                            \
    "   \"destinations\": [{\"addr\": \"10.0.1.1\", \"port\": 80, \"weight\": 2},\n"      \
    "                      {\"addr\": \"10.0.1.2\", \"port\": 80}]},\n"                    \
    "  {\"service\": {\"key\": {\"inet\": {\"protocol\": \"udp\", \"addr\": \"10.0.0.2\", " \
    "\"port\": 53}}}}\n"                                                                   \
    "]}\n"

static void converges_to_a_json_table(void) {
    /* the kernel starts with one service to keep, one to change, one to go */
    SH_OK("ipvsadm -A -t 10.0.0.1:80 -s wlc && "
          "ipvsadm -a -t 10.0.0.1:80 -r 10.0.1.1:80 -g -w 2 && "
          "ipvsadm -a -t 10.0.0.1:80 -r 10.0.1.3:80 -g -w 1 && "
          "ipvsadm -A -t 10.0.0.9:443");
    lvskit_handle *h = open_here();
    lvskit_table *desired = NULL, *current = NULL;
    REQUIRE_OK(lvskit_table_from_json(DESIRED_JSON, &desired));
    CHECK(lvskit_table_service_count(desired) == 2);
    CHECK(lvskit_table_destination_count(desired) == 2);
    REQUIRE_OK(lvskit_table_read(h, &current));
    CHECK(lvskit_table_service_count(current) == 2);

    /* dry run: the plan in ipvsadm's words, nothing sent */
    lvskit_plan *plan = NULL;
    REQUIRE_OK(lvskit_plan_diff(current, desired, 0, &plan));
    char *text = NULL;
    REQUIRE_OK(lvskit_plan_text(plan, &text));
    CHECK_STR(text, "ipvsadm -E -t 10.0.0.1:80 -s rr\n"
                    "ipvsadm -A -u 10.0.0.2:53 -s wlc\n"
                    "ipvsadm -d -t 10.0.0.1:80 -r 10.0.1.3:80\n"
                    "ipvsadm -a -t 10.0.0.1:80 -r 10.0.1.2:80 -g -w 1\n"
                    "ipvsadm -D -t 10.0.0.9:443\n");
    CHECK(lvskit_plan_len(plan) == 5);
    lvskit_string_free(text);
    CHECK_SAVED("-A -t 10.0.0.1:80 -s wlc\n"
                "-a -t 10.0.0.1:80 -r 10.0.1.1:80 -g -w 2\n"
                "-a -t 10.0.0.1:80 -r 10.0.1.3:80 -g -w 1\n"
                "-A -t 10.0.0.9:443 -s wlc\n");

    /* only the desired services: 10.0.0.9:443 is left alone */
    lvskit_plan *scoped = NULL;
    REQUIRE_OK(lvskit_plan_diff(current, desired, LVSKIT_DIFF_ONLY_DESIRED_SERVICES, &scoped));
    CHECK(lvskit_plan_len(scoped) == 4);
    lvskit_plan_free(scoped);
    /* draining: the server to go is set to weight 0 instead */
    lvskit_plan *drain = NULL;
    REQUIRE_OK(lvskit_plan_diff(current, desired, LVSKIT_DIFF_DRAIN_BEFORE_REMOVE, &drain));
    REQUIRE_OK(lvskit_plan_text(drain, &text));
    CHECK(strstr(text, "ipvsadm -e -t 10.0.0.1:80 -r 10.0.1.3:80 -g -w 0\n") != NULL);
    lvskit_string_free(text);
    lvskit_plan_free(drain);
    CHECK_RESULT(lvskit_plan_diff(current, desired, 0x80, &drain), LVSKIT_RESULT_INVALID_INPUT);

    /* apply the plan: one report entry per operation */
    lvskit_batch_report *r = NULL;
    REQUIRE_OK(lvskit_apply_plan(h, plan, &r));
    CHECK(lvskit_batch_report_len(r) == 5 && lvskit_batch_report_done(r) == 5);
    lvskit_batch_report_free(r);
    const char *want = "-A -t 10.0.0.1:80 -s rr\n"
                       "-a -t 10.0.0.1:80 -r 10.0.1.1:80 -g -w 2\n"
                       "-a -t 10.0.0.1:80 -r 10.0.1.2:80 -g -w 1\n"
                       "-A -u 10.0.0.2:53 -s wlc\n";
    CHECK_SAVED(want);

    /* the dry run: nothing to do, and nothing applied */
    lvskit_plan *dry = NULL;
    REQUIRE_OK(lvskit_read_plan(h, desired, 0, &dry));
    CHECK(lvskit_plan_len(dry) == 0);
    lvskit_plan_free(dry);

    /* converging again has nothing to do */
    lvskit_plan *again = NULL;
    REQUIRE_OK(lvskit_converge(h, desired, 0, &again, &r));
    CHECK(lvskit_plan_len(again) == 0 && lvskit_batch_report_len(r) == 0);
    lvskit_plan_free(again);
    lvskit_batch_report_free(r);

    /* drift (someone deletes a server) is repaired by converge; plan_out is optional */
    SH_OK("ipvsadm -d -t 10.0.0.1:80 -r 10.0.1.1:80 && ipvsadm -A -u 10.0.0.7:7");
    REQUIRE_OK(lvskit_read_plan(h, desired, 0, &dry));
    REQUIRE_OK(lvskit_plan_text(dry, &text));
    CHECK_STR(text, "ipvsadm -a -t 10.0.0.1:80 -r 10.0.1.1:80 -g -w 2\n"
                    "ipvsadm -D -u 10.0.0.7:7\n");
    lvskit_string_free(text);
    lvskit_plan_free(dry);
    CHECK_SAVED("-A -t 10.0.0.1:80 -s rr\n"
                "-a -t 10.0.0.1:80 -r 10.0.1.2:80 -g -w 1\n"
                "-A -u 10.0.0.2:53 -s wlc\n"
                "-A -u 10.0.0.7:7 -s wlc\n");
    REQUIRE_OK(lvskit_converge(h, desired, 0, NULL, &r));
    CHECK(lvskit_batch_report_len(r) == 2 && lvskit_batch_report_done(r) == 2);
    lvskit_batch_report_free(r);
    CHECK_SAVED(want);

    lvskit_plan_free(plan);
    lvskit_table_free(current);
    lvskit_table_free(desired);
    lvskit_close(h);
}

static void tables_from_rules_and_back(void) {
    ipvsadm_table();
    lvskit_handle *h = open_here();
    char *saved = capture("ipvsadm -Sn");
    char *lossless = NULL;
    REQUIRE_OK(lvskit_save_rules(h, LVSKIT_RULES_LOSSLESS, &lossless));
    /* lossless rules text -> table -> JSON -> table -> rules text: the same text */
    lvskit_table *t = NULL, *t2 = NULL;
    REQUIRE_OK(lvskit_table_from_rules(lossless, &t));
    CHECK(lvskit_table_service_count(t) == 3);
    char *json = NULL, *text = NULL;
    REQUIRE_OK(lvskit_table_to_json(t, &json));
    REQUIRE_OK(lvskit_table_from_json(json, &t2));
    REQUIRE_OK(lvskit_table_to_rules(t2, LVSKIT_RULES_LOSSLESS, &text));
    CHECK_STR(text, lossless);
    lvskit_string_free(text);
    REQUIRE_OK(lvskit_table_to_rules(t2, LVSKIT_RULES_IPVSADM, &text));
    CHECK_STR(text, saved);
    lvskit_string_free(text);
    lvskit_string_free(json);

    /* the kernel's table and the one from its lossless text agree: empty plan */
    lvskit_table *cur = NULL;
    lvskit_plan *p = NULL;
    REQUIRE_OK(lvskit_table_read(h, &cur));
    REQUIRE_OK(lvskit_plan_diff(cur, t2, 0, &p));
    REQUIRE_OK(lvskit_plan_text(p, &text));
    CHECK_STR(text, "");
    lvskit_string_free(text);
    CHECK(lvskit_plan_len(p) == 0);
    lvskit_plan_free(p);
    /* while ipvsadm -Sn drops the thresholds: its table would clear them */
    lvskit_table *sn = NULL;
    REQUIRE_OK(lvskit_table_from_rules(saved, &sn));
    REQUIRE_OK(lvskit_plan_diff(cur, sn, 0, &p));
    REQUIRE_OK(lvskit_plan_text(p, &text));
    CHECK_STR(text, "ipvsadm -e -t 10.0.0.1:80 -r 10.0.1.2:8080 -m -w 3\n");
    lvskit_string_free(text);
    lvskit_plan_free(p);
    lvskit_table_free(sn);
    lvskit_string_free(lossless);

    /* a converge from rules text into a flushed table rebuilds it */
    SH_OK("ipvsadm -C");
    lvskit_batch_report *r = NULL;
    REQUIRE_OK(lvskit_converge(h, t, 0, NULL, &r));
    CHECK(lvskit_batch_report_done(r) == lvskit_batch_report_len(r));
    CHECK(lvskit_batch_report_len(r) == 6);
    lvskit_batch_report_free(r);
    char *now = capture("ipvsadm -Sn");
    CHECK_STR(now, saved);
    free(now);

    /* errors: where, and out-parameters untouched */
    lvskit_table *bad = (lvskit_table *)0x1;
    CHECK_RESULT(lvskit_table_from_rules("-A -t 10.0.0.1:80\n-a -t 10.0.0.2:80 -r 10.0.1.1\n",
                                       &bad),
                 LVSKIT_RESULT_PARSE_ERROR);
    CHECK(strncmp(take_error(), "line 2, column 1: no service", 28) == 0);
    CHECK_RESULT(lvskit_table_from_json("{\"services\": [\n  {\"service\": 3}]}", &bad),
                 LVSKIT_RESULT_PARSE_ERROR);
    CHECK(strncmp(take_error(), "line 2, column ", 15) == 0);
    CHECK_RESULT(lvskit_table_from_json("{\"services\": [{\"service\": {\"key\": {\"inet\": "
                                      "{\"protocol\": \"tcp\", \"addr\": \"10.0.0.1\", "
                                      "\"port\": 80}}}, \"destinations\": [{\"addr\": "
                                      "\"10.0.1.1\", \"port\": 80, \"weight\": 4294967295}]}]}",
                                      &bad),
                 LVSKIT_RESULT_INVALID_INPUT);
    CHECK(bad == (lvskit_table *)0x1);
    CHECK_RESULT(lvskit_table_to_rules(t, 5, &text), LVSKIT_RESULT_INVALID_INPUT);
    CHECK_RESULT(lvskit_table_to_json(NULL, &json), LVSKIT_RESULT_NULL_PARAMETER);
    CHECK_RESULT(lvskit_plan_diff(NULL, t, 0, &p), LVSKIT_RESULT_NULL_PARAMETER);
    CHECK_RESULT(lvskit_converge(h, NULL, 0, NULL, &r), LVSKIT_RESULT_NULL_PARAMETER);
    lvskit_plan *dry = NULL;
    CHECK_RESULT(lvskit_read_plan(h, t, 0, NULL), LVSKIT_RESULT_NULL_PARAMETER);
    CHECK_RESULT(lvskit_read_plan(NULL, t, 0, &dry), LVSKIT_RESULT_NULL_PARAMETER);
    CHECK_RESULT(lvskit_read_plan(h, t, 0x80, &dry), LVSKIT_RESULT_INVALID_INPUT);
    CHECK(dry == NULL);
    CHECK_RESULT(lvskit_converge(h, t, 0, NULL, NULL), LVSKIT_RESULT_NULL_PARAMETER);
    CHECK(lvskit_table_service_count(NULL) == 0 && lvskit_plan_len(NULL) == 0);
    lvskit_table_free(NULL);
    lvskit_plan_free(NULL);

    free(saved);
    lvskit_table_free(cur);
    lvskit_table_free(t2);
    lvskit_table_free(t);
    lvskit_close(h);
}

int main(void) {
    RUN(saves_what_ipvsadm_saves);
    RUN(restores_rules_with_a_result_per_line);
    RUN(converges_to_a_json_table);
    RUN(tables_from_rules_and_back);
    return finish("test_rules_tables");
}
