/*
 * Stand-ins for every function (and the one variable) that ipvsadm's libipvs
 * defines, with libipvs's signatures, written for this check (no code of
 * ipvsadm is used): a program that still links libipvs, or keepalived's copy
 * of it, while it moves to liblvskit must link both without duplicate
 * symbols. ipvs-capi/scripts/release-checks links this object with liblvskit
 * (shared and static) and runs the result.
 *
 * The structs are left incomplete where libipvs only passes pointers; the one
 * passed by value (union nf_inet_addr) is spelled out as the kernel's uapi
 * header has it.
 */
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

struct ip_vs_service_user;
struct ip_vs_dest_user;
struct ip_vs_timeout_user;
struct ip_vs_daemon_user;
struct ip_vs_service_entry;
struct ip_vs_dest_entry;
struct ip_vs_get_services;
struct ip_vs_get_services_dests;
struct ip_vs_get_dests;
struct nl_msg;

typedef struct ip_vs_service_user ipvs_service_t;
typedef struct ip_vs_dest_user ipvs_dest_t;
typedef struct ip_vs_timeout_user ipvs_timeout_t;
typedef struct ip_vs_daemon_user ipvs_daemon_t;
typedef struct ip_vs_service_entry ipvs_service_entry_t;
typedef struct ip_vs_dest_entry ipvs_dest_entry_t;
typedef int (*ipvs_service_cmp_t)(ipvs_service_entry_t *, ipvs_service_entry_t *);
typedef int (*ipvs_dest_cmp_t)(ipvs_dest_entry_t *, ipvs_dest_entry_t *);
typedef int (*nl_recvmsg_msg_cb_t)(struct nl_msg *, void *);

union nf_inet_addr {
    uint32_t all[4];
    uint32_t ip;
    uint32_t ip6[4];
    struct in_addr in;
    struct in6_addr in6;
};

struct ip_vs_getinfo {
    unsigned int version;
    unsigned int size;
    unsigned int num_services;
};

/* every stub returns this, so the test can tell that the stub ran */
#define STUB 4242

struct ip_vs_getinfo ipvs_info = { STUB, 0, 0 };

int ipvs_init(void) { return STUB; }
int ipvs_getinfo(void) { return STUB; }
unsigned int ipvs_version(void) { return STUB; }
int ipvs_flush(void) { return STUB; }
int ipvs_add_service(ipvs_service_t *svc) { (void)svc; return STUB; }
int ipvs_update_service(ipvs_service_t *svc) { (void)svc; return STUB; }
int ipvs_del_service(ipvs_service_t *svc) { (void)svc; return STUB; }
int ipvs_zero_service(ipvs_service_t *svc) { (void)svc; return STUB; }
int ipvs_add_dest(ipvs_service_t *svc, ipvs_dest_t *dest) { (void)svc; (void)dest; return STUB; }
int ipvs_update_dest(ipvs_service_t *svc, ipvs_dest_t *dest) { (void)svc; (void)dest; return STUB; }
int ipvs_del_dest(ipvs_service_t *svc, ipvs_dest_t *dest) { (void)svc; (void)dest; return STUB; }
int ipvs_set_timeout(ipvs_timeout_t *to) { (void)to; return STUB; }
int ipvs_start_daemon(ipvs_daemon_t *dm) { (void)dm; return STUB; }
int ipvs_stop_daemon(ipvs_daemon_t *dm) { (void)dm; return STUB; }
struct ip_vs_get_services *ipvs_get_services(void) { return NULL; }
struct ip_vs_get_services_dests *ipvs_get_services_dests(void) { return NULL; }
void free_services_dests(struct ip_vs_get_services_dests *d) { (void)d; }
int ipvs_cmp_services(ipvs_service_entry_t *s1, ipvs_service_entry_t *s2) { (void)s1; (void)s2; return STUB; }
void ipvs_sort_services(struct ip_vs_get_services *s, ipvs_service_cmp_t f) { (void)s; (void)f; }
void ipvs_sort_services_index(struct ip_vs_get_services_dests *s, ipvs_service_cmp_t f) { (void)s; (void)f; }
struct ip_vs_get_dests *ipvs_get_dests(ipvs_service_entry_t *svc) { (void)svc; return NULL; }
int ipvs_cmp_dests(ipvs_dest_entry_t *d1, ipvs_dest_entry_t *d2) { (void)d1; (void)d2; return STUB; }
void ipvs_sort_dests(struct ip_vs_get_dests *d, ipvs_dest_cmp_t f) { (void)d; (void)f; }
void ipvs_sort_dests_entries(ipvs_dest_entry_t *entries, int num_entries, ipvs_dest_cmp_t f)
{
    (void)entries; (void)num_entries; (void)f;
}
ipvs_service_entry_t *ipvs_get_service(uint32_t fwmark, uint16_t af, uint16_t protocol,
                                       union nf_inet_addr addr, uint16_t port)
{
    (void)fwmark; (void)af; (void)protocol; (void)addr; (void)port;
    return NULL;
}
ipvs_timeout_t *ipvs_get_timeout(void) { return NULL; }
ipvs_daemon_t *ipvs_get_daemon(void) { return NULL; }
void ipvs_close(void) {}
const char *ipvs_strerror(int err) { (void)err; return "libipvs stub"; }
/* defined (not static) in libipvs.c when built with netlink */
struct nl_msg *ipvs_nl_message(int cmd, int flags) { (void)cmd; (void)flags; return NULL; }
int ipvs_nl_send_message(struct nl_msg *msg, nl_recvmsg_msg_cb_t func, void *arg)
{
    (void)msg; (void)func; (void)arg;
    return STUB;
}
