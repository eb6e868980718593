#!/usr/bin/python3
"""dnsserver.py - a small authoritative DNS server for spfpd's tests.

Serves zone data in the openspf test-suite format (the "zonedata" mapping of
rfc7208-tests.yml: name -> list of {TXT: ...}, {SPF: ...}, {A: ...},
{AAAA: ...}, {MX: [pref, host]}, {PTR: ...}, {CNAME: ...} or "TIMEOUT") over
UDP and TCP on 127.0.0.1, on a port it picks (printed on stdout as
"port N" once it listens).

Semantics are those of pyspf's test driver: a name that is absent is
NXDOMAIN, a name present without records of the asked type is NODATA (with
an SOA in the authority section, so negative caching can be tested), a
TIMEOUT name never gets an answer.  SPF (type 99) records are served only
for type 99.  Answers over UDP larger than 512 bytes are truncated (TC) so
clients retry over TCP.

Options: --zone FILE (JSON or YAML; reloaded on SIGHUP), --delay-ms N (hold
every answer N ms, to model Internet latency), --delay-name NAME=MS (hold
answers about one name), --log FILE (one line per
query: "proto name type"), --ttl N (default TTL), --servfail NAME (answer
SERVFAIL for that name; repeatable), --rcode NAME=N (answer RCODE N, with
no records, for that name; repeatable), --ttl-name NAME=N (TTL N for the
records owned by NAME, CNAMEs included; repeatable).
"""
import argparse
import json
import signal
import socket
import sys
import threading
import time

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TXT
import dns.rrset

import yaml


class Zone:
    """Zone data with the semantics of pyspf's test driver (testspf.py):
    SPF records are duplicated as TXT unless the name has a TXT record of
    its own; a value NONE adds nothing (the name exists: NODATA); a bare
    TIMEOUT entry times out every type not answered by an earlier entry;
    {TYPE: TIMEOUT} times out that type; an absent name under "error." times
    out, any other absent name is NXDOMAIN."""

    def __init__(self, data, ttl):
        self.ttl = ttl
        self.names = {}
        for name, recs in (data or {}).items():
            key = str(name).lower().rstrip('.')
            entries = []
            gen = []
            has_txt = False
            for rec in recs or []:
                if rec == 'TIMEOUT':
                    entries.append(('TIMEOUT', None))
                    continue
                for rtype, value in rec.items():
                    rtype = rtype.upper()
                    if rtype == 'TXT':
                        has_txt = True
                    elif rtype == 'SPF':
                        gen.append(('TXT', value))
                    entries.append((rtype, value))
            if not has_txt:
                entries.extend(gen)
            self.names[key] = entries

    def lookup(self, key, rtype):
        """-> ('timeout'|'nxdomain'|'ok', [values])"""
        if key not in self.names:
            if key.startswith('error.'):
                return 'timeout', []
            return 'nxdomain', []
        seen = False
        out = []
        for t, v in self.names[key]:
            if t == 'TIMEOUT':
                if not seen:
                    return 'timeout', []
                break
            if t == rtype:
                if v == 'NONE':
                    continue        # pyspf's driver drops these entries
                seen = True
                if v == 'TIMEOUT':
                    return 'timeout', []
                out.append(v)
        return 'ok', out

    def rdatas(self, key, rtype):
        return self.lookup(key, rtype)[1]


def txt_rdata(value):
    """A TXT value: a string, or a list of strings (one record)."""
    if isinstance(value, (list, tuple)):
        parts = [v.encode() if isinstance(v, str) else v for v in value]
    else:
        s = value.encode() if isinstance(value, str) else value
        parts = [s[i:i + 255] for i in range(0, len(s), 255)] or [b'']
    text = ' '.join('"%s"' % p.decode('latin-1').replace('\\', '\\\\')
                    .replace('"', '\\"') for p in parts)
    return text


class Server:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.log = open(args.log, 'a', buffering=1) if args.log else None
        self.servfail = set(n.lower().rstrip('.') for n in args.servfail)
        self.rcode = {}
        for spec in args.rcode:
            name, n = spec.rsplit('=', 1)
            self.rcode[name.lower().rstrip('.')] = int(n)
        self.name_ttl = {}
        for spec in args.ttl_name:
            name, n = spec.rsplit('=', 1)
            self.name_ttl[name.lower().rstrip('.')] = int(n)
        self.name_delay = {}
        for spec in args.delay_name:
            name, ms = spec.rsplit('=', 1)
            self.name_delay[name.lower().rstrip('.')] = int(ms) / 1000.0
        self.load()

    def load(self):
        zone = {}
        if self.args.zone:
            with open(self.args.zone) as f:
                text = f.read()
            try:
                zone = json.loads(text)
            except ValueError:
                zone = yaml.safe_load(text)
        with self.lock:
            self.zone = Zone(zone, self.args.ttl)

    def answer(self, wire, proto):
        try:
            q = dns.message.from_wire(wire)
        except Exception:
            return None
        if not q.question:
            return None
        question = q.question[0]
        qname = question.name
        # the raw labels: names may hold spaces or '%' (macro expansions)
        key = b'.'.join(l for l in qname.labels if l).decode(
            'latin-1').lower()
        rtype = dns.rdatatype.to_text(question.rdtype)
        if self.log:
            self.log.write('%s %s %s %.3f\n' % (proto, key, rtype,
                                                 time.monotonic()))
        if key in self.name_delay:
            time.sleep(self.name_delay[key])
        with self.lock:
            zone = self.zone
        r = dns.message.make_response(q)
        r.flags |= dns.flags.AA
        if key in self.servfail:
            r.set_rcode(dns.rcode.SERVFAIL)
            return r
        if key in self.rcode:
            r.set_rcode(self.rcode[key])
            return r
        state, values = zone.lookup(key, rtype)
        if state == 'timeout':
            return None
        if state == 'nxdomain':
            r.set_rcode(dns.rcode.NXDOMAIN)
            self.add_soa(r, qname)
            return r
        # CNAME: answer it, and follow inside our data
        cur = key
        for _ in range(8):
            if rtype == 'CNAME' or values:
                break
            cn = zone.rdatas(cur, 'CNAME')
            if not cn:
                break
            target = str(cn[0]).lower().rstrip('.')
            r.answer.append(dns.rrset.from_text(
                cur + '.', self.name_ttl.get(cur, zone.ttl), 'IN', 'CNAME',
                target + '.'))
            cur = target
            state, values = zone.lookup(cur, rtype)
            if state == 'timeout':
                return None
            if state == 'nxdomain':
                return r
        if not values:
            if not r.answer:
                self.add_soa(r, qname)
            return r
        if rtype in ('TXT', 'SPF'):
            rds = []
            for v in values:
                parts = v if isinstance(v, (list, tuple)) else [v]
                strings = []
                for part in parts:
                    b = part if isinstance(part, bytes) else \
                        str(part).encode('utf-8')
                    strings.extend([b[i:i + 255]
                                    for i in range(0, len(b), 255)] or [b''])
                rdtype = dns.rdatatype.from_text(rtype)
                if not strings:
                    # a record of no strings at all (RDLENGTH 0; "SPF:
                    # [ ]" in the suites): illegal, so dnspython 2.7
                    # refuses to build one as a TXT, but it is what the
                    # suites ask us to serve; the same wire in any version
                    rds.append(dns.rdata.GenericRdata(dns.rdataclass.IN,
                                                      rdtype, b''))
                    continue
                rds.append(dns.rdtypes.ANY.TXT.TXT(
                    dns.rdataclass.IN, rdtype, strings))
            rr = dns.rrset.from_rdata_list(
                cur + '.', self.name_ttl.get(cur, zone.ttl), rds)
            r.answer.append(rr)
            return r
        texts = []
        for v in values:
            if rtype == 'MX':
                texts.append('%d %s.' % (int(v[0]), str(v[1]).rstrip('.')))
            elif rtype in ('PTR', 'CNAME', 'NS'):
                texts.append(str(v).rstrip('.') + '.')
            else:
                texts.append(str(v))
        try:
            rr = dns.rrset.from_text_list(cur + '.', zone.ttl, 'IN', rtype,
                                          texts)
        except Exception:
            # data the zone cannot express (a malformed address): FORMERR
            r.set_rcode(dns.rcode.FORMERR)
            return r
        r.answer.append(rr)
        return r

    def add_soa(self, r, qname):
        soa = dns.rrset.from_text(
            qname, self.zone.ttl, 'IN', 'SOA',
            'ns.test. hostmaster.test. 1 3600 600 86400 %d' % self.zone.ttl)
        r.authority.append(soa)

    def delay(self):
        if self.args.delay_ms:
            time.sleep(self.args.delay_ms / 1000.0)

    def serve_udp(self, sock):
        while True:
            wire, peer = sock.recvfrom(65535)
            threading.Thread(target=self.udp_one, args=(sock, wire, peer),
                             daemon=True).start()

    def udp_one(self, sock, wire, peer):
        r = self.answer(wire, 'udp')
        if r is None:
            return
        self.delay()
        out = r.to_wire()
        if len(out) > 512:
            r.answer = []
            r.authority = []
            r.flags |= dns.flags.TC
            out = r.to_wire()
        sock.sendto(out, peer)

    def serve_tcp(self, sock):
        while True:
            conn, _ = sock.accept()
            threading.Thread(target=self.tcp_one, args=(conn,),
                             daemon=True).start()

    def tcp_one(self, conn):
        try:
            while True:
                hdr = self.recvn(conn, 2)
                if not hdr:
                    return
                wire = self.recvn(conn, int.from_bytes(hdr, 'big'))
                if wire is None:
                    return
                r = self.answer(wire, 'tcp')
                if r is None:
                    continue
                self.delay()
                out = r.to_wire(max_size=65535)
                conn.sendall(len(out).to_bytes(2, 'big') + out)
        except OSError:
            pass
        finally:
            conn.close()

    @staticmethod
    def recvn(conn, n):
        buf = b''
        while len(buf) < n:
            chunk = conn.recv(n - len(buf))
            if not chunk:
                return None
            buf += chunk
        return buf


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--zone')
    ap.add_argument('--port', type=int, default=0)
    ap.add_argument('--addr', default='127.0.0.1')
    ap.add_argument('--delay-ms', type=int, default=0)
    ap.add_argument('--ttl', type=int, default=300)
    ap.add_argument('--log')
    ap.add_argument('--servfail', action='append', default=[])
    ap.add_argument('--rcode', action='append', default=[])
    ap.add_argument('--ttl-name', action='append', default=[])
    ap.add_argument('--delay-name', action='append', default=[],
                    help='NAME=MS: hold answers about NAME for MS ms')
    args = ap.parse_args()
    srv = Server(args)
    fam = socket.AF_INET6 if ':' in args.addr else socket.AF_INET
    udp = socket.socket(fam, socket.SOCK_DGRAM)
    udp.bind((args.addr, args.port))
    port = udp.getsockname()[1]
    tcp = socket.socket(fam, socket.SOCK_STREAM)
    tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    tcp.bind((args.addr, port))
    tcp.listen(64)
    signal.signal(signal.SIGHUP, lambda *a: srv.load())
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    threading.Thread(target=srv.serve_tcp, args=(tcp,), daemon=True).start()
    print('port %d' % port, flush=True)
    srv.serve_udp(udp)


if __name__ == '__main__':
    main()
