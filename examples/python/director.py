#!/usr/bin/env python3
"""A director in front of two data centres, kept in shape by a desired-state table.

The virtual IP 203.0.113.10 serves HTTP and HTTPS (and a firewall-marked
bundle of ports). The local data centre ("west") is reached by direct
routing with full weight; the remote one ("east") through GUE tunnels with a
small weight, so it takes a share of the load and all of it when west is
drained. Each run reads the kernel's table, plans the difference to the
desired table (only for the services it manages) and applies the plan as one
pipelined batch; run it again and it changes nothing; ``--drain west`` sets west's
weights to 0 (no new connections, existing ones finish); ``--teardown``
removes what it manages.

    examples/python/director.py --namespace lb0            # apply
    examples/python/director.py --namespace lb0 --drain west
    examples/python/director.py --namespace lb0 --dry-run  # print the plan only

The same script prepares the real servers' side (``ipvs.tunnel``): in the
east a GUE receive port and the VIP on ``tunl0`` with ARP and reverse-path
filtering set for LVS/TUN, in the west the VIP on ``lo`` with ARP set for
LVS/DR. What it changed is saved to a state file, so that ``--teardown``
undoes exactly that and nothing else:

    examples/python/director.py --real-server east --namespace rs1 --state rs1.json
    examples/python/director.py --real-server east --namespace rs1 --state rs1.json --teardown

It needs root (CAP_NET_ADMIN) and a kernel with IPVS; the test suite runs it
in a fresh network namespace inside the test VM.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from typing import List, Optional, Set, Tuple

import ipvs
from ipvs import tunnel

VIP = "203.0.113.10"
GUE_PORT = 6080


@dataclass(frozen=True)
class DataCentre:
    name: str
    servers: Tuple[str, ...]
    weight: int
    tunnel: bool


DATA_CENTRES = (
    DataCentre("west", ("10.1.0.11", "10.1.0.12", "10.1.0.13"), weight=100, tunnel=False),
    DataCentre("east", ("10.2.0.11", "10.2.0.12"), weight=10, tunnel=True),
)


def real_server(dc: DataCentre, addr: str, port: int, drained: Set[str]) -> ipvs.Destination:
    weight = 0 if dc.name in drained else dc.weight
    if dc.tunnel:
        return ipvs.Destination(
            addr,
            port,
            forwarding=ipvs.Forwarding.TUNNEL,
            tunnel=ipvs.TunnelType.GUE,
            tunnel_port=GUE_PORT,
            tunnel_flags=ipvs.EncapFlags.CSUM,
            weight=weight,
        )
    return ipvs.Destination(addr, port, forwarding=ipvs.Forwarding.ROUTE, weight=weight)


def desired(drained: Set[str]) -> ipvs.Table:
    """The table this director should have."""
    http = ipvs.Service(ipvs.ServiceKey.tcp(VIP, 80), scheduler=ipvs.Scheduler.WRR)
    https = ipvs.Service(
        ipvs.ServiceKey.tcp(VIP, 443),
        scheduler=ipvs.Scheduler.WLC,
        persistence=ipvs.Persistence(timeout=900, netmask="255.255.255.0"),
    )
    # ports 8000-8099 marked 10 by the firewall, one client sticks to one server
    bundle = ipvs.Service(ipvs.ServiceKey.fwmark(10), scheduler=ipvs.Scheduler.SH, flags=ipvs.ServiceFlags.SH_FALLBACK)
    return ipvs.Table(
        ipvs.TableService(svc, [real_server(dc, addr, port, drained) for dc in DATA_CENTRES for addr in dc.servers])
        for svc, port in ((http, 80), (https, 443), (bundle, 0))
    )


def real_server_setup(dc: DataCentre) -> tunnel.RealServer:
    """What a real server of ``dc`` needs to answer for the VIP."""
    if dc.tunnel:
        # LVS/TUN with GUE: the director sends GUE to port 6080; the GUE
        # receive port decapsulates it and the inner IPv4 packet arrives on tunl0
        return tunnel.RealServer.tun(VIP).with_fou(tunnel.FouPort.gue(GUE_PORT))
    return tunnel.RealServer.dr(VIP)


def real_server_side(args: argparse.Namespace) -> int:
    """Prepares (or, with --teardown, restores) a real server of one data centre."""
    (dc,) = [d for d in DATA_CENTRES if d.name == args.real_server]
    if not args.state:
        print("director: --real-server needs --state FILE (where the changes are recorded)", file=sys.stderr)
        return 2
    try:
        if args.teardown:
            with open(args.state) as f:
                done = tunnel.Prepared.from_dict(json.load(f))
            done.teardown()
            print(f"restored {len(done.sysctls)} sysctls, removed {len(done.addresses)} addresses")
            return 0
        done = tunnel.prepare(real_server_setup(dc), namespace=args.namespace)
        with open(args.state, "w") as f:
            json.dump(done.to_dict(), f)
        for c in done.sysctls:
            print(f"{c.path}: {c.before} -> {c.after}")
        for a in done.addresses:
            print(f"{a} on {done.device}")
        if done.fou is not None:
            print(f"FOU port {done.fou.port}")
    except ipvs.PermissionDeniedError as e:
        print(f"director: {e}", file=sys.stderr)
        return 77
    except (ipvs.IpvsError, OSError) as e:
        print(f"director: {e}", file=sys.stderr)
        return 1
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--namespace", help="ip netns name of the director (default: the current namespace)")
    p.add_argument("--drain", action="append", default=[], choices=[dc.name for dc in DATA_CENTRES])
    p.add_argument("--teardown", action="store_true", help="remove the services this script manages (or undo --real-server)")
    p.add_argument("--dry-run", action="store_true", help="print the plan without applying it")
    p.add_argument("--real-server", choices=[dc.name for dc in DATA_CENTRES], help="prepare a real server of that data centre instead")
    p.add_argument("--state", help="with --real-server: the file recording what was changed")
    args = p.parse_args(argv)
    if args.real_server:
        return real_server_side(args)

    want = desired(set(args.drain))
    ours = [ts.key for ts in want.services]  # the services this script manages; others are left alone
    if args.teardown:
        want = ipvs.Table()
    try:
        with ipvs.Ipvs(namespace=args.namespace) as lb:
            if args.dry_run:
                plan = ipvs.diff(lb.table(), want, scope=ours)
                print(plan if plan else "nothing to do", end="" if plan else "\n")
                return 0
            plan, report = lb.converge(want, scope=ours)
            print(plan if plan else "nothing to do", end="" if plan else "\n")
            for index, outcome in report.failures():
                print(f"director: {plan.operations[index]}: {outcome.error}", file=sys.stderr)
            if not report.ok:
                return 1
            for entry in lb.services():
                print(entry.service)
                for d in lb.destinations(entry.key):
                    print(d)
    except ipvs.PermissionDeniedError as e:
        print(f"director: {e}", file=sys.stderr)
        return 77
    except ipvs.IpvsError as e:
        print(f"director: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
