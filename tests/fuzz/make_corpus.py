#!/usr/bin/python3
"""make_corpus.py - write the seed corpus of the libFuzzer targets.

    /usr/bin/python3 tests/fuzz/make_corpus.py [--suites DIR]

Rewrites tests/fuzz/corpus/<target>/ (files named crash-* are kept: they
are regression inputs) and tests/fuzz/dict/<target>.dict (libFuzzer
dictionaries, used by make fuzz).  Needs
python3-yaml and python3-dnspython.  The output is deterministic.

  codec   valid, pipelined and malformed policy requests; the first byte
          picks the limits (< 0x80: defaults, see fuzz_codec.c)
  config  etc/spfpd.conf, tests/golden/*.conf, contrib/postfix/spfpd.conf
  dns     DNS replies made with dnspython (first byte: question type
          0 A, 1 AAAA, 2 MX, 3 TXT, 4 PTR): answers, NXDOMAIN and NODATA
          with SOA, SERVFAIL, CNAME chains, truncated and broken replies,
          a compression-pointer loop
  spf     one seed per test of the openspf RFC 7208 and RFC 4408 suites
          (the record of the domain checked, client IP, sender, HELO
          name, the rest of the scenario's zone) and for every SPF record
          of the suites not covered so; seeds shaped like the libspf2
          macro-expansion CVEs (CVE-2021-20314, -33912, -33913)
"""
import argparse
import gzip
import hashlib
import os
import sys

import yaml
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.rrset

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
CORPUS = os.path.join(HERE, 'corpus')
DICT = os.path.join(HERE, 'dict')


def reset(target):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        if not f.startswith('crash-'):
            os.unlink(os.path.join(d, f))
    return d


def write(d, name, data, seen=None):
    if isinstance(data, str):
        data = data.encode('utf-8', 'surrogateescape')
    if seen is not None:
        h = hashlib.sha1(data).hexdigest()
        if h in seen:
            return False
        seen.add(h)
    safe = ''.join(c if c.isalnum() or c in '-_.' else '_' for c in name)
    with open(os.path.join(d, safe[:100]), 'wb') as f:
        f.write(data)
    return True


# ----- codec -----

REQ = ('request=smtpd_access_policy\nprotocol_state=RCPT\n'
       'protocol_name=ESMTP\nhelo_name=mail.example.com\n'
       'queue_id=8045F2AB23\nsender=a@example.com\n'
       'recipient=b@example.org\nrecipient_count=0\n'
       'client_address=192.0.2.1\nclient_name=mail.example.com\n'
       'reverse_client_name=mail.example.com\n'
       'instance=123.456.7\nsasl_method=\nsasl_username=\nsasl_sender=\n'
       'size=12345\nserver_address=198.51.100.1\nserver_port=25\n'
       'client_port=40000\nccert_subject=\nencryption_protocol=TLSv1.3\n\n')


def codec():
    d = reset('codec')
    D = '\x00'          # first byte: default limits
    seeds = {
        'full': D + REQ,
        'minimal': D + 'request=smtpd_access_policy\n\n',
        'pipelined': D + REQ + REQ.replace('a@example.com', '<>') + REQ,
        'crlf': D + REQ.replace('\n', '\r\n'),
        'repeated-attr': D + 'request=smtpd_access_policy\nsender=a@b\n'
                         'sender=c@d\n\n',
        'value-with-eq': D + 'request=smtpd_access_policy\n'
                         'sender=a=b@c\nhelo_name==\n\n',
        'empty-request': D + '\n',
        'missing-request': D + 'sender=a@b\n\n',
        'wrong-request': D + 'request=junk\n\n',
        'no-equals': D + 'request=smtpd_access_policy\nsender\n\n',
        'empty-name': D + 'request=smtpd_access_policy\n=x\n\n',
        'nul-byte': D + 'request=smtpd_access_policy\nsender=a\x00b\n\n',
        'partial': D + 'request=smtpd_access_policy\nsender=a@',
        'long-line': D + 'request=smtpd_access_policy\nhelo_name=' +
                     'x' * 4100 + '\n\n',
        'long-partial': D + 'x' * 4200,
        'many-attrs': D + 'request=smtpd_access_policy\n' +
                      ''.join('x%d=y\n' % i for i in range(130)) + '\n',
        'large': D + 'request=smtpd_access_policy\n' +
                 ''.join('helo_name=%s\n' % ('h' * 4000) for _ in range(9)) +
                 '\n',
        'binary-values': D + 'request=smtpd_access_policy\n'
                         'sender=\xff\x01\x7f\\@x\nhelo_name=\x1b[31m\n\n',
        'small-limits': '\x84' + 'request=smtpd_access_policy\n'
                        'sender=a@b\n\n',
        'zero-limits': '\x86' + 'request=smtpd_access_policy\n\n',
        'tiny-limits': '\x85' + 'r=\n\n',
        'unit-limits': '\x82' + REQ,
        'max-limits': '\x83' + REQ * 2,
    }
    for k, v in seeds.items():
        write(d, k, v.encode('latin-1'))


# ----- config -----

def config():
    d = reset('config')
    for rel in ['etc/spfpd.conf', 'tests/golden/good.conf',
                'tests/golden/errors.conf', 'contrib/postfix/spfpd.conf']:
        p = os.path.join(TOP, rel)
        if os.path.exists(p):
            with open(p, 'rb') as f:
                write(d, rel.replace('/', '-'), f.read())
    write(d, 'continuations',
          'whitelist = 192.0.2.0/24,\n  2001:db8::/32\n\t10.0.0.0/8\n'
          '# comment\n\ndomain_whitelist = example.com example.org\n'
          'reason_message = Message {rejectdefer} due to: {spf}.\n'
          '  Please see {url}\nlisten = unix:/tmp/x.sock, inet:[::1]:10045\n'
          'lookup_time = 1500ms\n')
    write(d, 'bad-values',
          'max_connections = 99999999999999999999\nidle_timeout = -1s\n'
          'socket_mode = 0999\nreason_message = {nosuch}\n'
          'listen = inet:[::1\nptr_whitelist = 300.1.1.1/33\n'
          '  continued\n\x00\n')


# ----- dns -----

TYPES = {'A': 0, 'AAAA': 1, 'MX': 2, 'TXT': 3, 'PTR': 4}


def reply(qname, qtype, answers=(), authority=(), rcode=0, flags=0):
    q = dns.message.make_query(qname, qtype)
    q.id = 0x5350               # fixed, so that the output is the same
    r = dns.message.make_response(q)
    r.set_rcode(rcode)
    r.flags |= flags
    # one RRset per record: a set's order would change from run to run
    for section, rrs in ((r.answer, answers), (r.authority, authority)):
        for name, ttl, rtype, values in rrs:
            for v in values:
                section.append(dns.rrset.from_text(name, ttl, 'IN', rtype,
                                                   v))
    return r.to_wire()


def dnsseeds():
    d = reset('dns')
    soa = ('example.com.', 3600, 'SOA',
           ['ns.example.com. hostmaster.example.com. 1 7200 900 1209600 300'])
    name = 'example.com.'
    seeds = {
        'a': ('A', reply(name, 'A', [(name, 300, 'A',
                                      ['192.0.2.1', '192.0.2.2'])])),
        'aaaa': ('AAAA', reply(name, 'AAAA', [(name, 300, 'AAAA',
                                               ['2001:db8::1'])])),
        'mx': ('MX', reply(name, 'MX', [(name, 300, 'MX',
                                         ['10 mx1.example.com.',
                                          '20 mx2.Example.COM.'])])),
        'txt-spf': ('TXT', reply(name, 'TXT', [(name, 300, 'TXT', [
            '"v=spf1 ip4:192.0.2.0/24 include:_spf.example.net -all"',
            '"google-site-verification=abc"'])])),
        'txt-multistring': ('TXT', reply(name, 'TXT', [(name, 60, 'TXT', [
            '"v=spf1 a mx " "ip6:2001:db8::/32 " "~all"'])])),
        'txt-empty-and-nul': ('TXT', reply(name, 'TXT', [(name, 60, 'TXT', [
            '""', '"a\\000b"'])])),
        'ptr': ('PTR', reply('1.2.0.192.in-addr.arpa.', 'PTR', [
            ('1.2.0.192.in-addr.arpa.', 86400, 'PTR',
             ['mail.example.com.', 'MAIL2.example.com.'])])),
        'cname-chain': ('A', reply('www.example.com.', 'A', [
            ('www.example.com.', 300, 'CNAME', ['web.example.com.']),
            ('web.example.com.', 300, 'A', ['192.0.2.7'])])),
        'nxdomain-soa': ('TXT', reply(name, 'TXT', [], [soa],
                                      rcode=dns.rcode.NXDOMAIN)),
        'nodata-soa': ('MX', reply(name, 'MX', [], [soa])),
        'servfail': ('A', reply(name, 'A', [], [],
                                rcode=dns.rcode.SERVFAIL)),
        'refused': ('AAAA', reply(name, 'AAAA', [], [],
                                  rcode=dns.rcode.REFUSED)),
        'wrong-type': ('A', reply(name, 'A', [(name, 300, 'AAAA',
                                               ['2001:db8::2'])])),
    }
    for k, (t, wire) in seeds.items():
        write(d, k, bytes([TYPES[t]]) + wire)
    # truncated in the middle of a record, with TC set
    w = reply(name, 'TXT', [(name, 300, 'TXT', ['"v=spf1 ' + 'a' * 200 +
                                                  ' -all"'])],
              flags=dns.flags.TC)
    write(d, 'truncated', bytes([TYPES['TXT']]) + w[:len(w) - 60])
    # a TXT character-string running past its RDATA
    w = bytearray(reply(name, 'TXT', [(name, 300, 'TXT', ['"abcdef"'])]))
    w[-7] = 200
    write(d, 'txt-overrun', bytes([TYPES['TXT']]) + bytes(w))
    # handmade: an MX whose exchange is a compression pointer to itself,
    # and a PTR whose target points past the end of the message
    def handmade(qtype, rdata_of):
        hdr = bytes.fromhex('12348180' '0001' '0001' '0000' '0000')
        q = b'\x07example\x03com\x00' + qtype.to_bytes(2, 'big') + \
            b'\x00\x01'
        rr = b'\xc0\x0c' + qtype.to_bytes(2, 'big') + b'\x00\x01' + \
            (300).to_bytes(4, 'big')
        at = len(hdr) + len(q) + len(rr) + 2     # where RDATA starts
        rdata = rdata_of(at)
        return hdr + q + rr + len(rdata).to_bytes(2, 'big') + rdata
    write(d, 'compression-loop', bytes([TYPES['MX']]) + handmade(
        15, lambda at: b'\x00\x0a' + bytes([0xc0 | ((at + 2) >> 8),
                                              (at + 2) & 0xff])))
    write(d, 'compression-loop-2', bytes([TYPES['PTR']]) + handmade(
        12, lambda at: b'\x01a' + bytes([0xc0 | (at >> 8), at & 0xff])))
    write(d, 'pointer-past-end', bytes([TYPES['PTR']]) + handmade(
        12, lambda at: b'\x01a\xc0\xff'))
    write(d, 'header-only', bytes([TYPES['A']]) + bytes(12))
    write(d, 'short', bytes([TYPES['A'], 0x12, 0x34, 0x81]))


# ----- spf -----

ZTYPES = ('A', 'AAAA', 'MX', 'TXT', 'PTR')


def rrbytes(v):
    if isinstance(v, list):
        v = ''.join(v)
    if isinstance(v, bytes):
        return v
    try:
        return v.encode('latin-1')
    except UnicodeEncodeError:
        return v.encode('utf-8')


def zone_lines(zonedata, skip_name=None, skip_first_txt=False):
    out = []
    for name, rrs in (zonedata or {}).items():
        for rr in rrs or []:
            if rr == 'TIMEOUT':
                for t in ZTYPES:
                    out.append(b'%s %s !servfail' % (name.encode(),
                                                     t.encode()))
                continue
            if not isinstance(rr, dict):
                continue
            for t, v in rr.items():
                t = 'TXT' if t == 'SPF' else t
                if t not in ZTYPES:
                    continue
                if t == 'MX':
                    v = '%s %s' % (v[0], v[1])
                vals = v if isinstance(v, list) and t in ('A', 'AAAA') \
                    else [v]
                for val in vals:
                    b = rrbytes(val)
                    if (t == 'TXT' and skip_first_txt and
                            name.lower() == (skip_name or '').lower()):
                        skip_first_txt = False
                        continue
                    out.append(name.encode() + b' ' + t.encode() + b' ' + b)
    # the zone line format cannot carry a newline; keep it as a space
    return [ln.replace(b'\n', b' ') for ln in out]


def first_txt(zonedata, name):
    for zname, rrs in (zonedata or {}).items():
        if zname.lower() != name.lower():
            continue
        for rr in rrs or []:
            if isinstance(rr, dict):
                for t, v in rr.items():
                    if t in ('SPF', 'TXT'):
                        return rrbytes(v)
    return None


def seed(record, ip, sender, helo, zone=()):
    f = [record.replace(b'\n', b' '), ip.encode(), rrbytes(sender),
         rrbytes(helo)]
    return b'\n'.join(f + list(zone[:60]))


def load_suite(path):
    opener = gzip.open if path.endswith('.gz') else open
    with opener(path, 'rb') as f:
        return list(yaml.safe_load_all(f))


def suite_seeds(d, seen, suites):
    records = set()
    covered = set()
    n = 0
    for sname, path in suites:
        for doc in load_suite(path):
            zd = doc.get('zonedata') or {}
            for name, rrs in zd.items():
                for rr in rrs or []:
                    if isinstance(rr, dict):
                        for t, v in rr.items():
                            if t in ('SPF', 'TXT'):
                                records.add((rrbytes(v), name, id(doc)))
            for tname, t in doc['tests'].items():
                sender = t.get('mailfrom', '') or ''
                helo = t.get('helo', '') or ''
                if sender:
                    dom = sender.rsplit('@', 1)[-1]
                else:
                    dom = helo
                rec = first_txt(zd, dom)
                zone = zone_lines(zd, dom, rec is not None)
                if rec is None:
                    rec = b''
                covered.add(rec)
                if write(d, '%s-%s' % (sname, tname),
                         seed(rec, str(t['host']), sender, helo, zone),
                         seen):
                    n += 1
    # every record of the suites at least once, checked at its own name
    for rec, name, _ in sorted(records, key=lambda r: (r[0], r[1])):
        if rec in covered:
            continue
        covered.add(rec)
        if write(d, 'record-%s' % hashlib.sha1(rec).hexdigest()[:12],
                 seed(rec, '192.0.2.1', 'postmaster@' + name,
                      'mail.example.com'), seen):
            n += 1
    return n


def cve_seeds(d, seen):
    lp_delims = 'a.b-c+d_e=f/g,h.' * 4             # 64 bytes
    lp_8bit = bytes(range(0x80, 0xc0))             # 64 bytes
    lp_ctrl = bytes([0x01, 0x1b, 0x7f, 0x25, 0x20, 0x22, 0x5c, 0x3d] * 8)
    helo_long = ('a.' * 2000 + 'example.com')       # unbounded %{h}
    ptrs = [b'4.3.2.192.in-addr.arpa PTR host%d.example.com' % i
            for i in range(12)]
    ptrs += [b'host%d.example.com A 192.2.3.4' % i for i in range(12)]
    v6ptr = ('.'.join(reversed('20010db8000000000000000000000001')) +
             '.ip6.arpa').encode()
    S = {
        # CVE-2021-33913/-33912: transformers, delimiters, reversal
        'cve-transformers': (
            b'v=spf1 exists:%{l1r+-_.=}.%{s100r}.%{d0r}.%{ir}.x -all',
            '192.0.2.1', lp_delims + '@example.com', 'mail.example.com'),
        'cve-digits': (
            b'v=spf1 exists:%{l99999999999r-}.%{o4294967297r}.%{d128}.x '
            b'exists:%{s0}.%{h1r.}.x -all',
            '2001:db8::1', lp_delims + '@a.b.c.d.e.f.g.example.com',
            'x.y.z.example.com'),
        'cve-all-delims': (
            b'v=spf1 exists:%{l.-+,/_=}%{lr.-+,/_=}%{l2r.-+,/_=}.'
            b'%{d2r.-+,/_=}.%{v}.%{h}.x ?all',
            '192.0.2.77', '-+,/_=.-+,/_=.' * 4 + '@example.com',
            'h.example.com'),
        'cve-ir-v6': (
            b'v=spf1 exists:%{ir}.%{i}.%{v}.%{i1r}.x '
            b'exists:%{i64r}.%{i32}.x -all',
            '2001:db8::1', 'a@example.com', 'mail.example.com'),
        'cve-url-escape-8bit': (
            b'v=spf1 exists:%{L}.%{S}.%{Lr}.%{S2r}.x exp=exp.example.com '
            b'-all',
            '192.0.2.1', lp_8bit + b'@example.com', 'mail.example.com',
            [b'exp.example.com TXT %{L} %{S} %{H} %{O} %{D} %{I} %{C} '
             b'%{R} %{T} %{V} %{Lr-} %%%_%-']),
        'cve-url-escape-ctrl': (
            b'v=spf1 exists:%{L}.%{S1r}.x a:%{L5r=}.%{d} -all exp=%{l}.e.'
            b'example.com',
            '192.0.2.1', lp_ctrl + b'@example.com', 'mail.example.com',
            [b'*.e.example.com TXT %{L}%{S}%{l}%{s}%{H}%{c}%{r}%{t}']),
        'cve-p-heavy': (
            b'v=spf1 exists:%{p}.%{p}.%{p}.%{pr}.%{p2}.%{P}.%{p1r-}.x '
            b'ptr ptr:example.com ptr:%{p}.example.com -all',
            '192.2.3.4', 'a@example.com', 'host1.example.com', ptrs),
        'cve-p-v6': (
            b'v=spf1 exists:%{p}.%{pr}.%{p99}.x ptr -all',
            '2001:db8::1', 'a@example.com', 'h.example.com',
            [v6ptr + b' PTR ' + b'x' * 60 + b'.example.com',
             b'x' * 60 + b'.example.com AAAA 2001:db8::1']),
        'cve-helo-unbounded': (
            b'v=spf1 exists:%{h}.x exists:%{hr}.%{h1r}.%{h99}.x -all '
            b'exp=exp.example.com',
            '192.0.2.1', 'a@example.com', helo_long,
            [b'exp.example.com TXT %{h} %{H} %{hr} %{h1}']),
        'cve-long-domain': (
            b'v=spf1 exists:%{d}.%{d}.%{d}.%{dr}.%{o}.%{o1r}.x -all',
            '192.0.2.1', 'x@' + ('a' * 63 + '.') * 3 + 'a' * 57 + '.com',
            'mail.example.com'),
        'cve-exp-huge': (
            b'v=spf1 -all exp=e.example.com',
            '192.0.2.1', 'a' * 64 + '@example.com', 'mail.example.com',
            [b'e.example.com TXT ' + b'%{L}%{S}%{O}%{D}%{H}' * 60]),
        'limits-include-loop': (
            b'v=spf1 include:example.com include:a.example.com -all',
            '192.0.2.1', 'a@example.com', 'mail.example.com',
            [b'a.example.com TXT v=spf1 include:example.com redirect=%{d}']),
        'limits-terms': (
            b'v=spf1 ' + b' '.join(b'a:h%d.example.com' % i
                                   for i in range(12)) + b' -all',
            '192.0.2.1', 'a@example.com', 'mail.example.com',
            [b'h%d.example.com A 192.0.2.%d' % (i, i + 2)
             for i in range(12)]),
        'limits-mx': (
            b'v=spf1 mx mx:m.example.com/24//64 mx/0 -all',
            '192.0.2.5', 'a@example.com', 'mail.example.com',
            [b'example.com MX %d m%d.example.com' % (i, i)
             for i in range(11)] +
            [b'm%d.example.com A 192.0.2.%d' % (i, i) for i in range(11)] +
            [b'm.example.com MX 0 m1.example.com']),
        'rewrite-zero-cidr': (
            b'v=spf1 a/0 a:example.com./0 mx//0 ip4:0.0.0.0/0 ip6:::/0 '
            b'a/24//0 mx:%{d}/0//0 unknown=%{l} redirect=x.example.com',
            '192.0.2.1', 'a@example.com', 'mail.example.com',
            [b'example.com A 198.51.100.1', b'example.com MX 5 example.com']),
        'voids': (
            b'v=spf1 a:n1.example.com a:n2.example.com mx:n3.example.com '
            b'exists:n4.example.com -all',
            '192.0.2.1', 'a@example.com', 'mail.example.com',
            [b'n1.example.com A !nxdomain', b'n2.example.com A !nodata',
             b'n3.example.com MX !servfail']),
        'helo-identity': (
            b'v=spf1 a -all', '192.0.2.1', '', 'mail.example.com',
            [b'mail.example.com A 192.0.2.1']),
        'long-record': (
            b'v=spf1 ' + b' '.join(b'ip4:192.0.%d.0/24' % i
                                   for i in range(256)) + b' ?all',
            '192.0.255.1', 'a@example.com', 'mail.example.com'),
        'macro-names-too-long': (
            b'v=spf1 exists:%{l}%{l}%{l}%{l}%{l}.%{d}.%{d}.%{d}.%{d}.x '
            b'include:%{o}.%{o}.%{o}.%{o}.%{o} -all',
            '192.0.2.1', 'l' * 64 + '@' + ('b' * 60 + '.') * 3 + 'com',
            'mail.example.com'),
        'bad-macros': (
            b'v=spf1 exists:%{x}.%{l0}.%{lr}}.%{.x %{ -all',
            '192.0.2.1', 'a@example.com', 'mail.example.com'),
    }
    n = 0
    for k, v in S.items():
        rec, ip, sender, helo = v[:4]
        zone = v[4] if len(v) > 4 else []
        if write(d, k, seed(rec, ip, sender, helo, zone), seen):
            n += 1
    return n


def spf(suite_dir):
    d = reset('spf')
    seen = set()
    suites = []
    for s in ('rfc7208', 'rfc4408'):
        for p in (os.path.join(suite_dir, s + '-tests.yml'),
                  '/usr/share/doc/python3-spf/%s-tests.yml.gz' % s):
            if os.path.exists(p):
                suites.append((s, p))
                break
        else:
            sys.exit('make_corpus: no %s suite found' % s)
    n = suite_seeds(d, seen, suites)
    n += cve_seeds(d, seen)
    return n


# ----- dictionaries -----

def dicts():
    os.makedirs(DICT, exist_ok=True)
    spf_words = ['v=spf1', ' ', 'all', '-all', '~all', '?all', '+all',
                 'include:', 'a', 'a:', 'mx', 'mx:', 'ptr', 'ptr:', 'ip4:',
                 'ip6:', 'exists:', 'redirect=', 'exp=', '/24', '//64',
                 '/0', '//0', '%{', '}', '%%', '%_', '%-', '%{l}', '%{s}',
                 '%{o}', '%{d}', '%{i}', '%{p}', '%{v}', '%{h}', '%{c}',
                 '%{r}', '%{t}', '%{L}', '%{S}', '%{ir}', '%{d2r}',
                 '%{l1r+-_.=}', 'r', '.-+,/_=', '.example.com', '@',
                 '192.0.2.1', '2001:db8::1', '\n', ' TXT ', ' A ', ' AAAA ',
                 ' MX ', ' PTR ', '!nxdomain', '!nodata', '!servfail',
                 'in-addr.arpa', 'ip6.arpa', '.any-a.spfpd.invalid',
                 '.any-mx.spfpd.invalid']
    codec_words = ['request=smtpd_access_policy', '\n', '\r\n', '=',
                   'protocol_state=RCPT', 'sender=', 'recipient=',
                   'helo_name=', 'client_address=', 'client_name=',
                   'reverse_client_name=', 'instance=', 'sasl_username=',
                   'sasl_method=', 'sasl_sender=', 'size=', 'queue_id=',
                   'recipient_count=', 'server_address=', 'server_port=',
                   'client_port=', 'protocol_name=']
    conf_words = [' = ', '\n', '\n  ', '#', ',', 'yes', 'no', 's', 'ms',
                  'unix:/', 'inet:', '[::1]:', '127.0.0.1:', '/24',
                  '{rejectdefer}', '{spf}', '{url}', '{result}',
                  '{identity}', '{domain}', 'fail', 'softfail', 'not_pass',
                  'null', 'no_check', 'received-spf',
                  'authentication-results', 'none', 'header', 'reject']
    with open(os.path.join(TOP, 'etc/spfpd.conf')) as f:
        for line in f:
            if '=' in line and not line.startswith((' ', '\t')):
                conf_words.append(line.split('=')[0].strip('# \t'))

    def dump(name, words):
        with open(os.path.join(DICT, name + '.dict'), 'w') as f:
            f.write('# %s.dict - tokens for fuzz_%s, libFuzzer -dict= '
                    '(tests/fuzz/make_corpus.py)\n' % (name, name))
            for w in dict.fromkeys(words):
                if not w:
                    continue
                esc = ''.join(c if 0x20 <= ord(c) < 0x7f and c not in '"\\'
                              else '\\x%02x' % ord(c) for c in w)
                f.write('"%s"\n' % esc)
    dump('spf', spf_words)
    dump('codec', codec_words)
    dump('config', conf_words)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--suites', default=os.path.join(TOP, '..', 'shared',
                                                     'data'),
                    help='directory of rfc7208-tests.yml, rfc4408-tests.yml')
    a = ap.parse_args()
    codec()
    config()
    dnsseeds()
    n = spf(a.suites)
    dicts()
    total = 0
    for t in os.listdir(CORPUS):
        files = os.listdir(os.path.join(CORPUS, t))
        size = sum(os.path.getsize(os.path.join(CORPUS, t, f))
                   for f in files)
        total += size
        print('%-8s %4d files %8d bytes' % (t, len(files), size))
    print('spf seeds written: %d; corpus total %d bytes' % (n, total))


if __name__ == '__main__':
    main()
