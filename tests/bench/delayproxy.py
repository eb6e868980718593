#!/usr/bin/python3
"""delayproxy.py - a DNS forwarder that holds every answer for D ms, to
model the Internet's latency in front of a local authoritative server.

    delayproxy.py --listen 127.0.0.2 --port 53 --upstream 127.0.0.1:53
                  --delay-ms 20

UDP and TCP.  Each question is forwarded as it comes (questions are not
queued behind each other), and its answer sent back D ms after it
arrived from upstream.  Prints "ready" once listening.
"""
import argparse
import asyncio
import socket
import struct


class UDPProxy(asyncio.DatagramProtocol):
    def __init__(self, upstream, delay):
        self.upstream = upstream
        self.delay = delay
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        asyncio.ensure_future(self.forward(data, addr))

    async def forward(self, data, addr):
        loop = asyncio.get_running_loop()
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setblocking(False)
        try:
            s.connect(self.upstream)
            await loop.sock_sendall(s, data)
            answer = await asyncio.wait_for(loop.sock_recv(s, 65535), 5)
        except (OSError, asyncio.TimeoutError):
            return
        finally:
            s.close()
        if self.delay:
            await asyncio.sleep(self.delay)
        self.transport.sendto(answer, addr)


async def tcp_client(reader, writer, upstream, delay):
    try:
        while True:
            head = await reader.readexactly(2)
            msg = await reader.readexactly(struct.unpack('!H', head)[0])
            ur, uw = await asyncio.open_connection(*upstream)
            uw.write(head + msg)
            await uw.drain()
            ahead = await ur.readexactly(2)
            answer = await ur.readexactly(struct.unpack('!H', ahead)[0])
            uw.close()
            if delay:
                await asyncio.sleep(delay)
            writer.write(ahead + answer)
            await writer.drain()
    except (asyncio.IncompleteReadError, OSError):
        pass
    finally:
        writer.close()


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--listen', default='127.0.0.2')
    ap.add_argument('--port', type=int, default=53)
    ap.add_argument('--upstream', default='127.0.0.1:53')
    ap.add_argument('--delay-ms', type=float, default=20)
    args = ap.parse_args()
    host, port = args.upstream.rsplit(':', 1)
    upstream = (host, int(port))
    delay = args.delay_ms / 1000.0
    loop = asyncio.get_running_loop()
    # a burst of questions (1,000 connections starting cold) must queue,
    # not be dropped: the default receive buffer holds a few hundred
    us = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    us.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    us.bind((args.listen, args.port))
    await loop.create_datagram_endpoint(
        lambda: UDPProxy(upstream, delay), sock=us)
    server = await asyncio.start_server(
        lambda r, w: tcp_client(r, w, upstream, delay), args.listen,
        args.port)
    print('ready', flush=True)
    async with server:
        await server.serve_forever()


if __name__ == '__main__':
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
