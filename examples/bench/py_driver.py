"""Benchmark driver for Python IPVS libraries: pyroute2 (PyPI) and, when it is
built, this project's own binding (module ``ipvs``).

    python3 py_driver.py pyroute2|ipvs WORKLOAD ARGS...

``ipvs`` uses the binding the way a script would: batches (``Ipvs.execute``)
for bulk work, ``Ipvs.table`` for listings, ``diff`` + ``apply_plan`` for
reconciling, and the single-operation methods for latency.

Runs inside the benchmark's network namespace and prints one line
``RESULT {json}`` with its own timing of the workload (library import and
socket setup excluded). The workloads and the address plan are those of
examples/src/bench.rs; the Go driver implements the same command line.
"""

import ctypes
import json
import resource
import sys
import time
from socket import AF_INET, IPPROTO_TCP


def _dotted(n):
    # str(ipaddress.IPv4Address(n)) without building the object: the address
    # plan is not what is measured (ipaddress costs ~200 us a call in the VM)
    return f"{n >> 24}.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


def svc_addr(i):
    return _dotted(0x0A000000 + i + 1)


def dst_addr(j):
    return _dotted(0xAC100000 + j + 1)


def changed(i, pct):
    return pct > 0 and i % (100 // pct) == 0


class Pyroute2:
    def __init__(self):
        from pyroute2 import IPVS, IPVSDest, IPVSService

        self.IPVSDest = IPVSDest
        self.IPVSService = IPVSService
        self.h = IPVS()

    def svc(self, i):
        return self.IPVSService(addr=svc_addr(i), port=80, protocol=IPPROTO_TCP)

    def dest(self, j, w=1):
        return self.IPVSDest(addr=dst_addr(j), port=8080, weight=w, fwd_method=0)

    def add_service(self, i):
        self.h.service("add", service=self.svc(i))

    def add_dest(self, i, j, w=1):
        self.h.dest("add", service=self.svc(i), dest=self.dest(j, w))

    def set_dest(self, i, j, w):
        self.h.dest("set", service=self.svc(i), dest=self.dest(j, w))

    def del_service(self, i):
        self.h.service("del", service=self.svc(i))

    def flush(self):
        from pyroute2.netlink.generic import ipvs as gi

        msg = gi.ipvsmsg()
        msg["cmd"] = gi.IPVS_CMD_FLUSH
        msg["version"] = gi.GENL_VERSION
        self.h.nlm_request(msg, msg_type=self.h.prid, msg_flags=1 | 4)

    def listing(self):
        """[(service key, {(dest addr, port): weight})]"""
        out = []
        for s in self.h.service("dump"):
            svc = self.IPVSService.from_message(s)
            dests = {}
            for d in self.h.dest("dump", service=svc):
                dd = self.IPVSDest.from_message(d)
                dests[(dd["addr"], dd["port"])] = dd["weight"]
            out.append(((svc["addr"], svc["port"]), dests))
        return out


class Ours:
    """This project's binding (``import ipvs``)."""

    def __init__(self):
        import ipvs

        self.m = ipvs
        self.h = ipvs.Ipvs()
        # what a script calling in a loop binds once: the constructors and the
        # handle's methods (each a compiled function: nothing in Python between
        # the call and the kernel)
        self._tcp, self._Service, self._Destination = ipvs.ServiceKey.tcp, ipvs.Service, ipvs.Destination
        self._masq = ipvs.Forwarding.MASQ
        self._add_service, self._add_destination = self.h.add_service, self.h.add_destination
        self._delete_service = self.h.delete_service

    def key(self, i):
        return self.m.ServiceKey.tcp(svc_addr(i), 80)

    def svc(self, i):
        return self.m.Service(self.key(i))

    def dest(self, j, w=1):
        return self.m.Destination(dst_addr(j), 8080, forwarding=self.m.Forwarding.MASQ, weight=w)

    def check(self, report):
        if not report.ok:
            raise SystemExit(f"batch failed: {report.first_error!r}")

    def create(self, S, D):
        m = self.m
        add_service, add_destination = m.Operation.add_service, m.Operation.add_destination
        Service, Destination, tcp, masq = m.Service, m.Destination, m.ServiceKey.tcp, m.Forwarding.MASQ
        ops = []
        dsts = [dst_addr(j) for j in range(D)]  # the address plan (text), as in the other drivers
        for i in range(S):
            k = tcp(svc_addr(i), 80)
            ops.append(add_service(Service(k)))
            for a in dsts:
                ops.append(add_destination(k, Destination(a, 8080, forwarding=masq, weight=1)))
        self.check(self.h.execute(ops))
        return len(ops)

    def listing(self):
        t = self.h.table()
        return [(s.key, s.destinations) for s in t.services]

    def desired(self, S, D, pct):
        m = self.m
        return m.Table(
            m.TableService(self.svc(i), [self.dest(j, 2 if j == 0 and changed(i, pct) else 1) for j in range(D)])
            for i in range(S)
        )

    def latency(self, N):
        """What the Rust row (``onebyone latency``, examples/src/bench/driver.rs)
        times, call for call: the service's key is made before the clock of
        ``add_service`` and inside the clock of ``delete_service``; the
        service and the destination are made inside their clocks. The address
        texts are the address plan, made before (as ``create`` makes them)."""
        clock = time.perf_counter_ns
        tcp, Service, Destination, masq = self._tcp, self._Service, self._Destination, self._masq
        add_service, add_destination, delete_service = self._add_service, self._add_destination, self._delete_service
        addrs, real = [svc_addr(i) for i in range(N)], dst_addr(0)
        lat = {"add_service": [], "add_destination": [], "delete_service": []}
        a_s, a_d, d_s = lat["add_service"].append, lat["add_destination"].append, lat["delete_service"].append
        for a in addrs:
            k = tcp(a, 80)
            t = clock()
            add_service(Service(k))
            a_s(clock() - t)
            t = clock()
            add_destination(k, Destination(real, 8080, forwarding=masq, weight=1))
            a_d(clock() - t)
        for a in addrs:
            t = clock()
            delete_service(tcp(a, 80))
            d_s(clock() - t)
        return percentiles(lat)

    def add_service(self, i):
        self._add_service(self._Service(self._tcp(svc_addr(i), 80)))

    def add_dest(self, i, j, w=1):
        self._add_destination(self._tcp(svc_addr(i), 80), self._Destination(dst_addr(j), 8080, forwarding=self._masq, weight=w))

    def del_service(self, i):
        self._delete_service(self._tcp(svc_addr(i), 80))

    def flush(self):
        self.h.flush()

    def delete_batched(self, S):
        self.check(self.h.execute([self.m.Operation.delete_service(self.key(i)) for i in range(S)]))


def percentiles(lat):
    """p50 and p99 of each list of latencies (ns) and of all of them."""
    res, every = {}, []
    for k, v in lat.items():
        v.sort()
        res[k + "_p50_ns"] = v[len(v) // 2]
        res[k + "_p99_ns"] = v[len(v) * 99 // 100]
        every += v
    every.sort()
    res["all_p50_ns"] = every[len(every) // 2]
    res["all_p99_ns"] = every[len(every) * 99 // 100]
    return res


def main():
    lib, work, args = sys.argv[1], sys.argv[2], [int(a) if a.isdigit() else a for a in sys.argv[3:]]
    if lib == "pyroute2":
        h = Pyroute2()
    elif lib == "ipvs":
        h = Ours()
    else:
        raise SystemExit(f"unknown library {lib}")
    res = {}
    desired = None
    if work == "reconcile" and lib == "ipvs":
        # the desired table is the caller's input, made before the clock (as
        # every contender's is); its making is recorded beside
        t = time.perf_counter_ns()
        desired = h.desired(args[0], args[1], args[2])
        res["desired_ns"] = time.perf_counter_ns() - t
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter_ns()
    ops = 0
    if work == "create" and lib == "ipvs":
        ops = h.create(args[0], args[1])
    elif work == "create":
        S, D = args[0], args[1]
        for i in range(S):
            h.add_service(i)
            for j in range(D):
                h.add_dest(i, j)
        ops = S * (1 + D)
    elif work == "list":
        S, D = args[0], args[1]
        table = h.listing()
        n = sum(len(d) for _, d in table)
        if len(table) != S or n != S * D:
            raise SystemExit(f"listed {len(table)} services {n} destinations, expected {S} and {S * D}")
        ops = len(table) + n
    elif work == "reconcile" and lib == "ipvs":
        t = time.perf_counter_ns()
        plan = h.h.plan(desired)
        res["plan_ns"] = time.perf_counter_ns() - t
        h.check(h.h.apply_plan(plan))
        ops = len(plan)
    elif work == "reconcile":
        S, D, pct = args[0], args[1], args[2]
        cur = dict(h.listing())
        res["read_ns"] = time.perf_counter_ns() - t0
        for i in range(S):
            key = (svc_addr(i), 80)
            have = cur.get(key)
            if have is None:
                h.add_service(i)
                ops += 1
                have = {}
            for j in range(D):
                w = 2 if j == 0 and changed(i, pct) else 1
                hw = have.get((dst_addr(j), 8080))
                if hw is None:
                    h.add_dest(i, j, w)
                    ops += 1
                elif hw != w:
                    h.set_dest(i, j, w)
                    ops += 1
    elif work == "latency" and lib == "ipvs":
        res.update(h.latency(args[0]))
        ops = 3 * args[0]
    elif work == "latency":
        N = args[0]
        lat = {"add_service": [], "add_destination": [], "delete_service": []}
        for i in range(N):
            t = time.perf_counter_ns()
            h.add_service(i)
            lat["add_service"].append(time.perf_counter_ns() - t)
            t = time.perf_counter_ns()
            h.add_dest(i, 0)
            lat["add_destination"].append(time.perf_counter_ns() - t)
        for i in range(N):
            t = time.perf_counter_ns()
            h.del_service(i)
            lat["delete_service"].append(time.perf_counter_ns() - t)
        res.update(percentiles(lat))
        ops = 3 * N
    elif work == "teardown":
        S, mode = args[0], args[1]
        if mode == "flush":
            h.flush()
            ops = 1
        elif mode == "batched" and lib == "ipvs":
            h.delete_batched(S)
            ops = S
        elif mode == "onebyone":
            for i in range(S):
                h.del_service(i)
            ops = S
        else:
            raise SystemExit(f"unknown teardown mode {mode}")
    else:
        raise SystemExit(f"unknown workload {work}")
    wall = time.perf_counter_ns() - t0
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    res.update(
        wall_ns=wall,
        ops=ops,
        utime_ns=int((r1.ru_utime - r0.ru_utime) * 1e9),
        stime_ns=int((r1.ru_stime - r0.ru_stime) * 1e9),
    )
    print("RESULT " + json.dumps(res), flush=True)


# ---------------------------------------------------------------- scale rows
# (issue 21; examples/src/bench/scale.rs) new workloads only, dispatched below


def _status_kib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise SystemExit(f"/proc/self/status has no {field}")


def scale_memory(lib, what, S, D):
    """``ipvs memory read|plan S D``: the peak RSS a read table (``Ipvs.table``)
    or a plan for 1% changed (``Ipvs.plan``) adds over the RSS just before it
    (``delta_bytes``), the table being S services x D destinations."""
    if lib != "ipvs":
        raise SystemExit(f"memory: no contender {lib}")
    h = Ours()
    desired = h.desired(S, D, 1) if what == "plan" else None
    # RSS by 4 KiB pages, not 2 MiB blocks: no transparent huge pages from here
    ctypes.CDLL(None, use_errno=True).prctl(41, 1, 0, 0, 0)  # PR_SET_THP_DISABLE
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # the peak RSS restarts from the current RSS
    base = _status_kib("VmRSS")
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter_ns()
    if what == "read":
        table = h.listing()
        n = sum(len(d) for _, d in table)
        if len(table) != S or n != S * D:
            raise SystemExit(f"listed {len(table)} services {n} destinations, expected {S} and {S * D}")
    elif what == "plan":
        plan = h.h.plan(desired)
        want = sum(1 for i in range(S) if D > 0 and changed(i, 1))
        if len(plan) != want:
            raise SystemExit(f"plan has {len(plan)} operations, expected {want}")
    else:
        raise SystemExit(f"memory: unknown step {what}")
    wall = time.perf_counter_ns() - t0
    hwm = _status_kib("VmHWM")
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    res = dict(
        wall_ns=wall,
        ops=S,
        utime_ns=int((r1.ru_utime - r0.ru_utime) * 1e9),
        stime_ns=int((r1.ru_stime - r0.ru_stime) * 1e9),
        delta_bytes=max(hwm - base, 0) * 1024,
    )
    print("RESULT " + json.dumps(res), flush=True)


# ---------------------------------------------------------------- single calls, asyncio
# (issue 20; the async-100x100 workload of examples/src/bench/run.rs) new
# workloads only, dispatched below


AIO_IN_FLIGHT = 64


def single_calls(lib, how, S, D):
    """``ipvs single|async64 S D``: S ``add_service`` calls, then S x D
    ``add_destination`` calls, each its own request: one at a time on the
    blocking ``ipvs.Ipvs`` (``single``), or on one ``ipvs.aio.Ipvs`` with
    AIO_IN_FLIGHT calls in flight (``async64``: as many tasks, each taking
    the next call when its last one is answered, as examples/src/bench/aio.rs
    does in Rust). The clock starts after the handle is open."""
    if lib != "ipvs":
        raise SystemExit(f"{how}: no contender {lib}")
    import ipvs

    Service, Destination, tcp, masq = ipvs.Service, ipvs.Destination, ipvs.ServiceKey.tcp, ipvs.Forwarding.MASQ

    def dest(n):
        return Destination(dst_addr(n % D), 8080, forwarding=masq, weight=1)

    r0 = resource.getrusage(resource.RUSAGE_SELF)
    if how == "single":
        with ipvs.Ipvs() as h:
            t0 = time.perf_counter_ns()
            for i in range(S):
                h.add_service(Service(tcp(svc_addr(i), 80)))
            for n in range(S * D):
                h.add_destination(tcp(svc_addr(n // D), 80), dest(n))
            wall = time.perf_counter_ns() - t0
    elif how == "async64":
        import asyncio
        import ipvs.aio

        async def run():
            async with ipvs.aio.Ipvs() as h:
                t0 = time.perf_counter_ns()
                for i in range(S):
                    await h.add_service(Service(tcp(svc_addr(i), 80)))
                calls = iter(range(S * D))  # shared by the tasks

                async def task():
                    for n in calls:
                        await h.add_destination(tcp(svc_addr(n // D), 80), dest(n))

                await asyncio.gather(*(task() for _ in range(AIO_IN_FLIGHT)))
                return time.perf_counter_ns() - t0

        wall = asyncio.run(run())
    else:
        raise SystemExit(f"unknown single-call mode {how}")
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    res = dict(
        wall_ns=wall,
        ops=S * (D + 1),
        utime_ns=int((r1.ru_utime - r0.ru_utime) * 1e9),
        stime_ns=int((r1.ru_stime - r0.ru_stime) * 1e9),
    )
    print("RESULT " + json.dumps(res), flush=True)


if __name__ == "__main__":
    if sys.argv[2:3] == ["memory"]:
        scale_memory(sys.argv[1], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
    elif sys.argv[2:3] in (["single"], ["async64"]):
        single_calls(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        main()
