#!/usr/bin/python3
"""spfdiff.py - differential fuzzer: spfpd's SPF evaluation vs pyspf.

Generates random SPF "worlds" (DNS data plus one query each) in the case
format of tests/diff/FORMAT, has build/spfdiff (spfpd's real SPF code over
scripted DNS) evaluate them, evaluates the same cases with pyspf over a fake
DNS implementing FORMAT's semantics, and compares the results (and the
explanation, for fail).  Divergences explained in tests/diff/known-divergences
are counted apart; every other one is saved as a replayable case file.

Usage (run with /usr/bin/python3: it needs Debian's python3-spf):
  spfdiff.py --spfdiff build/spfdiff --seed 1 --cases 20000
  spfdiff.py --spfdiff build/spfdiff --time 300        # new seeds until 300 s
  spfdiff.py --spfdiff build/spfdiff --replay \
      build/spfdiff-out/divergences/*.case --trace
  spfdiff.py --generate --seed 1 --cases 10            # print cases
  spfdiff.py --pyspf FILE...                           # pyspf's answers
  spfdiff.py --as-binary < cases   # pyspf posing as build/spfdiff (stand-in)
  spfdiff.py --self-test

The last line printed is "spfdiff: N passed, M failed" (N agreeing or known,
M unexplained divergences); the exit status is 1 when M > 0.
"""
import argparse
import concurrent.futures
import hashlib
import ipaddress
import itertools
import multiprocessing
import os
import random
import re
import shlex
import subprocess
import sys
import threading
import time

import spf

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_EXP = 'spfdiff-default'
RESULTS = ('none', 'neutral', 'pass', 'fail', 'softfail', 'temperror',
           'permerror')
TYPES = ('A', 'AAAA', 'MX', 'PTR', 'CNAME', 'TXT')
CNAME_MAX_STEPS = 8
CHUNK = 2000                  # cases per run of the C binary


# ---------------------------------------------------------------------------
# The case format (tests/diff/FORMAT)

class Case:
    """One case: a client, its HELO and sender, and a DNS world.

    helo: bytes (b'' = empty HELO); sender: bytes, or None for the null
    sender.  rrs: (name, TYPE, ttl, data) with data a str for A, AAAA, PTR
    and CNAME, (pref, host) for MX, a list of bytes for TXT.  rcodes:
    (name, TYPE or '*', n); timeouts: (name, TYPE or '*')."""

    def __init__(self, cid, ip, helo=b'', sender=None):
        self.id = cid
        self.ip = ip
        self.helo = helo
        self.sender = sender
        self.rrs = []
        self.rcodes = []
        self.timeouts = []

    def text(self, with_id=True):
        out = ['case %s' % (self.id if with_id else '-'),
               'ip %s' % self.ip,
               'helo %s' % (self.helo.hex() or '-'),
               'sender %s' % ('-' if self.sender is None
                              else self.sender.hex())]
        for name, rtype, ttl, data in self.rrs:
            if rtype == 'MX':
                data = '%d %s' % data
            elif rtype == 'TXT':
                data = ' '.join('x' + s.hex() for s in data)
            out.append('rr %s %s %d %s' % (name, rtype, ttl, data))
        for name, rtype, n in self.rcodes:
            out.append('rcode %s %s %d' % (name, rtype, n))
        for name, rtype in self.timeouts:
            out.append('timeout %s %s' % (name, rtype))
        out.append('end')
        return '\n'.join(out) + '\n'

    def digest(self):
        """A name for the case that does not depend on its id."""
        return hashlib.sha1(self.text(with_id=False).encode()).hexdigest()[:16]


def unhex(s):
    return b'' if s == '-' else bytes.fromhex(s)


def parse_cases(text):
    """FORMAT text -> [Case].  Blank lines and '#' lines are skipped."""
    cases = []
    cur = None
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith('#'):
            continue
        f = line.split(' ')
        try:
            if f[0] == 'case':
                cur = Case(f[1], None)
            elif f[0] == 'end':
                cases.append(cur)
                cur = None
            elif f[0] == 'ip':
                cur.ip = f[1]
            elif f[0] == 'helo':
                cur.helo = unhex(f[1])
            elif f[0] == 'sender':
                cur.sender = None if f[1] == '-' else bytes.fromhex(f[1])
            elif f[0] == 'rr':
                name, rtype, ttl = f[1], f[2].upper(), int(f[3])
                if rtype == 'MX':
                    data = (int(f[4]), f[5])
                elif rtype == 'TXT':
                    data = [bytes.fromhex(s[1:]) for s in f[4:]]
                else:
                    data = f[4]
                cur.rrs.append((name, rtype, ttl, data))
            elif f[0] == 'rcode':
                cur.rcodes.append((f[1], f[2].upper(), int(f[3])))
            elif f[0] == 'timeout':
                cur.timeouts.append((f[1], f[2].upper()))
            else:
                raise ValueError('unknown line')
        except (IndexError, ValueError, AttributeError) as e:
            raise ValueError('line %d: %s: %r' % (lineno, e, line))
    if cur is not None:
        raise ValueError('case %s has no "end"' % cur.id)
    return cases


# ---------------------------------------------------------------------------
# The world's DNS, with FORMAT's semantics

class DNSTimeout(Exception):
    pass


class DNSRcode(Exception):
    def __init__(self, rcode):
        Exception.__init__(self, 'RCODE %d' % rcode)
        self.rcode = rcode


def norm(name):
    name = name.lower()
    return name[:-1] if name.endswith('.') else name


class World:
    def __init__(self, case):
        self.records = {}           # (name, TYPE) -> [data]
        self.cname = {}             # name -> target
        self.exists = set()         # names with records, and their parents
        self.rcode = {}             # (name, TYPE or '*') -> n
        self.timeout = set()        # (name, TYPE or '*')
        self.log = None             # [(name, TYPE, outcome)] when tracing
        for name, rtype, _, data in case.rrs:
            name = norm(name)
            if rtype == 'CNAME':
                self.cname.setdefault(name, norm(data))
            else:
                self.records.setdefault((name, rtype), []).append(data)
            labels = name.split('.')
            for i in range(len(labels)):
                self.exists.add('.'.join(labels[i:]))
        for name, rtype, n in case.rcodes:
            self.rcode.setdefault((norm(name), rtype), n)
        for name, rtype in case.timeouts:
            self.timeout.add((norm(name), rtype))

    def query(self, name, rtype):
        """-> list of data; [] for NXDOMAIN and NODATA.  Raises DNSRcode
        (any other RCODE, a CNAME loop: SERVFAIL) or DNSTimeout."""
        try:
            out = self._query(name, rtype)
        except (DNSRcode, DNSTimeout) as e:
            if self.log is not None:
                self.log.append((name, rtype, str(e) or 'timeout'))
            raise
        if self.log is not None:
            self.log.append((name, rtype, out))
        return out

    def _query(self, name, rtype):
        name = norm(name)
        for step in range(CNAME_MAX_STEPS + 1):
            for t in (rtype, '*'):
                if (name, t) in self.rcode:
                    n = self.rcode[(name, t)]
                    if n in (0, 3):
                        return []
                    raise DNSRcode(n)
                if (name, t) in self.timeout:
                    raise DNSTimeout()
            if rtype != 'CNAME' and name in self.cname:
                if step == CNAME_MAX_STEPS:
                    break           # a loop, or a chain too long
                name = self.cname[name]
                continue
            return list(self.records.get((name, rtype), []))
        raise DNSRcode(2)


# ---------------------------------------------------------------------------
# pyspf over the world

_current = threading.local()


def fake_dnslookup(name, qtype, strict=True, timeout=None):
    """spf.DNSLookup over the current world, shaped like pyspf's dnspython
    driver (DNSLookup_dnspython): CNAMEs followed by the resolver, every
    answer under the name asked."""
    world = _current.world
    try:
        values = world.query(name, qtype)
    except DNSRcode as e:
        raise spf.TempError('DNS RCODE %d' % e.rcode)
    except DNSTimeout:
        raise spf.TempError('DNS timeout')
    out = []
    for v in values:
        if qtype == 'TXT':
            v = list(v)
        out.append(((name, qtype), v))
    return out


spf.DNSLookup = fake_dnslookup


def encode_exp(s):
    try:
        return s.encode('latin-1')
    except UnicodeEncodeError:
        return s.encode('utf-8')


def pyspf_check(case, default_exp=DEFAULT_EXP, trace=False, fix=None):
    """-> (result, explanation bytes for fail else None[, query log]).

    pyspf as its RFC 7208 suite runs it: strict=True (the default), HELO
    identity for the null sender (pyspf's query() turns s='' into
    postmaster@<helo>), default explanation set for fail.  fix: a function
    that corrects the query object before the check (a classifier's "pyspf
    without this bug")."""
    world = World(case)
    if trace:
        world.log = []
    _current.world = world
    _current.rejoin = False     # pyspf-macro-rejoin's correction, off
    helo = case.helo.decode('latin-1')
    sender = '' if case.sender is None else case.sender.decode('latin-1')
    try:
        q = spf.query(i=case.ip, s=sender, h=helo, strict=True,
                      receiver='unknown')
        q.set_default_explanation(default_exp)
        if fix:
            fix(q)
        res, _, exp = q.check()
    except spf.PermError:            # an address pyspf cannot parse
        res, exp = 'permerror', ''
    except Exception as e:           # a pyspf crash is a result too
        res, exp = 'pyspf-exception', '%s: %s' % (type(e).__name__, e)
    finally:
        _current.world = None
    out = (res, encode_exp(exp) if res in ('fail', 'pyspf-exception')
           else None)
    if trace:
        return out + (world.log,)
    return out


# ---------------------------------------------------------------------------
# The generator

ZONES = ['example.com', 'example.org', 'example.net', 'test.example',
         'example.co.uk', 'mail.example']
LABELS = ['mail', 'mx', 'spf', '_spf', 'smtp', 'out', 'relay', 'a', 'b',
          'host', 'gw', 'srv', 'n', 'x', 'w']
V4_NETS = ['192.0.2', '198.51.100', '203.0.113']
LOCALS = ['user', 'john.doe', 'a+tag', 'x=y', 'a/b', 'Mixed.Case', 'o-k',
          'a_b', 'first.last+list=x/y', 'postmaster', 'a.b.c.d.e.f.g']
ODD_LOCALS = ['"a b"', '"a@b"', '"quoted"', '', '0', '%41', 'a%b', '..', '-',
              '"a.b"', '"\\"', 'A=B/C+D']
BAD_TERMS = [
    'ip4:192.0.2.1/33', 'ip4:192.0.2.1/', 'ip4:192.0.2', 'ip4:192.0.2.256',
    'ip4:192.0.02.1', 'ip4:192.0.2.1/024', 'ip4:2001:db8::1', 'ip4:',
    'ip6:2001:db8::1/129', 'ip6:2001:db8::/', 'ip6:2001:db8:::1',
    'ip6:192.0.2.1', 'ip6:', 'ip6:2001:db8::1//64', 'ip4:192.0.2.1//64',
    'a:', 'a/33', 'a//129', 'a/24//', 'a:foo', 'a:192.0.2.1', 'a:foo.com:25',
    'a/-1', 'a:foo..com', 'a:.foo.com', 'a:-foo.com', 'a:foo.c-', 'a:foo.1',
    'mx:', 'mx/0//200', 'mx:foo/33', 'include:', 'include', 'include:foo',
    'exists', 'exists:', 'ptr:', 'ptr/24', 'all:foo', 'all/24', 'all.',
    '+-all', '--all', 'moo', 'prt', 'ipv4:192.0.2.1', 'ip:192.0.2.1', 'a,',
    'ip4:192.0.2.1,', 'redirect=', 'exp=', 'a:%{z}.com', 'a:%x.com',
    'a:%{d0}.com', 'a:%{r}.com', 'a:%{c}.com', 'a:%{t}.com', 'a:%{}.com',
    'a:%{d2', 'a:foo.%', 'a:%{l:}.com', 'a:%{d2r!}.com', '=a', 'default=-',
    'exists:foo.com/24', 'include:foo.com/24', '192.0.2.1', '-foo=bar',
    '9x=y', 'x=', 'foo:bar', 'a:foo.com\\', 'a:\x7f.com', 'a:f\xe9.com',
    'v=spf1', 'a:foo.com/0', 'a:%{i}', 'exists:%{d}', 'op=x',
    'ip4:0.0.0.0/0', 'ip6:::/0', 'ip6:::ffff:192.0.2.1', 'a/0', 'mx/0',
    'a:foo.com.', 'A:FOO.COM', 'IP4:192.0.2.1', 'Include:foo.com',
    'a:' + 'x' * 64 + '.com', 'a:' + ('y' * 60 + '.') * 5 + 'com',
]
EXP_TEXTS = [
    '%{s} is not allowed to send from %{i}',
    'Not authorized: %{l} at %{o} via %{h} (%{v})',
    'See http://%{d}/why?s=%{S}&ip=%{I}&c=%{c}',
    'domain %{d2} reversed %{ir} local %{l1r-} dots %{ir.} pct %% sp %_ u %-',
    '%{L} %{O} %{D} %{H}',
    'plain text explanation',
    '',
    'bad macro %{z} here',
    'bad escape %x here',
    'dangling %',
    'client %{p}',
    'nibbles %{i} mapped %{v}',
    'long ' + 'x' * 300,
    'lr %{lr} l2 %{l2} d1 %{d1} d9 %{d9} dr %{dr}',
    'non-ascii \xe9t\xe9',
    'v=spf1 -all',
    'delims %{l-} %{l+} %{l=} %{l/} %{l_} %{l,} %{s.-+,/_=}',
]
EXISTS_SPECS = [
    ('%{ir}.%{v}._spf.%{d}', True), ('%{l}.users.%{d}', True),
    ('%{i}._ip.%{d2}', True), ('%{l1r-}.lp.%{d}', True),
    ('%{s}.s.%{d}', True), ('%{o}._o.%{d}', True), ('%{h}.helo.%{d}', True),
    ('%{ir.}.x.%{d}', True), ('%{d2}.%{v}.%{d}', True), ('%{lr+}.%{d}', True),
    ('%{l=}.x.%{d}', True), ('ok.%{d}', True), ('%{p}.p.%{d}', False),
    ('%{L}.%{d}', False), ('%%.%{d}', False), ('%_x.%{d}', False),
    ('%-x.%{d}', False), ('%{z}.%{d}', False), ('%x.%{d}', False),
    ('%{d0}.x.%{d}', False), ('%{i', False), ('%', False),
    ('%{d2r-+,/_=}.x.%{d}', False), ('%{D}.%{d}', False),
    ('%{v}.%{i}.%{ir}.%{l}.%{o}.%{d}.%{h}.%{s}.long.%{d}', True),
    ('%{d128}.%{d}', True), ('%{i2r}.x.%{d}', True),
]


def valid_name(name):
    """a name DNS can hold: labels of 1 to 63 bytes, at most 253 in all"""
    return len(name) <= 253 and all(0 < len(label) < 64
                                    for label in name.split('.'))


def rev_nibbles(a):
    return '.'.join(reversed(a.exploded.replace(':', '')))


class Gen:
    """Builds one random case.  The client address is chosen first, then
    the domains, the sender, and the records, so that records usually talk
    about addresses near the client's and results are interesting."""

    def __init__(self, rng, cid):
        self.r = rng
        self.cid = cid
        self.case = None
        self.n = 0
        self.alias = {}          # name -> CNAME target, as published
        self.dead = set()        # names lost in CNAME loops
        self.addr_done = {}      # (name, TYPE) -> True once published
        self.ptr_done = False
        self.referenced = []     # names terms look up, for rcode/timeout
        self.published = set()   # names given records (or CNAMEs)
        self.spf_names = set()

    # -- small helpers --------------------------------------------------
    def w(self, *pairs):
        """weighted choice over (weight, value) pairs"""
        total = sum(p[0] for p in pairs)
        x = self.r.random() * total
        for weight, value in pairs:
            x -= weight
            if x < 0:
                return value
        return pairs[-1][1]

    def chance(self, p):
        return self.r.random() < p

    def fresh(self, parent=None):
        self.n += 1
        if parent is None or self.chance(0.4):
            parent = self.r.choice(ZONES)
        return '%s%d.%s' % (self.r.choice(LABELS), self.n, parent)

    def final(self, name):
        seen = set()
        while name in self.alias:
            if name in seen:
                return None
            seen.add(name)
            name = self.alias[name]
        return name

    def rr(self, name, rtype, data):
        """Publish a record at name, or at the end of its CNAME chain.
        Only valid DNS names hold records (longer ones are only asked)."""
        target = self.final(name.lower())
        if target is None or not valid_name(target):
            return
        self.published.add(name.lower())
        self.case.rrs.append((target, rtype, self.r.choice((0, 60, 3600)),
                              data))

    def qual(self):
        return self.w((50, ''), (5, '+'), (15, '-'), (15, '~'), (15, '?'))

    # -- addresses --------------------------------------------------------
    def rand_v4(self):
        if self.chance(0.85):
            return ipaddress.IPv4Address('%s.%d' % (self.r.choice(V4_NETS),
                                                    self.r.randint(1, 254)))
        return ipaddress.IPv4Address(self.r.getrandbits(32))

    def rand_v6(self):
        if self.chance(0.85):
            return ipaddress.IPv6Address(
                (0x20010db8 << 96) | (self.r.getrandbits(8) << 64) |
                self.r.getrandbits(8))
        return ipaddress.IPv6Address(self.r.getrandbits(128))

    def near(self, v6):
        """An address related to the client: itself, in its /24 (/64),
        its /16 (/48), or unrelated."""
        c = self.cip
        if (c.version == 6) == v6:
            x = self.r.random()
            if x < 0.35:
                return c
            if x < 0.65:
                return type(c)(int(c) ^ self.r.randint(1, 255))
            if x < 0.75:
                bits = 16 if v6 else 8
                return type(c)(int(c) ^ (self.r.randint(1, 255) << bits))
        return self.rand_v6() if v6 else self.rand_v4()

    def cidr(self, v6, overlong=0.03):
        if self.chance(overlong):
            return self.r.choice((129, 200, 256) if v6 else (33, 40, 64, 128))
        if v6:
            return self.w((4, 128), (3, 64), (1, 48), (1, 32), (1, 0),
                          (1, 127), (1, 120), (1, 96), (1, 56),
                          (1, self.r.randint(0, 128)))
        return self.w((4, 32), (3, 24), (1, 16), (1, 8), (1, 0), (1, 31),
                      (1, 30), (1, 25), (1, self.r.randint(0, 32)))

    def fmt_addr(self, a):
        s = str(a)
        if a.version == 6 and self.chance(0.05):
            s = a.exploded if self.chance(0.5) else s.upper()
        return s

    def publish_addrs(self, name, force=False):
        """A and AAAA records near the client at name (once per name)."""
        for rtype, v6 in (('A', False), ('AAAA', True)):
            if (name, rtype) in self.addr_done:
                continue
            self.addr_done[(name, rtype)] = True
            want = (self.cip.version == 6) == v6
            if not force and not self.chance(0.92 if want else 0.3):
                continue
            for _ in range(self.w((6, 1), (3, 2), (1, 3))):
                self.rr(name, rtype, str(self.near(v6)))

    # -- names in terms ---------------------------------------------------
    def render(self, name, dom):
        """A domain-spec naming name, as a record at dom might write it."""
        x = self.r.random()
        if x < 0.05:
            return name + '.'
        if x < 0.10:
            return name.upper()
        if x < 0.15 and name.endswith('.' + dom):
            return name[:-len(dom)] + '%{d}'
        return name

    def target(self, dom):
        name = self.fresh(dom)
        self.referenced.append(name)
        return name

    # -- macro expansion, for publishing names exists: will look up -------
    def macro_values(self, dom):
        return {'s': self.s, 'l': self.l, 'o': self.o, 'd': dom,
                'h': self.h, 'v': 'ip6' if self.cip.version == 6
                else 'in-addr',
                'i': (self.cip.exploded if self.cip.version == 4 else
                      '.'.join(self.cip.exploded.replace(':', '')))}

    def expand(self, spec, dom):
        vals = self.macro_values(dom)

        def one(m):
            body = m.group(1)
            mm = re.match(r'([a-z])(\d*)(r?)([.\-+,/_=]*)$', body)
            if not mm or mm.group(1) not in vals:
                raise ValueError
            parts = re.split('[%s]' % re.escape(mm.group(4) or '.'),
                             vals[mm.group(1)])
            if mm.group(3):
                parts.reverse()
            if mm.group(2):
                n = int(mm.group(2))
                if n == 0:
                    raise ValueError
                parts = parts[-n:]
            return '.'.join(parts)
        try:
            out = re.sub(r'%\{([^}]*)\}', one, spec)
        except ValueError:
            return None
        if '%' in out or ' ' in out or len(out) > 253 or \
                not all(0 < len(lab) < 64 for lab in out.split('.')):
            return None
        return out.lower()

    # -- records ----------------------------------------------------------
    def maybe_alias(self, name):
        """Sometimes make a name that has no records yet a CNAME: a chain
        (up to 9 steps: one more than FORMAT follows) or a loop; its
        records then go to the end of the chain (Gen.rr)."""
        if name in self.alias or name in self.published or \
                not self.chance(0.07):
            return
        self.published.add(name)
        if self.chance(0.15):                      # a loop
            other = self.fresh()
            self.alias[name] = other
            self.alias[other] = name
            self.case.rrs.append((name, 'CNAME', 300, other))
            self.case.rrs.append((other, 'CNAME', 300, name))
            return
        cur = name
        for _ in range(self.w((6, 1), (2, 2), (1, 3), (1, 8), (1, 9))):
            nxt = self.fresh()
            self.alias[cur] = nxt
            self.case.rrs.append((cur, 'CNAME', 300, nxt))
            cur = nxt

    def publish_spf(self, name, text, cname_ok=True):
        """Publish text as an SPF TXT record at name (sometimes behind
        CNAMEs), split into strings, next to other TXT records."""
        self.spf_names.add(name)
        if cname_ok:
            self.maybe_alias(name)
        data = text.encode('latin-1')
        self.rr(name, 'TXT', self.split_strings(data))
        x = self.r.random()
        if x < 0.2:
            self.rr(name, 'TXT', [self.r.choice([
                b'google-site-verification=abc123', b'v=spf10 -all',
                b' v=spf1 -all', b'spf2.0/pra -all', b'v=DKIM1; p=',
                b'\xe9t\xe9 non-ascii', b'v=spf1x -all', b'', b'v=spf'])])
        elif x < 0.215:
            self.rr(name, 'TXT', [self.r.choice([
                b'v=spf1 -all', b'v=spf1 +all', b'v=spf1', b'V=SPF1 ?all'])])

    def split_strings(self, data):
        if len(data) <= 255 and self.chance(0.8):
            return [data]
        out = []
        while len(data) > 255 or (data and self.chance(0.3)):
            n = self.r.randint(1, min(255, len(data)))
            out.append(data[:n])
            data = data[n:]
        out.append(data)
        return out

    def spf_at(self, name, depth, mode=None):
        self.maybe_alias(name)    # first: the terms publish records here
        self.publish_spf(name, self.record(name, depth, mode))

    def record(self, dom, depth, mode=None):
        if mode is None:
            mode = self.w((70, 'normal'), (4, 'many-ip'), (5, 'limit'),
                          (3, 'void'), (5, 'chain'), (6, 'garbage'),
                          (3, 'empty'), (2, 'mx-many'), (2, 'ptr-many'))
        terms = []
        if mode == 'normal':
            for _ in range(self.w((5, 0), (15, 1), (15, 2), (10, 3), (6, 4),
                                  (3, 5), (2, 7))):
                terms.append(self.term(dom, depth))
        elif mode == 'many-ip':
            for _ in range(self.r.randint(20, 250)):
                v6 = self.chance(0.4)
                a = self.rand_v6() if v6 else self.rand_v4()
                terms.append('%sip%d:%s/%d' % (self.qual(), 6 if v6 else 4,
                                               a, self.cidr(v6, 0)))
            terms.insert(self.r.randint(0, len(terms)), self.term(dom, depth))
        elif mode == 'limit':
            n = self.r.randint(8, 13)
            for _ in range(n):
                # terms that look up names that exist, and do not match
                kind = self.w((3, 'a'), (2, 'mx'), (1, 'inc'))
                t = self.target(dom)
                if kind == 'a':
                    self.rr(t, 'A', str(self.rand_v4()))
                    self.rr(t, 'AAAA', str(self.rand_v6()))
                    terms.append('a:%s' % t)
                elif kind == 'mx':
                    self.rr(t, 'MX', (10, 'mx.' + t))
                    self.rr('mx.' + t, 'A', str(self.rand_v4()))
                    self.rr('mx.' + t, 'AAAA', str(self.rand_v6()))
                    terms.append('mx:%s' % t)
                else:
                    self.publish_spf(t, 'v=spf1 ip4:%s' % self.rand_v4())
                    terms.append('include:%s' % t)
            terms.append(self.term(dom, depth))
        elif mode == 'void':
            for _ in range(self.r.randint(2, 4)):
                kind = self.r.choice(('a', 'mx', 'exists', 'ptr'))
                t = self.target(dom)
                terms.append('%s%s:%s' % (self.qual(), kind, t))
            terms.append(self.term(dom, depth))
        elif mode == 'chain':
            length = self.r.randint(3, 12)
            cur = dom
            names = [dom]
            for i in range(length):
                nxt = self.target(dom)
                names.append(nxt)
                kind = self.w((4, 'include'), (2, 'redirect'))
                if cur == dom:
                    terms.append('%sinclude:%s' % (self.qual(), nxt)
                                 if kind == 'include' else
                                 'redirect=%s' % nxt)
                else:
                    self.publish_spf(cur, 'v=spf1 %s%s' % (
                        'include:' if kind == 'include' else 'redirect=',
                        nxt) + self.r.choice(('', ' ?all', ' -all', '')))
                cur = nxt
            if self.chance(0.2):              # a loop back into the chain
                self.publish_spf(cur, 'v=spf1 include:%s' %
                                 self.r.choice(names))
            else:
                self.publish_spf(cur, 'v=spf1 %sip%s:%s -all' % (
                    self.qual(), self.cip.version, self.cip))
        elif mode == 'garbage':
            for _ in range(self.r.randint(0, 3)):
                terms.append(self.term(dom, depth))
            terms.insert(self.r.randint(0, len(terms)),
                         self.r.choice(BAD_TERMS))
        elif mode == 'mx-many':
            t = dom if self.chance(0.5) else self.target(dom)
            n = self.r.choice((10, 11, 12, 20))
            for i in range(n):
                host = self.fresh(dom)
                self.rr(t, 'MX', (self.r.randint(0, 20), host))
                if self.chance(0.2):
                    self.publish_addrs(host)
            terms.append(self.qual() + ('mx' if t == dom else 'mx:' + t))
        elif mode == 'ptr-many':
            self.publish_ptr(dom, many=True)
            terms.append(self.qual() + self.r.choice(('ptr', 'ptr:' + dom)))
        # mode 'empty': no terms at all
        if mode != 'empty' and self.chance(0.75):
            terms.append(self.w((35, '-'), (25, '~'), (20, '?'), (15, ''),
                                (5, '+')) + 'all')
        if self.chance(0.12 if terms and terms[-1].endswith('all') else 0.3):
            terms.insert(self.r.randint(0, len(terms)),
                         'redirect=' + self.redirect_target(dom, depth))
        if self.chance(0.3):
            terms.insert(self.r.randint(0, len(terms)),
                         'exp=' + self.exp_target(dom))
        if self.chance(0.08):
            terms.insert(self.r.randint(0, len(terms)), self.r.choice((
                'foo=bar', 'x-mod=%{d}', 'moo.cow-1_2=%{l}', 'rate=%{i}',
                'x=', 'foo=%{z}', 'ra=postmaster', 'v=spf2')))
        sep = '  ' if self.chance(0.03) else ' '
        prefix = self.w((95, 'v=spf1'), (2, 'V=SPF1'), (2, 'v=Spf1'))
        text = sep.join([prefix] + terms)
        if self.chance(0.02):
            text += ' '
        return text

    def term(self, dom, depth):
        v4 = self.cip.version == 4
        kind = self.w((14 if v4 else 5, 'ip4'), (5 if v4 else 14, 'ip6'),
                      (14, 'a'), (10, 'mx'), (4, 'ptr'), (8, 'exists'),
                      (10 if depth < 3 else 2, 'include'), (2, 'bad'))
        q = self.qual()
        if kind == 'ip4':
            return '%sip4:%s%s' % (q, self.near(False), self.opt_cidr(False))
        if kind == 'ip6':
            return '%sip6:%s%s' % (q, self.fmt_addr(self.near(True)),
                                   self.opt_cidr(True))
        if kind in ('a', 'mx'):
            if self.chance(0.3):
                t, spec = dom, kind
            else:
                t = self.target(dom)
                spec = kind + ':' + self.render(t, dom)
            if kind == 'a':
                if self.chance(0.9):
                    self.publish_addrs(t)
            elif (t, 'MX') not in self.addr_done:
                self.addr_done[(t, 'MX')] = True
                if self.chance(0.9):
                    for _ in range(self.w((5, 1), (3, 2), (2, 3))):
                        host = self.fresh(t)
                        self.rr(t, 'MX', (self.r.randint(0, 50), host))
                        if self.chance(0.9):
                            self.publish_addrs(host)
            return q + spec + self.dual_cidr()
        if kind == 'ptr':
            self.publish_ptr(dom)
            return q + self.r.choice(('ptr', 'ptr', 'ptr:' + dom,
                                      'ptr:' + self.r.choice(ZONES)))
        if kind == 'exists':
            spec, ok = self.r.choice(EXISTS_SPECS)
            name = self.expand(spec, dom) if ok else None
            if name and self.chance(0.6):
                self.rr(name, 'A', self.r.choice(('127.0.0.2', '192.0.2.1')))
            return q + 'exists:' + spec
        if kind == 'include':
            x = self.r.random()
            if x < 0.03:                       # a loop back to dom
                return q + 'include:' + dom
            t = self.target(dom)
            if x < 0.80:
                self.spf_at(t, depth + 1)
            elif x < 0.85:
                self.rr(t, 'TXT', [b'not spf'])
            elif x < 0.88:
                self.publish_spf(t, self.r.choice(('v=spf1', 'v=spf1 -all',
                                                   'v=spf1 +all')))
                self.publish_spf(t, 'v=spf1 ?all', cname_ok=False)
            # else: no record at all
            return q + 'include:' + self.render(t, dom)
        return self.r.choice(BAD_TERMS)

    def opt_cidr(self, v6):
        if self.chance(0.4):
            return ''
        return '/%d' % self.cidr(v6)

    def dual_cidr(self):
        x = self.r.random()
        if x < 0.55:
            return ''
        if x < 0.75:
            return '/%d' % self.cidr(False)
        if x < 0.85:
            return '//%d' % self.cidr(True)
        return '/%d//%d' % (self.cidr(False), self.cidr(True))

    def publish_ptr(self, dom, many=False):
        if self.ptr_done:
            return
        self.ptr_done = True
        c = self.cip
        rev = ('.'.join(reversed(c.exploded.split('.'))) + '.in-addr.arpa'
               if c.version == 4 else rev_nibbles(c) + '.ip6.arpa')
        n = self.r.randint(11, 16) if many else self.w((6, 1), (3, 2), (1, 3))
        for _ in range(n):
            host = self.fresh(dom if self.chance(0.6) else None)
            self.rr(rev, 'PTR', host)
            rtype = 'A' if c.version == 4 else 'AAAA'
            if self.chance(0.6 if not many else 0.15):
                self.rr(host, rtype, str(c))         # validated
            elif self.chance(0.5):
                self.rr(host, rtype, str(self.near(c.version == 6)))
        self.referenced.append(rev)

    def redirect_target(self, dom, depth):
        x = self.r.random()
        if x < 0.04:
            return dom                           # loop
        t = self.target(dom)
        if x < 0.85 and depth < 6:
            self.spf_at(t, depth + 1)
        elif x < 0.92:
            self.rr(t, 'TXT', [b'not spf'])
        return self.render(t, dom)

    def exp_target(self, dom):
        x = self.r.random()
        if x < 0.1:
            return self.r.choice(('%{d}.exp.example.com', 'exp.%{d}',
                                  '%{l}.exp.%{d}', '%{z}.exp', 'foo',
                                  '%{p}.exp.%{d}', '%{ir}.exp.%{d}'))
        t = self.target(dom)
        x = self.r.random()
        if x < 0.75:
            text = self.r.choice(EXP_TEXTS).encode('latin-1')
            self.rr(t, 'TXT', self.split_strings(text))
            if self.chance(0.08):
                self.rr(t, 'TXT', [b'a second explanation'])
        elif x < 0.85:
            self.case.rcodes.append((t, self.r.choice(('TXT', '*')),
                                     self.r.choice((2, 5))))
        # else: no record
        return self.render(t, dom)

    # -- the whole case ---------------------------------------------------
    def client(self):
        fam = self.w((60, 4), (30, 6), (10, 'mapped'))
        if fam == 4:
            self.cip = self.rand_v4()
            return str(self.cip)
        if fam == 6:
            self.cip = self.rand_v6()
            return self.fmt_addr(self.cip)
        self.cip = self.rand_v4()
        return self.r.choice(('::ffff:', '::FFFF:', '0:0:0:0:0:ffff:')) + \
            str(self.cip)

    def domain(self):
        x = self.r.random()
        if x < 0.05:                             # near the length limits
            total = self.r.choice((250, 252, 253, 254, 255, 260))
            label = self.r.choice((62, 63, 63, 64))
            labels = []
            rest = total - len('example.com')
            while rest > 1:
                n = min(label, rest - 1)
                labels.append(('l%d' % len(labels) + 'x' * 70)[:n])
                rest -= n + 1
            return '.'.join(labels + ['example.com'])
        if x < 0.08:
            return ('x' * self.r.choice((62, 63, 64))) + '.example.org'
        if x < 0.35:
            return self.r.choice(ZONES)
        return self.fresh()

    def local(self):
        x = self.r.random()
        if x < 0.05:
            n = self.r.choice((64, 65, 200, 255, 256, 500, 1000, 1024))
            return ''.join(self.r.choice('abcxyz.-+') for _ in range(n - 1)) \
                + 'z'
        if x < 0.2:
            return self.r.choice(ODD_LOCALS)
        return self.r.choice(LOCALS)

    def build(self):
        r = self.r
        self.case = Case(self.cid, self.client())
        d = self.domain()
        null = self.chance(0.15)
        x = r.random()
        if (null and self.chance(0.85)) or (not null and x < 0.7):
            h = self.fresh() if not null or self.chance(0.5) else d
        else:
            h = self.w((3, '[%s]' % self.rand_v4()), (1, ''),
                       (1, 'localhost'), (1, 'OEMCOMPUTER'),
                       (1, '[IPv6:2001:db8::1]'), (2, self.fresh()))
        helo = h + '.' if h and self.chance(0.05) else h
        self.case.helo = helo.encode('latin-1')
        if null:
            self.case.sender = None
            self.l, self.o, self.s = 'postmaster', h, 'postmaster@' + h
            ident = h
        else:
            local = self.local()
            dom_written = d
            y = r.random()
            if y < 0.03:
                dom_written = d + '.'
            elif y < 0.08:
                dom_written = d.upper()
            if r.random() < 0.04:
                sender = dom_written                  # no '@'
                self.l = 'postmaster'
            else:
                sender = local + '@' + dom_written
                self.l = local or 'postmaster'
            if r.random() < 0.02:
                sender = local + '@[192.0.2.1]'
            self.case.sender = sender.encode('latin-1')
            self.o = d
            self.s = self.l + '@' + d
            ident = d
        self.h = h
        ident = ident.lower()
        if ident and 0 < len(ident) <= 255:
            if self.chance(0.96):
                self.spf_at(ident, 0)
            elif self.chance(0.5):
                self.rr(ident, 'TXT', [b'no spf here'])
        if ident:
            self.referenced.append(ident)
        # DNS errors and timeouts here and there
        if self.referenced and self.chance(0.18):
            for _ in range(self.w((3, 1), (1, 2))):
                name = r.choice(self.referenced)
                rtype = r.choice(('TXT', 'A', 'AAAA', 'MX', 'PTR', '*', '*'))
                if self.chance(0.75):
                    self.case.rcodes.append(
                        (name, rtype,
                         self.w((6, 2), (3, 5), (1, 6), (1, 9), (1, 10),
                                (1, 15), (1, 3), (1, 0))))
                else:
                    self.case.timeouts.append((name, rtype))
        if ident and self.chance(0.03):
            self.case.rcodes.append((ident, 'TXT', 2))
        return self.normalized(self.case)

    @staticmethod
    def normalized(case):
        """FORMAT writes names in lower case; records whose name (or a
        name in their data) DNS cannot hold are dropped."""
        rrs = []
        for name, rtype, ttl, data in case.rrs:
            if rtype in ('CNAME', 'PTR'):
                data = data.lower()
                target = data
            elif rtype == 'MX':
                data = (data[0], data[1].lower())
                target = data[1]
            else:
                target = 'ok'
            if valid_name(name) and valid_name(target):
                rrs.append((name.lower(), rtype, ttl, data))
        case.rrs = rrs
        case.rcodes = [(n.lower(), t, v) for n, t, v in case.rcodes
                       if valid_name(n)]
        case.timeouts = [(n.lower(), t) for n, t in case.timeouts
                         if valid_name(n)]
        return case


def generate(seed, index):
    rng = random.Random('%s/%d' % (seed, index))
    return Gen(rng, 's%s-%d' % (seed, index)).build()


# ---------------------------------------------------------------------------
# Running the C side

def c_command(spec):
    return shlex.split(spec) if ' ' in spec else [spec]


C_EXTRA = {}      # id -> the extra fields of "build/spfdiff -v"


def run_c_once(cmd, cases, timeout):
    """One run of build/spfdiff -> ({id: (result, exp bytes|None)}, why it
    failed or None)"""
    text = ''.join(c.text() for c in cases).encode('latin-1')
    why = None
    try:
        p = subprocess.run(cmd, input=text, capture_output=True,
                           timeout=timeout)
        stdout = p.stdout
        if p.returncode != 0:
            why = 'exit status %d: %s' % (
                p.returncode,
                p.stderr.decode('utf-8', 'replace').strip()[-300:])
    except subprocess.TimeoutExpired as e:
        stdout, why = e.stdout or b'', 'no answer in %g s' % timeout
    out = {}
    for line in stdout.decode('latin-1').splitlines():
        # "<id> <result> <exp-hex|->", and with -v more fields (kept in
        # C_EXTRA for the reason lines); a result may also be a word of
        # the binary's own ("error", "badcase")
        f = line.split(' ')
        if len(f) < 3:
            continue
        res, exp = f[1], f[2]
        try:
            if res == 'fail':           # "-": an empty explanation
                exp = b'' if exp == '-' else bytes.fromhex(exp)
            else:
                exp = None
        except ValueError:
            continue
        out[f[0]] = (res, exp)
        if len(f) > 3:
            C_EXTRA[f[0]] = ' '.join(f[3:])
    return out, why


def run_c(cmd, cases, timeout=300):
    """Run build/spfdiff over cases -> {id: (result, exp bytes|None)}.
    Cases left without an answer (a crash, a hang) are run again, halved
    until the case at fault is alone; it gets ('spfdiff-error', why)."""
    out, why = run_c_once(cmd, cases, timeout)
    missing = [c for c in cases if c.id not in out]
    if not missing:
        return out
    if why is None:              # a clean exit that skipped cases
        for c in missing:
            out[c.id] = ('spfdiff-error', b'no answer for the case')
    elif len(cases) == 1:
        out[cases[0].id] = ('spfdiff-error', why.encode())
    elif len(missing) < len(cases):
        out.update(run_c(cmd, missing, timeout))
    else:
        half = len(cases) // 2
        out.update(run_c(cmd, cases[:half], timeout))
        out.update(run_c(cmd, cases[half:], timeout))
    return out


# ---------------------------------------------------------------------------
# Known divergences.  tests/diff/known-divergences lists them; each id has
# here either
#   @known(id): a predicate over (case, pyspf's answer, spfpd's answer),
#       answers being (result, explanation bytes or None), or
#   @pyspf_fix(id): for a pyspf bug, a function of the case returning None
#       when the bug cannot matter, else a function that corrects pyspf's
#       query object.  A divergence is known when pyspf with some (at most
#       MAX_FIXES) applicable corrections agrees with spfpd, or then differs
#       only as a @known predicate allows.

KNOWN = {}
FIXES = {}
MAX_FIXES = 4


def known(kid):
    def register(fn):
        KNOWN[kid] = fn
        return fn
    return register


def pyspf_fix(kid):
    def register(fn):
        FIXES[kid] = fn
        return fn
    return register


def same(a, b):
    return a[0] == b[0] and (a[0] != 'fail' or a[1] == b[1])


def both_fail(py, c):
    return py[0] == c[0] == 'fail' and py[1] != c[1]


def nibble_case_equal(case, py_text, c_text):
    """py_text (pyspf's) is c_text (spfpd's) but for the case of the hex
    letters inside a run of dotted nibbles (an IPv6 %{i}, also as few as
    two nibbles of a %{i2}); everything else must be equal, case too."""
    if len(py_text) != len(c_text):
        return False
    if py_text == c_text:
        return True
    if ':' not in case.ip or \
            case.ip.lower().startswith(('::ffff:', '0:0:0:0:0:ffff:')):
        return False
    in_run = bytearray(len(py_text))
    for m in re.finditer(rb'(?:[0-9A-F]\.)+[0-9A-F]', py_text):
        in_run[m.start():m.end()] = b'\x01' * (m.end() - m.start())
    for i, (x, y) in enumerate(zip(py_text, c_text)):
        if x != y and not (in_run[i] and bytes([x]).lower() == bytes([y])):
            return False
    return True


@known('exp-ip6-i-case')
def _ip6_i_case(case, py, c):
    # pyspf writes the nibbles of an IPv6 %{i} in upper case
    if not both_fail(py, c) or ':' not in case.ip or \
            case.ip.lower().startswith(('::ffff:', '0:0:0:0:0:ffff:')):
        return False
    return nibble_case_equal(case, py[1], c[1])


@known('pyspf-exp-domain-after-include')
def _exp_domain_after_include(case, py, c):
    # pyspf expands the explanation of a fail decided by an include:
    # term with the <domain> of that include still current, so its %{p}
    # picks another of the validated names; the texts differ only there
    if not both_fail(py, c) or not any(
            re.search(rb'%\{p', d, re.I) for d in txt_data(case)) or \
            not re.search(rb'include:', b' '.join(txt_data(case)), re.I):
        return False
    names = sorted({d.lower() for _, t, _, d in case.rrs if t == 'PTR'},
                   key=len, reverse=True)

    def norm(text):
        text = text.lower()
        for n in names:
            text = text.replace(n.encode('latin-1'), b'<p>')
        return text
    return norm(py[1]) == norm(c[1])


EXP_CAP = 512


@known('exp-length-cap')
def _exp_length_cap(case, py, c):
    # spfpd cuts an explanation at 512 bytes; pyspf gives it whole
    # (the cut text may also hold an IPv6 %{i}: exp-ip6-i-case)
    return both_fail(py, c) and len(c[1]) == EXP_CAP and \
        len(py[1]) > EXP_CAP and \
        nibble_case_equal(case, py[1][:EXP_CAP], c[1])


def identity_domain(case):
    """(local part, domain) as RFC 7208 4.3 and RFC 5321 4.1.2 split the
    identity: the domain follows the last '@' (a quoted local part may
    hold one); no '@' or an empty local part gives "postmaster"."""
    if case.sender is None:
        return 'postmaster', case.helo.decode('latin-1')
    s = case.sender.decode('latin-1')
    local, at, dom = s.rpartition('@')
    if not at:
        return 'postmaster', s
    return local or 'postmaster', dom


@pyspf_fix('pyspf-trailing-dot-domain')
def _trailing_dot(case):
    # pyspf takes a domain that ends in a dot as malformed: result none.
    # Corrected: the domain checked loses its dot, in %{d}, %{o} and %{s}
    # too (spfpd's choice: the same name).
    local, dom = identity_domain(case)
    if not dom.endswith('.') or dom.endswith('..'):
        return None

    def fix(q):
        q.d = dom[:-1]
        if q.o.endswith('.'):
            q.o = q.o[:-1]
        if q.s.endswith('.'):
            q.s = q.s[:-1]
    return fix


@pyspf_fix('helo-trailing-dot-macro')
def _helo_dot(case):
    # %{h} of the HELO "mail.example.com." keeps the dot in pyspf; spfpd
    # drops it.  Corrected: %{h} without the final dot.
    h = case.helo.decode('latin-1')
    if not h.endswith('.') or h.endswith('..'):
        return None

    def fix(q):
        q.h = h[:-1]
    return fix


RE_TOPLABEL = re.compile(r'(?:[0-9a-z]*[a-z][0-9a-z]*|'
                         r'[0-9a-z]+-[0-9a-z-]*[0-9a-z])$', re.I)


def malformed_domain(dom):
    """RFC 7208 4.3 "not a multi-label domain name", or a last label that
    is no toplabel (7.1 domain-end; RFC 3696 2: no all-numeric TLD), as in
    "localhost", "[IPv6:2001:db8::1]", "[192.0.2.1]"; one final dot
    ignored.  Empty and long labels are left out: pyspf handles those."""
    if dom.endswith('.') and not dom.endswith('..'):
        dom = dom[:-1]
    return '.' not in dom or not RE_TOPLABEL.match(dom.rsplit('.', 1)[1])


@pyspf_fix('pyspf-malformed-domain')
def _malformed_domain(case):
    # pyspf evaluates a single-label domain (HELO "localhost") or one with
    # no top label ("[192.0.2.1]").  Corrected: none, without a lookup.
    local, dom = identity_domain(case)
    if not malformed_domain(dom):
        return None

    def fix(q):
        q.check = lambda spf=None: ('none', 250, '')
    return fix


# pyspf's query.expand again, with switches for its bugs (set in q._fx):
#   'strict-macro'  a macro-expand outside RFC 7208 7.1's grammar is a
#                   syntax error (pyspf accepts any non-alphanumeric
#                   delimiters: %{l:}, %{d2r!})
#   'cut-all'       a name longer than 253 loses labels on the left until
#                   it fits (pyspf removes one label only)
#   'exp-uncut'     explanation text is not cut at all (pyspf cuts it
#                   like a name when it is over 253 and has a dot)
RE_MACRO_BODY = re.compile(r'[a-z][0-9]*r?[.\-+,/_=]*$', re.I)
RE_MACRO_LOOSE = re.compile(r'[a-z][0-9]*r?[^0-9a-z]*$', re.I)


def bad_macros(data):
    """the macro-expand bodies in data (bytes) that pyspf accepts and RFC
    7208 7.1's grammar does not"""
    out = []
    for m in re.finditer(rb'%\{([^}]*)\}', data):
        body = m.group(1).decode('latin-1')
        if RE_MACRO_LOOSE.match(body) and not RE_MACRO_BODY.match(body):
            out.append(body)
    return out


def zero_digit(body):
    m = re.match(r'[a-z]([0-9]+)', body, re.I)
    return m is not None and int(m.group(1)) == 0


def expand_fixed(q, s, stripdot=True):
    fx = q._fx
    for m in spf.RE_CHAR.finditer(s):
        body = m.group(0)[2:-1]
        if not m.group(0).startswith('%{'):
            continue
        if 'strict-macro' in fx and not RE_MACRO_BODY.match(body):
            raise spf.PermError('invalid macro (RFC 7208 7.1)', m.group(0))
        if 'nonzero-digit' in fx and zero_digit(body):
            raise spf.PermError('DIGIT 0 (RFC 7208 7.1)', m.group(0))
    if s.find('%') >= 0 and spf.RE_INVALID_MACRO.search(s):
        raise spf.PermError('invalid-macro-char ', s)
    end = 0
    result = ''
    for i in spf.RE_CHAR.finditer(s):
        result += s[end:i.start()]
        macro = s[i.start():i.end()]
        if macro == '%%':
            result += '%'
        elif macro == '%_':
            result += ' '
        elif macro == '%-':
            result += '%20'
        else:
            letter = macro[2].lower()
            if letter == 'p':
                q.getp()
            elif letter in 'crt' and stripdot:
                raise spf.PermError(
                    'c,r,t macros allowed in exp= text only', macro)
            expansion = getattr(q, letter, q)
            if expansion:
                if expansion == q:
                    raise spf.PermError('Unknown Macro Encountered', macro)
                e = spf.expand_one(expansion, macro[3:-1],
                                   spf.JOINERS.get(letter))
                if letter != macro[2]:
                    e = spf.urllibparse.quote(e, '~')
                result += e
        end = i.end()
    result += s[end:]
    if stripdot and result.endswith('.'):
        result = result[:-1]
    if '.' in result and len(result) > 253:
        if not stripdot and 'exp-uncut' in fx:
            pass
        elif 'cut-all' in fx:
            while len(result) > 253 and '.' in result:
                result = result[result.index('.') + 1:]
        else:
            result = result[result.index('.') + 1:]
    return result


def expand_switch(q, name):
    if not hasattr(q, '_fx'):
        q._fx = set()
        q.expand = lambda s, stripdot=True: expand_fixed(q, s, stripdot)
    q._fx.add(name)


def txt_data(case):
    return [b''.join(d) for _, t, _, d in case.rrs if t == 'TXT']


@pyspf_fix('pyspf-macro-delimiter')
def _macro_delimiter(case):
    # pyspf accepts %{l:}, %{d2r!}: any non-alphanumeric delimiter
    if not any(bad_macros(d) for d in txt_data(case)):
        return None
    return lambda q: expand_switch(q, 'strict-macro')


@pyspf_fix('pyspf-macro-zero-digit')
def _macro_zero(case):
    # pyspf accepts %{d0} (and reads it as all labels but the first)
    if not any(zero_digit(m.group(1).decode('latin-1'))
               for d in txt_data(case)
               for m in re.finditer(rb'%\{([^}]*)\}', d)):
        return None
    return lambda q: expand_switch(q, 'nonzero-digit')


@pyspf_fix('pyspf-name-cut-once')
def _name_cut_once(case):
    # a name over 253 after expansion: pyspf removes one label only
    if not any(b'%' in d for d in txt_data(case)):
        return None
    return lambda q: expand_switch(q, 'cut-all')


@pyspf_fix('pyspf-exp-text-cut')
def _exp_text_cut(case):
    # explanation text over 253 with a dot: pyspf cuts it like a name
    if not any(b'exp=' in d.lower() for d in txt_data(case)):
        return None
    return lambda q: expand_switch(q, 'exp-uncut')


def spf_records(case):
    return [d for d in txt_data(case)
            if d[:7].lower() == b'v=spf1 ' or d.lower() == b'v=spf1']


@pyspf_fix('pyspf-record-control-char')
def _record_control(case):
    # pyspf accepts control characters (DEL, ...) in a record
    if not any(re.search(rb'[\x00-\x1f\x7f]', d) for d in spf_records(case)):
        return None

    def fix(q):
        dns_spf = q.dns_spf

        def checked(domain):
            rec = dns_spf(domain)
            if rec and re.search(r'[\x00-\x1f\x7f]', rec):
                raise spf.PermError('control character in record', domain)
            return rec
        q.dns_spf = checked
    return fix


@pyspf_fix('pyspf-quoted-local-at')
def _quoted_at(case):
    # pyspf splits the sender at its first '@', inside a quoted local part
    if case.sender is None or not case.sender.startswith(b'"') or \
            case.sender.count(b'@') < 2:
        return None
    local, dom = identity_domain(case)

    def fix(q):
        q.l, q.o, q.d = local, dom, dom
    return fix


@pyspf_fix('pyspf-void-secondary')
def _void_secondary(case):
    # pyspf counts as void lookups the A/AAAA lookups of the hosts of an
    # MX answer and of PTR names; corrected: they do not count.
    if not any(t in ('MX', 'PTR') for _, t, _, _ in case.rrs):
        return None

    def fix(q):
        def dns_a(name, A='A'):
            return q.dns(name, A, ignore_void=True) if name else []

        def no_void(method):
            def run(*args):
                q.dns_a = dns_a
                try:
                    return method(q, *args)
                finally:
                    del q.dns_a
            return run
        q.dns_mx = no_void(spf.query.dns_mx)
        q.validated_ptrs = no_void(spf.query.validated_ptrs)
    return fix


@pyspf_fix('pyspf-p-macro-lookups')
def _p_macro(case):
    # pyspf counts the PTR and A/AAAA lookups behind %{p} as void lookups
    # and a DNS error there makes the result temperror (or, in exp= text,
    # which pyspf expands before the mechanisms, drops the explanation).
    # Corrected: they count for nothing, and a DNS error gives "unknown".
    if not any(re.search(rb'%\{p', d, re.I) for d in txt_data(case)):
        return None

    def fix(q):
        def getp():
            if q.p:
                return q.p
            dns = q.dns
            q.dns = lambda name, qtype, cnames=None, ignore_void=False: \
                dns(name, qtype, cnames, True)
            try:
                return spf.query.getp(q)
            except spf.TempError:
                q.p = 'unknown'
                return q.p
            finally:
                del q.dns
        q.getp = getp
    return fix


def _check0_line(text):
    import inspect
    lines, first = inspect.getsourcelines(spf.query.check0)
    for i, line in enumerate(lines):
        if text in line:
            return first + i
    return None


REDIRECT_USE_LINE = _check0_line('redirect_record = self.dns_spf(redirect)')


@pyspf_fix('pyspf-redirect-counted-early')
def _redirect_early(case):
    # pyspf counts redirect= against the 10 DNS terms when it parses the
    # record, also when a mechanism matches and redirect= is never used.
    # Corrected: counted when it is used.
    if REDIRECT_USE_LINE is None or \
            not any(b'redirect=' in d.lower() for d in spf_records(case)):
        return None

    def fix(q):
        def check_lookups():
            f = sys._getframe(1)
            mech = f.f_locals.get('mech')
            if f.f_code.co_name == 'check0' and isinstance(mech, str) and \
                    mech.lower().startswith('redirect='):
                return                  # parsing: not yet
            spf.query.check_lookups(q)

        def dns_spf(domain):
            f = sys._getframe(1)
            if f.f_code.co_name == 'check0' and \
                    f.f_lineno == REDIRECT_USE_LINE:
                spf.query.check_lookups(q)      # redirect= used: counted
            return spf.query.dns_spf(q, domain)
        q.check_lookups = check_lookups
        q.dns_spf = dns_spf
    return fix


@pyspf_fix('pyspf-p-cached')
def _p_cached(case):
    # pyspf works %{p} out once per check, for the <domain> current then
    # (an include's, say), and reuses it for every other domain.
    # Corrected: worked out again for the domain of each expansion.
    if not any(re.search(rb'%\{p', d, re.I) for d in txt_data(case)):
        return None

    def fix(q):
        inner = q.__dict__.get('getp')

        def getp():
            q.p = None
            return inner() if inner else spf.query.getp(q)
        q.getp = getp
    return fix


@pyspf_fix('pyspf-p-case')
def _p_case(case):
    # pyspf looks for the <domain> among the validated names of %{p} with
    # case-sensitive string compares ('B1.EXAMPLE.ORG' is not found in
    # 'mail4.b1.example.org').  Corrected: without regard to case.
    if not any(re.search(rb'%\{p', d, re.I) for d in txt_data(case)):
        return None

    def fix(q):
        inner = q.__dict__.get('getp')

        def getp():
            d = q.d
            q.d = d.lower()
            try:
                return inner() if inner else spf.query.getp(q)
            finally:
                q.d = d
        q.getp = getp
    return fix


_expand_one = spf.expand_one


def _expand_one_rejoin(expansion, string, joiner):
    if getattr(_current, 'rejoin', False):
        joiner = '.'
    return _expand_one(expansion, string, joiner)


spf.expand_one = _expand_one_rejoin


@pyspf_fix('pyspf-macro-rejoin')
def _macro_rejoin(case):
    # pyspf rejoins the parts of a split macro value with "." only for
    # %{l} and %{s} (JOINERS); for %{d}, %{o}, %{h}, ... it keeps the
    # delimiters it split at.  Corrected: "." for every letter.
    if not any(re.search(rb'%\{[a-z]\d*r?[-+,/_=]*[-+,/_=][-+,/_=.]*\}',
                         d, re.I) for d in txt_data(case)):
        return None

    def fix(q):
        _current.rejoin = True
    return fix


@pyspf_fix('pyspf-include-self-early')
def _include_self(case):
    # pyspf refuses "include:<the domain itself>" when it parses the
    # record.  Corrected: the include is evaluated when it is reached (a
    # loop then ends at the 10 DNS-term limit).
    if not any(b'include:' in d.lower() for d in spf_records(case)):
        return None

    def fix(q):
        def validate_mechanism(mech):
            try:
                return spf.query.validate_mechanism(q, mech)
            except spf.PermError as e:
                if not str(e.msg).startswith('include has trivial'):
                    raise
            result = spf.RESULTS.get(mech[0], 'pass')
            arg = q.expand_domain(mech.split(':', 1)[1])
            return mech, 'include', arg, q.cidrmax, result
        q.validate_mechanism = validate_mechanism
    return fix


@pyspf_fix('pyspf-unknown-modifier-twice')
def _modifier_twice(case):
    # pyspf refuses any modifier written twice, not only redirect= and exp=
    def twice(rec):
        names = [t.split(b'=', 1)[0].lower() for t in rec.split()[1:]
                 if re.match(rb'[a-z][a-z0-9_.-]*=', t, re.I)]
        return any(names.count(n) > 1 and n not in (b'exp', b'redirect')
                   for n in names)
    if not any(twice(d) for d in spf_records(case)):
        return None

    def fix(q):
        def note_error(*msg):
            if msg and str(msg[0]).endswith('= MUST appear at most once') \
                    and msg[0] != 'exp= MUST appear at most once':
                return q.perm_error
            return spf.query.note_error(q, *msg)
        q.note_error = note_error
    return fix


def classify(case, py, c, ids):
    """-> the known divergence ids that explain (py, c), or None"""
    preds = [k for k in ids if k in KNOWN]
    for kid in preds:
        if KNOWN[kid](case, py, c):
            return [kid]
    fixes = []
    for kid in ids:
        if kid in FIXES:
            fn = FIXES[kid](case)
            if fn is not None:
                fixes.append((kid, fn))
    for n in range(1, min(MAX_FIXES, len(fixes)) + 1):
        for combo in itertools.combinations(fixes, n):
            def fix(q, combo=combo):
                for _, fn in combo:
                    fn(q)
            py2 = pyspf_check(case, fix=fix)
            used = [kid for kid, _ in combo]
            if same(py2, c):
                return used
            for kid in preds:
                if KNOWN[kid](case, py2, c):
                    return used + [kid]
    return None


def load_known(path):
    """known-divergences -> {id: {field: value}}"""
    entries = {}
    cur = last = None
    if not os.path.exists(path):
        return entries
    with open(path) as f:
        for line in f:
            if line.startswith('#'):
                continue
            if not line.strip():
                cur = None
                continue
            if line[0] in ' \t' and cur is not None and last:
                cur[last] += ' ' + line.strip()
                continue
            key, _, value = line.partition(':')
            key, value = key.strip(), value.strip()
            if key == 'id':
                cur = entries.setdefault(value, {'id': value})
            elif cur is not None:
                cur[key] = value
            last = key
    return entries


# ---------------------------------------------------------------------------
# The runner

def show(ans):
    res, exp = ans
    if exp is None:
        return res
    return '%s %r' % (res, exp.decode('latin-1')[:200])


def readable_extra(extra):
    """spfdiff -v's "<problem-hex|-> <questions>" made readable"""
    f = extra.split(' ')
    try:
        if f[0] != '-':
            f[0] = repr(bytes.fromhex(f[0]).decode('latin-1'))
    except ValueError:
        pass
    return 'problem %s; questions %s' % (f[0], ' '.join(f[1:]))


def work_generate(job):
    """worker: generate case (seed, index) and evaluate it with pyspf"""
    seed, index = job
    case = generate(seed, index)
    t0 = time.perf_counter()
    ans = pyspf_check(case)
    return case, ans, time.perf_counter() - t0


def work_case(case):
    t0 = time.perf_counter()
    ans = pyspf_check(case)
    return case, ans, time.perf_counter() - t0


class Stats:
    def __init__(self):
        self.passed = self.failed = 0
        self.known = {}
        self.results = {}
        self.pyspf_time = 0.0
        self.cases = 0
        self.c_time = 0.0
        self.failures = []


def compare(case, py, c, ids, stats, save_dir, origin):
    stats.results[py[0]] = stats.results.get(py[0], 0) + 1
    if py == c or (py[0] == c[0] and py[0] != 'fail'):
        stats.passed += 1
        return
    kids = classify(case, py, c, ids)
    if kids:
        stats.passed += 1
        kid = '+'.join(kids)
        stats.known[kid] = stats.known.get(kid, 0) + 1
        return
    stats.failed += 1
    reason = '%s: pyspf %s, spfpd %s' % (case.id, show(py), show(c))
    if case.id in C_EXTRA:
        reason += ' [%s]' % readable_extra(C_EXTRA[case.id])
    if origin:
        reason += ' (%s)' % origin
    stats.failures.append(reason)
    if save_dir:
        os.makedirs(save_dir, exist_ok=True)
        base = os.path.join(save_dir, case.digest())
        with open(base + '.case', 'w') as f:
            f.write(case.text())
        with open(base + '.why', 'w') as f:
            f.write(reason + '\n')


def run_batch(args, pool, jobs, worker, cmd, ids, stats, cases_file=None):
    """Evaluate jobs with pyspf in the pool, chunk by chunk; each finished
    chunk goes to the C binary in a thread while pyspf goes on."""
    c_answers = {}
    pairs = []
    out = open(cases_file, 'w') if cases_file else None
    # one C process at a time, in a thread, while the pool runs pyspf
    c_runner = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    futures = []

    def c_chunk(chunk):
        t0 = time.perf_counter()
        ans = run_c(cmd, chunk, args.c_timeout)
        stats.c_time += time.perf_counter() - t0
        return ans

    chunk = []
    it = pool.imap(worker, jobs, chunksize=25) if pool else map(worker, jobs)
    for case, ans, dt in it:
        stats.pyspf_time += dt
        pairs.append((case, ans))
        chunk.append(case)
        if out:
            out.write(case.text())
        if len(chunk) >= CHUNK:
            if cmd:
                futures.append(c_runner.submit(c_chunk, chunk))
            chunk = []
    if chunk and cmd:
        futures.append(c_runner.submit(c_chunk, chunk))
    for f in futures:
        c_answers.update(f.result())
    c_runner.shutdown()
    if out:
        out.close()
    for case, py in pairs:
        stats.cases += 1
        if not cmd:
            stats.passed += 1
            stats.results[py[0]] = stats.results.get(py[0], 0) + 1
            continue
        c = c_answers.get(case.id, ('spfdiff-error', b'no answer'))
        compare(case, py, c, ids, stats, args.save_dir,
                getattr(case, 'origin', ''))
    return pairs, c_answers


def report(stats, elapsed, ids_used):
    if stats.results:
        print('pyspf results: ' + ', '.join(
            '%s %d' % kv for kv in sorted(stats.results.items())))
    for kid, n in sorted(stats.known.items()):
        print('known %s: %d' % (kid, n))
    for line in stats.failures[:30]:
        print('DIVERGENCE ' + line)
    if len(stats.failures) > 30:
        print('... %d more divergences' % (len(stats.failures) - 30))
    if stats.cases:
        line = '%d cases in %.1f s: %.0f cases/s' % (
            stats.cases, elapsed, stats.cases / max(elapsed, 1e-3))
        if stats.pyspf_time:
            line += '; pyspf %.0f cases/s per core' % (
                stats.cases / max(stats.pyspf_time, 1e-3))
        if stats.c_time:
            line += '; spfdiff %.0f cases/s' % (
                stats.cases / max(stats.c_time, 1e-3))
        print(line)
    print('spfdiff: %d passed, %d failed' % (stats.passed, stats.failed))
    return 1 if stats.failed else 0


def make_pool(jobs):
    if jobs <= 1:
        return None
    return multiprocessing.get_context('fork').Pool(jobs)


def cmd_fuzz(args):
    cmd = c_command(args.spfdiff) if args.spfdiff else None
    known_entries = load_known(args.known)
    ids = list(known_entries)
    for kid in ids:
        if kid not in KNOWN and kid not in FIXES:
            print('warning: known divergence %s has no classifier' % kid)
    stats = Stats()
    os.makedirs(args.out_dir, exist_ok=True)
    pool = make_pool(args.jobs)
    t0 = time.time()
    try:
        if args.time:
            # the cases of the batch under way (divergences are saved apart)
            seed = args.seed if args.seed is not None else \
                int(time.time()) % 1000000
            while time.time() - t0 < args.time:
                n = args.cases or 5000
                run_batch(args, pool, [(seed, i) for i in range(n)],
                          work_generate, cmd, ids, stats,
                          os.path.join(args.out_dir, 'cases-current.txt'))
                print('seed %s: %d cases, %d unexplained so far' % (
                    seed, n, stats.failed), flush=True)
                seed += 1
        else:
            seed = args.seed if args.seed is not None else 1
            n = args.cases or 10000
            run_batch(args, pool, [(seed, i) for i in range(n)],
                      work_generate, cmd, ids, stats,
                      os.path.join(args.out_dir, 'cases-%s.txt' % seed))
    finally:
        if pool:
            pool.close()
            pool.join()
    return report(stats, time.time() - t0, ids)


def read_case_files(paths):
    cases = []
    for path in paths:
        with open(path, 'rb') as f:
            text = f.read().decode('latin-1')
        for c in parse_cases(text):
            c.origin = os.path.basename(path)
            cases.append(c)
    return cases


def cmd_replay(args):
    cmd = c_command(args.spfdiff) if args.spfdiff else None
    ids = list(load_known(args.known))
    cases = read_case_files(args.replay)
    stats = Stats()
    t0 = time.time()
    c_answers = run_c(cmd, cases, args.c_timeout) if cmd else {}
    stats.c_time = time.time() - t0
    for case in cases:
        t1 = time.perf_counter()
        py = pyspf_check(case, trace=args.trace)
        stats.pyspf_time += time.perf_counter() - t1
        log = py[2] if args.trace else None
        py = py[:2]
        c = c_answers.get(case.id, ('spfdiff-error', b'no answer'))
        before = stats.failed
        stats.cases += 1
        if cmd:
            compare(case, py, c, ids, stats, None, case.origin)
        else:
            stats.passed += 1
        verdict = 'agree' if stats.failed == before else 'DIVERGE'
        print('%s %s: pyspf %s; spfpd %s [%s]' % (
            case.origin, case.id, show(py), show(c) if cmd else '-', verdict))
        if log is not None:
            for name, rtype, outcome in log:
                print('    %s %s -> %s' % (name, rtype, outcome))
    stats.failures = []        # already shown case by case
    return report(stats, time.time() - t0, ids)


def cmd_pyspf(args):
    """Print pyspf's answers in build/spfdiff's output format."""
    if args.as_binary:
        cases = parse_cases(sys.stdin.buffer.read().decode('latin-1'))
    else:
        cases = read_case_files(args.pyspf)
    for case in cases:
        res, exp = pyspf_check(case)[:2]
        if res == 'pyspf-exception':
            res = 'permerror'
        sys.stdout.write('%s %s %s\n' % (
            case.id, res, (exp.hex() or '-') if res == 'fail' else '-'))
    sys.stdout.flush()
    return 0


def cmd_generate(args):
    seed = args.seed if args.seed is not None else 1
    for i in range(args.cases or 10):
        sys.stdout.write(generate(seed, i).text())
    return 0


# ---------------------------------------------------------------------------
# Self-test: the stand-in for build/spfdiff is pyspf itself

def self_test(args):
    ok = True

    def check(cond, what):
        nonlocal ok
        print('%s %s' % ('ok  ' if cond else 'FAIL', what))
        ok = ok and cond

    # the world's DNS semantics
    c = Case('t', '192.0.2.1')
    c.rrs = [('a.example', 'CNAME', 0, 'b.example'),
             ('b.example', 'TXT', 0, [b'v=spf1 ', b'-all']),
             ('b.example', 'A', 0, '192.0.2.9'),
             ('l1.example', 'CNAME', 0, 'l2.example'),
             ('l2.example', 'CNAME', 0, 'l1.example'),
             ('x.y.example', 'A', 0, '192.0.2.2'),
             ('r.example', 'A', 0, '192.0.2.3')]
    for i in range(9):
        c.rrs.append(('c%d.example' % i, 'CNAME', 0, 'c%d.example' % (i + 1)))
    c.rrs.append(('c9.example', 'A', 0, '192.0.2.4'))
    c.rcodes = [('r.example', 'A', 5), ('b.example', 'MX', 2),
                ('z.example', '*', 0)]
    c.timeouts = [('t.example', '*')]
    w = World(c)

    def q(name, rtype):
        try:
            return w.query(name, rtype)
        except DNSRcode as e:
            return 'rcode %d' % e.rcode
        except DNSTimeout:
            return 'timeout'
    check(q('A.Example.', 'TXT') == [[b'v=spf1 ', b'-all']], 'CNAME, case')
    check(q('a.example', 'A') == ['192.0.2.9'], 'CNAME to A')
    check(q('a.example', 'MX') == 'rcode 2', 'rcode at the CNAME target')
    check(q('l1.example', 'A') == 'rcode 2', 'CNAME loop -> SERVFAIL')
    check(q('c1.example', 'A') == ['192.0.2.4'], '8 CNAME steps followed')
    check(q('c0.example', 'A') == 'rcode 2', '9 CNAME steps -> SERVFAIL')
    check(q('y.example', 'A') == [] and q('nx.example', 'A') == [],
          'NODATA and NXDOMAIN are empty')
    check(q('r.example', 'A') == 'rcode 5' and
          q('r.example', 'AAAA') == [], 'rcode per type, over rr')
    check(q('t.example', 'TXT') == 'timeout', 'timeout *')
    check(q('z.example', 'A') == [], 'rcode 0: empty')

    # format round trip and reproducibility
    texts = [generate('selftest', i).text() for i in range(500)]
    again = [generate('selftest', i).text() for i in range(500)]
    check(texts == again, 'generator is reproducible')
    back = [c.text() for c in parse_cases(''.join(texts))]
    check(back == texts, 'FORMAT round trip of 500 cases')
    maxlen = max(len(s) for c in parse_cases(''.join(texts))
                 for _, t, _, d in c.rrs if t == 'TXT' for s in d)
    check(maxlen <= 255, 'TXT strings at most 255 bytes (max %d)' % maxlen)

    # pyspf through the fake DNS, a few hand cases
    def case(ip, sender, helo, rrs):
        c = Case('h', ip, helo.encode(),
                 None if sender is None else sender.encode())
        for name, rtype, data in rrs:
            c.rrs.append((name, rtype, 0, data))
        return pyspf_check(c)[0]
    check(case('192.0.2.1', 'u@ex.com', 'h', [
        ('ex.com', 'TXT', [b'v=spf1 a -all']),
        ('ex.com', 'A', '192.0.2.1')]) == 'pass', 'a pass')
    check(case('192.0.2.1', None, 'helo.ex.com', [
        ('helo.ex.com', 'TXT', [b'v=spf1 -exists:%{l}.%{d} +all']),
        ('postmaster.helo.ex.com', 'A', '127.0.0.2')]) == 'fail',
        'null sender: postmaster@helo')
    check(case('::ffff:192.0.2.1', 'u@ex.com', 'h', [
        ('ex.com', 'TXT', [b'v=spf1 ip4:192.0.2.0/24 -all'])]) == 'pass',
        'v4-mapped client matches ip4')

    # the whole pipeline with pyspf posing as build/spfdiff
    stand_in = '%s %s --as-binary' % (sys.executable,
                                     os.path.abspath(__file__))
    stats = Stats()
    pool = make_pool(args.jobs)
    n = args.cases or 3000
    t0 = time.time()
    try:
        class A:
            save_dir = None
            c_timeout = 300
        run_batch(A, pool, [('selftest', i) for i in range(n)],
                  work_generate, c_command(stand_in), [], stats)
    finally:
        if pool:
            pool.close()
            pool.join()
    elapsed = time.time() - t0
    check(stats.failed == 0 and stats.passed == n,
          'pipeline with the pyspf stand-in: %d agree' % stats.passed)
    missing = [r for r in RESULTS if stats.results.get(r, 0) < n / 100]
    check(not missing, 'every result at least 1%%: %s' % ', '.join(
        '%s %.1f%%' % (r, 100.0 * stats.results.get(r, 0) / n)
        for r in RESULTS))
    print('%d cases in %.1f s (pyspf twice): pyspf %.0f cases/s per core' % (
        n, elapsed, n / max(stats.pyspf_time, 1e-9)))
    print('spfdiff: %d passed, %d failed' % (1 if ok else 0, 0 if ok else 1))
    return 0 if ok else 1


def main():
    ap = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--spfdiff', help='the C binary (a command line)')
    ap.add_argument('--seed', type=int)
    ap.add_argument('--cases', type=int)
    ap.add_argument('--time', type=float,
                    help='run batches with new seeds for SECONDS')
    ap.add_argument('--jobs', type=int, default=2,
                    help='pyspf worker processes (default 2)')
    ap.add_argument('--c-timeout', type=float, default=300,
                    help='seconds build/spfdiff may take over one chunk')
    ap.add_argument('--out-dir', default='build/spfdiff-out',
                    help='where the generated case files go')
    ap.add_argument('--save-dir', default='build/spfdiff-out/divergences')
    ap.add_argument('--known', default=os.path.join(HERE,
                                                    'known-divergences'))
    ap.add_argument('--replay', nargs='+', metavar='FILE')
    ap.add_argument('--trace', action='store_true',
                    help='with --replay: show the DNS questions pyspf asked')
    ap.add_argument('--pyspf', nargs='+', metavar='FILE',
                    help="print pyspf's answers for case files")
    ap.add_argument('--as-binary', action='store_true',
                    help='read cases on stdin, answer like build/spfdiff')
    ap.add_argument('--generate', action='store_true',
                    help='print the cases of --seed')
    ap.add_argument('--self-test', action='store_true')
    args = ap.parse_args()
    if args.self_test:
        return self_test(args)
    if args.as_binary or args.pyspf:
        return cmd_pyspf(args)
    if args.generate:
        return cmd_generate(args)
    if args.replay:
        return cmd_replay(args)
    if not args.spfdiff:
        ap.error('--spfdiff is needed (or --self-test, --generate, --pyspf)')
    return cmd_fuzz(args)


if __name__ == '__main__':
    sys.exit(main())
