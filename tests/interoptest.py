#!/usr/bin/python3
"""interoptest.py - spfpd's headers read by their real consumers: OpenDMARC
(as a milter of a real Postfix) and SpamAssassin's SPF plugin (issue 15,
item 8).

A private Postfix instance (Debian's postfix, its own config directory,
queue and maillog in a temporary folder; smtpd on loopback ports; mail
delivered by virtual(8) into a maildir) asks spfpd (daemon mode, one spfpd
per smtpd port) through check_policy_service, and passes every message to
Debian's opendmarc through smtpd_milters (an inet socket on 127.0.0.1).
The four smtpd ports differ only in the spfpd they ask:

  rs      header_type = received-spf
  ar      header_type = authentication-results
  rs-to   received-spf, test_only = yes (an SPF fail gets through)
  ar-to   authentication-results, test_only = yes

OpenDMARC is set to read spfpd's header and never to check SPF itself
(SPFIgnoreResults false, SPFSelfValidate false, TrustedAuthservIDs the
authserv_id of spfpd, RejectFailures false: its verdict is read from the
Authentication-Results field it adds).  OpenDMARC looks up _dmarc records
with the system resolver (res_ninit, /etc/resolv.conf), so the test runs
in a network and mount namespace of its own: the driver re-executes itself
under "unshare --net --mount" (root only), brings loopback up, bind-mounts
a resolv.conf with "nameserver 127.0.0.1" over /etc/resolv.conf, and knotd
answers on 127.0.0.1:53 there.  Nothing leaves the namespace; the host's
resolver and network are untouched, and the mounts go with the namespace.

Zones: example.org (SPF: 192.0.2.0/24, DMARC p=reject) and example.net
(SPF: 198.51.100.0/24, no DMARC).  For each header type and each
envelope-sender local part (plain, "+", "=" SRS0/VERP, "/"):

  aligned   envelope sender @example.org from 192.0.2.1 (SPF pass), From:
            @example.org: dmarc=pass
  forged    envelope sender @example.net from 198.51.100.1 (SPF pass for
            example.net), From: @example.org, no DKIM: dmarc=fail

  forwarded envelope sender @example.org from 203.0.113.1, a trusted
            forwarder (trusted_forwarders): spfpd records the SPF fail
            and accepts; OpenDMARC must still say dmarc=fail (the note
            and policy.forwarder= must not read as a pass), SpamAssassin
            SPF_FAIL

SpamAssassin (spamassassin, no spamd), run on the delivered files with a
site configuration of its own (the .pre files of /etc/spamassassin, and
"dns_available no": no network, while the "net" rules that read SPF
results stay enabled, which -L would turn off) must score a pass as
SPF_PASS and a fail (test_only) as SPF_FAIL, from either header.

The verdicts seen (the Authentication-Results line OpenDMARC added, the
X-Spam-Status tests) are printed as "# " notes and written to the log.

Usage: interoptest.py --spfpd build/spfpd [--log FILE] [--only NAME]
Prints "ok NAME" / "FAIL NAME: why" and "interop: N passed, M failed".
"""
import email.utils
import glob
import os
import re
import shutil
import signal
import smtplib
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from harness import (POSTFIX_MAIN_CF, POSTFIX_SERVICES,  # noqa: E402
                     Daemon, Fail, Knot, Postfix, Suite, arg_parser, check,
                     free_port, stop_process, wait_port, wait_until)

NS_ENV = 'SPFPD_INTEROP_NS'

ZONES = {
    'example.org': [
        '@ TXT "v=spf1 ip4:192.0.2.0/24 -all"',
        '_dmarc TXT "v=DMARC1; p=reject"',
        'mail A 192.0.2.1',
    ],
    'example.net': [
        '@ TXT "v=spf1 ip4:198.51.100.0/24 -all"',
        'mail A 198.51.100.1',
    ],
    '2.0.192.in-addr.arpa': ['1 PTR mail.example.org.'],
    '100.51.198.in-addr.arpa': ['1 PTR mail.example.net.'],
}

# the local parts of the envelope sender: SRS and VERP forms with "=",
# "+" and "/" (all valid dot-atoms, RFC 5321 4.1.2).  srs-long has an
# earlier "="-separated piece longer than the last one.
LOCALS = [
    ('plain', 'alice'),
    ('plus', 'alice+tag'),
    ('srs', 'SRS0=HHH=TT=example.com=alice'),
    ('srs-long', 'SRS0=Hx4e=T2=forwarded-from.example.com=al'),
    ('verp', 'bounce+alice=example.com'),
    ('slash', 'a/b'),
]

AUTHSERV = 'mx.test'

MASTER_CF = """\
{ports}
""" + POSTFIX_SERVICES

SMTPD = """\
127.0.0.1:{port} inet n - n - - smtpd
  -o {{ smtpd_recipient_restrictions = permit_mynetworks,
       reject_unauth_destination, check_policy_service unix:private/{name} }}
"""

MAIN_CF = POSTFIX_MAIN_CF.replace('{domains}', 'dest.test') + """\
smtpd_milters = inet:127.0.0.1:{milter}
non_smtpd_milters =
milter_default_action = tempfail
smtpd_policy_service_timeout = 100s
maillog_file_prefixes = {dir}
maillog_file = {dir}/maillog
"""

SPFPD_CONF = """\
listen = unix:{dir}/queue/private/{name}
socket_owner = postfix
socket_mode = 0600
user = nobody
authserv_id = {authserv}
dns_servers = 127.0.0.1:53
dns_timeout = 2s
header_type = {header}
test_only = {test_only}
trusted_forwarders = 203.0.113.1
"""

OPENDMARC_CONF = """\
AuthservID {authserv}
TrustedAuthservIDs {authserv}
SPFIgnoreResults false
SPFSelfValidate false
IgnoreAuthenticatedClients true
IgnoreHosts {dir}/opendmarc-ignore
RejectFailures false
RequiredHeaders false
FailureReports false
Background false
Syslog false
Socket inet:{port}@127.0.0.1
PidFile {dir}/opendmarc.pid
UMask 022
"""

SA_LOCAL_CF = """\
# no network: the SPF plugin reuses the headers, it never looks anything up
dns_available no
skip_rbl_checks 1
use_bayes 0
"""

SERVICES = [('rs', 'received-spf', 'no'),
            ('ar', 'authentication-results', 'no'),
            ('rs-to', 'received-spf', 'yes'),
            ('ar-to', 'authentication-results', 'yes')]


# ------------------------------------------------------------- namespace

def enter_namespace():
    """Re-execute this driver in a network and mount namespace of its own
    (root only).  Returns None in the namespace (carry on), the exit
    status of the re-executed driver, or why it cannot run (a string).

    unshare(1) makes every mount of the new namespace private, unless "/"
    is not a mount point (a chroot, as in contrib/check-distro.sh): there
    it cannot, and the driver asks for --propagation unchanged and makes
    private itself the mount its resolv.conf goes on (see
    setup_namespace())."""
    if os.environ.get(NS_ENV):
        return None
    if os.geteuid() != 0:
        return 'needs root: OpenDMARC resolves _dmarc names with the ' \
               'system resolver, so the test runs in its own network and ' \
               'mount namespace (unshare --net --mount) with knotd on ' \
               '127.0.0.1:53'
    if shutil.which('unshare') is None:
        return 'no unshare (util-linux)'
    cmd = ['unshare', '--net', '--mount']
    mode = 'private'
    probe = subprocess.run(['unshare', '--mount', 'true'],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        if 'propagation' not in probe.stderr:
            return 'unshare --mount: %s' % probe.stderr.strip()
        cmd += ['--propagation', 'unchanged']
        mode = 'unchanged'
    env = dict(os.environ, **{NS_ENV: mode})
    try:
        r = subprocess.run(cmd + ['--', sys.executable,
                                  os.path.abspath(__file__)] + sys.argv[1:],
                           env=env)
    except OSError as e:
        return 'cannot run unshare: %s' % e
    if r.returncode < 0:
        return 'the driver in the namespace was killed by signal %d' % \
            -r.returncode
    return r.returncode


def covering_mount(path):
    """The mount point (as this process sees it) of the mount that holds
    path, or None when it is not visible (the root of a chroot)."""
    best = None
    with open('/proc/self/mountinfo') as f:
        for line in f:
            mp = line.split()[4].replace('\\040', ' ')
            if path == mp or path.startswith(mp.rstrip('/') + '/'):
                if best is None or len(mp) > len(best):
                    best = mp
    return best


def run_cmd(args):
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode != 0:
        raise Fail('%s: %s' % (' '.join(args),
                               (r.stderr or r.stdout).strip()))


def setup_namespace(tmp):
    """Inside: loopback up, our resolv.conf bind-mounted over the system's
    (private: nothing propagates out).  Returns the path mounted over, for
    teardown_namespace()."""
    run_cmd(['ip', 'link', 'set', 'lo', 'up'])
    conf = os.path.join(tmp, 'resolv.conf')
    with open(conf, 'w') as f:
        f.write('nameserver 127.0.0.1\noptions attempts:1 timeout:2\n')
    os.chmod(conf, 0o644)
    target = os.path.realpath('/etc/resolv.conf')
    if not os.path.isfile(target):
        raise Fail('/etc/resolv.conf (%s) is not a file: no resolver '
                   'configuration to bind-mount ours over' % target)
    if os.environ.get(NS_ENV) == 'unchanged':
        mp = covering_mount(target)
        if mp is not None:
            run_cmd(['mount', '--make-rprivate', mp])
    run_cmd(['mount', '--bind', conf, target])
    run_cmd(['mount', '--make-private', target])
    return target


def teardown_namespace(target):
    """Undo the bind mount (the namespace would drop it anyway)."""
    if target is not None:
        subprocess.run(['umount', target], capture_output=True)


# ------------------------------------------------------------- the world

class World:
    """knotd, Postfix, OpenDMARC and the spfpd daemons for the whole run."""

    def __init__(self, spfpd, logf, tmp):
        self.logf = logf
        self.dir = tmp
        os.chmod(self.dir, 0o755)       # nobody reads its config here
        self.bin = os.path.join(self.dir, 'spfpd')
        shutil.copy(spfpd, self.bin)
        os.chmod(self.bin, 0o755)
        self.knot = None
        self.opendmarc = None
        self.odlog = None
        self.daemons = {}
        self.postfix = None
        self.ports = {}
        self.n = 0

    def start(self):
        for prog in ('postfix', 'opendmarc', 'spamassassin', 'knotd'):
            if shutil.which(prog) is None and \
                    not os.path.exists('/usr/sbin/' + prog):
                raise Fail('%s is not installed (contrib/install-deps.sh '
                           'installs it)' % prog)
        # on port 53: the system resolver's server in our namespace
        self.knot = Knot(self.dir, ZONES, port=53)
        self.knot.start()
        used = set()
        while len(used) < len(SERVICES) + 1:
            used.add(free_port())
        used = sorted(used)
        self.milter_port = used.pop()
        for (name, _, _), port in zip(SERVICES, used):
            self.ports[name] = port
        self.start_opendmarc()
        self.start_postfix()
        for name, header, test_only in SERVICES:
            self.start_spfpd(name, header, test_only)

    def start_opendmarc(self):
        with open(os.path.join(self.dir, 'opendmarc-ignore'), 'w') as f:
            f.write('192.0.2.254\n')    # not our clients (XCLIENT)
        conf = os.path.join(self.dir, 'opendmarc.conf')
        with open(conf, 'w') as f:
            f.write(OPENDMARC_CONF.format(authserv=AUTHSERV, dir=self.dir,
                                          port=self.milter_port))
        r = subprocess.run(['opendmarc', '-n', '-c', conf],
                           capture_output=True, text=True, timeout=30)
        check(r.returncode == 0, 'opendmarc -n: %s%s' % (r.stdout, r.stderr))
        self.odlog = open(os.path.join(self.dir, 'opendmarc.log'), 'w')
        self.opendmarc = subprocess.Popen(
            ['opendmarc', '-f', '-c', conf], stdout=self.odlog,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            wait_port(self.milter_port, 'opendmarc')
        except Fail as e:
            raise Fail('%s; its output: %s' % (e, self.opendmarc_log()))

    def opendmarc_log(self):
        try:
            with open(os.path.join(self.dir, 'opendmarc.log')) as f:
                return f.read()[-1500:]
        except OSError:
            return ''

    def start_postfix(self):
        pf = self.postfix = Postfix(self.dir)
        pf.write(MAIN_CF.format(dir=self.dir, uid=pf.nobody.pw_uid,
                                gid=pf.nobody.pw_gid,
                                milter=self.milter_port),
                 MASTER_CF.format(ports=''.join(
                     SMTPD.format(port=self.ports[n], name='spfpd-' + n)
                     for n, _, _ in SERVICES)))
        pf.start(self.ports.values())

    def start_spfpd(self, name, header, test_only):
        conf = os.path.join(self.dir, 'spfpd-%s.conf' % name)
        with open(conf, 'w') as f:
            f.write(SPFPD_CONF.format(dir=self.dir, name='spfpd-' + name,
                                      authserv=AUTHSERV, header=header,
                                      test_only=test_only))
        os.chmod(conf, 0o644)
        self.daemons[name] = Daemon(
            self.bin, conf, os.path.join(self.dir, 'spfpd-%s.log' % name))

    def maillog(self):
        return self.postfix.maillog() if self.postfix else ''

    def delivered(self):
        return glob.glob(os.path.join(self.dir, 'mail', 'inbox', 'new', '*'))

    def send(self, service, client, helo, sender, from_hdr):
        """One message through smtpd port SERVICE presenting CLIENT/HELO
        (XCLIENT); the path of the delivered file."""
        self.n += 1
        token = 'interop-%d-%d' % (os.getpid(), self.n)
        msg = ('From: <%s>\r\nTo: <u@dest.test>\r\nSubject: %s\r\n'
               'Message-ID: <%s@example.org>\r\n'
               'Date: %s\r\n\r\n'
               'hello\r\n' % (from_hdr, token, token,
                               email.utils.formatdate())).encode()
        s = smtplib.SMTP('127.0.0.1', self.ports[service], timeout=120)
        try:
            s.ehlo('test.client')
            code, m = s.docmd('XCLIENT', 'ADDR=%s NAME=%s HELO=%s' %
                              (client, helo, helo))
            check(code == 220, 'XCLIENT: %d %s' % (code, m))
            s.ehlo_resp = None
            s.ehlo(helo)
            code, m = s.mail(sender)
            check(code == 250, 'MAIL FROM:<%s>: %d %s' % (sender, code, m))
            code, m = s.rcpt('u@dest.test')
            check(code == 250, 'RCPT (sender %s): %d %s' % (sender, code, m))
            try:
                code, m = s.data(msg)
            except smtplib.SMTPDataError as e:
                code, m = e.smtp_code, e.smtp_error
            check(code == 250, 'DATA (sender %s): %d %s' % (sender, code, m))
        finally:
            try:
                s.quit()
            except (smtplib.SMTPException, OSError):
                pass

        def find():
            for p in self.delivered():
                try:
                    with open(p, 'rb') as f:
                        if token.encode() in f.read():
                            return p
                except OSError:
                    pass
            return None
        try:
            return wait_until(find, 30, 'delivery of ' + token, 0.1)
        except Fail as e:
            raise Fail('%s; maillog: %s' % (e, self.maillog()[-1500:]))

    def stop(self):
        problems = []
        if self.postfix is not None:
            problems += self.postfix.stop()
        for name, d in self.daemons.items():
            d.terminate()
            problems += ['%s: %s' % (name, p) for p in
                         d.reap(10) + d.problems()]
            self.logf.write('--- spfpd %s log\n' % name + d.log())
        if self.opendmarc is not None:
            stop_process(self.opendmarc)
            self.logf.write('--- opendmarc output\n' + self.opendmarc_log())
        if self.odlog is not None:
            self.odlog.close()
        self.logf.write('--- postfix maillog\n' + self.maillog())
        if self.knot is not None:
            self.knot.stop()
        return problems


# ------------------------------------------------------------- readers

def header_block(path):
    with open(path, 'rb') as f:
        head = f.read().split(b'\n\n', 1)[0].decode('utf-8', 'replace')
    # unfold
    return re.sub(r'\r?\n[ \t]+', ' ', head).splitlines()


def fields(path, name):
    return [h for h in header_block(path)
            if h.lower().startswith(name.lower() + ':')]


def dmarc_verdict(path):
    """The Authentication-Results field with dmarc= (OpenDMARC's)."""
    ar = [h for h in fields(path, 'Authentication-Results')
          if re.search(r';\s*dmarc=', h)]
    check(len(ar) == 1, 'expected one dmarc Authentication-Results, got '
          '%r; headers: %r' % (ar, header_block(path)))
    return ar[0]


def spamassassin(suite, path):
    """The tests= list of X-Spam-Status SpamAssassin gives the file."""
    sa = os.path.join(suite.tmp, 'sa')
    if not os.path.isdir(sa):
        os.makedirs(sa)
        for pre in glob.glob('/etc/spamassassin/*.pre'):
            shutil.copy(pre, sa)
        check(glob.glob(os.path.join(sa, '*.pre')),
              'no /etc/spamassassin/*.pre (the spamassassin package)')
        with open(os.path.join(sa, 'local.cf'), 'w') as f:
            f.write(SA_LOCAL_CF)
    with open(path, 'rb') as f:
        data = f.read()
    env = dict(os.environ, HOME=sa)
    r = subprocess.run(['spamassassin', '--siteconfigpath', sa,
                        '--prefspath', os.path.join(sa, 'user_prefs'),
                        '--nocreate-prefs', '-D', 'spf'],
                       input=data, capture_output=True, timeout=120,
                       env=env)
    out = r.stdout.decode('utf-8', 'replace')
    err = r.stderr.decode('utf-8', 'replace')
    suite.logf.write('--- spamassassin -D spf on %s\n%s\n' % (
        os.path.basename(path), '\n'.join(
            line for line in err.splitlines() if 'spf:' in line)))
    check(r.returncode == 0, 'spamassassin exited %d: %s' % (
        r.returncode, err[-800:]))
    head = out.split('\n\n', 1)[0]
    head = re.sub(r'\n[ \t]+', ' ', head)
    m = re.search(r'^X-Spam-Status: (.*)$', head, re.M)
    check(m, 'no X-Spam-Status in spamassassin output: %s' % out[:800])
    status = re.sub(r'\s+', ' ', m.group(1))
    # the list may be folded: "tests=A, B,C autolearn=..."
    t = re.search(r'tests=(.*?)(?: [a-z_]+=|$)', status)
    tests = re.sub(r'\s+', '', t.group(1)).split(',') if t else []
    reused = re.findall(r'spf: re-using (\w+) result from ([\w-]+) header: '
                        r'(\w+)', err)
    return status, [x for x in tests if x], reused


# ------------------------------------------------------------- tests

def spf_header(path, header):
    if header == 'received-spf':
        h = fields(path, 'Received-SPF')
    else:
        h = [x for x in fields(path, 'Authentication-Results')
             if re.search(r';\s*spf=', x)]
    check(len(h) == 1, 'expected one spfpd %s header, got %r' % (header, h))
    return h[0]


def dmarc_test(service, header, local, aligned):
    def fn(suite):
        w = suite.world
        if aligned:
            sender = local + '@example.org'
            client, helo = '192.0.2.1', 'mail.example.org'
        else:
            sender = local + '@example.net'
            client, helo = '198.51.100.1', 'mail.example.net'
        path = w.send(service, client, helo, sender, 'ceo@example.org')
        ours = spf_header(path, header)
        check(re.search(r'\bpass\b', ours.split(':', 1)[1][:40]),
              'spfpd did not say pass: ' + ours)
        v = dmarc_verdict(path)
        suite.logf.write('%s <%s>:\n  spfpd: %s\n  opendmarc: %s\n' % (
            header, sender, ours, v))
        suite.note('%s %s <%s>: %s' % (header, 'aligned' if aligned else
                                       'forged-From', sender, v))
        want = 'pass' if aligned else 'fail'
        check(re.search(r'dmarc=%s\b' % want, v),
              'want dmarc=%s; OpenDMARC added: %s; spfpd wrote: %s' % (
                  want, v, ours))
        check('header.from=example.org' in v, v)
    return fn


def sa_test(service, header, result):
    def fn(suite):
        w = suite.world
        if result == 'pass':
            sender = 'SRS0=HHH=TT=example.com=alice@example.org'
            client, helo = '192.0.2.1', 'mail.example.org'
            rule = 'SPF_PASS'
        else:
            sender = 'bounce+alice=example.com@example.org'
            client, helo = '198.51.100.1', 'mail.example.net'
            rule = 'SPF_FAIL'
        path = w.send(service, client, helo, sender, 'ceo@example.org')
        ours = spf_header(path, header)
        check(re.search(r'\b%s\b' % result, ours.split(':', 1)[1][:40]),
              'spfpd did not say %s: %s' % (result, ours))
        status, tests, reused = spamassassin(suite, path)
        suite.logf.write('%s <%s> %s:\n  spfpd: %s\n  X-Spam-Status: %s\n'
                         % (header, sender, result, ours, status))
        suite.note('spamassassin, %s %s: tests=%s' % (
            header, result, ','.join(tests)))
        check(rule in tests, 'want %s; X-Spam-Status: %s; spfpd wrote: %s' %
              (rule, status, ours))
        # from our header, not from a check of its own (it has no DNS)
        src = 'Received-SPF' if header == 'received-spf' else \
            'Authentication-Results'
        check(('mfrom', src, result) in reused, 'SpamAssassin did not '
              'reuse the %s header: %r' % (src, reused))
        other = {'SPF_PASS', 'SPF_FAIL', 'SPF_SOFTFAIL', 'SPF_NEUTRAL',
                 'SPF_NONE'} - {rule}
        check(not other & set(tests), 'other SPF rules too: %s' % status)
    return fn


def forwarded_test(service, header):
    def fn(suite):
        w = suite.world
        sender = 'alice@example.org'
        path = w.send(service, '203.0.113.1', 'fwd.example.net', sender,
                      'ceo@example.org')
        ours = spf_header(path, header)
        check(re.search(r'\bfail\b', ours.split(':', 1)[1][:40]) and
              'accepted: trusted forwarder 203.0.113.1' in ours,
              'spfpd did not record a lifted fail: ' + ours)
        if header == 'authentication-results':
            check(re.search(r'smtp\.mailfrom=example\.org '
                            r'policy\.forwarder=203\.0\.113\.1(;|$)', ours),
                  'no policy.forwarder: ' + ours)
        v = dmarc_verdict(path)
        status, tests, reused = spamassassin(suite, path)
        suite.logf.write('%s forwarded <%s>:\n  spfpd: %s\n  opendmarc: %s'
                         '\n  X-Spam-Status: %s\n' % (header, sender, ours,
                                                      v, status))
        suite.note('%s forwarded <%s>: %s; spamassassin tests=%s' % (
            header, sender, v, ','.join(tests)))
        check(re.search(r'dmarc=fail\b', v),
              'want dmarc=fail; OpenDMARC added: %s; spfpd wrote: %s' % (
                  v, ours))
        check('SPF_FAIL' in tests, 'want SPF_FAIL; X-Spam-Status: %s; '
              'spfpd wrote: %s' % (status, ours))
    return fn


def t_maillog_clean(suite):
    bad = [line for line in suite.world.maillog().splitlines()
           if re.search(r'milter|policy|spfpd', line) and
           re.search(r'warning|fatal|panic|timeout|timed out', line)]
    check(not bad, '\n'.join(bad[:5]))


def tests():
    out = []
    for service, header in (('rs', 'received-spf'),
                            ('ar', 'authentication-results')):
        for aligned in (True, False):
            for lname, local in LOCALS:
                out.append(('opendmarc_%s_%s_%s' % (
                    service, 'aligned' if aligned else 'forged', lname),
                    dmarc_test(service, header, local, aligned)))
    for service, header in (('rs-to', 'received-spf'),
                            ('ar-to', 'authentication-results')):
        for result in ('pass', 'fail'):
            out.append(('spamassassin_%s_%s' % (service, result),
                        sa_test(service, header, result)))
    for service, header in (('rs', 'received-spf'),
                            ('ar', 'authentication-results')):
        out.append(('forwarded_%s' % service,
                    forwarded_test(service, header)))
    out.append(('maillog_clean', t_maillog_clean))
    return out


def main():
    ap = arg_parser(__doc__)
    args = ap.parse_args()
    rc = enter_namespace()
    if isinstance(rc, int):
        return rc
    if isinstance(rc, str):         # cannot run here: a failure, not a skip
        print('FAIL setup: %s' % rc)
        print('interop: 0 passed, 1 failed')
        return 1
    # SIGTERM: stop what we started (the finally below), then exit
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    suite = Suite('interop', args.spfpd, open(args.log, 'a'))
    w = None
    target = None
    try:
        target = setup_namespace(suite.tmp)
        w = World(suite.spfpd, suite.logf, suite.tmp)
        suite.world = w
        w.start()
        suite.run(tests(), only=args.only)
    except (Fail, RuntimeError) as e:
        suite.fail('setup', e)
    except SystemExit:
        suite.fail('run', 'stopped by SIGTERM')
    finally:
        if w is not None:
            for p in w.stop():
                suite.fail('teardown', p)
        teardown_namespace(target)
    return suite.finish()


if __name__ == '__main__':
    sys.exit(main())
