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
import ipaddress
import os
import re
import signal
import socket
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Daemon, Suite, arg_parser, check,  # noqa: E402
                     request, spf_result, write_conf)


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
    # reject_only_no_mail: domains that send no mail, and look-alikes
    'nomail TXT "v=spf1 -all"',
    'nomail2 TXT "V=SPF1  -ALL  "',
    'nomailredir TXT "v=spf1 redirect=nomail.example.com"',
    'nomailinc TXT "v=spf1 include:nomail.example.com -all"',
    'softall TXT "v=spf1 ~all"',
        'gone TXT "v=spf1 include:missing.example.com -all"',
        'relay TXT "v=spf1 ip4:203.0.113.0/24 -all"',
        'wl A 203.0.113.9',
        # over 512 bytes: truncated over UDP, c-ares asks again over TCP
        'big TXT "v=spf1 %s" " ip4:192.0.2.0/24 -all"' %
        ' '.join('ip4:10.%d.0.0/16' % i for i in range(40)),
    ],
    '113.0.203.in-addr.arpa': [
        '7 PTR host.ptrd.example.com.',
        # ourdomain.test's backup MX (postfixtest backup_mx: ptr_check
        # = reject there, and its refusal is not one MX trust lifts)
        '25 PTR backup.ourdomain.test.',
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
# trust_recipient_mx: ourdomain.test's backup MX is 203.0.113.25 (and
# 2001:db8:2::25); no SPF record lets it send for example.com
ZONES['ourdomain.test'] = [
    '@ MX 10 mx1.ourdomain.test.',
    '@ MX 20 backup.ourdomain.test.',
    'mx1 A 192.0.2.50',
    'backup A 203.0.113.25',
    'backup AAAA 2001:db8:2::25',
]
ZONES['nullmx.test'] = ['@ MX 0 .']


def dnswl_v6(addr):
    """The RFC 8904 labels of an IPv6 address: 32 nibbles reversed."""
    full = ipaddress.IPv6Address(addr).exploded.replace(':', '')
    return '.'.join(reversed(full))


# dnswl_zones (RFC 8904): a listing, the "query refused" answer that
# public lists give abusive resolvers, and an answer outside 127/8
ZONES['list.dnswl.test'] = [
    '10.2.0.192 A 127.0.10.2',
    '11.2.0.192 A 127.0.0.255',
    '12.2.0.192 A 192.0.2.1',
    dnswl_v6('2001:db8:3::7') + ' A 127.0.5.1',
]


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


def starts(prefix):
    """want: a reply that starts with prefix"""
    return lambda r: r.startswith(prefix)


def spf(result):
    """want: a reply whose Received-SPF header says result"""
    return lambda r: spf_result(r) == result


def has(text):
    """want: a reply with text in it"""
    return lambda r: text in r


def holds(want, r):
    """want of a case of Ctx.expect(): the whole reply (text), a test of
    it, or a tuple of those that must all hold"""
    if isinstance(want, str):
        return r == want
    if isinstance(want, tuple):
        return all(holds(w, r) for w in want)
    return want(r)


class Ctx(Suite):
    """The run: knotd serving ZONES, and the daemons of the test."""

    def __init__(self, suite, spfpd, logf):
        Suite.__init__(self, suite, spfpd, logf,
                       tmp=tempfile.mkdtemp(prefix='spftest-'))
        self.knot = None
        self.ptr_default = 'header' if suite == 'iprev' else 'no'

    def daemon(self, extra, dns_servers=None, sections=''):
        """spfpd -d with the tests' config, then extra ("key = value"
        lines); DNS from knotd unless dns_servers.  sections: text
        written as it is after the global settings ("[KEY = VALUE]"
        lines and their options)."""
        if dns_servers is None:
            dns_servers = '127.0.0.1:%d' % self.knot.port
        opts = {
            'user': '', 'skip_addresses': '', 'authserv_id': 'mx.test',
            'dns_servers': dns_servers, 'dns_timeout': '300ms',
            'dns_tries': '1', 'ptr_check': self.ptr_default}
        if not sections:
            return Suite.daemon(self, opts, extra)
        d = tempfile.mkdtemp(prefix='spfd-', dir=self.tmp)
        sock = os.path.join(d, 's.sock')
        conf = write_conf(os.path.join(d, 'spfpd.conf'),
                          dict(opts, listen='unix:' + sock), extra)
        with open(conf, 'a') as f:
            f.write(sections)
        return Daemon(self.spfpd, conf, os.path.join(d, 'spfpd.log'),
                      sock=sock, logf=self.logf, track=self.daemons)

    def expect(self, extra, cases, dns_servers=None, sections=''):
        """A daemon with config extra is asked each case (client, sender,
        want[, more attributes of the request]) in turn on one connection;
        want is the whole reply, or a test of it.  The daemon is stopped
        (checked) before the verdict.  Returns its log."""
        d = self.daemon(extra, dns_servers, sections)
        c = d.connect()
        bad = []
        for case in cases:
            ip, sender, want = case[:3]
            attrs = case[3] if len(case) > 3 else {}
            r = c.ask(ip, sender, **attrs)
            if not holds(want, r):
                bad.append('%s %s%s: %r' % (ip, sender[-40:], ''.join(
                    ' %s=%s' % kv for kv in attrs.items()), r))
        c.close()
        log = self.last_log = d.log()
        d.stop()
        check(not bad, '; '.join(bad))
        return log


# ----- tests against knotd -----

def t_results(ctx):
    """Every SPF result, read from the Received-SPF header (no rejects)."""
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
    ctx.expect('mail_from_reject = no\nhelo_reject = no\n',
               [(ip, sender, spf(want)) for ip, sender, want in cases])


def t_header_text(ctx):
    ctx.expect('', [
        ('192.0.2.10', 'a@example.com',
         'PREPEND Received-SPF: pass (mx.test: domain of a@example.com'
         ' designates 192.0.2.10 as permitted sender) client-ip=192.0.2.10;'
         ' envelope-from="a@example.com"; helo=client.example.com;'
         ' identity=mailfrom; receiver=mx.test;'),
        ('2001:db8:1::25', 'a@soft.example.com',
         'PREPEND Received-SPF: softfail (mx.test: transitioning '
         'domain of a@soft.example.com does not designate 2001:db8:1::25 '
         'as permitted sender) client-ip="2001:db8:1::25"; '
         'envelope-from="a@soft.example.com"; helo=client.example.com; '
         'identity=mailfrom; receiver=mx.test;')])


def t_fail_reject_text(ctx):
    bomb = starts('550 5.7.23 Message rejected due to: ' +
                  'expbomb.example.comS' * 5)
    ctx.expect('', [
        ('198.51.100.1', 'a@example.com',
         '550 5.7.23 Message rejected due to: SPF fail - not '
         'authorized. Please see https://www.open-spf.org/Why?s=mfrom;'
         'id=a@example.com;ip=198.51.100.1;r=mx.test'),
        # the domain's own explanation (exp=), macros expanded
        ('198.51.100.1', 'a@expd.example.com',
         starts('550 5.7.23 Message rejected due to: Not from '
                '198.51.100.1, sorry. Please see')),
        # an explanation that smashed libspf2's stack when it compiled it:
        # spfpd expands it itself (43 times the domain and "S"), the reply
        # stays within an SMTP line, and the daemon is there for the next
        ('198.51.100.1', 'a@expbomb.example.com',
         lambda r: bomb(r) and len(r) < 512),
        ('192.0.2.10', 'a@example.com', spf('pass'))])


def t_permerror_reject(ctx):
    ctx.expect('permerror_reject = yes\n', [
        ('192.0.2.1', 'a@perm.example.com',
         starts('550 5.7.24 Message rejected due to: SPF permanent '
                'error: '))])


def t_reject_levels(ctx):
    ctx.expect('mail_from_reject = softfail\n', [
        ('198.51.100.1', 'a@soft.example.com',
         starts('550 5.7.23 Message rejected due to: SPF softfail')),
        ('198.51.100.1', 'a@neutral.example.com', spf('neutral'))])
    ctx.expect('mail_from_reject = not_pass\n', [
        ('198.51.100.1', 'a@neutral.example.com', starts('550 5.7.23 ')),
        ('198.51.100.1', 'a@nospf.example.com', spf('none'))])
    # reject_not_pass_domains: not_pass for the listed domains only
    ctx.expect('reject_not_pass_domains = neutral.example.com\n', [
        ('198.51.100.1', 'a@neutral.example.com', starts('550 5.7.23 ')),
        ('198.51.100.1', 'a@soft.example.com', spf('softfail'))])


MAIL = {'helo': 'mail.example.com'}
BADHELO = {'helo': 'badhelo.example.com'}
BOUNCE_REFUSED = (starts('550 5.7.23 '), has('id=mail.example.com'))


def t_helo(ctx):
    """HELO is checked first; a HELO fail refuses even a passing sender;
    the null sender gets the HELO result, and mail_from_reject applies to
    it; a final dot is ignored; literals are not checked."""
    ctx.expect('', [
        ('192.0.2.10', 'a@example.com',
         starts('550 5.7.23 Message rejected due to: SPF fail - not '
                'authorized. Please see https://www.open-spf.org/'
                'Why?s=helo;id=badhelo.example.com;'), BADHELO),
        ('192.0.2.1', '',
         starts('PREPEND Received-SPF: pass (mx.test: domain of '
                'mail.example.com designates 192.0.2.1 as permitted '
                'sender) client-ip=192.0.2.1; envelope-from="<>"; '
                'helo=mail.example.com; identity=helo;'), MAIL),
        ('198.51.100.1', '', starts('550 5.7.23 '), MAIL),
        ('198.51.100.1', '', spf('none'), {'helo': '[198.51.100.1]'})])
    # RFC 7208 2.4: the null sender's MAIL FROM identity is
    # postmaster@<HELO>, and mail_from_reject (fail) refuses its fail
    # whatever helo_reject says: no forged bounce with only a header
    for conf in ('helo_reject = no_check\n', 'helo_reject = no\n'):
        ctx.expect(conf, [
            ('192.0.2.10', 'a@example.com', spf('pass'), BADHELO),
            ('198.51.100.1', '', BOUNCE_REFUSED, MAIL),
            ('192.0.2.1', '', spf('pass'), MAIL)])
    ctx.expect('helo_reject = no_check\nmail_from_reject = no\n', [
        ('198.51.100.1', '', spf('fail'), MAIL)])
    # one final dot changes nothing (was "none": a forgery with a dot)
    dot = {'helo': 'mail.example.com.'}
    ctx.expect('', [('198.51.100.1', '', starts('550 5.7.23 '), dot),
                    ('192.0.2.1', '', spf('pass'), dot)])
    ctx.expect('helo_reject = null\n', [
        ('192.0.2.10', 'a@example.com', spf('pass'), BADHELO),
        ('198.51.100.1', '', starts('550 5.7.23 '), BADHELO)])


def t_stages(ctx):
    """protocol_state: MAIL FROM is checked only where there is one (an
    empty sender at CONNECT, EHLO, VRFY or ETRN is not the null sender);
    the HELO is checked where there is one; no header at END-OF-MESSAGE
    nor before MAIL (Postfix would drop it, or it would land on the wrong
    message)."""
    cases = []
    for st in ('CONNECT', 'EHLO', 'HELO', 'VRFY', 'ETRN'):
        # a null-sender forgery would be refused at RCPT (postmaster@HELO
        # fails); before MAIL there is no sender at all: nothing to
        # refuse, and no header
        cases += [('198.51.100.1', '', 'DUNNO',
                   dict(MAIL, protocol_state=st, instance='st1')),
                  ('192.0.2.1', '', 'DUNNO',
                   dict(MAIL, protocol_state=st, instance='st2'))]
    # the same message at RCPT: judged as the bounce it now is, not
    # answered from what the EHLO-stage request left behind
    cases.append(('198.51.100.1', '', BOUNCE_REFUSED,
                  dict(MAIL, protocol_state='RCPT', instance='st1')))
    cases += [('192.0.2.1', 'a@example.com', spf('pass'),
               {'protocol_state': st, 'instance': 'st3' + st})
              for st in ('MAIL', 'RCPT', 'DATA')]
    # END-OF-MESSAGE: refusals still work, headers cannot be added
    eom = {'protocol_state': 'END-OF-MESSAGE'}
    ctx.expect('helo_reject = no\n', cases + [
        ('192.0.2.1', 'a@example.com', 'DUNNO', dict(eom, instance='st4')),
        ('198.51.100.1', 'a@example.com', starts('550 5.7.23 '),
         dict(eom, instance='st5'))])
    # a HELO that fails is refused at EHLO too (helo_reject = fail)
    ctx.expect('', [('192.0.2.10', '', (starts('550 5.7.23 '), has('s=helo')),
                     dict(BADHELO, protocol_state='EHLO'))])


GOLDEN_LOG = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                          'golden', 'decision-log.ref')


def decision_lines(log):
    """The decision lines of a log, with what changes from run to run
    (the pid, the connection number, the time taken) written as such."""
    out = []
    for line in log.splitlines():
        m = re.search(r'conn=\d+ (instance=.*)', line)
        if m:
            out.append('conn=N ' + re.sub(r' elapsed=\d+\.\d{3}ms$',
                                          ' elapsed=Tms', m.group(1)))
    return out


def t_log_golden(ctx):
    """The decision line is an interface (README, "Log lines"): its
    key=value fields, in order, for each kind of decision, against
    tests/golden/decision-log.ref (SPFPD_GOLDEN_UPDATE=1 writes it)."""
    mail = {'instance': 'g1'}
    log = ctx.expect('ptr_check = header\n'
                     'skip_addresses = 127.0.0.0/8\n', [
        ('192.0.2.10', 'a@example.com', spf('pass'), dict(mail)),
        ('198.51.100.1', 'a@example.com', starts('550 5.7.23 '),
         dict(mail, instance='g2')),
        # the message's second recipient: the same refusal, remembered
        ('198.51.100.1', 'a@example.com', starts('550 5.7.23 '),
         dict(mail, instance='g2', recipient='second@example.net')),
        ('203.0.113.7', 'a@soft.example.com', spf('softfail'),
         dict(mail, instance='g3')),
        ('198.51.100.1', 'a@nospf.example.com', spf('none'),
         dict(mail, instance='g4')),
        ('192.0.2.1', 'a@perm.example.com', spf('permerror'),
         dict(mail, instance='g5')),
        ('192.0.2.10', '', 'DUNNO',
         dict(mail, instance='g6', protocol_state='EHLO')),
        ('127.0.0.1', 'a@example.com', 'DUNNO', dict(mail, instance='g7')),
        ('192.0.2.10', 'we"ird\\x@example.com', spf('pass'),
         dict(mail, instance='g8')),
    ])
    ctx.expect('test_only = yes\n', [
        ('198.51.100.1', 'a@example.com', spf('fail'),
         dict(mail, instance='g9'))])
    got = decision_lines(log) + decision_lines(ctx.last_log)
    ctx.expect('mail_from_pass_restriction = spf_pass\n', [
        ('192.0.2.10', 'a@example.com', 'spf_pass',
         dict(mail, instance='g10'))])
    got += decision_lines(ctx.last_log)
    # an SPF fail lifted: the client is an MX host of the recipient's
    # domain (trust_recipient_mx): trusted= and trusted_by=
    ctx.expect('', [
        ('203.0.113.25', 'a@example.com', spf('fail'),
         dict(mail, instance='g11', rcpt='u@ourdomain.test'))])
    got += decision_lines(ctx.last_log)
    if os.environ.get('SPFPD_GOLDEN_UPDATE') == '1':
        with open(GOLDEN_LOG, 'w') as f:
            f.write('\n'.join(got) + '\n')
    with open(GOLDEN_LOG) as f:
        want = f.read().splitlines()
    diff = [('-' + w, '+' + g) for w, g in zip(want, got) if w != g]
    check(not diff and len(want) == len(got), 'decision lines differ from '
          '%s: %r (%d lines, want %d)' % (GOLDEN_LOG, diff[:3], len(got),
                                          len(want)))


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
    data = ''.join(request('198.51.100.1', 'a@latefail.example.com',
                           'late%d' % i, rcpt='r%d@dest.test' % i)
                   for i in range(n)).encode()
    err = []

    def writer():
        try:
            c.sock.sendall(data)
        except OSError as e:
            err.append(e)
    t = threading.Thread(target=writer, daemon=True)
    t.start()
    time.sleep(2)
    deadline = time.monotonic() + 15
    while c.buf.count(b'\n\n') < n and time.monotonic() < deadline:
        c.sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = c.sock.recv(65536)
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
    ctx.expect('header_type = authentication-results\n', [
        ('192.0.2.10', 'a@example.com',
         'PREPEND Authentication-Results: mx.test; spf=pass (domain '
         'of a@example.com designates 192.0.2.10 as permitted sender) '
         'smtp.mailfrom=example.com'),
        ('192.0.2.1', '',
         (starts('PREPEND Authentication-Results: mx.test; spf=pass ('),
          lambda r: r.endswith(' smtp.helo=mail.example.com')), MAIL)])
    ctx.expect('header_type = none\n', [
        ('192.0.2.10', 'a@example.com', 'DUNNO')])


def t_options(ctx):
    log = ctx.expect('test_only = yes\nhide_receiver = yes\n', [
        ('198.51.100.1', 'a@example.com',
         (starts('PREPEND Received-SPF: fail (domain of a@example.com'),
          lambda r: 'receiver=' not in r))])
    check('test_only="550 5.7.23 Message rejected' in log, 'no test_only log')
    alice = {'sasl_username': 'alice'}
    log = ctx.expect('', [('198.51.100.1', 'a@example.com', 'DUNNO', alice)])
    check('result=skipped(authenticated)' in log, 'no skip log line')
    ctx.expect('skip_authenticated = no\n', [
        ('198.51.100.1', 'a@example.com', starts('550 5.7.23'), alice)])
    # the client is a relay of relay.example.com: not checked further
    log = ctx.expect('domain_whitelist = relay.example.com\n', [
        ('203.0.113.50', 'a@example.com', 'DUNNO'),
        ('198.51.100.1', 'a@example.com', starts('550 5.7.23'))])
    check('result=skipped(domain_whitelist)' in log, 'no log line')
    wl = {'helo': 'wl.example.com'}
    ctx.expect('helo_whitelist = wl.example.com\n', [
        ('203.0.113.9', 'a@example.com', 'DUNNO', wl),
        # the listed name does not resolve to this client: checked
        ('198.51.100.1', 'a@example.com', starts('550 5.7.23'), wl)])
    ctx.expect('reason_message = {result} for {domain} ({identity}) '
               '- {spf}\n', [
                   ('198.51.100.1', 'a@example.com',
                    '550 5.7.23 fail for example.com (mailfrom) - SPF fail '
                    '- not authorized')])


def t_no_mail(ctx):
    """reject_only_no_mail: only a fail of a record that is exactly
    "v=spf1 -all" is refused; other fails, HELO or MAIL FROM, get the
    header."""
    refused = starts('550 5.7.23 Message rejected due to: SPF fail')
    ctx.expect('reject_only_no_mail = yes\n', [
        ('198.51.100.1', 'a@nomail.example.com', refused),
        ('198.51.100.1', 'a@nomail2.example.com', refused),
        ('198.51.100.1', 'a@example.com', spf('fail')),
        ('198.51.100.1', 'a@expd.example.com', spf('fail')),
        ('198.51.100.1', 'a@nomailredir.example.com', spf('fail')),
        ('198.51.100.1', 'a@nomailinc.example.com', spf('fail')),
        ('198.51.100.1', 'a@soft.example.com', spf('softfail')),
        # the HELO: badhelo is "v=spf1 -all", mail is "v=spf1 a -all"
        ('192.0.2.10', 'a@example.com', (refused, has('s=helo;')),
         BADHELO),
        ('198.51.100.1', 'a@soft.example.com', spf('softfail'), MAIL),
        ('198.51.100.1', '', spf('fail'), MAIL)])
    ctx.expect('', [
        ('198.51.100.1', 'a@example.com', starts('550 5.7.23 ')),
        ('198.51.100.1', 'a@nomail.example.com', refused)])


def t_pass_class(ctx):
    """mail_from_pass_restriction, helo_pass_restriction: the class name
    is the whole answer on a pass, for every recipient of the message; a
    refusal wins; other results get the header."""
    log = ctx.expect('mail_from_pass_restriction = spf_pass\n'
                     'helo_pass_restriction = helo_pass\n', [
        ('192.0.2.10', 'a@example.com', 'spf_pass', {'instance': 'pc1'}),
        ('192.0.2.10', 'a@example.com', 'spf_pass',
         {'instance': 'pc1', 'rcpt': 'second@dest.test'}),
        ('198.51.100.1', 'a@example.com', starts('550 5.7.23 ')),
        ('198.51.100.1', 'a@soft.example.com', spf('softfail')),
        ('192.0.2.1', 'a@neutral.example.com', 'helo_pass', MAIL),
        ('192.0.2.1', 'a@softall.example.com', spf('softfail'), MAIL),
        ('192.0.2.1', '', 'spf_pass', MAIL),
        ('192.0.2.10', 'a@example.com', starts('550 5.7.23 '), BADHELO),
        ('192.0.2.10', 'a@example.com', 'spf_pass',
         {'protocol_state': 'END-OF-MESSAGE'})])
    check(re.search(r'instance=pc1 .* result=pass action=spf_pass ', log),
          'no decision line with the class: ' + log[-800:])
    check(re.search(r'instance=pc1 .* result=repeat action=spf_pass ', log),
          'the second recipient: ' + log[-800:])
    ctx.expect('mail_from_pass_restriction = spf_pass\ntest_only = yes\n', [
        ('198.51.100.1', 'a@example.com', spf('fail')),
        ('192.0.2.10', 'a@example.com', 'spf_pass')])


def t_nat_warning(ctx):
    """An SPF fail for a private client address (Postfix behind NAT, a
    container bridge or a proxy) warns, once for many requests."""
    d = ctx.daemon('')
    c = d.connect()
    r = [c.ask('198.51.100.1', 'a@example.com')]
    r += [c.ask('172.17.0.1', 'a@example.com') for _ in range(3)]
    r.append(c.ask('172.17.0.1', 'a@nospf.example.com'))
    c.close()
    log = d.log()
    d.stop()
    check(all(x.startswith('550 5.7.23 ') for x in r[:4]), repr(r))
    lines = [ln for ln in log.splitlines() if 'SPF failed' in ln]
    check(len(lines) == 1, 'warnings: %r' % lines)
    check('warning: client_address=172.17.0.1 is a private (RFC 1918) '
          'address and SPF failed: if Postfix runs behind NAT or a '
          'container network, or behind a proxy without XCLIENT or the '
          'PROXY protocol, spfpd sees the proxy, not the client, and '
          'refuses legitimate mail' in lines[0], lines[0])


def t_trust_mx(ctx):
    """trust_recipient_mx: a backup MX relaying for our domain, whose
    sender's SPF fails, is not refused: the header records the fail and
    why it was accepted; the same client for another recipient domain is
    refused, and a message's refusal holds for its recipients of that
    domain only."""
    ours = {'rcpt': 'u@OurDomain.test'}
    note = has('; accepted: client is an MX host of ourdomain.test)')
    refused = starts('550 5.7.23 ')
    log = ctx.expect('', [
        ('203.0.113.25', 'a@example.com', (spf('fail'), note), ours),
        ('2001:db8:2::25', 'a@example.com', (spf('fail'), note), ours),
        ('203.0.113.25', 'a@example.com', refused),
        ('203.0.113.25', 'a@example.com', refused,
         {'rcpt': 'u@nullmx.test'}),
        ('203.0.113.25', 'a@example.com', refused, {'rcpt': ''}),
        ('192.0.2.99', 'a@example.com', (spf('pass'),
                                          lambda r: 'accepted' not in r),
         ours),
        # a message: refused for dest.test, again (remembered), then
        # accepted for ourdomain.test (decided anew), DUNNO for another
        # recipient there (one header per message), and refused again
        # for dest.test: the MX hosts of ourdomain.test vouch for mail
        # to ourdomain.test only (a domain whose MX is the forger's own
        # host must not open the message to everyone else's)
        ('203.0.113.25', 'a@example.com', refused, {'instance': 'm1'}),
        ('203.0.113.25', 'a@example.com', refused,
         {'instance': 'm1', 'rcpt': 'v@dest.test'}),
        ('203.0.113.25', 'a@example.com', (spf('fail'), note),
         dict(ours, instance='m1')),
        ('203.0.113.25', 'a@example.com', 'DUNNO',
         {'instance': 'm1', 'rcpt': 'x@ourdomain.test'}),
        ('203.0.113.25', 'a@example.com', refused,
         {'instance': 'm1', 'rcpt': 'w@dest.test'}),
        # lifted first: the other domain is still refused, and the
        # next recipient of the lifted domain gets DUNNO (one header)
        ('203.0.113.25', 'a@example.com', (spf('fail'), note),
         dict(ours, instance='m2')),
        ('203.0.113.25', 'a@example.com', refused,
         {'instance': 'm2', 'rcpt': 'w@dest.test'}),
        ('203.0.113.25', 'a@example.com', 'DUNNO',
         dict(ours, instance='m2'))])
    check(re.search(r'instance=m1 .*recipient=<v@dest.test> '
                    r'result=repeat ', log), log[-1500:])
    check(re.search(r'recipient=<u@OurDomain.test> .* trusted=mx '
                    r'trusted_by=ourdomain.test result=fail action=PREPEND',
                    log), log[-1500:])
    ctx.expect('header_type = authentication-results\n', [
        ('203.0.113.25', 'a@example.com', (starts(
            'PREPEND Authentication-Results: mx.test; spf=fail (domain of '
            'a@example.com does not designate 203.0.113.25 as permitted '
            'sender; accepted: client is an MX host of ourdomain.test) '
            'smtp.mailfrom=example.com')), ours)])
    ctx.expect('trust_recipient_mx = no\n', [
        ('203.0.113.25', 'a@example.com', refused, ours)])
    # a DNS failure is no trust (knotd refuses a zone it does not
    # serve): refused as usual
    ctx.expect('', [('203.0.113.25', 'a@example.com', refused,
                     {'rcpt': 'u@dead.test'})])


def t_dnswl(ctx):
    """dnswl_zones (RFC 8904): a listed client's SPF refusal is lifted
    and the listing recorded; 127.0.0.255 ("query refused") is no
    listing, warned about once; an answer outside 127/8 is ignored."""
    conf = 'dnswl_zones = list.dnswl.test\n'
    refused = starts('550 5.7.23 ')
    fail = 'a@nomail.example.com'
    log = ctx.expect(conf, [
        ('192.0.2.10', fail, (spf('fail'), has(
            '; accepted: list.dnswl.test lists the client as '
            '127.0.10.2)'))),
        ('2001:db8:3::7', fail, (spf('fail'), has(
            '; accepted: list.dnswl.test lists the client as '
            '127.0.5.1)'))),
        ('192.0.2.11', fail, refused),
        ('192.0.2.11', 'b@nomail.example.com', refused),
        ('192.0.2.12', fail, refused),
        ('192.0.2.13', fail, refused),
        # nothing refused: nothing looked up, no note
        ('192.0.2.10', 'a@example.com', (spf('pass'),
                                          lambda r: 'accepted' not in r))])
    warn = [ln for ln in log.splitlines() if '127.0.0.255' in ln]
    check(len(warn) == 1 and 'warning: ' in warn[0] and
          'list.dnswl.test' in warn[0], 'warnings: %r' % warn)
    check(re.search(r'client=192.0.2.10 .* trusted=dnswl '
                    r'trusted_by=list.dnswl.test result=fail', log),
          log[-1500:])
    ctx.expect(conf + 'header_type = authentication-results\n', [
        ('192.0.2.10', fail, (starts(
            'PREPEND Authentication-Results: mx.test; spf=fail ('),
            lambda r: r.endswith(
                ' smtp.mailfrom=nomail.example.com; dnswl=pass '
                'dns.zone=list.dnswl.test policy.ip=127.0.10.2'))),
        ('192.0.2.12', fail, refused)])


def t_temperror(ctx):
    """A DNS server that never answers: temperror, deferred when asked."""
    dead = ctx.dead_dns()
    ctx.expect('temperror_defer = yes\n', [
        ('192.0.2.10', 'a@example.com',
         starts('DEFER_IF_PERMIT 4.7.24 Message deferred due '
                'to: SPF temporary error: '))], dns_servers=dead)
    ctx.expect('', [('192.0.2.10', 'a@example.com',
                     (spf('temperror'), has('problem=')))],
               dns_servers=dead)


# ----- tests against tests/dnsserver.py (it can delay and log) -----

def t_loop_not_blocked(ctx):
    """One answer held back 3 s: 200 other requests on other connections
    are all answered before it (they never wait behind it)."""
    zone = {'slow.test': [{'TXT': 'v=spf1 -all'}],
            'fast.test': [{'TXT': 'v=spf1 ip4:192.0.2.0/24 -all'}]}
    dns = ctx.dns(zone, ['--delay-name', 'slow.test=3000'])
    d = ctx.daemon('lookup_time = 10s\ndns_timeout = 5s\n',
                   dns_servers=dns.servers)
    slow = d.connect()
    slow.send_request('192.0.2.10', 'a@slow.test')
    order = []
    t0 = time.time()

    def fast_client(k):
        c = d.connect()
        for _ in range(20):
            r = c.ask('192.0.2.10', 'b%d@fast.test' % k)
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
    check(order[-1] == 'slow' and len(order) == 11, 'order: %s' % order)
    ctx.note('loop_not_blocked: 200 requests answered while one DNS '
             'answer was held 3 s; slow one answered after %.2fs' %
             fast_done)


def t_cache(ctx):
    zone = {'ttl.test': [{'TXT': 'v=spf1 -all'}],
            'co.test': [{'TXT': 'v=spf1 -all'}]}
    for i in range(20):
        zone['d%d.test' % i] = [{'TXT': 'v=spf1 -all'}]
    dns = ctx.dns(zone, ['--ttl', '2', '--delay-name', 'co.test=200'])
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
        cl.send_request('192.0.2.1', 'u%d@co.test' % k, helo='')
    for cl in clients:
        r = cl.reply()
        check(spf_result(r) == 'fail', r)
        cl.close()
    check(dns.count('co.test') == 1, 'not coalesced: %d queries' %
          dns.count('co.test'))
    c.close()
    d.stop()


def t_forgery(ctx):
    """Forged senders that got through with the default config, each
    refused now: a local part over 64 bytes (was "none"), a valid record
    libspf2 cannot hold whole (was "neutral"), exp= lookups counted as
    DNS terms (was "permerror"); the explanation is the exp= of the
    record that decided, fetched once."""
    spf_fail = starts('550 5.7.23 Message rejected due to: SPF fail - '
                      'not authorized.')
    ctx.expect('', [
        ('198.51.100.1', sender, spf_fail)
        for sender in ('x' * 65 + '@example.com',
                       'x' * 1000 + '@example.com', 'a@wide.example.com',
                       'a@longa.example.com', 'a@long100.example.com')] + [
        ('198.51.100.1', sender,
         starts('550 5.7.23 Message rejected due to: Not from '
                '198.51.100.1, sorry. Please see'))
        for sender in ('a@exp5.example.com', 'a@exp10.example.com')] + [
        # an exp= inside an include: is not the top record's: the default
        ('198.51.100.1', 'a@expinc.example.com', spf_fail)])


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
    dns = ctx.dns(zone, args)
    # dns_failure_ttl = 0: each ask goes out again, so the count of 2
    # shows a failure is never kept as an answer (hostiletest.py tests
    # the failure cache itself)
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
    n = sum(1 for q in dns.queries() if q[1].endswith('.amp.test'))
    check(n <= 10, '%d queries for the names of one record' % n)
    c.close()
    d.stop()


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
    dns = ctx.dns(zone)
    d = ctx.daemon('mail_from_reject = no\ndns_timeout = 3s\n',
                   dns_servers=dns.servers)
    c1 = d.connect()
    c2 = d.connect()
    local = '.'.join(['a'] * 2000)
    c1.send_request('192.0.2.1', local + '@bomb.test', helo='')
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


def t_dns_timeout(ctx):
    """dns_timeout holds on every c-ares version: after 30 quick answers
    (c-ares 1.22+ then times an attempt by the server's latency, 250 ms
    at least), an answer that takes 1 s is still an answer with
    dns_timeout = 3s and dns_tries = 1, not a temperror."""
    zone = {'slow.test': [{'TXT': 'v=spf1 -all'}]}
    for i in range(30):
        zone['q%d.test' % i] = [{'TXT': 'v=spf1 -all'}]
    dns = ctx.dns(zone, ['--delay-name', 'slow.test=1000'])
    ctx.expect('mail_from_reject = no\ndns_timeout = 3s\ndns_tries = 1\n',
               [('192.0.2.1', 'a@q%d.test' % i, spf('fail'), {'helo': ''})
                for i in range(30)] +
               [('192.0.2.1', 'a@slow.test', spf('fail'), {'helo': ''})],
               dns_servers=dns.servers)


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
    dns = ctx.dns(zone, ['--delay-ms', '20'])
    d = ctx.daemon('mail_from_reject = no\ndns_timeout = 3s\n',
                   dns_servers=dns.servers)
    c = d.connect()
    t0 = time.time()
    r = c.ask('198.51.100.9', 'a@top.test', helo='')
    wall = (time.time() - t0) * 1000
    c.close()
    d.stop()
    check(spf_result(r) == 'pass', r)
    n = len(dns.queries())
    rtts = wall / 20.0
    ctx.note('round_trips: cold 3-level include tree (8 records) with '
             '20 ms DNS delay: %.0f ms wall, ~%.1f round trips, %d '
             'queries' % (wall, rtts, n))
    check(n == 8, '%d queries for 8 records' % n)


# ----- reverse DNS (iprev) -----

def iprev_of(action):
    m = re.search(r'; iprev=(\w+) policy\.iprev=', action)
    return m.group(1) if m else None


def iprev(result):
    """want: a reply whose Authentication-Results header says result"""
    return lambda r: iprev_of(r) == result


AR = 'header_type = authentication-results\n'


def t_iprev_results(ctx):
    """pass / fail / permerror for IPv4 and IPv6, read from the
    Authentication-Results header; the log names the result and name."""
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
    log = ctx.expect(AR + 'mail_from_reject = no\nhelo_reject = no\n',
                     [(ip, 'a@example.com', iprev(want))
                      for ip, want in cases])
    check(re.search(r'client=192\.0\.2\.1 .* iprev=pass '
                    r'iprev_name=mail\.example\.com ', log),
          'no iprev in the log line')


def t_iprev_header(ctx):
    first = {'helo': 'mail.example.com', 'instance': 'ip1'}
    ctx.expect(AR, [
        ('192.0.2.1', 'a@nospf.example.com',
         'PREPEND Authentication-Results: mx.test; spf=none (domain '
         'of a@nospf.example.com does not designate permitted sender '
         'hosts) smtp.mailfrom=nospf.example.com; iprev=pass '
         'policy.iprev=192.0.2.1 (mail.example.com)'),
        ('2001:db8::1', 'a@neutral.example.com',
         'PREPEND Authentication-Results: mx.test; spf=neutral '
         '(2001:db8::1 is neither permitted nor denied by domain of '
         'a@neutral.example.com) smtp.mailfrom=neutral.example.com; '
         'iprev=pass policy.iprev="2001:db8::1" (mail6.example.com)'),
        ('2001:db8:1::25', 'a@example.com',
         'PREPEND Authentication-Results: mx.test; spf=pass (domain '
         'of a@example.com designates 2001:db8:1::25 as permitted sender)'
         ' smtp.mailfrom=example.com; iprev=permerror '
         'policy.iprev="2001:db8:1::25"'),
        # one header for the message, as for SPF alone
        ('192.0.2.1', '',
         (lambda r: r.endswith('; iprev=pass policy.iprev=192.0.2.1 '
                               '(mail.example.com)'),
          has('smtp.helo=mail.example.com')), first),
        ('192.0.2.1', '', 'DUNNO', first)])
    # with Received-SPF the iprev result is only in the log
    log = ctx.expect('ptr_check = header\n', [
        ('192.0.2.4', 'a@example.com',
         (spf('pass'), lambda r: 'iprev' not in r))])
    check('iprev=permerror' in log, 'no iprev in the log')


def t_iprev_limit(ctx):
    """12 PTR names, the one that maps back is the 11th: beyond the
    default limit of 10 (fail); found with ptr_max_names = 12."""
    ctx.expect(AR + 'mail_from_reject = no\n', [
        ('192.0.2.6', 'a@example.com', iprev('fail'))])
    ctx.expect(AR + 'mail_from_reject = no\nptr_max_names = 12\n', [
        ('192.0.2.6', 'a@example.com',
         (iprev('pass'), has('(n11.example.com)')))])


def t_iprev_reject(ctx):
    ctx.expect('ptr_check = reject\n', [
        ('192.0.2.4', 'a@example.com',
         '550 5.7.25 Client host rejected: cannot find your reverse '
         'hostname, [192.0.2.4]'),
        ('192.0.2.2', 'a@example.com',
         '550 5.7.25 Client host rejected: your reverse hostname '
         'elsewhere.example.com does not resolve to [192.0.2.2]'),
        ('192.0.2.1', 'a@example.com', spf('pass'))])
    ctx.expect('ptr_check = reject\nptr_reject_code = 450\n', [
        ('2001:db8::3', 'a@example.com',
         '450 4.7.25 Client host rejected: cannot find your reverse '
         'hostname, [2001:db8::3]')])
    # test_only: decided and logged, not refused
    log = ctx.expect('ptr_check = reject\ntest_only = yes\n', [
        ('192.0.2.4', 'a@example.com', spf('pass'))])
    check('test_only="550 5.7.25 Client host rejected' in log, 'no log')


def t_iprev_temperror(ctx):
    """The reverse query is never answered: temperror, deferred."""
    dead = ctx.dead_dns()
    ctx.expect('ptr_check = reject\n', [
        ('192.0.2.1', 'a@example.com',
         '450 4.7.25 Client host rejected: cannot verify your '
         'reverse hostname, [192.0.2.1]: temporary DNS failure')],
        dns_servers=dead)
    ctx.expect('ptr_check = reject\nptr_temperror_defer = no\n' + AR, [
        ('192.0.2.1', 'a@example.com', iprev('temperror'))],
        dns_servers=dead)


def t_iprev_whitelists(ctx):
    # ptr_whitelist: no reverse lookup for these clients
    log = ctx.expect('ptr_check = reject\nptr_whitelist = 192.0.2.4/32\n',
                     [('192.0.2.4', 'a@example.com', spf('pass'))])
    check('iprev=' not in log, 'looked up anyway')
    # ptr_domain_whitelist: a forward-confirmed name in the domain skips
    # SPF; a PTR that only claims it (not confirmed) does not
    log = ctx.expect('ptr_domain_whitelist = trusted.example.com\n', [
        ('192.0.2.7', 'a@example.com', 'DUNNO'),
        ('192.0.2.8', 'a@example.com', spf('pass'))])
    check('result=skipped(ptr_domain_whitelist)' in log, 'no log line')


def t_query_mode(ctx):
    """spfpd -q: what an administrator runs when a sender complains."""
    conf = write_conf(os.path.join(ctx.tmp, 'q.conf'), {
        'dns_servers': '127.0.0.1:%d' % ctx.knot.port})

    def query(ip, sender, *more):
        return ctx.command(['-q', '-c', conf, '-i', ip, '-s', sender] +
                           list(more))
    p = query('192.0.2.1', 'a@inc.example.com', '-H', 'mail.example.com')
    out = p.stdout
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
        p = query(ip, sender)
        check('spf mailfrom: pass' in p.stdout and
              '  matched: %s\n' % want in p.stdout, p.stdout)
        check('action: PREPEND Received-SPF: pass' in p.stdout, p.stdout)


# ----- trusted_forwarders (issue 15 item 2) -----

# The forwarders' clients: 198.51.100.20 (an address item), .30 (its PTR
# relay.lists.fwd.test maps back), .33 (PTR lists.fwd.test itself, maps
# back), .31 (PTR liar.lists.fwd.test, whose A is another address), .32
# (PTR evillists.fwd.test, forward-confirmed, but not below
# lists.fwd.test), .34 (PTR in a zone knotd does not serve: the forward
# lookup fails), .40 (fwd.test's SPF record lists it); .50 is listed by
# nothing, no PTR (the attacker).  example.com's SPF fails for all.
ZONES['100.51.198.in-addr.arpa'] += [
    '30 PTR relay.lists.fwd.test.',
    '31 PTR liar.lists.fwd.test.',
    '32 PTR evillists.fwd.test.',
    '33 PTR lists.fwd.test.',
    '34 PTR relay.fwd-dead.test.',
    # two names: the one under lists.fwd.test is not confirmed, the
    # confirmed one is elsewhere
    '35 PTR liar2.lists.fwd.test.',
    '35 PTR plain.fwd.test.',
]
ZONES['fwd.test'] = [
    '@ TXT "v=spf1 ip4:198.51.100.40 ip4:198.51.100.30 ip4:192.0.2.10 '
    '-all"',
    'lists A 198.51.100.33',
    'lists TXT "v=spf1 -all"',
    'relay.lists A 198.51.100.30',
    'liar.lists A 198.51.100.99',
    'evillists A 198.51.100.32',
    # a HELO name that resolves to the attacker's own address
    'helo.lists A 198.51.100.50',
    'sub TXT "v=spf1 -all"',
    'soft TXT "v=spf1 ~all"',
    'mac TXT "v=spf1 exists:%{l}.ok.fwd.test -all"',
    'liar2.lists A 198.51.100.99',
    'plain A 198.51.100.35',
    'evil.ok A 127.0.0.2',
]


def fwd_note(entry):
    """want: the note of a refusal lifted by trusted_forwarders ENTRY"""
    return has('; accepted: trusted forwarder %s)' % entry)


def ends(text):
    """want: a reply that ends with text"""
    return lambda r: r.endswith(text)


def no_note(r):
    return 'accepted' not in r


FAIL = 'a@example.com'          # SPF fails for 198.51.100.0/24
REFUSED = starts('550 5.7.23 ')


def fwd_logged(log, client, entry):
    """The decision line of client says trusted=forwarder trusted_by=entry,
    before result= (a lifted fail: the header)."""
    check(re.search(r'client=%s .* trusted=forwarder trusted_by=%s '
                    r'result=fail action=PREPEND ' %
                    (re.escape(client), re.escape(entry)), log),
          'no trusted=forwarder trusted_by=%s for %s: %s' % (
              entry, client, log[-1500:]))


def t_forwarders(ctx):
    """trusted_forwarders: an address or CIDR (no DNS), ptr:DOMAIN (the
    client's forward-confirmed reverse DNS at or below DOMAIN, with
    ptr_check = header and = no), spf:DOMAIN (the client passes DOMAIN's
    SPF record) lift an SPF refusal: the header, with the note, the
    Authentication-Results property and the log fields.  The HELO name,
    the sender, a PTR name that only claims the domain, a look-alike
    label and a DNS failure never match; passing mail gets no note."""
    # address items
    addr = ('trusted_forwarders = 198.51.100.16/28, 2001:db8:4::/48 '
            '192.0.2.7\n')
    log = ctx.expect(addr, [
        ('198.51.100.20', FAIL,
         'PREPEND Received-SPF: fail (mx.test: domain of a@example.com '
         'does not designate 198.51.100.20 as permitted sender; accepted: '
         'trusted forwarder 198.51.100.16/28) client-ip=198.51.100.20; '
         'envelope-from="a@example.com"; helo=client.example.com; '
         'identity=mailfrom; receiver=mx.test;'),
        ('2001:db8:4::1', FAIL, (spf('fail'), fwd_note('2001:db8:4::/48'))),
        ('192.0.2.7', 'a@nomail.example.com',
         (spf('fail'), fwd_note('192.0.2.7'))),
        ('198.51.100.50', FAIL, REFUSED),
        ('198.51.100.32', FAIL, REFUSED),       # just past the /28
        ('2001:db8:5::1', FAIL, REFUSED),
        # nothing refused: no note
        ('198.51.100.20', 'a@l2.example.com', (spf('pass'), no_note)),
        ('198.51.100.20', 'a@soft.example.com', (spf('softfail'), no_note)),
        # the HELO identity of the null sender (mail.example.com: a -all)
        ('198.51.100.20', '', (spf('fail'), has('identity=helo'),
                               fwd_note('198.51.100.16/28')), MAIL)])
    fwd_logged(log, '198.51.100.20', '198.51.100.16/28')
    fwd_logged(log, '2001:db8:4::1', '2001:db8:4::/48')
    fwd_logged(log, '192.0.2.7', '192.0.2.7')
    check(not re.search(r'client=198\.51\.100\.50 .* trusted=', log),
          'the unlisted client logged as trusted: ' + log[-1500:])
    ctx.expect(addr + AR, [
        ('198.51.100.20', FAIL,
         'PREPEND Authentication-Results: mx.test; spf=fail (domain of '
         'a@example.com does not designate 198.51.100.20 as permitted '
         'sender; accepted: trusted forwarder 198.51.100.16/28) '
         'smtp.mailfrom=example.com policy.forwarder="198.51.100.16/28"'),
        ('2001:db8:4::1', FAIL, ends(
            ' smtp.mailfrom=example.com '
            'policy.forwarder="2001:db8:4::/48"')),
        ('192.0.2.7', 'a@nomail.example.com', ends(
            ' smtp.mailfrom=nomail.example.com policy.forwarder=192.0.2.7')),
        ('198.51.100.20', '', ends(
            ' smtp.helo=mail.example.com '
            'policy.forwarder="198.51.100.16/28"'), MAIL)])

    # ptr: items, the reverse DNS looked up in the first phase (header)
    # and only in the second (no)
    relay = 'ptr:lists.fwd.test'
    for ptr_check in ('header', 'no'):
        conf = ('ptr_check = %s\nhelo_reject = no\n'
                'trusted_forwarders = ptr:lists.fwd.test, '
                'ptr:fwd-dead.test\n' % ptr_check)
        log = ctx.expect(conf, [
            ('198.51.100.30', FAIL, (spf('fail'), fwd_note(relay))),
            ('198.51.100.33', FAIL, (spf('fail'), fwd_note(relay))),
            # the PTR claims relay.lists, its A record is elsewhere
            ('198.51.100.31', FAIL, REFUSED),
            # a look-alike label: evillists.fwd.test
            ('198.51.100.32', FAIL, REFUSED),
            # a name under lists.fwd.test that is not confirmed, next to
            # a confirmed one elsewhere
            ('198.51.100.35', FAIL, REFUSED),
            # the forward lookup of the PTR name fails (not served)
            ('198.51.100.34', FAIL, REFUSED),
            # the reverse lookup fails (a zone knotd does not serve)
            ('192.0.3.7', FAIL, REFUSED),
            # the attacker: the HELO name is the forwarder's, or one
            # below it that resolves to the attacker; the sender's domain
            # is the forwarder's
            ('198.51.100.50', FAIL, REFUSED,
             {'helo': 'relay.lists.fwd.test'}),
            ('198.51.100.50', FAIL, REFUSED, {'helo': 'helo.lists.fwd.test'}),
            ('198.51.100.50', 'a@lists.fwd.test', REFUSED),
            ('198.51.100.50', 'a@lists.fwd.test', REFUSED,
             {'helo': 'lists.fwd.test'}),
            ('198.51.100.30', 'a@l2.example.com', (spf('pass'), no_note))])
        fwd_logged(log, '198.51.100.30', relay)
        fwd_logged(log, '198.51.100.33', relay)
        check(not re.search(r'client=198\.51\.100\.(31|32|34|35|50) .* '
                            r'trusted=', log),
              'ptr_check = %s: an unconfirmed client logged as trusted: %s'
              % (ptr_check, log[-2000:]))
    ctx.expect('ptr_check = header\ntrusted_forwarders = ptr:lists.fwd.test\n'
               + AR, [('198.51.100.30', FAIL, (
                   fwd_note(relay),
                   has(' smtp.mailfrom=example.com '
                       'policy.forwarder=lists.fwd.test'),
                   ends('; iprev=pass policy.iprev=198.51.100.30 '
                        '(relay.lists.fwd.test)')))])
    ctx.expect('trusted_forwarders = ptr:lists.fwd.test\n' + AR, [
        ('198.51.100.33', FAIL, (fwd_note(relay), has(
            ' smtp.mailfrom=example.com policy.forwarder=lists.fwd.test')))])

    # spf: items
    conf = 'helo_reject = no\ntrusted_forwarders = spf:fwd.test\n'
    log = ctx.expect(conf, [
        ('198.51.100.40', FAIL, (spf('fail'), fwd_note('spf:fwd.test'))),
        ('198.51.100.41', FAIL, REFUSED),
        # the attacker names the forwarder: HELO, sender domain
        ('198.51.100.50', FAIL, REFUSED, {'helo': 'fwd.test'}),
        ('198.51.100.50', 'a@fwd.test', REFUSED),
        ('198.51.100.50', 'a@sub.fwd.test', REFUSED),
        ('198.51.100.50', 'a@sub.fwd.test', REFUSED, {'helo': 'fwd.test'}),
        ('198.51.100.40', 'a@l2.example.com', (spf('pass'), no_note))])
    fwd_logged(log, '198.51.100.40', 'spf:fwd.test')
    # the forwarder's record is evaluated for its own domain, not for
    # the sender: %{l} is not the attacker's local part
    ctx.expect('trusted_forwarders = spf:mac.fwd.test\n', [
        ('198.51.100.50', 'evil@example.com', REFUSED)])
    # only pass counts: softfail for soft.fwd.test's record
    ctx.expect('trusted_forwarders = spf:soft.fwd.test\n', [
        ('198.51.100.40', FAIL, REFUSED)])
    # a DNS failure of the forwarder's record: refused
    ctx.expect('trusted_forwarders = spf:nozone.test\n', [
        ('198.51.100.40', FAIL, REFUSED)])
    ctx.expect(conf + AR, [
        ('198.51.100.40', FAIL, ends(
            ' smtp.mailfrom=example.com policy.forwarder=fwd.test'))])
    # a message of several recipients: one header, for every domain (a
    # forwarder is trusted for all the recipients of its section)
    log = ctx.expect('trusted_forwarders = ptr:lists.fwd.test\n', [
        ('198.51.100.30', FAIL, fwd_note(relay),
         {'instance': 'f1', 'rcpt': 'u@dest.test'}),
        ('198.51.100.30', FAIL, 'DUNNO',
         {'instance': 'f1', 'rcpt': 'v@other.test'}),
        ('198.51.100.50', FAIL, REFUSED,
         {'instance': 'f2', 'rcpt': 'u@dest.test'}),
        ('198.51.100.50', FAIL, REFUSED,
         {'instance': 'f2', 'rcpt': 'v@other.test'})])


def t_forwarders_order(ctx):
    """trusted_forwarders: which one is noted when several would lift a
    refusal (address item, MX host, ptr:, spf:, DNSWL), and what it never
    lifts (a temperror's defer, ptr_check's refusal); under test_only it
    is looked at too."""
    ours = {'rcpt': 'u@ourdomain.test'}
    mx_note = has('; accepted: client is an MX host of ourdomain.test)')
    # an address item before the MX host
    ctx.expect('trusted_forwarders = 203.0.113.0/24\n', [
        ('203.0.113.25', FAIL, (fwd_note('203.0.113.0/24'),
                                lambda r: 'MX host' not in r), ours)])
    # the MX host before ptr: (backup.ourdomain.test maps back)
    log = ctx.expect('ptr_check = header\n'
                     'trusted_forwarders = ptr:ourdomain.test\n', [
        ('203.0.113.25', FAIL, (mx_note, lambda r: 'forwarder' not in r),
         ours),
        ('203.0.113.25', FAIL, fwd_note('ptr:ourdomain.test'))])
    fwd_logged(log, '203.0.113.25', 'ptr:ourdomain.test')
    # ptr: before spf:, whatever their order in the file
    ctx.expect('ptr_check = header\n'
               'trusted_forwarders = spf:fwd.test, ptr:lists.fwd.test\n', [
        ('198.51.100.30', FAIL, fwd_note('ptr:lists.fwd.test'))])
    # spf: before DNSWL (192.0.2.10 is listed), only one noted
    log = ctx.expect('dnswl_zones = list.dnswl.test\n'
                     'trusted_forwarders = spf:fwd.test\n' + AR, [
        ('192.0.2.10', 'a@nomail.example.com', (
            fwd_note('spf:fwd.test'), lambda r: 'dnswl' not in r,
            ends(' smtp.mailfrom=nomail.example.com '
                 'policy.forwarder=fwd.test')))])
    fwd_logged(log, '192.0.2.10', 'spf:fwd.test')
    # test_only: the refusal it holds back is looked at too
    ctx.expect('test_only = yes\ntrusted_forwarders = 198.51.100.16/28\n', [
        ('198.51.100.20', FAIL, (spf('fail'), fwd_note('198.51.100.16/28')))])
    # ptr_check's refusal is not lifted (198.51.100.20 has no PTR)
    ctx.expect('ptr_check = reject\ntrusted_forwarders = 198.51.100.16/28\n',
               [('198.51.100.20', FAIL, starts('550 5.7.25 '))])
    # nor a temperror's defer
    dead = ctx.dead_dns()
    ctx.expect('temperror_defer = yes\n'
               'trusted_forwarders = 198.51.100.16/28\n', [
        ('198.51.100.20', FAIL, starts('DEFER_IF_PERMIT 4.7.24 '))],
        dns_servers=dead)


def t_forwarders_lookups(ctx):
    """trusted_forwarders: nothing is looked up for mail that is not
    refused; with ptr_check = no the reverse DNS is looked up only in the
    second phase (tests/dnsserver.py's query log)."""
    zone = {'pass.test': [{'TXT': 'v=spf1 ip4:192.0.2.0/24 -all'}],
            'fail.test': [{'TXT': 'v=spf1 -all'}],
            'fwd.test': [{'TXT': 'v=spf1 ip4:192.0.2.67 -all'}],
            '66.2.0.192.in-addr.arpa': [{'PTR': 'relay.fwd.test'}],
            '67.2.0.192.in-addr.arpa': [{'PTR': 'other.test'}],
            'relay.fwd.test': [{'A': '192.0.2.66'}]}
    dns = ctx.dns(zone)
    d = ctx.daemon('ptr_check = no\nhelo_reject = no_check\n'
                   'dns_timeout = 2s\n'
                   'trusted_forwarders = ptr:fwd.test, spf:fwd.test\n',
                   dns_servers=dns.servers)
    c = d.connect()
    r = [c.ask('192.0.2.66', 'a@pass.test'),
         c.ask('192.0.2.67', 'a@pass.test')]
    check(all(spf_result(x) == 'pass' and no_note(x) for x in r), repr(r))
    q = dns.queries()
    check(dns.count('66.2.0.192.in-addr.arpa', 'PTR') == 0 and
          dns.count('67.2.0.192.in-addr.arpa', 'PTR') == 0 and
          dns.count('fwd.test') == 0,
          'looked up for mail that passed: %r' % q)
    r = c.ask('192.0.2.66', 'a@fail.test')
    check(spf_result(r) == 'fail' and fwd_note('ptr:fwd.test')(r), r)
    check(dns.count('66.2.0.192.in-addr.arpa', 'PTR') == 1,
          'PTR of 192.0.2.66 asked %d times' %
          dns.count('66.2.0.192.in-addr.arpa', 'PTR'))
    r = c.ask('192.0.2.67', 'a@fail.test')
    check(spf_result(r) == 'fail' and fwd_note('spf:fwd.test')(r), r)
    r = c.ask('192.0.2.68', 'a@fail.test')
    check(r.startswith('550 5.7.23 '), r)
    c.close()
    d.stop()
    # an spf: forwarder whose DNS never answers: refused, within
    # lookup_time (the second phase shares the request's deadline)
    zone['slow.test'] = ['TIMEOUT']
    dns = ctx.dns(zone)
    d = ctx.daemon('helo_reject = no_check\nlookup_time = 2s\n'
                   'dns_timeout = 5s\ntrusted_forwarders = spf:slow.test\n',
                   dns_servers=dns.servers)
    c = d.connect()
    t0 = time.monotonic()
    r = c.ask('192.0.2.67', 'a@fail.test')
    took = time.monotonic() - t0
    c.close()
    d.stop()
    check(r.startswith('550 5.7.23 '), r)
    check(took < 3.5, 'answered after %.1fs, lookup_time is 2s' % took)


# ----- sections (issue 15 item 6) -----

SECTIONS = (
    '[recipient = example.net, boss@dest.test]\n'
    'mail_from_reject = no\n'
    '\n'
    '# an empty section: example.org keeps the global settings, the\n'
    '# later section of another key does not catch its mail\n'
    '[recipient = example.org]\n'
    '[recipient = example.info]\n'
    'reason_message = info {result}\n'
    '[policy_context = submission]\n'
    'reason_message = submission {result}\n'
    '[server_port = 587]\n'
    'reason_message = port {result}\n'
    '[server_address = 192.0.2.200/32, 2001:db8:ff::/48]\n'
    'reason_message = address {result}\n'
    '[recipient = fwd-users.test]\n'
    'trusted_forwarders = 198.51.100.16/28\n')

GLOBAL_REFUSAL = starts('550 5.7.23 Message rejected due to: SPF fail')


def section_logged(log, rcpt, section, result='fail'):
    """The decision line of rcpt names the section, right after the
    recipient (README, Log lines)."""
    check(re.search(r'recipient=<%s> section="%s" (.* )?result=%s action=' %
                    (re.escape(rcpt), re.escape(section), result), log),
          'no section="%s" for <%s>: %s' % (section, rcpt, log[-2500:]))


def t_sections(ctx):
    """[KEY = VALUE] sections: recipient (domain and below, whole
    address, any case), policy_context, server_address, server_port; the
    first that matches applies, none: the global settings; an empty
    section; trusted_forwarders for one recipient domain; the log's
    section= field."""
    ip = '198.51.100.1'

    def rc(rcpt, **more):
        return dict(more, rcpt=rcpt)
    cases = [
        (ip, FAIL, GLOBAL_REFUSAL, rc('u@dest.test')),
        (ip, FAIL, spf('fail'), rc('u@example.net')),
        (ip, FAIL, spf('fail'), rc('u@Sub.EXAMPLE.net')),
        (ip, FAIL, GLOBAL_REFUSAL, rc('u@notexample.net')),
        (ip, FAIL, GLOBAL_REFUSAL, rc('u@example.net.dest.test')),
        (ip, FAIL, spf('fail'), rc('boss@dest.test')),
        (ip, FAIL, spf('fail'), rc('BOSS@Dest.Test')),
        (ip, FAIL, GLOBAL_REFUSAL, rc('xboss@dest.test')),
        (ip, FAIL, GLOBAL_REFUSAL, rc('boss@sub.dest.test')),
        # the address written another way: an extension
        # (recipient_delimiter, default +), quoted, a final dot
        (ip, FAIL, spf('fail'), rc('boss+list@dest.test')),
        (ip, FAIL, spf('fail'), rc('"boss"@dest.test')),
        (ip, FAIL, spf('fail'), rc('Boss@Dest.Test.')),
        (ip, FAIL, GLOBAL_REFUSAL, rc('boss-list@dest.test')),
        (ip, FAIL, spf('fail'), rc('u@example.net.')),
        # routed through a domain Postfix takes as its own (localhost):
        # Postfix delivers to boss@dest.test
        (ip, FAIL, spf('fail'), rc('"boss@dest.test"@localhost')),
        (ip, FAIL, spf('fail'), rc('boss%dest.test@localhost')),
        (ip, FAIL, spf('fail'), rc('dest.test!boss@localhost')),
        (ip, FAIL, spf('fail'), rc('u%example.net@[192.0.2.1]')),
        (ip, FAIL, GLOBAL_REFUSAL, rc('boss%sub.dest.test@localhost')),
        # the empty section comes first: the global settings
        (ip, FAIL, GLOBAL_REFUSAL, rc('u@example.org')),
        (ip, FAIL, GLOBAL_REFUSAL,
         rc('u@example.org', policy_context='submission')),
        (ip, FAIL, '550 5.7.23 info fail', rc('u@example.info')),
        (ip, FAIL, '550 5.7.23 submission fail',
         rc('u@dest.test', policy_context='submission')),
        (ip, FAIL, GLOBAL_REFUSAL,
         rc('u@dest.test', policy_context='Submission')),
        (ip, FAIL, GLOBAL_REFUSAL,
         rc('u@dest.test', policy_context='submission2')),
        # first match in file order
        (ip, FAIL, spf('fail'),
         rc('u@example.net', policy_context='submission')),
        (ip, FAIL, '550 5.7.23 submission fail',
         rc('u@dest.test', policy_context='submission', server_port='587')),
        (ip, FAIL, '550 5.7.23 port fail', rc('u@dest.test',
                                               server_port='587')),
        (ip, FAIL, GLOBAL_REFUSAL, rc('u@dest.test', server_port='25')),
        (ip, FAIL, GLOBAL_REFUSAL, rc('u@dest.test', server_port='5870')),
        (ip, FAIL, '550 5.7.23 address fail',
         rc('u@dest.test', server_address='192.0.2.200')),
        (ip, FAIL, '550 5.7.23 address fail',
         rc('u@dest.test', server_address='2001:db8:ff::25')),
        (ip, FAIL, GLOBAL_REFUSAL,
         rc('u@dest.test', server_address='192.0.2.201')),
        (ip, FAIL, '550 5.7.23 port fail',
         rc('u@dest.test', server_address='192.0.2.201', server_port='587')),
        # before RCPT the recipient is not known (Postfix sends it empty)
        (ip, FAIL, GLOBAL_REFUSAL, rc('', protocol_state='MAIL')),
        # DATA with one recipient: known
        (ip, FAIL, spf('fail'), rc('u@example.net', protocol_state='DATA',
                                   recipient_count='1')),
        (ip, FAIL, GLOBAL_REFUSAL, rc('', protocol_state='DATA',
                                      recipient_count='2')),
        # trusted_forwarders of one recipient domain's section
        ('198.51.100.20', FAIL, (spf('fail'), fwd_note('198.51.100.16/28')),
         rc('u@fwd-users.test')),
        ('198.51.100.20', FAIL, GLOBAL_REFUSAL, rc('u@dest.test')),
        # not refused there: nothing to lift, no note
        ('198.51.100.20', FAIL, (spf('fail'), no_note), rc('u@example.net')),
        # nothing refused: a header wherever
        ('192.0.2.10', FAIL, spf('pass'), rc('u@example.info')),
    ]
    log = ctx.expect('', cases, sections=SECTIONS)
    section_logged(log, 'u@example.net', 'recipient = example.net, '
                   'boss@dest.test')
    section_logged(log, 'BOSS@Dest.Test', 'recipient = example.net, '
                   'boss@dest.test')
    section_logged(log, 'u@example.org', 'recipient = example.org')
    section_logged(log, 'u@example.info', 'recipient = example.info')
    section_logged(log, 'u@example.info', 'recipient = example.info',
                   'pass')
    check(re.search(r'> section="policy_context = submission" .* '
                    r'result=fail', log), 'no policy_context section logged')
    check(re.search(r'> section="server_port = 587" .* result=fail', log),
          'no server_port section logged')
    check(re.search(r'> section="server_address = 192\.0\.2\.200/32, '
                    r'2001:db8:ff::/48" .* result=fail', log),
          'no server_address section logged')
    check(re.search(r'recipient=<u@fwd-users\.test> section="recipient = '
                    r'fwd-users\.test" .* trusted=forwarder '
                    r'trusted_by=198\.51\.100\.16/28 result=fail', log),
          'no fwd-users.test section logged')
    # recipient_delimiter = (empty): no extension, the rest as before
    ctx.expect('recipient_delimiter =\n', [
        (ip, FAIL, GLOBAL_REFUSAL, rc('boss+list@dest.test')),
        (ip, FAIL, spf('fail'), rc('"boss"@dest.test')),
        (ip, FAIL, spf('fail'), rc('boss@dest.test'))], sections=SECTIONS)
    ctx.expect('recipient_delimiter = -+\n', [
        (ip, FAIL, spf('fail'), rc('boss-list@dest.test')),
        (ip, FAIL, spf('fail'), rc('boss+list@dest.test'))],
        sections=SECTIONS)
    glob = [ln for ln in log.splitlines() if 'recipient=<u@dest.test> ' in ln
            and 'Message rejected' in ln]
    check(glob and not any(' section=' in ln for ln in glob),
          'the global settings logged with a section: %r' % glob[:2])
    # the golden log line is unchanged without sections: t_log_golden


def t_sections_phase2(ctx):
    """What lifts an SPF refusal, set in a section: dnswl_zones for one
    recipient domain, trust_recipient_mx = no for another, a ptr:
    forwarder for a policy_context; the global settings elsewhere."""
    nomail = 'a@nomail.example.com'
    ours = {'rcpt': 'u@ourdomain.test'}
    ctx.expect('', [
        ('192.0.2.10', nomail, (spf('fail'), has(
            '; accepted: list.dnswl.test lists the client as 127.0.10.2)')),
         {'rcpt': 'u@example.net'}),
        ('192.0.2.10', nomail, REFUSED, {'rcpt': 'u@dest.test'}),
        # trust_mx (t_trust_mx) lifts this one under the global settings
        ('203.0.113.25', FAIL, REFUSED, ours),
        # the recipient's section comes first in the file
        ('203.0.113.25', FAIL, REFUSED, dict(ours,
                                             policy_context='submission')),
        ('198.51.100.30', FAIL, fwd_note('ptr:lists.fwd.test'),
         {'policy_context': 'submission'}),
        ('198.51.100.30', FAIL, REFUSED, {'policy_context': 'other'})],
        sections='[recipient = example.net]\n'
        'dnswl_zones = list.dnswl.test\n'
        '[recipient = ourdomain.test]\n'
        'trust_recipient_mx = no\n'
        '[policy_context = submission]\n'
        'trusted_forwarders = ptr:lists.fwd.test\n')


def t_sections_stage(ctx):
    """SPEC.md: "earlier requests never match a recipient section": a
    request before RCPT (protocol_state MAIL, or EHLO) does not match one
    even when it carries a recipient attribute; RCPT, DATA and
    END-OF-MESSAGE do."""
    ip = '198.51.100.1'
    ctx.expect('', [
        (ip, FAIL, GLOBAL_REFUSAL, {'rcpt': 'u@example.net',
                                    'protocol_state': 'MAIL'}),
        (ip, '', (starts('550 5.7.23 '), has('s=helo')),
         dict(BADHELO, rcpt='u@example.net', protocol_state='EHLO')),
        (ip, FAIL, spf('fail'), {'rcpt': 'u@example.net',
                                 'protocol_state': 'RCPT'}),
        (ip, FAIL, 'DUNNO', {'rcpt': 'u@example.net',
                             'protocol_state': 'END-OF-MESSAGE',
                             'recipient_count': '1'})],
        sections='[recipient = example.net]\nmail_from_reject = no\n'
        'helo_reject = no\n')
    # DATA of a message with several recipients: Postfix sends none, no
    # recipient section can apply: refused under the global settings,
    # and one warning says why (not one per request)
    data = {'rcpt': '', 'protocol_state': 'DATA', 'recipient_count': '2'}
    log = ctx.expect('', [(ip, FAIL, GLOBAL_REFUSAL, data),
                          (ip, FAIL, GLOBAL_REFUSAL, data)],
                     sections='[recipient = example.net]\n'
                     'mail_from_reject = no\n')
    warn = [ln for ln in log.splitlines() if 'has no recipient' in ln]
    check(len(warn) == 1 and 'warning: ' in warn[0] and
          'protocol_state=DATA' in warn[0], 'warnings: %r' % warn)
    # no recipient section: nothing to warn about
    log = ctx.expect('', [(ip, FAIL, GLOBAL_REFUSAL, data)],
                     sections='[server_port = 587]\n'
                     'mail_from_reject = no\n')
    check('has no recipient' not in log, log[-1000:])


def t_sections_reload(ctx):
    """SIGHUP while a request under a section waits for DNS: it is
    answered under the section it started with (the old config is kept
    while a request reads it; under ASan: no use after free), the next
    one under the new file."""
    zone = {'slow.test': [{'TXT': 'v=spf1 -all'}]}
    dns = ctx.dns(zone, ['--delay-name', 'slow.test=1500'])
    extra = 'lookup_time = 10s\ndns_timeout = 5s\nhelo_reject = no_check\n'
    d = ctx.daemon(extra, dns_servers=dns.servers,
                   sections='[recipient = example.net]\n'
                   'reason_message = old {result}\n')
    conf = d.cmd[d.cmd.index('-c') + 1]
    c = d.connect()
    c.send_request('192.0.2.10', 'a@slow.test', rcpt='u@example.net')
    with open(conf) as f:
        text = f.read()
    with open(conf, 'w') as f:
        f.write(text.replace('[recipient = example.net]',
                             '[recipient = example.org]'))
    d.signal(signal.SIGHUP)
    d.wait_log(r'reloaded configuration from ')
    r1 = c.reply()
    r2 = c.ask('192.0.2.10', 'a@slow.test', rcpt='u@example.net')
    r3 = c.ask('192.0.2.10', 'a@slow.test', rcpt='u@example.org')
    c.close()
    log = d.log()
    d.stop()
    check(r1 == '550 5.7.23 old fail', 'the request in flight: %r' % r1)
    check(r2.startswith('550 5.7.23 Message rejected due to: SPF fail'),
          'after the reload: %r' % r2)
    check(r3 == '550 5.7.23 old fail', 'the new section: %r' % r3)
    check(log.count('section="recipient = example.net"') == 1,
          log[-1500:])


def t_sections_message(ctx):
    """One header per message whatever the sections of its recipients;
    a refusal under one section is not carried over to a recipient of
    another, nor hidden by the DUNNO after a header; recipients of the
    same section get the remembered answer."""
    sections = ('[recipient = example.net]\n'
                'mail_from_reject = no\n'
                '[recipient = example.info]\n'
                'header_type = authentication-results\n'
                'mail_from_reject = no\n'
                '[recipient = example.org]\n'
                'reason_message = org {result}\n'
                '[recipient = white.test]\n'
                'whitelist = 198.51.100.0/24\n'
                '[recipient = strict.test]\n'
                'ptr_check = reject\n'
                '[recipient = fwd-users.test]\n'
                'trusted_forwarders = 198.51.100.16/28\n')
    ip = '198.51.100.1'
    org = '550 5.7.23 org fail'
    ar = starts('PREPEND Authentication-Results: mx.test; spf=fail (')

    def m(inst, rcpt):
        return {'instance': inst, 'rcpt': rcpt}
    log = ctx.expect('', [
        # refused first, then a header under another section
        (ip, FAIL, GLOBAL_REFUSAL, m('s1', 'u@dest.test')),
        (ip, FAIL, GLOBAL_REFUSAL, m('s1', 'v@dest.test')),
        (ip, FAIL, spf('fail'), m('s1', 'u@example.net')),
        (ip, FAIL, 'DUNNO', m('s1', 'w@example.net')),
        # another header_type: no second header all the same
        (ip, FAIL, 'DUNNO', m('s1', 'u@example.info')),
        (ip, FAIL, GLOBAL_REFUSAL, m('s1', 'x@dest.test')),
        (ip, FAIL, org, m('s1', 'u@example.org')),
        (ip, FAIL, GLOBAL_REFUSAL, m('s1', 'y@dest.test')),
        # the header first
        (ip, FAIL, ar, m('s2', 'u@example.info')),
        (ip, FAIL, 'DUNNO', m('s2', 'u@example.net')),
        (ip, FAIL, GLOBAL_REFUSAL, m('s2', 'u@dest.test')),
        (ip, FAIL, org, m('s2', 'u@example.org')),
        (ip, FAIL, 'DUNNO', m('s2', 'v@example.info')),
        (ip, FAIL, GLOBAL_REFUSAL, m('s2', 'v@dest.test')),
        # a section's refusal first
        (ip, FAIL, org, m('s3', 'u@example.org')),
        (ip, FAIL, GLOBAL_REFUSAL, m('s3', 'u@dest.test')),
        (ip, FAIL, org, m('s3', 'v@example.org')),
        (ip, FAIL, spf('fail'), m('s3', 'u@example.net')),
        (ip, FAIL, org, m('s3', 'w@example.org')),
        # passing mail: one header for all its recipients
        ('192.0.2.10', FAIL, spf('pass'), m('s4', 'u@dest.test')),
        ('192.0.2.10', FAIL, 'DUNNO', m('s4', 'u@example.info')),
        ('192.0.2.10', FAIL, 'DUNNO', m('s4', 'u@example.org')),
        ('192.0.2.10', FAIL, 'DUNNO', m('s4', 'v@dest.test')),
        # a whitelist in a section: not refused by the message's
        # refusal, nor does it hide it
        (ip, FAIL, 'DUNNO', m('s5', 'u@white.test')),
        (ip, FAIL, GLOBAL_REFUSAL, m('s5', 'u@dest.test')),
        (ip, FAIL, 'DUNNO', m('s5', 'v@white.test')),
        (ip, FAIL, GLOBAL_REFUSAL, m('s5', 'v@dest.test')),
        # ptr_check = reject in a section (198.51.100.50: no PTR), after
        # the message's header: refused all the same, DUNNO after
        ('198.51.100.50', 'a@l2.example.com', spf('pass'),
         m('s6', 'u@dest.test')),
        ('198.51.100.50', 'a@l2.example.com',
         starts('550 5.7.25 Client host rejected: cannot find your '
                'reverse hostname, [198.51.100.50]'), m('s6', 'u@strict.test')),
        ('198.51.100.50', 'a@l2.example.com', 'DUNNO', m('s6', 'v@dest.test')),
        # a forwarder trusted for one recipient domain only
        ('198.51.100.20', FAIL, GLOBAL_REFUSAL, m('s7', 'u@dest.test')),
        ('198.51.100.20', FAIL, (spf('fail'), fwd_note('198.51.100.16/28')),
         m('s7', 'u@fwd-users.test')),
        ('198.51.100.20', FAIL, GLOBAL_REFUSAL, m('s7', 'v@dest.test')),
        ('198.51.100.20', FAIL, 'DUNNO', m('s7', 'v@fwd-users.test')),
        ('198.51.100.20', FAIL, GLOBAL_REFUSAL, m('s7', 'w@dest.test'))],
        sections=sections)
    check(re.search(r'instance=s5 .*recipient=<u@white\.test> '
                    r'section="recipient = white\.test" (.* )?'
                    r'result=skipped\(whitelist\) ', log), log[-2000:])
    check(re.search(r'instance=s1 .*recipient=<v@dest\.test> .*'
                    r'result=repeat ', log), 'no repeat: ' + log[-2000:])
    check(re.search(r'instance=s1 .*recipient=<u@example\.net> '
                    r'section="recipient = example\.net" .* result=fail '
                    r'action=PREPEND', log), log[-2000:])
    # the next recipient of the same section: the remembered answer,
    # logged as a repeat that names the section too
    check(re.search(r'instance=s1 .*recipient=<w@example\.net> '
                    r'section="recipient = example\.net" (.* )?result=repeat '
                    r'action=DUNNO ', log), log[-2000:])


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
    ('log_golden', t_log_golden),
    ('pipeline_late', t_pipeline_late),
    ('auth_results', t_auth_results),
    ('options', t_options),
    ('no_mail', t_no_mail),
    ('pass_class', t_pass_class),
    ('nat_warning', t_nat_warning),
    ('trust_mx', t_trust_mx),
    ('dnswl', t_dnswl),
    ('temperror', t_temperror),
    ('loop_not_blocked', t_loop_not_blocked),
    ('cache', t_cache),
    ('round_trips', t_round_trips),
    ('forgery', t_forgery),
    ('dns_timeout', t_dns_timeout),
    ('macro_bomb', t_macro_bomb),
    ('dns_answers', t_dns_answers),
    ('forwarders', t_forwarders),
    ('forwarders_order', t_forwarders_order),
    ('forwarders_lookups', t_forwarders_lookups),
    ('sections', t_sections),
    ('sections_phase2', t_sections_phase2),
    ('sections_stage', t_sections_stage),
    ('sections_reload', t_sections_reload),
    ('sections_message', t_sections_message),
]


def main():
    ap = arg_parser(__doc__)
    ap.add_argument('--suite', choices=('spf', 'iprev'), default='spf')
    args = ap.parse_args()
    ctx = Ctx(args.suite, args.spfpd, open(args.log, 'a'))
    return ctx.run_with_knot(ZONES, IPREV_TESTS if args.suite == 'iprev'
                             else TESTS, only=args.only)


if __name__ == '__main__':
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    sys.exit(main())
