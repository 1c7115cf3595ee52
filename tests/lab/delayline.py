#!/usr/bin/env python3
"""kha-lab delay line: a two-port Ethernet "cable" that delivers every frame DELAY_MS late.

    delayline.py IF_A IF_B DELAY_MS

`lab fault delay` uses `tc netem` where the kernel has it. This machine's kernel is built without
sch_netem (CONFIG_NET_SCH_NETEM is not set) and has no fq qdisc either, so the lab splices this
program into the host's link instead: the host's veth is taken off the lab bridge, a new veth pair
is plugged into the bridge, and every frame is copied between the two with AF_PACKET sockets after
sitting DELAY_MS in a queue, in both directions. Frames keep their order. Offloaded (GSO) frames
are carried with their virtio-net header (PACKET_VNET_HDR), so the kernel segments and checksums
them as it does for a tap device. The program exits when either interface disappears (the host is
powered off) or on SIGTERM.
"""

import errno
import heapq
import select
import signal
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_ADD_MEMBERSHIP = 1
PACKET_MR_PROMISC = 1
PACKET_VNET_HDR = 15
PACKET_IGNORE_OUTGOING = 23
MAX_QUEUE = 20000  # frames; beyond this, frames are dropped (netem's default limit is 1000)
GONE = (errno.ENXIO, errno.ENODEV, errno.ENETDOWN)


def open_port(name):
    # Protocol 0 until bound: an unbound ETH_P_ALL socket would see frames of every interface.
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    s.setsockopt(SOL_PACKET, PACKET_VNET_HDR, 1)
    s.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.bind((name, ETH_P_ALL))
    mreq = struct.pack("iHH8s", socket.if_nametoindex(name), PACKET_MR_PROMISC, 0, b"")
    s.setsockopt(SOL_PACKET, PACKET_ADD_MEMBERSHIP, mreq)
    s.setblocking(False)
    return s


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    a, b = open_port(sys.argv[1]), open_port(sys.argv[2])
    delay = float(sys.argv[3]) / 1000.0
    peer = {a: b, b: a}
    queue = []
    seq = 0
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while True:
        timeout = max(0.0, queue[0][0] - time.monotonic()) if queue else None
        readable, _, _ = select.select([a, b], [], [], timeout)
        now = time.monotonic()
        for s in readable:
            for _ in range(256):
                try:
                    frame = s.recv(70000)
                except BlockingIOError:
                    break
                except OSError as e:
                    if e.errno in GONE:
                        sys.exit(0)
                    raise
                if len(queue) < MAX_QUEUE:
                    heapq.heappush(queue, (now + delay, seq, peer[s], frame))
                    seq += 1
        now = time.monotonic()
        while queue and queue[0][0] <= now:
            _, _, out, frame = heapq.heappop(queue)
            try:
                out.send(frame)
            except OSError as e:
                if e.errno in GONE:
                    sys.exit(0)
                # Anything else (e.g. a full device queue) drops the frame, as a real link would.


if __name__ == "__main__":
    main()
