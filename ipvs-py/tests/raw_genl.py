"""Another IPVS client, for tests: raw generic netlink requests the library
would refuse to send (a persistent service with timeout 0, a destination with
a forwarding method the library does not know). Run it inside a namespace:
``ip netns exec NS python3 raw_genl.py``.
"""

from __future__ import annotations

import socket
import struct
from typing import Iterator, Tuple

NLA_F_NESTED = 1 << 15


def attr(ty: int, payload: bytes) -> bytes:
    n = 4 + len(payload)
    return struct.pack("HH", n, ty) + payload + b"\0" * (-n % 4)


def attrs_of(data: bytes) -> Iterator[Tuple[int, bytes]]:
    while len(data) >= 4:
        n, ty = struct.unpack_from("HH", data)
        yield ty & 0x3FFF, data[4:n]
        data = data[(n + 3) & ~3 :]


class Client:
    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 16)  # NETLINK_GENERIC
        self.sock.bind((0, 0))
        self.seq = 0
        reply = self.request(0x10, 3, attr(2, b"IPVS\0"))  # GENL_ID_CTRL, CTRL_CMD_GETFAMILY
        self.family = next(struct.unpack("H", v[:2])[0] for t, v in attrs_of(reply) if t == 1)

    def request(self, ty: int, cmd: int, body: bytes) -> bytes:
        """Sends one acknowledged request; returns the first reply's attributes."""
        self.seq += 1
        payload = struct.pack("BBH", cmd, 1, 0) + body
        self.sock.send(struct.pack("IHHII", 16 + len(payload), ty, 0x5, self.seq, 0) + payload)
        first = b""
        while True:
            data = self.sock.recv(65536)
            while data:
                n, mty = struct.unpack_from("IH", data)
                if mty == 2:  # NLMSG_ERROR: an ack when the errno is 0
                    err = struct.unpack_from("i", data, 16)[0]
                    if err:
                        raise OSError(-err, f"request {cmd} refused")
                    return first
                first = first or data[20:n]
                data = data[(n + 3) & ~3 :]


def tcp_service(port: int) -> bytes:
    return (
        attr(1, struct.pack("H", socket.AF_INET))
        + attr(2, struct.pack("H", socket.IPPROTO_TCP))
        + attr(3, socket.inet_aton("10.0.0.1") + b"\0" * 12)
        + attr(4, struct.pack(">H", port))
    )


def main() -> None:
    c = Client()
    # ipvsadm -A -t 10.0.0.1:80 -s wlc -p 0 (which ipvsadm refuses to send)
    svc = tcp_service(80) + attr(6, b"wlc\0") + attr(7, struct.pack("II", 1, 0xFFFFFFFF))
    svc += attr(8, struct.pack("I", 0)) + attr(9, b"\xff" * 4)
    c.request(c.family, 1, attr(1 | NLA_F_NESTED, svc))  # IPVS_CMD_NEW_SERVICE
    # a real server with forwarding method 5, which no kernel defines yet
    dest = attr(1, socket.inet_aton("10.1.0.2") + b"\0" * 12) + attr(2, struct.pack(">H", 80))
    dest += attr(3, struct.pack("I", 5)) + attr(4, struct.pack("I", 1))
    dest += attr(5, struct.pack("I", 0)) + attr(6, struct.pack("I", 0)) + attr(11, struct.pack("H", socket.AF_INET))
    c.request(c.family, 5, attr(1 | NLA_F_NESTED, tcp_service(80)) + attr(2 | NLA_F_NESTED, dest))  # NEW_DEST


if __name__ == "__main__":
    main()
