#!/usr/bin/python3
"""hostiledns.py - a DNS server that misbehaves on purpose, for spfpd's
hardening tests.  It answers on 127.0.0.1 (UDP and TCP) on a port it
picks, printed as "port N".

The first label of the question picks the misbehaviour; the rest of the
name is free (e.g. TXT malformed.hostile.test):

    good       a normal answer (TXT "v=spf1 ip4:192.0.2.0/24 -all", A)
    malformed  garbage after a correct ID
    shortpkt   a reply cut inside its header
    wrongid    a well-formed answer with another ID (must be ignored)
    tc         UDP: TC set and no answer; TCP: the real answer
    hugetxt    one TXT record of ~60 kB in hundreds of strings (TCP)
    manytxt    300 TXT records (TCP)
    manya      TXT "v=spf1 a -all" and 500 A records for the name (TCP)
    cnameloop  a CNAME to another name whose CNAME points back
    late       the right answer, 2.5 s late (after the client gave up)
    servfail   SERVFAIL
    silent     nothing at all
    badptr     a compression pointer that points at itself

--log FILE: one line per question ("proto name type").
"""
import argparse
import random
import socket
import struct
import sys
import threading
import time

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

GOOD_TXT = 'v=spf1 ip4:192.0.2.0/24 -all'


_memo = {}


def memo(key, make):
    """Big record texts are built once: the server must answer in time."""
    if key not in _memo:
        _memo[key] = make()
    return _memo[key]


def huge_txt():
    terms = ''.join(' ip4:10.%d.%d.0/24' % (i // 256, i % 256)
                    for i in range(3000))
    blob = 'v=spf1' + terms + ' -all'
    return [txt([blob[i:i + 255] for i in range(0, len(blob), 255)])]


def txt(strings):
    return ' '.join('"%s"' % s for s in strings)


def answer(q, proto):
    """(wire bytes or None, delay seconds) for a parsed question."""
    question = q.question[0]
    name = question.name
    rtype = question.rdtype
    kind = name.labels[0].decode('latin-1').lower() if name.labels else ''
    r = dns.message.make_response(q)
    r.flags |= dns.flags.AA

    def add(rtype_text, values, owner=name):
        rs = dns.rrset.from_text(owner, 300, 'IN', rtype_text, *values)
        r.answer.append(rs)

    if kind == 'silent':
        return None, 0
    if kind == 'servfail':
        r.set_rcode(dns.rcode.SERVFAIL)
        return r.to_wire(), 0
    if kind == 'malformed':
        w = bytearray(q.to_wire()[:2])
        w += bytes(random.getrandbits(8) for _ in range(40))
        return bytes(w), 0
    if kind == 'shortpkt':
        return q.to_wire()[:2] + b'\x81\x80\x00', 0
    if kind == 'badptr':
        w = bytearray(q.to_wire())
        w[2] |= 0x84                    # QR, AA
        w[7] = 1                        # ANCOUNT 1
        # an answer whose owner name is a pointer to itself
        off = len(w)
        w += struct.pack('!H', 0xC000 | off)
        w += struct.pack('!HHIH', rtype, 1, 300, 4) + b'\x7f\x00\x00\x01'
        return bytes(w), 0
    if kind == 'cnameloop':
        other = dns.name.from_text('loop2.' + name.parent().to_text())
        add('CNAME', [other.to_text()])
        add('CNAME', [name.to_text()], owner=other)
        return r.to_wire(), 0
    if kind == 'tc' and proto == 'udp':
        r.flags |= dns.flags.TC
        return r.to_wire(), 0
    if rtype == dns.rdatatype.TXT:
        if kind == 'hugetxt':
            add('TXT', memo('huge', huge_txt))
        elif kind == 'manytxt':
            add('TXT', ['"not spf %d"' % i for i in range(299)] +
                [txt([GOOD_TXT])])
        elif kind == 'manya':
            add('TXT', [txt(['v=spf1 a -all'])])
        else:
            add('TXT', [txt([GOOD_TXT])])
    elif rtype == dns.rdatatype.A:
        if kind == 'manya':
            add('A', memo('manya', lambda: [
                '198.51.%d.%d' % (i // 250, 1 + i % 250)
                for i in range(500)]))
        else:
            add('A', ['192.0.2.1'])
    # other types: NODATA
    wire = r.to_wire(max_size=65535)
    if kind == 'wrongid':
        wire = struct.pack('!H', (q.id + 1) & 0xffff) + wire[2:]
    if kind == 'late':
        return wire, 2.5
    if proto == 'udp' and len(wire) > 512:
        r.answer = []
        r.flags |= dns.flags.TC
        wire = r.to_wire()
    return wire, 0


class Server:
    def __init__(self, log):
        self.log = open(log, 'a', buffering=1) if log else None
        self.lock = threading.Lock()

    def handle(self, wire, proto):
        try:
            q = dns.message.from_wire(wire)
        except Exception:
            return None, 0
        if self.log and q.question:
            with self.lock:
                self.log.write('%s %s %s\n' % (
                    proto, q.question[0].name.to_text(omit_final_dot=True),
                    dns.rdatatype.to_text(q.question[0].rdtype)))
        return answer(q, proto)

    def udp_one(self, sock, wire, peer):
        out, delay = self.handle(wire, 'udp')
        if out is None:
            return
        if delay:
            time.sleep(delay)
        try:
            sock.sendto(out, peer)
        except OSError:
            pass

    def serve_udp(self, sock):
        while True:
            wire, peer = sock.recvfrom(65535)
            threading.Thread(target=self.udp_one, args=(sock, wire, peer),
                             daemon=True).start()

    def tcp_one(self, conn):
        try:
            conn.settimeout(10)
            while True:
                head = conn.recv(2)
                if len(head) < 2:
                    return
                n = struct.unpack('!H', head)[0]
                wire = b''
                while len(wire) < n:
                    chunk = conn.recv(n - len(wire))
                    if not chunk:
                        return
                    wire += chunk
                out, delay = self.handle(wire, 'tcp')
                if out is None:
                    continue
                if delay:
                    time.sleep(delay)
                conn.sendall(struct.pack('!H', len(out)) + out)
        except OSError:
            pass
        finally:
            conn.close()

    def serve_tcp(self, sock):
        while True:
            conn, _ = sock.accept()
            threading.Thread(target=self.tcp_one, args=(conn,),
                             daemon=True).start()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--log')
    args = ap.parse_args()
    srv = Server(args.log)
    for _ in range(50):
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.bind(('127.0.0.1', 0))
        port = udp.getsockname()[1]
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            tcp.bind(('127.0.0.1', port))
            break
        except OSError:
            udp.close()
            tcp.close()
    else:
        sys.exit('no port')
    tcp.listen(64)
    threading.Thread(target=srv.serve_tcp, args=(tcp,), daemon=True).start()
    print('port %d' % port, flush=True)
    srv.serve_udp(udp)


if __name__ == '__main__':
    main()
