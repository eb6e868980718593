#!/usr/bin/python3
"""spftest.py - SPF checks of spfpd end to end: a real authoritative DNS
server (Debian's knotd) on loopback, spfpd as a daemon talking the Postfix
policy protocol on a UNIX socket, and the exact actions and header fields
it answers.  Also: the event loop does not block on a slow DNS answer,
and the DNS cache (TTL, size bound, in-flight coalescing, negative
answers), observed through the query log of tests/dnsserver.py.

With --suite iprev: the reverse DNS (iprev) check instead, against the
same server: pass, fail, permerror and temperror for IPv4 and IPv6, the
limit on PTR names, the refusals, the combined Authentication-Results
header and the whitelists.

Usage: spftest.py --spfpd build/spfpd [--suite spf|iprev] [--log FILE]
       [--only NAME]
Prints "ok NAME" / "FAIL NAME: why" and "SUITE: N passed, M failed".
"""
import argparse
import ipaddress
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from knot import Knot, dead_port  # noqa: E402
from harness import Fail, check, run_test  # noqa: E402

SANITIZER_MARKS = ('AddressSanitizer', 'runtime error:', 'LeakSanitizer')

def nibbles(addr):
    """The ip6.arpa labels of addr below 8.b.d.0.1.0.0.2.ip6.arpa."""
    full = ipaddress.IPv6Address(addr).exploded.replace(':', '')
    return '.'.join(reversed(full))[:-len('.8.b.d.0.1.0.0.2')]


ZONES = {
    'example.com': [
        '@ TXT "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8:1::/48 -all"',
        'soft TXT "v=spf1 ip4:192.0.2.0/24 ~all"',
        'neutral TXT "v=spf1 ?all"',
        'nospf A 192.0.2.99',
        'perm TXT "v=spf1 ip4:192.0.2.1 foo:bar -all"',
        'inc TXT "v=spf1 include:l1.example.com -all"',
        'l1 TXT "v=spf1 include:l2.example.com -all"',
        'l2 TXT "v=spf1 ip4:198.51.100.0/24 -all"',
        'redir TXT "v=spf1 redirect=l2.example.com"',
        'mxd TXT "v=spf1 mx -all"',
        'mxd MX 10 mx1.example.com.',
        'mx1 A 203.0.113.5',
        'ad TXT "v=spf1 a -all"',
        'ad A 203.0.113.6',
        'ptrd TXT "v=spf1 ptr -all"',
        'host.ptrd A 203.0.113.7',
        'ex TXT "v=spf1 exists:%{i}.ok.example.com -all"',
        '203.0.113.8.ok A 127.0.0.2',
        'expd TXT "v=spf1 -all exp=why.example.com"',
        # an explanation that overflowed libspf2's stack (fuzz_spf)
        'expbomb TXT "v=spf1 -all exp=bomb.example.com"',
        'bomb TXT "%s"' % ('%{O}S' * 43),
        'why TXT "Not from %{i}, sorry"',
        # a long explanation: replies much larger than requests
        'latefail TXT "v=spf1 -all exp=longwhy.example.com"',
        'longwhy TXT ' + ' '.join('"%s"' % ('Not from %{i}, sorry. ' * 10)
                                  for _ in range(4)),
        'mail A 192.0.2.1',
        'mail TXT "v=spf1 a -all"',
        'badhelo TXT "v=spf1 -all"',
        'gone TXT "v=spf1 include:missing.example.com -all"',
        'relay TXT "v=spf1 ip4:203.0.113.0/24 -all"',
        'wl A 203.0.113.9',
        # over 512 bytes: truncated over UDP, c-ares asks again over TCP
        'big TXT "v=spf1 %s" " ip4:192.0.2.0/24 -all"' %
        ' '.join('ip4:10.%d.0.0/16' % i for i in range(40)),
    ],
    '113.0.203.in-addr.arpa': [
        '7 PTR host.ptrd.example.com.',
    ],
    # reverse DNS for the iprev tests
    '2.0.192.in-addr.arpa': [
        '1 PTR mail.example.com.',
        '2 PTR elsewhere.example.com.',
        '3 PTR nxname.example.com.',
        '5 TXT "no PTR here"',
        '7 PTR relay.trusted.example.com.',
        '8 PTR fake.trusted.example.com.',
    ] + ['6 PTR n%d.example.com.' % i for i in range(1, 13)],
    '100.51.198.in-addr.arpa': [
        '1 PTR forger.example.com.',
    ],
    '8.b.d.0.1.0.0.2.ip6.arpa': [
        nibbles('2001:db8::1') + ' PTR mail6.example.com.',
        nibbles('2001:db8::2') + ' PTR elsewhere.example.com.',
    ],
}
def long_record(n):
    """v=spf1 with n ip4: terms and -all, cut into 255-byte strings."""
    rec = 'v=spf1' + ''.join(' ip4:10.%d.%d.0/24' % (i // 256, i % 256)
                             for i in range(n)) + ' -all'
    return ' '.join('"%s"' % rec[i:i + 255] for i in range(0, len(rec),
                                                            255))


def txt_rr(rec):
    """A TXT record of any length, cut into 255-byte strings."""
    return ' '.join('"%s"' % rec[i:i + 255] for i in range(0, len(rec), 255))


# Three ways forged mail got through (each must be refused), kept valid
# records all: libspf2 dropping what it cannot hold (wide, longa), exp=
# counted as DNS lookups (exp5, exp10).
INCS = ['i%d.spf-include-servers.example.com' % i for i in range(8)]
LONGA = ['%s.%s.%s.example.com' % (c * 60, 'b' * 60, 'c' * 50)
         for c in 'xyz']
ZONES['example.com'] += [
    'wide TXT ' + txt_rr('v=spf1 ' + ' '.join(
        'ip4:198.51.100.%d' % (100 + i) for i in range(20)) + ' ' +
        ' '.join('include:' + n for n in INCS) + ' -all'),
    'longa TXT ' + txt_rr('v=spf1 ' + ' '.join('a:' + n for n in LONGA) +
                          ' -all'),
    'expinc TXT "v=spf1 include:%s -all"' % INCS[0],
    'exp5 TXT "v=spf1 %s -all exp=why.example.com"' %
    ' '.join('include:' + n for n in INCS[:5]),
    'exp10 TXT "v=spf1 %s -all exp=why.example.com"' %
    ' '.join('a:h%d.hosts.example.com' % i for i in range(10)),
] + ['%s TXT "v=spf1 ip4:203.0.113.%d -all exp=why.example.com"' %
     (n[:-len('.example.com')], 50 + i) for i, n in enumerate(INCS)] + [
    '%s A 203.0.113.60' % n[:-len('.example.com')] for n in LONGA] + [
    'h%d.hosts A 203.0.113.%d' % (i, 70 + i) for i in range(10)]

ZONES['example.com'] += [
    # libspf2 silently drops the mechanisms past ~62 of this kind: such a
    # record is cut into pieces it can hold (not "neutral", no permerror)
    'long60 TXT ' + long_record(60),
    'long100 TXT ' + long_record(100),
    'elsewhere A 192.0.2.200',
    'elsewhere AAAA 2001:db8::99',
    'mail6 AAAA 2001:db8::1',
    'relay.trusted A 192.0.2.7',
    'forger A 198.51.100.1',
    'fake.trusted A 192.0.2.99',
] + ['n%d A %s' % (i, '192.0.2.6' if i == 11 else '192.0.2.250')
     for i in range(1, 13)]


class Daemon:
    def __init__(self, ctx, conf_extra, dns_servers):
        self.ctx = ctx
        self.dir = tempfile.mkdtemp(prefix='spfd-', dir=ctx.tmp)
        self.sock = os.path.join(self.dir, 's.sock')
        self.conf = os.path.join(self.dir, 'spfpd.conf')
        self.logpath = os.path.join(self.dir, 'spfpd.log')
        opts = {'listen': 'unix:' + self.sock, 'user': '',
                'skip_addresses': '', 'authserv_id': 'mx.test',
                'dns_servers': dns_servers, 'dns_timeout': '300ms',
                'dns_tries': '1', 'ptr_check': ctx.ptr_default}
        for line in conf_extra.splitlines():
            if line.strip():
                k, v = line.split('=', 1)
                opts[k.strip()] = v.strip()
        with open(self.conf, 'w') as f:
            for k, v in opts.items():
                f.write('%s = %s\n' % (k, v))
        self.err = open(self.logpath, 'w+')
        self.proc = subprocess.Popen([ctx.spfpd, '-d', '-c', self.conf],
                                     stderr=self.err)
        # ready when it accepts: the socket file exists from bind(),
        # a moment before listen()
        deadline = time.time() + 10
        while True:
            if self.proc.poll() is not None or time.time() > deadline:
                raise Fail('spfpd did not start: ' + self.log())
            try:
                probe = socket.socket(socket.AF_UNIX)
                probe.connect(self.sock)
                probe.close()
                break
            except OSError:
                probe.close()
                time.sleep(0.02)

    def connect(self):
        c = Client(self.sock)
        return c

    def log(self):
        self.err.flush()
        with open(self.logpath) as f:
            return f.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        text = self.log()
        self.err.close()
        self.ctx.logf.write(text)
        for m in SANITIZER_MARKS:
            if m in text:
                raise Fail('sanitizer report in the daemon log')
        if self.proc.returncode != 0:
            raise Fail('spfpd exited %d' % self.proc.returncode)


class Client:
    n = 0

    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX)
        self.s.settimeout(15)
        self.s.connect(path)
        self.buf = b''

    def send(self, ip, sender, helo='client.example.com', rcpt='u@dest.test',
             instance=None, **extra):
        if instance is None:
            Client.n += 1
            instance = 'i%d' % Client.n
        attrs = [('request', 'smtpd_access_policy'),
                 ('protocol_state', 'RCPT'), ('protocol_name', 'ESMTP'),
                 ('client_address', ip), ('client_name', 'unknown'),
                 ('helo_name', helo), ('sender', sender),
                 ('recipient', rcpt), ('instance', instance)]
        # an extra attribute replaces the default one of that name
        attrs = [(k, v) for k, v in attrs if k not in extra]
        attrs += list(extra.items())
        self.s.sendall((''.join('%s=%s\n' % a for a in attrs) + '\n')
                       .encode())

    def reply(self):
        while b'\n\n' not in self.buf:
            data = self.s.recv(65536)
            if not data:
                raise Fail('connection closed without a reply')
            self.buf += data
        r, self.buf = self.buf.split(b'\n\n', 1)
        r = r.decode()
        check(r.startswith('action='), 'bad reply %r' % r)
        return r[len('action='):]

    def ask(self, *a, **kw):
        self.send(*a, **kw)
        return self.reply()

    def close(self):
        self.s.close()


def spf_result(action):
    m = re.match(r'PREPEND Received-SPF: (\w+) ', action)
    return m.group(1) if m else None


# ----- tests against knotd -----

def t_results(ctx):
    """Every SPF result, read from the Received-SPF header (no rejects)."""
    d = ctx.daemon('mail_from_reject = no\nhelo_reject = no\n')
    c = d.connect()
    cases = [
        ('192.0.2.10', 'a@example.com', 'pass'),
        ('198.51.100.1', 'a@example.com', 'fail'),
        ('2001:db8:1::25', 'a@example.com', 'pass'),
        ('2001:db8:2::25', 'a@example.com', 'fail'),
        ('198.51.100.1', 'a@soft.example.com', 'softfail'),
        ('198.51.100.1', 'a@neutral.example.com', 'neutral'),
        ('198.51.100.1', 'a@nospf.example.com', 'none'),
        ('198.51.100.1', 'a@nxdomain.example.com', 'none'),
        ('192.0.2.1', 'a@perm.example.com', 'permerror'),
        ('198.51.100.7', 'a@inc.example.com', 'pass'),
        ('192.0.2.7', 'a@inc.example.com', 'fail'),
        ('198.51.100.7', 'a@redir.example.com', 'pass'),
        ('203.0.113.5', 'a@mxd.example.com', 'pass'),
        ('203.0.113.6', 'a@mxd.example.com', 'fail'),
        ('203.0.113.6', 'a@ad.example.com', 'pass'),
        ('203.0.113.7', 'a@ptrd.example.com', 'pass'),
        ('203.0.113.6', 'a@ptrd.example.com', 'fail'),
        ('203.0.113.8', 'a@ex.example.com', 'pass'),
        ('203.0.113.9', 'a@ex.example.com', 'fail'),
        # include of a name that does not exist: permerror (RFC 7208 5.2)
        ('192.0.2.1', 'a@gone.example.com', 'permerror'),
        ('192.0.2.1', 'a@big.example.com', 'pass'),
        ('192.0.2.1', 'a@long60.example.com', 'fail'),
        ('192.0.2.1', 'a@long100.example.com', 'fail'),
        ('10.0.99.1', 'a@long100.example.com', 'pass'),
        ('198.51.100.1', 'a@wide.example.com', 'fail'),
        ('198.51.100.119', 'a@wide.example.com', 'pass'),
        ('203.0.113.57', 'a@wide.example.com', 'pass'),
        ('198.51.100.1', 'a@longa.example.com', 'fail'),
        ('203.0.113.60', 'a@longa.example.com', 'pass'),
        ('198.51.100.1', 'a@exp5.example.com', 'fail'),
        ('203.0.113.54', 'a@exp5.example.com', 'pass'),
        ('198.51.100.1', 'a@exp10.example.com', 'fail'),
        ('203.0.113.79', 'a@exp10.example.com', 'pass'),
        ('198.51.100.1', 'x' * 65 + '@example.com', 'fail'),
        ('198.51.100.1', 'x' * 1000 + '@example.com', 'fail'),
        ('192.0.2.1', 'srs0=' + 'x' * 300 + '=a@example.com', 'pass'),
        ('198.51.100.1', 'a@big.example.com', 'fail'),
    ]
    bad = []
    for ip, sender, want in cases:
        got = spf_result(c.ask(ip, sender))
        if got != want:
            bad.append('%s %s: want %s got %s' % (ip, sender, want, got))
    c.close()
    d.stop()
    check(not bad, '; '.join(bad))


def t_header_text(ctx):
    d = ctx.daemon('')
    c = d.connect()
    r = c.ask('192.0.2.10', 'a@example.com')
    check(r == 'PREPEND Received-SPF: pass (mx.test: domain of a@example.com'
          ' designates 192.0.2.10 as permitted sender) client-ip=192.0.2.10;'
          ' envelope-from="a@example.com"; helo=client.example.com;'
          ' identity=mailfrom; receiver=mx.test;', r)
    r = c.ask('2001:db8:1::25', 'a@soft.example.com')
    check(r == 'PREPEND Received-SPF: softfail (mx.test: transitioning '
          'domain of a@soft.example.com does not designate 2001:db8:1::25 '
          'as permitted sender) client-ip="2001:db8:1::25"; '
          'envelope-from="a@soft.example.com"; helo=client.example.com; '
          'identity=mailfrom; receiver=mx.test;', r)
    c.close()
    d.stop()


def t_fail_reject_text(ctx):
    d = ctx.daemon('')
    c = d.connect()
    r = c.ask('198.51.100.1', 'a@example.com')
    check(r == '550 5.7.23 Message rejected due to: SPF fail - not '
          'authorized. Please see https://www.open-spf.org/Why?s=mfrom;'
          'id=a@example.com;ip=198.51.100.1;r=mx.test', r)
    # the domain's own explanation (exp=), macros expanded
    r = c.ask('198.51.100.1', 'a@expd.example.com')
    check(r.startswith('550 5.7.23 Message rejected due to: Not from '
                       '198.51.100.1, sorry. Please see'), r)
    # an explanation that smashed libspf2's stack when it compiled it:
    # spfpd expands it itself (43 times the domain and "S"), the reply
    # stays within an SMTP line, and the daemon is there for the next
    r = c.ask('198.51.100.1', 'a@expbomb.example.com')
    check(r.startswith('550 5.7.23 Message rejected due to: ' +
                       'expbomb.example.comS' * 5) and len(r) < 512, r)
    r = c.ask('192.0.2.10', 'a@example.com')
    check(spf_result(r) == 'pass', r)
    c.close()
    d.stop()


def t_permerror_reject(ctx):
    d = ctx.daemon('permerror_reject = yes\n')
    c = d.connect()
    r = c.ask('192.0.2.1', 'a@perm.example.com')
    check(r.startswith('550 5.7.24 Message rejected due to: SPF permanent '
                       'error: '), r)
    c.close()
    d.stop()


def t_reject_levels(ctx):
    d = ctx.daemon('mail_from_reject = softfail\n')
    c = d.connect()
    r = c.ask('198.51.100.1', 'a@soft.example.com')
    check(r.startswith('550 5.7.23 Message rejected due to: SPF softfail'),
          r)
    r = c.ask('198.51.100.1', 'a@neutral.example.com')
    check(spf_result(r) == 'neutral', r)
    c.close()
    d.stop()
    d = ctx.daemon('mail_from_reject = not_pass\n')
    c = d.connect()
    r = c.ask('198.51.100.1', 'a@neutral.example.com')
    check(r.startswith('550 5.7.23 '), r)
    r = c.ask('198.51.100.1', 'a@nospf.example.com')
    check(spf_result(r) == 'none', r)
    c.close()
    d.stop()
    # reject_not_pass_domains: not_pass for the listed domains only
    d = ctx.daemon('reject_not_pass_domains = neutral.example.com\n')
    c = d.connect()
    r = c.ask('198.51.100.1', 'a@neutral.example.com')
    check(r.startswith('550 5.7.23 '), r)
    r = c.ask('198.51.100.1', 'a@soft.example.com')
    check(spf_result(r) == 'softfail', r)
    c.close()
    d.stop()


def t_helo(ctx):
    """HELO is checked first; a HELO fail refuses even a passing sender;
    the null sender gets the HELO result, and mail_from_reject applies to
    it; a final dot is ignored; literals are not checked."""
    d = ctx.daemon('')
    c = d.connect()
    r = c.ask('192.0.2.10', 'a@example.com', helo='badhelo.example.com')
    check(r.startswith('550 5.7.23 Message rejected due to: SPF fail - not '
                       'authorized. Please see https://www.open-spf.org/'
                       'Why?s=helo;id=badhelo.example.com;'), r)
    r = c.ask('192.0.2.1', '', helo='mail.example.com')
    check(r.startswith('PREPEND Received-SPF: pass (mx.test: domain of '
                       'mail.example.com designates 192.0.2.1 as permitted '
                       'sender) client-ip=192.0.2.1; envelope-from="<>"; '
                       'helo=mail.example.com; identity=helo;'), r)
    r = c.ask('198.51.100.1', '', helo='mail.example.com')
    check(r.startswith('550 5.7.23 '), r)
    r = c.ask('198.51.100.1', '', helo='[198.51.100.1]')
    check(spf_result(r) == 'none', r)
    c.close()
    d.stop()
    # RFC 7208 2.4: the null sender's MAIL FROM identity is
    # postmaster@<HELO>, and mail_from_reject (fail) refuses its fail
    # whatever helo_reject says: no forged bounce with only a header
    for conf in ('helo_reject = no_check\n', 'helo_reject = no\n'):
        d = ctx.daemon(conf)
        c = d.connect()
        r = c.ask('192.0.2.10', 'a@example.com', helo='badhelo.example.com')
        check(spf_result(r) == 'pass', r)
        r = c.ask('198.51.100.1', '', helo='mail.example.com')
        check(r.startswith('550 5.7.23 ') and 'id=mail.example.com' in r, r)
        r = c.ask('192.0.2.1', '', helo='mail.example.com')
        check(spf_result(r) == 'pass', r)
        c.close()
        d.stop()
    d = ctx.daemon('helo_reject = no_check\nmail_from_reject = no\n')
    c = d.connect()
    r = c.ask('198.51.100.1', '', helo='mail.example.com')
    check(spf_result(r) == 'fail', r)
    c.close()
    d.stop()
    # one final dot changes nothing (was "none": a forgery with a dot)
    d = ctx.daemon('')
    c = d.connect()
    r = c.ask('198.51.100.1', '', helo='mail.example.com.')
    check(r.startswith('550 5.7.23 '), r)
    r = c.ask('192.0.2.1', '', helo='mail.example.com.')
    check(spf_result(r) == 'pass', r)
    c.close()
    d.stop()
    d = ctx.daemon('helo_reject = null\n')
    c = d.connect()
    r = c.ask('192.0.2.10', 'a@example.com', helo='badhelo.example.com')
    check(spf_result(r) == 'pass', r)
    r = c.ask('198.51.100.1', '', helo='badhelo.example.com')
    check(r.startswith('550 5.7.23 '), r)
    c.close()
    d.stop()


def t_stages(ctx):
    """protocol_state: MAIL FROM is checked only where there is one (an
    empty sender at CONNECT, EHLO, VRFY or ETRN is not the null sender);
    the HELO is checked where there is one; no header at END-OF-MESSAGE
    nor before MAIL (Postfix would drop it, or it would land on the wrong
    message)."""
    d = ctx.daemon('helo_reject = no\n')
    c = d.connect()
    for st in ('CONNECT', 'EHLO', 'HELO', 'VRFY', 'ETRN'):
        # a null-sender forgery would be refused at RCPT (postmaster@HELO
        # fails); before MAIL there is no sender at all: nothing to refuse
        r = c.ask('198.51.100.1', '', helo='mail.example.com',
                  protocol_state=st, instance='st1')
        check(r == 'DUNNO', '%s: %r' % (st, r))
        r = c.ask('192.0.2.1', '', helo='mail.example.com',
                  protocol_state=st, instance='st2')
        check(r == 'DUNNO', '%s: a header before MAIL: %r' % (st, r))
    # the same message at RCPT: judged as the bounce it now is, not
    # answered from what the EHLO-stage request left behind
    r = c.ask('198.51.100.1', '', helo='mail.example.com',
              protocol_state='RCPT', instance='st1')
    check(r.startswith('550 5.7.23 ') and 'id=mail.example.com' in r, r)
    for st in ('MAIL', 'RCPT', 'DATA'):
        r = c.ask('192.0.2.1', 'a@example.com', protocol_state=st,
                  instance='st3' + st)
        check(spf_result(r) == 'pass', '%s: %r' % (st, r))
    # END-OF-MESSAGE: refusals still work, headers cannot be added
    r = c.ask('192.0.2.1', 'a@example.com', protocol_state='END-OF-MESSAGE',
              instance='st4')
    check(r == 'DUNNO', 'END-OF-MESSAGE pass: %r' % r)
    r = c.ask('198.51.100.1', 'a@example.com',
              protocol_state='END-OF-MESSAGE', instance='st5')
    check(r.startswith('550 5.7.23 '), 'END-OF-MESSAGE fail: %r' % r)
    c.close()
    d.stop()
    # a HELO that fails is refused at EHLO too (helo_reject = fail)
    d = ctx.daemon('')
    c = d.connect()
    r = c.ask('192.0.2.10', '', helo='badhelo.example.com',
              protocol_state='EHLO')
    check(r.startswith('550 5.7.23 ') and 's=helo' in r, r)
    c.close()
    d.stop()


def t_per_message(ctx):
    """Postfix asks once per recipient: one header per message, a refusal
    repeated for every recipient."""
    d = ctx.daemon('')
    c = d.connect()
    r1 = c.ask('192.0.2.10', 'a@example.com', rcpt='x@dest.test',
               instance='m1')
    r2 = c.ask('192.0.2.10', 'a@example.com', rcpt='y@dest.test',
               instance='m1')
    r3 = c.ask('192.0.2.10', 'a@example.com', rcpt='z@dest.test',
               instance='m1')
    check(spf_result(r1) == 'pass' and r2 == 'DUNNO' and r3 == 'DUNNO',
          '%r %r %r' % (r1, r2, r3))
    f1 = c.ask('198.51.100.1', 'a@example.com', instance='m2')
    f2 = c.ask('198.51.100.1', 'a@example.com', instance='m2')
    check(f1.startswith('550 5.7.23') and f1 == f2, '%r %r' % (f1, f2))
    # a new message on the same connection gets its own header
    n1 = c.ask('192.0.2.10', 'a@example.com', instance='m3')
    check(spf_result(n1) == 'pass', n1)
    c.close()
    log = d.log()
    d.stop()
    check(log.count('result=repeat') == 3, 'repeat lines: %d' %
          log.count('result=repeat'))


def t_pipeline_late(ctx):
    """A client pipelines 1,000 requests, starts reading only 2 s later,
    and then reads slowly: every one is answered.  The replies pass the
    socket's buffer and then the 64 KiB the daemon holds for a client
    that does not read; it must take the requests it holds again once the
    client reads.  It used to wait for more input instead, and the last
    requests (all sent, all buffered) were never answered."""
    n = 1000
    # room for every request in the daemon's input buffer: when it stops
    # at its output cap, the client has nothing more to send
    d = ctx.daemon('max_request_size = 1048576')
    c = d.connect()
    sender = 'a@latefail.example.com'
    reqs = []
    for i in range(n):
        attrs = [('request', 'smtpd_access_policy'),
                 ('protocol_state', 'RCPT'), ('protocol_name', 'ESMTP'),
                 ('client_address', '198.51.100.1'),
                 ('client_name', 'unknown'),
                 ('helo_name', 'client.example.com'), ('sender', sender),
                 ('recipient', 'r%d@dest.test' % i),
                 ('instance', 'late%d' % i)]
        reqs.append(''.join('%s=%s\n' % a for a in attrs) + '\n')
    data = ''.join(reqs).encode()
    err = []

    def writer():
        try:
            c.s.sendall(data)
        except OSError as e:
            err.append(e)
    t = threading.Thread(target=writer, daemon=True)
    t.start()
    time.sleep(2)
    deadline = time.monotonic() + 15
    while c.buf.count(b'\n\n') < n and time.monotonic() < deadline:
        c.s.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = c.s.recv(65536)
        except socket.timeout:
            break
        if not chunk:
            break
        c.buf += chunk
    got = c.buf.count(b'\n\n')
    check(got == n, '%d of %d answers' % (got, n))
    replies = [c.reply() for _ in range(n)]
    t.join(5)
    check(not err, 'sending: %r' % err)
    check(replies[0].startswith('550 5.7.23') and
          all(r == replies[0] for r in replies),
          'answers differ: %r ... %r' % (replies[0], replies[-1]))
    total = sum(len(r) + len('action=') + 2 for r in replies)
    check(total > 3 * 65536, 'only %d bytes of replies: too few to pass '
          'the daemon\'s output cap and the socket buffer' % total)
    ctx.note('pipeline_late: %d answers (%d bytes) after reading 2 s late'
             % (len(replies), total))
    c.close()
    d.stop()


def t_auth_results(ctx):
    d = ctx.daemon('header_type = authentication-results\n')
    c = d.connect()
    r = c.ask('192.0.2.10', 'a@example.com')
    check(r == 'PREPEND Authentication-Results: mx.test; spf=pass (domain '
          'of a@example.com designates 192.0.2.10 as permitted sender) '
          'smtp.mailfrom=example.com', r)
    r = c.ask('192.0.2.1', '', helo='mail.example.com')
    check(r.startswith('PREPEND Authentication-Results: mx.test; spf=pass '
                       '(') and r.endswith(' smtp.helo=mail.example.com'), r)
    c.close()
    d.stop()
    d = ctx.daemon('header_type = none\n')
    c = d.connect()
    check(c.ask('192.0.2.10', 'a@example.com') == 'DUNNO', 'none')
    c.close()
    d.stop()


def t_options(ctx):
    d = ctx.daemon('test_only = yes\nhide_receiver = yes\n')
    c = d.connect()
    r = c.ask('198.51.100.1', 'a@example.com')
    check(r.startswith('PREPEND Received-SPF: fail (domain of a@example.com')
          and 'receiver=' not in r, r)
    c.close()
    log = d.log()
    d.stop()
    check('test_only="550 5.7.23 Message rejected' in log, 'no test_only log')

    d = ctx.daemon('')
    c = d.connect()
    r = c.ask('198.51.100.1', 'a@example.com', sasl_username='alice')
    check(r == 'DUNNO', r)
    c.close()
    log = d.log()
    d.stop()
    check('result=skipped(authenticated)' in log, 'no skip log line')

    d = ctx.daemon('skip_authenticated = no\n')
    c = d.connect()
    r = c.ask('198.51.100.1', 'a@example.com', sasl_username='alice')
    check(r.startswith('550 5.7.23'), r)
    c.close()
    d.stop()

    # the client is a relay of relay.example.com: not checked further
    d = ctx.daemon('domain_whitelist = relay.example.com\n')
    c = d.connect()
    r = c.ask('203.0.113.50', 'a@example.com')
    check(r == 'DUNNO', r)
    r = c.ask('198.51.100.1', 'a@example.com')
    check(r.startswith('550 5.7.23'), r)
    c.close()
    log = d.log()
    d.stop()
    check('result=skipped(domain_whitelist)' in log, 'no log line')

    d = ctx.daemon('helo_whitelist = wl.example.com\n')
    c = d.connect()
    r = c.ask('203.0.113.9', 'a@example.com', helo='wl.example.com')
    check(r == 'DUNNO', r)
    # the listed name does not resolve to this client: checked
    r = c.ask('198.51.100.1', 'a@example.com', helo='wl.example.com')
    check(r.startswith('550 5.7.23'), r)
    c.close()
    d.stop()

    d = ctx.daemon('reason_message = {result} for {domain} ({identity}) '
                   '- {spf}\n')
    c = d.connect()
    r = c.ask('198.51.100.1', 'a@example.com')
    check(r == '550 5.7.23 fail for example.com (mailfrom) - SPF fail - '
          'not authorized', r)
    c.close()
    d.stop()


def t_temperror(ctx):
    """A DNS server that never answers: temperror, deferred when asked."""
    sock, port = dead_port()
    try:
        d = ctx.daemon('temperror_defer = yes\n',
                       dns_servers='127.0.0.1:%d' % port)
        c = d.connect()
        r = c.ask('192.0.2.10', 'a@example.com')
        check(r.startswith('DEFER_IF_PERMIT 4.7.24 Message deferred due '
                           'to: SPF temporary error: '), r)
        c.close()
        d.stop()
        d = ctx.daemon('', dns_servers='127.0.0.1:%d' % port)
        c = d.connect()
        r = c.ask('192.0.2.10', 'a@example.com')
        check(spf_result(r) == 'temperror' and 'problem=' in r, r)
        c.close()
        d.stop()
    finally:
        sock.close()


# ----- tests against tests/dnsserver.py (it can delay and log) -----

class TestDNS:
    def __init__(self, ctx, zone, extra=()):
        self.dir = tempfile.mkdtemp(prefix='dns-', dir=ctx.tmp)
        zf = os.path.join(self.dir, 'zone.json')
        with open(zf, 'w') as f:
            json.dump(zone, f)
        self.logpath = os.path.join(self.dir, 'queries.log')
        self.proc = subprocess.Popen(
            ['/usr/bin/python3', os.path.join(HERE, 'dnsserver.py'),
             '--zone', zf, '--log', self.logpath] + list(extra),
            stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith('port '):
            raise Fail('dnsserver did not start')
        self.port = int(line.split()[1])
        self.servers = '127.0.0.1:%d' % self.port

    def count(self, name, rtype='TXT'):
        with open(self.logpath) as f:
            return sum(1 for line in f
                       if line.split()[1:3] == [name, rtype])

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


def t_loop_not_blocked(ctx):
    """One answer held back 3 s: 200 other requests on other connections
    are all answered before it (they never wait behind it)."""
    zone = {'slow.test': [{'TXT': 'v=spf1 -all'}],
            'fast.test': [{'TXT': 'v=spf1 ip4:192.0.2.0/24 -all'}]}
    dns = TestDNS(ctx, zone, ['--delay-name', 'slow.test=3000'])
    try:
        d = ctx.daemon('lookup_time = 10s\ndns_timeout = 5s\n',
                       dns_servers=dns.servers)
        slow = d.connect()
        slow.send('192.0.2.10', 'a@slow.test')
        order = []
        t0 = time.time()

        def fast_client(k):
            c = d.connect()
            for _ in range(20):
                r = c.ask('192.0.2.10', 'b%d@fast.test' % k,
                          )
                if spf_result(r) != 'pass':
                    order.append('bad %r' % r)
            order.append('fast%d' % k)
            c.close()
        threads = [threading.Thread(target=fast_client, args=(k,))
                   for k in range(10)]
        for t in threads:
            t.start()
        r = slow.reply()
        order.append('slow')
        fast_done = time.time() - t0
        for t in threads:
            t.join()
        slow.close()
        d.stop()
        check(r.startswith('550 5.7.23'), r)
        check(order[-1] == 'slow' and len(order) == 11,
              'order: %s' % order)
        ctx.note('loop_not_blocked: 200 requests answered while one DNS '
                 'answer was held 3 s; slow one answered after %.2fs' %
                 fast_done)
    finally:
        dns.stop()


def t_cache(ctx):
    zone = {'ttl.test': [{'TXT': 'v=spf1 -all'}],
            'co.test': [{'TXT': 'v=spf1 -all'}]}
    for i in range(20):
        zone['d%d.test' % i] = [{'TXT': 'v=spf1 -all'}]
    dns = TestDNS(ctx, zone, ['--ttl', '2', '--delay-name', 'co.test=200'])
    try:
        d = ctx.daemon('dns_cache_size = 8\ndns_negative_ttl = 1m\n'
                       'mail_from_reject = no\ndns_timeout = 3s\n',
                       dns_servers=dns.servers)
        c = d.connect()
        # TTL: answered from the cache until it expires
        c.ask('192.0.2.1', 'a@ttl.test', helo='')
        c.ask('192.0.2.1', 'b@ttl.test', helo='')
        check(dns.count('ttl.test') == 1, 'cached: %d queries' %
              dns.count('ttl.test'))
        time.sleep(2.5)
        c.ask('192.0.2.1', 'c@ttl.test', helo='')
        check(dns.count('ttl.test') == 2, 'after TTL: %d queries' %
              dns.count('ttl.test'))
        # negative answers are cached too
        c.ask('192.0.2.1', 'a@nx.test', helo='')
        c.ask('192.0.2.1', 'b@nx.test', helo='')
        check(dns.count('nx.test') == 1, 'NXDOMAIN: %d queries' %
              dns.count('nx.test'))
        # size bound: 20 names through a cache of 8 push the first out
        for i in range(20):
            c.ask('192.0.2.1', 'a@d%d.test' % i, helo='')
        c.ask('192.0.2.1', 'b@d19.test', helo='')
        check(dns.count('d19.test') == 1, 'recent entry evicted')
        c.ask('192.0.2.1', 'b@d0.test', helo='')
        check(dns.count('d0.test') == 2, 'size bound not applied: %d' %
              dns.count('d0.test'))
        # coalescing: 10 connections ask at once, one query goes out
        clients = [d.connect() for _ in range(10)]
        for k, cl in enumerate(clients):
            cl.send('192.0.2.1', 'u%d@co.test' % k, helo='')
        for cl in clients:
            r = cl.reply()
            check(spf_result(r) == 'fail', r)
            cl.close()
        check(dns.count('co.test') == 1, 'not coalesced: %d queries' %
              dns.count('co.test'))
        c.close()
        d.stop()
    finally:
        dns.stop()


def t_forgery(ctx):
    """Forged senders that got through with the default config, each
    refused now: a local part over 64 bytes (was "none"), a valid record
    libspf2 cannot hold whole (was "neutral"), exp= lookups counted as
    DNS terms (was "permerror"); the explanation is the exp= of the
    record that decided, fetched once."""
    d = ctx.daemon('')
    c = d.connect()
    for sender in ('x' * 65 + '@example.com', 'x' * 1000 + '@example.com',
                   'a@wide.example.com', 'a@longa.example.com',
                   'a@long100.example.com'):
        r = c.ask('198.51.100.1', sender)
        check(r.startswith('550 5.7.23 Message rejected due to: SPF fail - '
                           'not authorized.'), '%s: %s' % (sender[-40:], r))
    for sender in ('a@exp5.example.com', 'a@exp10.example.com'):
        r = c.ask('198.51.100.1', sender)
        check(r.startswith('550 5.7.23 Message rejected due to: Not from '
                           '198.51.100.1, sorry. Please see'), r)
    # an exp= inside an include: is not the top record's: the default
    r = c.ask('198.51.100.1', 'a@expinc.example.com')
    check(r.startswith('550 5.7.23 Message rejected due to: SPF fail - '
                       'not authorized.'), r)
    c.close()
    d.stop()


def t_dns_answers(ctx):
    """RCODEs other than NOERROR and NXDOMAIN are DNS errors (temperror,
    not kept as answers), not "no record"; an answer lives no longer than the
    CNAME that led to it; a record of 300 a: terms costs at most 10
    queries of them (RFC 7208 4.6.4), not one each."""
    zone = {'cn.test': [{'CNAME': 'target.test'}],
            'target.test': [{'TXT': 'v=spf1 -all'}],
            'amp.test': [{'TXT': 'v=spf1 ' + ' '.join(
                'a:h%d.amp.test' % i for i in range(300)) + ' -all'}]}
    rcodes = {'yx.test': 6, 'nxrrset.test': 8, 'notauth.test': 9,
              'notzone.test': 10, 'r15.test': 15, 'formerr.test': 1}
    args = ['--ttl', '3600', '--ttl-name', 'cn.test=1']
    for n, rc in rcodes.items():
        args += ['--rcode', '%s=%d' % (n, rc)]
    dns = TestDNS(ctx, zone, args)
    try:
        # dns_failure_ttl = 0: each ask goes out again, so the count of 2
        # shows a failure is never kept as an answer (hostiletest.py
        # tests the failure cache itself)
        d = ctx.daemon('mail_from_reject = no\ndns_timeout = 3s\n'
                       'dns_failure_ttl = 0\n', dns_servers=dns.servers)
        c = d.connect()
        for n in rcodes:
            for k in range(2):
                r = c.ask('192.0.2.1', 'a%d@%s' % (k, n), helo='')
                check(spf_result(r) == 'temperror', '%s: %s' % (n, r))
            check(dns.count(n) == 2, '%s: cached as an answer (%d '
                  'queries)' % (n, dns.count(n)))
        r = c.ask('192.0.2.1', 'a@cn.test', helo='')
        check(spf_result(r) == 'fail', r)
        time.sleep(1.6)
        r = c.ask('192.0.2.1', 'b@cn.test', helo='')
        check(dns.count('cn.test') == 2, 'TTL 3600 behind a CNAME of TTL '
              '1 was cached: %d queries' % dns.count('cn.test'))
        r = c.ask('192.0.2.1', 'a@amp.test', helo='')
        check(spf_result(r) == 'permerror', r)
        with open(dns.logpath) as f:
            n = sum(1 for line in f if line.split()[1].endswith('.amp.test'))
        check(n <= 10, '%d queries for the names of one record' % n)
        c.close()
        d.stop()
    finally:
        dns.stop()


def t_macro_bomb(ctx):
    """A record of 300 terms, each two macros of a 4 kB local part of
    2,000 parts: only the 11 terms evaluation can reach are expanded, in
    linear time, so another client is answered at once; a name that
    expands past any buffer is cut on the left (RFC 7208 7.3), not a
    permerror; names c-ares will not send are asked by hand."""
    zone = {'bomb.test': [{'TXT': 'v=spf1 ' + ' '.join(
                'a:%{l}%{l}.x' for _ in range(300)) + ' -all'}],
            'cut.test': [{'TXT': 'v=spf1 exists:%{L}.x.cut.test -all'}],
            'ok.test': [{'TXT': 'v=spf1 -all'}],
            'plus.test': [{'TXT': 'v=spf1 exists:%{l}.u.plus.test -all'}],
            'a+b.u.plus.test': [{'A': '127.0.0.2'}]}
    dns = TestDNS(ctx, zone, [])
    try:
        d = ctx.daemon('mail_from_reject = no\ndns_timeout = 3s\n',
                       dns_servers=dns.servers)
        c1 = d.connect()
        c2 = d.connect()
        local = '.'.join(['a'] * 2000)
        c1.send('192.0.2.1', local + '@bomb.test', helo='')
        r = c2.ask('192.0.2.1', 'a@ok.test', helo='')
        check(spf_result(r) == 'fail', r)
        r = c1.reply()
        check(spf_result(r) == 'permerror', r)
        # %{L} of 2,800 "+" is 8,400 bytes: cut to 253, a fail
        r = c2.ask('192.0.2.1', '+' * 2800 + '@cut.test', helo='')
        check(spf_result(r) == 'fail', r)
        # "a+b.u.plus.test": c-ares 1.34 will not send it; spfpd does
        r = c2.ask('192.0.2.1', 'a+b@plus.test', helo='')
        check(spf_result(r) == 'pass', r)
        r = c2.ask('192.0.2.1', 'a+c@plus.test', helo='')
        check(spf_result(r) == 'fail', r)
        c1.close()
        c2.close()
        d.stop()
    finally:
        dns.stop()


def t_dns_timeout(ctx):
    """dns_timeout holds on every c-ares version: after 30 quick answers
    (c-ares 1.22+ then times an attempt by the server's latency, 250 ms
    at least), an answer that takes 1 s is still an answer with
    dns_timeout = 3s and dns_tries = 1, not a temperror."""
    zone = {'slow.test': [{'TXT': 'v=spf1 -all'}]}
    for i in range(30):
        zone['q%d.test' % i] = [{'TXT': 'v=spf1 -all'}]
    dns = TestDNS(ctx, zone, ['--delay-name', 'slow.test=1000'])
    try:
        d = ctx.daemon('mail_from_reject = no\ndns_timeout = 3s\n'
                       'dns_tries = 1\n', dns_servers=dns.servers)
        c = d.connect()
        for i in range(30):
            r = c.ask('192.0.2.1', 'a@q%d.test' % i, helo='')
            check(spf_result(r) == 'fail', r)
        t0 = time.time()
        r = c.ask('192.0.2.1', 'a@slow.test', helo='')
        check(spf_result(r) == 'fail', 'after %.2fs: %s' %
              (time.time() - t0, r))
        c.close()
        d.stop()
    finally:
        dns.stop()


def t_round_trips(ctx):
    """A cold 3-level include tree with 20 ms per answer: the number of
    sequential round trips is what prefetching saves (printed, and bounded
    by the tree's depth plus the a/mx steps, not by its size)."""
    zone = {
        'top.test': [{'TXT': 'v=spf1 include:a.test include:b.test '
                      'include:c.test -all'}],
        'a.test': [{'TXT': 'v=spf1 include:a1.test include:a2.test -all'}],
        'b.test': [{'TXT': 'v=spf1 include:b1.test include:b2.test -all'}],
        'c.test': [{'TXT': 'v=spf1 ip4:10.0.0.0/8 -all'}],
        'a1.test': [{'TXT': 'v=spf1 ip4:10.1.0.0/16 -all'}],
        'a2.test': [{'TXT': 'v=spf1 ip4:10.2.0.0/16 -all'}],
        'b1.test': [{'TXT': 'v=spf1 ip4:10.3.0.0/16 -all'}],
        'b2.test': [{'TXT': 'v=spf1 ip4:198.51.100.0/24 -all'}],
    }
    dns = TestDNS(ctx, zone, ['--delay-ms', '20'])
    try:
        d = ctx.daemon('mail_from_reject = no\ndns_timeout = 3s\n',
                       dns_servers=dns.servers)
        c = d.connect()
        t0 = time.time()
        r = c.ask('198.51.100.9', 'a@top.test', helo='')
        wall = (time.time() - t0) * 1000
        c.close()
        d.stop()
        check(spf_result(r) == 'pass', r)
        with open(dns.logpath) as f:
            n = sum(1 for _ in f)
        rtts = wall / 20.0
        ctx.note('round_trips: cold 3-level include tree (8 records) with '
                 '20 ms DNS delay: %.0f ms wall, ~%.1f round trips, %d '
                 'queries' % (wall, rtts, n))
        check(n == 8, '%d queries for 8 records' % n)
    finally:
        dns.stop()


# ----- reverse DNS (iprev) -----

def iprev_of(action):
    m = re.search(r'; iprev=(\w+) policy\.iprev=', action)
    return m.group(1) if m else None


def t_iprev_results(ctx):
    """pass / fail / permerror for IPv4 and IPv6, read from the
    Authentication-Results header; the log names the result and name."""
    d = ctx.daemon('header_type = authentication-results\n'
                   'mail_from_reject = no\nhelo_reject = no\n')
    c = d.connect()
    cases = [
        ('192.0.2.1', 'pass'),          # PTR mail.example.com -> A back
        ('192.0.2.2', 'fail'),          # name resolves elsewhere
        ('192.0.2.3', 'fail'),          # name is NXDOMAIN
        ('192.0.2.4', 'permerror'),     # no PTR: NXDOMAIN
        ('192.0.2.5', 'permerror'),     # no PTR: NODATA
        ('2001:db8::1', 'pass'),
        ('2001:db8::2', 'fail'),
        ('2001:db8::3', 'permerror'),
        ('::ffff:192.0.2.1', 'pass'),   # IPv4-mapped is IPv4
    ]
    bad = []
    for ip, want in cases:
        got = iprev_of(c.ask(ip, 'a@example.com'))
        if got != want:
            bad.append('%s: want %s got %s' % (ip, want, got))
    c.close()
    log = d.log()
    d.stop()
    check(not bad, '; '.join(bad))
    check(re.search(r'client=192\.0\.2\.1 .* iprev=pass '
                    r'iprev_name=mail\.example\.com ', log),
          'no iprev in the log line')


def t_iprev_header(ctx):
    d = ctx.daemon('header_type = authentication-results\n')
    c = d.connect()
    r = c.ask('192.0.2.1', 'a@nospf.example.com')
    check(r == 'PREPEND Authentication-Results: mx.test; spf=none (domain '
          'of a@nospf.example.com does not designate permitted sender '
          'hosts) smtp.mailfrom=nospf.example.com; iprev=pass '
          'policy.iprev=192.0.2.1 (mail.example.com)', r)
    r = c.ask('2001:db8::1', 'a@neutral.example.com')
    check(r == 'PREPEND Authentication-Results: mx.test; spf=neutral '
          '(2001:db8::1 is neither permitted nor denied by domain of '
          'a@neutral.example.com) smtp.mailfrom=neutral.example.com; '
          'iprev=pass policy.iprev="2001:db8::1" (mail6.example.com)', r)
    r = c.ask('2001:db8:1::25', 'a@example.com')
    check(r == 'PREPEND Authentication-Results: mx.test; spf=pass (domain '
          'of a@example.com designates 2001:db8:1::25 as permitted sender)'
          ' smtp.mailfrom=example.com; iprev=permerror '
          'policy.iprev="2001:db8:1::25"', r)
    # one header for the message, as for SPF alone
    r1 = c.ask('192.0.2.1', '', helo='mail.example.com', instance='ip1')
    r2 = c.ask('192.0.2.1', '', helo='mail.example.com', instance='ip1')
    check(r1.endswith('; iprev=pass policy.iprev=192.0.2.1 '
                      '(mail.example.com)') and
          'smtp.helo=mail.example.com' in r1 and r2 == 'DUNNO',
          '%r %r' % (r1, r2))
    c.close()
    d.stop()
    # with Received-SPF the iprev result is only in the log
    d = ctx.daemon('ptr_check = header\n')
    c = d.connect()
    r = c.ask('192.0.2.4', 'a@example.com')
    check(spf_result(r) == 'pass' and 'iprev' not in r, r)
    c.close()
    log = d.log()
    d.stop()
    check('iprev=permerror' in log, 'no iprev in the log')


def t_iprev_limit(ctx):
    """12 PTR names, the one that maps back is the 11th: beyond the
    default limit of 10 (fail); found with ptr_max_names = 12."""
    d = ctx.daemon('header_type = authentication-results\n'
                   'mail_from_reject = no\n')
    c = d.connect()
    r = c.ask('192.0.2.6', 'a@example.com')
    check(iprev_of(r) == 'fail', r)
    c.close()
    d.stop()
    d = ctx.daemon('header_type = authentication-results\n'
                   'mail_from_reject = no\nptr_max_names = 12\n')
    c = d.connect()
    r = c.ask('192.0.2.6', 'a@example.com')
    check(iprev_of(r) == 'pass' and '(n11.example.com)' in r, r)
    c.close()
    d.stop()


def t_iprev_reject(ctx):
    d = ctx.daemon('ptr_check = reject\n')
    c = d.connect()
    r = c.ask('192.0.2.4', 'a@example.com')
    check(r == '550 5.7.25 Client host rejected: cannot find your reverse '
          'hostname, [192.0.2.4]', r)
    r = c.ask('192.0.2.2', 'a@example.com')
    check(r == '550 5.7.25 Client host rejected: your reverse hostname '
          'elsewhere.example.com does not resolve to [192.0.2.2]', r)
    r = c.ask('192.0.2.1', 'a@example.com')
    check(spf_result(r) == 'pass', r)
    c.close()
    d.stop()
    d = ctx.daemon('ptr_check = reject\nptr_reject_code = 450\n')
    c = d.connect()
    r = c.ask('2001:db8::3', 'a@example.com')
    check(r == '450 4.7.25 Client host rejected: cannot find your reverse '
          'hostname, [2001:db8::3]', r)
    c.close()
    d.stop()
    # test_only: decided and logged, not refused
    d = ctx.daemon('ptr_check = reject\ntest_only = yes\n')
    c = d.connect()
    r = c.ask('192.0.2.4', 'a@example.com')
    check(spf_result(r) == 'pass', r)
    c.close()
    log = d.log()
    d.stop()
    check('test_only="550 5.7.25 Client host rejected' in log, 'no log')


def t_iprev_temperror(ctx):
    """The reverse query is never answered: temperror, deferred."""
    sock, port = dead_port()
    try:
        d = ctx.daemon('ptr_check = reject\n',
                       dns_servers='127.0.0.1:%d' % port)
        c = d.connect()
        r = c.ask('192.0.2.1', 'a@example.com')
        check(r == '450 4.7.25 Client host rejected: cannot verify your '
              'reverse hostname, [192.0.2.1]: temporary DNS failure', r)
        c.close()
        d.stop()
        d = ctx.daemon('ptr_check = reject\nptr_temperror_defer = no\n'
                       'header_type = authentication-results\n',
                       dns_servers='127.0.0.1:%d' % port)
        c = d.connect()
        r = c.ask('192.0.2.1', 'a@example.com')
        check(iprev_of(r) == 'temperror', r)
        c.close()
        d.stop()
    finally:
        sock.close()


def t_iprev_whitelists(ctx):
    # ptr_whitelist: no reverse lookup for these clients
    d = ctx.daemon('ptr_check = reject\nptr_whitelist = 192.0.2.4/32\n')
    c = d.connect()
    r = c.ask('192.0.2.4', 'a@example.com')
    check(spf_result(r) == 'pass', r)
    c.close()
    log = d.log()
    d.stop()
    check('iprev=' not in log, 'looked up anyway')
    # ptr_domain_whitelist: a forward-confirmed name in the domain skips
    # SPF; a PTR that only claims it (not confirmed) does not
    d = ctx.daemon('ptr_domain_whitelist = trusted.example.com\n')
    c = d.connect()
    r = c.ask('192.0.2.7', 'a@example.com')
    check(r == 'DUNNO', r)
    r = c.ask('192.0.2.8', 'a@example.com')
    check(spf_result(r) == 'pass', r)
    c.close()
    log = d.log()
    d.stop()
    check('result=skipped(ptr_domain_whitelist)' in log, 'no log line')


def t_query_mode(ctx):
    """spfpd -q: what an administrator runs when a sender complains."""
    conf = os.path.join(ctx.tmp, 'q.conf')
    with open(conf, 'w') as f:
        f.write('dns_servers = 127.0.0.1:%d\n' % ctx.knot.port)
    p = subprocess.run([ctx.spfpd, '-q', '-c', conf, '-i', '192.0.2.1',
                        '-s', 'a@inc.example.com', '-H', 'mail.example.com'],
                       capture_output=True, text=True, timeout=30)
    out = p.stdout
    ctx.logf.write(out + p.stderr)
    check(p.returncode == 0, 'exit %d: %s' % (p.returncode, p.stderr))
    check('spf helo: pass (domain mail.example.com; 1 DNS terms' in out, out)
    check('spf mailfrom: fail (domain inc.example.com; 2 DNS terms' in out,
          out)
    check('iprev: pass (mail.example.com); 1 PTR names, 1 looked up' in out,
          out)
    check('  matched: a\n' in out and '  matched: -all\n' in out, out)
    check('action: 550 5.7.23 Message rejected due to: SPF fail - not '
          'authorized.' in out, out)
    # the term that passed, inside an include tree; a redirect
    for sender, ip, want in (('a@inc.example.com', '198.51.100.7',
                              'include:l1.example.com'),
                             ('a@redir.example.com', '198.51.100.7',
                              'redirect=l2.example.com'),
                             ('a@mxd.example.com', '203.0.113.5', 'mx')):
        p = subprocess.run([ctx.spfpd, '-q', '-c', conf, '-i', ip,
                            '-s', sender], capture_output=True, text=True,
                           timeout=30)
        ctx.logf.write(p.stdout + p.stderr)
        check('spf mailfrom: pass' in p.stdout and
              '  matched: %s\n' % want in p.stdout, p.stdout)
        check('action: PREPEND Received-SPF: pass' in p.stdout, p.stdout)


IPREV_TESTS = [
    ('query_mode', t_query_mode),
    ('iprev_results', t_iprev_results),
    ('iprev_header', t_iprev_header),
    ('iprev_limit', t_iprev_limit),
    ('iprev_reject', t_iprev_reject),
    ('iprev_temperror', t_iprev_temperror),
    ('iprev_whitelists', t_iprev_whitelists),
]

TESTS = [
    ('results', t_results),
    ('header_text', t_header_text),
    ('fail_reject_text', t_fail_reject_text),
    ('permerror_reject', t_permerror_reject),
    ('reject_levels', t_reject_levels),
    ('helo', t_helo),
    ('per_message', t_per_message),
    ('stages', t_stages),
    ('pipeline_late', t_pipeline_late),
    ('auth_results', t_auth_results),
    ('options', t_options),
    ('temperror', t_temperror),
    ('loop_not_blocked', t_loop_not_blocked),
    ('cache', t_cache),
    ('round_trips', t_round_trips),
    ('forgery', t_forgery),
    ('dns_timeout', t_dns_timeout),
    ('macro_bomb', t_macro_bomb),
    ('dns_answers', t_dns_answers),
]


class Ctx:
    def __init__(self, spfpd, logf):
        self.spfpd = os.path.abspath(spfpd)
        self.logf = logf
        self.tmp = tempfile.mkdtemp(prefix='spftest-')
        self.knot = None
        self.daemons = []
        self.notes = []
        self.ptr_default = 'no'

    def daemon(self, extra, dns_servers=None):
        if dns_servers is None:
            dns_servers = '127.0.0.1:%d' % self.knot.port
        d = Daemon(self, extra, dns_servers)
        self.daemons.append(d)
        return d

    def note(self, s):
        self.notes.append(s)

    def cleanup(self):
        for d in self.daemons:
            if d.proc.poll() is None:
                d.proc.kill()
                d.proc.wait()
        self.daemons = []


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--spfpd', required=True)
    ap.add_argument('--log', default='/dev/null')
    ap.add_argument('--only')
    ap.add_argument('--suite', choices=('spf', 'iprev'), default='spf')
    args = ap.parse_args()
    logf = open(args.log, 'a')
    ctx = Ctx(args.spfpd, logf)
    tests = TESTS
    if args.suite == 'iprev':
        tests = IPREV_TESTS
        ctx.ptr_default = 'header'
    passed = failed = 0
    try:
        ctx.knot = Knot(ctx.tmp, ZONES)
        ctx.knot.start()
        for name, fn in tests:
            if args.only and name != args.only:
                continue
            logf.write('=== %s\n' % name)
            try:
                if run_test(name, fn, ctx, logf):
                    passed += 1
                else:
                    failed += 1
            finally:
                ctx.cleanup()
    finally:
        ctx.cleanup()
        if ctx.knot:
            ctx.knot.stop()
        shutil.rmtree(ctx.tmp, ignore_errors=True)
    for n in ctx.notes:
        print('# ' + n)
    print('%s: %d passed, %d failed' % (args.suite, passed, failed))
    return 0 if failed == 0 else 1


if __name__ == '__main__':
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    sys.exit(main())
