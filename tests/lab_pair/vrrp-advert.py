#!/usr/bin/env python3
"""Sends VRRPv2 adverts (multicast 224.0.0.18, as a keepalived or router of another group
would) for ROUTER_ID from SOURCE for SECONDS: a foreign VRRP group on the lab's segment.
usage: vrrp-advert.py SOURCE ROUTER_ID SECONDS"""
import socket, struct, sys, time

src, vrid, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 112)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 255)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(src))
# version 2, type 1 (advert), priority 100, 1 address, no auth, advert interval 1 s.
body = struct.pack("!BBBBBBH", 0x21, vrid, 100, 1, 0, 1, 0) + socket.inet_aton("192.0.2.99") + b"\0" * 8
total = sum(struct.unpack("!%dH" % (len(body) // 2), body))
while total >> 16:
    total = (total & 0xFFFF) + (total >> 16)
body = body[:6] + struct.pack("!H", ~total & 0xFFFF) + body[8:]
end = time.time() + seconds
while time.time() < end:
    s.sendto(body, ("224.0.0.18", 0))
    time.sleep(0.5)
