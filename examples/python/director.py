#!/usr/bin/env python3
"""A director in front of two data centres, kept in shape by reconciliation.

The virtual IP 203.0.113.10 serves HTTP and HTTPS (and a firewall-marked
bundle of ports). The local data centre ("west") is reached by direct
routing with full weight; the remote one ("east") through GUE tunnels with a
small weight, so it takes a share of the load and all of it when west is
drained. Run it again and it changes nothing; ``--drain west`` sets west's
weights to 0 (no new connections, existing ones finish); ``--teardown``
removes what it manages.

    examples/python/director.py --namespace lb0            # apply
    examples/python/director.py --namespace lb0 --drain west
    examples/python/director.py --namespace lb0 --dry-run  # print the plan only

It needs root (CAP_NET_ADMIN) and a kernel with IPVS; the test suite runs it
in a fresh network namespace inside the test VM.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from typing import Dict, FrozenSet, List, Optional, Set, Tuple

import ipvs

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


def desired(drained: Set[str]) -> Dict[ipvs.Service, FrozenSet[ipvs.Destination]]:
    """The table this director should have."""
    http = ipvs.Service(ipvs.ServiceKey.tcp(VIP, 80), scheduler=ipvs.Scheduler.WRR)
    https = ipvs.Service(
        ipvs.ServiceKey.tcp(VIP, 443),
        scheduler=ipvs.Scheduler.WLC,
        persistence=ipvs.Persistence(timeout=900, netmask="255.255.255.0"),
    )
    # ports 8000-8099 marked 10 by the firewall, one client sticks to one server
    bundle = ipvs.Service(ipvs.ServiceKey.fwmark(10), scheduler=ipvs.Scheduler.SH, flags=ipvs.ServiceFlags.SH_FALLBACK)
    table: Dict[ipvs.Service, FrozenSet[ipvs.Destination]] = {}
    for svc, port in ((http, 80), (https, 443), (bundle, 0)):
        table[svc] = frozenset(
            real_server(dc, addr, port, drained) for dc in DATA_CENTRES for addr in dc.servers
        )
    return table



def plan(
    lb: ipvs.Ipvs, want: Dict[ipvs.Service, FrozenSet[ipvs.Destination]], teardown: bool
) -> List[Tuple[str, ipvs.ServiceKey, Optional[ipvs.Service], Optional[ipvs.Destination]]]:
    """The operations that turn the current table into ``want`` (only for the services we manage)."""
    ops: List[Tuple[str, ipvs.ServiceKey, Optional[ipvs.Service], Optional[ipvs.Destination]]] = []
    have = {e.key: e.service for e in lb.services()}
    for svc, dests in want.items():
        key = svc.key
        if teardown:
            if key in have:
                ops.append(("delete service", key, None, None))
            continue
        if key not in have:
            ops.append(("add service", key, svc, None))
            current: Dict[Tuple[ipvs.IPAddress, int], ipvs.Destination] = {}
        else:
            if have[key] != svc:
                ops.append(("update service", key, svc, None))
            current = {(e.addr, e.port): e.destination for e in lb.destinations(key)}
        wanted = {(d.addr, d.port): d for d in dests}
        for where, d in sorted(wanted.items(), key=lambda kv: (str(kv[0][0]), kv[0][1])):
            if where not in current:
                ops.append(("add destination", key, None, d))
            elif current[where] != d:
                ops.append(("update destination", key, None, d))
        for where, d in current.items():
            if where not in wanted:
                ops.append(("delete destination", key, None, d))
    return ops


def apply(lb: ipvs.Ipvs, ops: List[Tuple[str, ipvs.ServiceKey, Optional[ipvs.Service], Optional[ipvs.Destination]]]) -> None:
    for what, key, svc, dest in ops:
        if what == "add service" and svc is not None:
            lb.add_service(svc)
        elif what == "update service" and svc is not None:
            lb.update_service(svc)
        elif what == "delete service":
            lb.delete_service(key)
        elif what == "add destination" and dest is not None:
            lb.add_destination(key, dest)
        elif what == "update destination" and dest is not None:
            lb.update_destination(key, dest)
        elif what == "delete destination" and dest is not None:
            lb.delete_destination(key, dest.addr, dest.port)


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--namespace", help="ip netns name of the director (default: the current namespace)")
    p.add_argument("--drain", action="append", default=[], choices=[dc.name for dc in DATA_CENTRES])
    p.add_argument("--teardown", action="store_true", help="remove the services this script manages")
    p.add_argument("--dry-run", action="store_true", help="print the plan without applying it")
    args = p.parse_args(argv)

    try:
        with ipvs.Ipvs(namespace=args.namespace) as lb:
            ops = plan(lb, desired(set(args.drain)), args.teardown)
            for what, key, svc, dest in ops:
                print(f"{what:<19} {key}" + (f" -> {dest!r}" if dest is not None else ""))
            if not ops:
                print("nothing to do")
            if not args.dry_run:
                apply(lb, ops)
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
