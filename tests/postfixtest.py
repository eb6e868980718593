#!/usr/bin/python3
"""postfixtest.py - spfpd behind a real Postfix, end to end.

A private Postfix instance (Debian's postfix, its own config directory,
queue and maillog in a temporary folder; smtpd on loopback ports the test
picks; mail delivered by virtual(8) into a maildir) asks spfpd through
check_policy_service, as the README tells an administrator to set it up:

  - daemon mode: spfpd started as root with its socket in Postfix's
    private/ directory (socket_owner = postfix, mode 0600), then running
    as nobody;
  - spawn mode: the spawn(8) service of contrib/postfix/master.cf
    running spfpd --stdio as nobody.

main.cf gets the lines of contrib/postfix/main.cf as they are, so the
files the README points to are the ones tested.

A real SMTP client (Python's smtplib) presents other client addresses and
HELO names with XCLIENT (smtpd_authorized_xclient_hosts = 127.0.0.1).
DNS is knotd on loopback with the zones of spftest.py.

Usage: postfixtest.py --spfpd build/spfpd [--log FILE] [--only NAME]
Prints "ok NAME" / "FAIL NAME: why" and "postfix: N passed, M failed".
"""
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
                     Daemon, Fail, Knot, Postfix, Suite, arg_parser,
                     check, free_port, wait_until)
from spftest import ZONES  # noqa: E402

MASTER_CF = """\
{p1} inet n - n - - smtpd
  -o {{ smtpd_recipient_restrictions = permit_mynetworks,
       permit_sasl_authenticated, reject_unauth_destination,
       check_policy_service unix:private/spfpdd }}
{p2} inet n - n - - smtpd
{p3} inet n - n - - smtpd
  -o {{ smtpd_recipient_restrictions = permit_mynetworks,
       reject_unauth_destination }}
  -o {{ smtpd_data_restrictions = check_policy_service unix:private/spfpdd }}
  -o {{ smtpd_end_of_data_restrictions =
       check_policy_service unix:private/spfpdd }}
{p4} inet n - n - - smtpd
  -o {{ smtpd_recipient_restrictions = permit_mynetworks,
       reject_unauth_destination }}
  -o {{ smtpd_end_of_data_restrictions =
       check_policy_service unix:private/spfpdd }}
{p5} inet n - n - - smtpd
  -o smtpd_recipient_restrictions=$spfpd_submission_restrictions
{spawn}
""" + POSTFIX_SERVICES

MAIN_CF = POSTFIX_MAIN_CF.replace('{domains}',
                                  'dest.test ourdomain.test') + """\
maillog_file_prefixes = {dir}
maillog_file = {dir}/maillog
"""

# the smtpd of {p5} (t_policy_context): the Postfix 3.1+ per-policy
# setting policy_context, in the Postfix 3.0+ {...} syntax; a parameter
# of our own, so that master.cf's -o needs no nested braces
POLICY_CONTEXT_CF = """\
spfpd_submission_restrictions = permit_mynetworks,
  reject_unauth_destination,
  check_policy_service {{ unix:private/spfpdd, policy_context=submission }}
"""

# a restriction class for mail_from_pass_restriction (t_pass_class): it
# refuses with a text of its own, for the clients of both tests, so that
# its reply shows Postfix applied it, and for which request
PASS_CLASS_CF = """\
smtpd_restriction_classes = spf_pass_class
spf_pass_class = check_client_access inline:{
  { 192.0.2.1 = REJECT spf_pass_class applied },
  { 198.51.100.1 = REJECT spf_pass_class applied } }
"""

CONTRIB = os.path.join(os.path.dirname(HERE), 'contrib', 'postfix')


def contrib(name):
    with open(os.path.join(CONTRIB, name)) as f:
        return f.read()


def must_replace(text, old, new):
    if old not in text:
        raise Fail('contrib file changed: %r not found' % old)
    return text.replace(old, new)

SPFPD_CONF = """\
authserv_id = mx.test
dns_servers = 127.0.0.1:{dnsport}
dns_timeout = 500ms
dns_tries = 1
temperror_defer = yes
ptr_check = reject
{extra}"""


class World:
    """knotd, Postfix and spfpd (daemon mode) for the whole run."""

    def __init__(self, spfpd, logf, tmp):
        self.logf = logf
        self.dir = tmp
        os.chmod(self.dir, 0o755)       # nobody reads its config here
        self.knot = Knot(self.dir, ZONES)
        self.knot.start()
        # a copy nobody can run, wherever the tree is
        self.bin = os.path.join(self.dir, 'spfpd')
        shutil.copy(spfpd, self.bin)
        os.chmod(self.bin, 0o755)
        ports = []
        while len(ports) < 5:
            p = free_port()
            if p not in ports:
                ports.append(p)
        self.p1, self.p2, self.p3, self.p4, self.p5 = ports
        self.daemon = None
        self.postfix = None

    def write_conf(self, name, extra='user = nobody\n'):
        path = os.path.join(self.dir, name)
        with open(path, 'w') as f:
            f.write(SPFPD_CONF.format(dnsport=self.knot.port, extra=extra))
        os.chmod(path, 0o644)
        return path

    def start_postfix(self):
        pf = self.postfix = Postfix(self.dir)
        self.spawnconf = self.write_conf('spawn.conf')
        # the README's lines, as they are: contrib/postfix/main.cf, and
        # the spawn entry of contrib/postfix/master.cf with our paths
        main_cf = (MAIN_CF.format(dir=self.dir, uid=pf.nobody.pw_uid,
                                  gid=pf.nobody.pw_gid) +
                   contrib('main.cf') + PASS_CLASS_CF +
                   POLICY_CONTEXT_CF.format())
        spawn = contrib('master.cf')
        spawn = must_replace(spawn, ' user=spfpd ', ' user=nobody ')
        spawn = must_replace(spawn, 'argv=/usr/local/sbin/spfpd --stdio',
                             'argv=%s --stdio -c %s' % (self.bin,
                                                        self.spawnconf))
        pf.write(main_cf, MASTER_CF.format(p1='127.0.0.1:%d' % self.p1,
                                           p2='127.0.0.1:%d' % self.p2,
                                           p3='127.0.0.1:%d' % self.p3,
                                           p4='127.0.0.1:%d' % self.p4,
                                           p5='127.0.0.1:%d' % self.p5,
                                           spawn=spawn))
        pf.start((self.p1, self.p2, self.p3, self.p4, self.p5))

    def start_spfpd(self):
        self.conf = self.write_conf('spfpd.conf', self.daemon_extra(''))
        self.daemon = Daemon(self.bin, self.conf,
                             os.path.join(self.dir, 'spfpd.log'))

    def daemon_extra(self, extra):
        """contrib/postfix/spfpd.conf, in our queue directory; as a second
        service next to spawn's private/spfpd, the socket is spfpdd."""
        conf = contrib('spfpd.conf')
        conf = must_replace(conf, 'unix:/var/spool/postfix/private/spfpd',
                            'unix:%s/queue/private/spfpdd' % self.dir)
        conf = must_replace(conf, 'user = spfpd', 'user = nobody')
        return conf + extra

    def reconfigure(self, extra):
        """New daemon config, SIGHUP, wait until it is in force."""
        n = self.spfpd_log().count('reloaded configuration')
        with open(self.conf, 'w') as f:
            f.write(SPFPD_CONF.format(dnsport=self.knot.port,
                                      extra=self.daemon_extra(extra)))
        self.daemon.signal(signal.SIGHUP)
        wait_until(lambda: self.spfpd_log().count('reloaded configuration')
                   > n, 10, 'the reload: ' + self.spfpd_log()[-500:])

    def spfpd_log(self):
        return self.daemon.log()

    def maillog(self):
        return self.postfix.maillog() if self.postfix else ''

    def delivered(self):
        return sorted(glob.glob(os.path.join(self.dir, 'mail', 'inbox',
                                             'new', '*')))

    def stop(self):
        problems = []
        if self.postfix is not None:
            problems += self.postfix.stop()
        if self.daemon is not None:
            self.daemon.terminate()
            problems += self.daemon.reap(10) + self.daemon.problems()
            self.logf.write('--- spfpd daemon log\n' + self.spfpd_log())
        self.logf.write('--- postfix maillog\n' + self.maillog())
        self.knot.stop()
        # spawned spfpd processes run as nobody: none may be left
        left = subprocess.run(['pgrep', '-f', self.bin],
                              capture_output=True, text=True).stdout.split()
        for pid in left:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except OSError:
                pass
        if left:
            problems.append('spfpd processes left behind: %s' % left)
        shutil.rmtree(self.dir, ignore_errors=True)
        return problems


class Session:
    """One SMTP session that presents itself as another client."""

    def __init__(self, port, addr, helo, name='unknown'):
        self.s = smtplib.SMTP('127.0.0.1', port, timeout=120)
        self.s.ehlo('test.client')
        code, msg = self.s.docmd('XCLIENT', 'ADDR=%s NAME=%s HELO=%s' %
                                 (addr, name, helo))
        check(code == 220, 'XCLIENT: %d %s' % (code, msg))
        self.s.ehlo_resp = None
        self.s.ehlo(helo)

    def rcpts(self, sender, rcpts):
        code, msg = self.s.mail(sender)
        check(code == 250, 'MAIL: %d %s' % (code, msg))
        out = []
        for r in rcpts:
            code, msg = self.s.rcpt(r)
            out.append((code, msg.decode('utf-8', 'replace')))
        return out

    def data(self, body):
        try:
            code, msg = self.s.data(body)
        except smtplib.SMTPDataError as e:     # DATA itself refused
            code, msg = e.smtp_code, e.smtp_error
        return code, msg.decode('utf-8', 'replace')

    def rset(self):
        self.s.rset()

    def close(self):
        try:
            self.s.quit()
        except (smtplib.SMTPException, OSError):
            pass


MESSAGE = (b'From: a@example.com\r\nTo: u@dest.test\r\n'
           b'Subject: spfpd test\r\n\r\nhello\r\n')


def wait_delivered(world, n):
    try:
        wait_until(lambda: len(world.delivered()) >= n, 30,
                   '%d deliveries' % n, 0.1)
    except Fail as e:
        raise Fail('%s: delivered %d; maillog: %s' % (
            e, len(world.delivered()), world.maillog()[-1500:]))
    return world.delivered()


def headers_of(path):
    with open(path, 'rb') as f:
        head = f.read().split(b'\n\n', 1)[0].decode('utf-8', 'replace')
    return head


# ----- tests -----

def rcpt(port, addr, helo, sender):
    """One session, one recipient: the reply to its RCPT TO."""
    s = Session(port, addr, helo)
    r = s.rcpts(sender, ['u@dest.test'])
    s.close()
    return r[0]


def forged_refused(w, port):
    code, msg = rcpt(port, '198.51.100.1', 'forger.example.com',
                     'a@example.com')
    check(code == 550 and msg.startswith('5.7.23 ') and
          'Message rejected due to: SPF fail - not authorized. Please see '
          'https://www.open-spf.org/Why?s=mfrom;id=a@example.com;'
          'ip=198.51.100.1' in msg, '%d %s' % (code, msg))


def legit_one_header(w, port):
    old = set(w.delivered())
    s = Session(port, '192.0.2.1', 'mail.example.com')
    r = s.rcpts('a@example.com', ['u1@dest.test', 'u2@dest.test',
                                  'u3@dest.test'])
    check(all(c == 250 for c, _ in r), 'RCPT: %r' % r)
    code, msg = s.data(MESSAGE)
    s.close()
    check(code == 250, 'DATA: %d %s' % (code, msg))
    files = set(wait_delivered(w, len(old) + 3)) - old
    for f in files:
        head = headers_of(f)
        n = len(re.findall(r'^Received-SPF:', head, re.M))
        check(n == 1, '%d Received-SPF headers in %s:\n%s' % (n, f, head))
        check(re.search(r'^Received-SPF: pass \(mx\.test: domain of '
                        r'a@example\.com designates 192\.0\.2\.1 as '
                        r'permitted sender\)', head, re.M), head)


def bypasses_refused(w, port):
    """Three forgeries that got 250 through a real Postfix (issue 11),
    each refused now: a long local part, a record libspf2 could not hold
    whole, exp= lookups counted as DNS terms."""
    for sender in ('x' * 200 + '@example.com', 'a@wide.example.com',
                   'a@exp5.example.com'):
        code, msg = rcpt(port, '198.51.100.1', 'forger.example.com', sender)
        check(code == 550 and msg.startswith('5.7.23 '), '%s: %d %s' %
              (sender[-30:], code, msg))


def t_temperror_defers(w):
    code, msg = rcpt(w.p1, '192.0.2.1', 'mail.example.com', 'a@unknown.test')
    check(code == 450 and msg.startswith('4.7.24 ') and
          'Message deferred due to: SPF temporary error' in msg,
          '%d %s' % (code, msg))


def t_no_ptr_refused(w):
    code, msg = rcpt(w.p1, '192.0.2.4', 'client.example.com', 'a@example.com')
    check(code == 550 and msg.startswith('5.7.25 ') and
          'cannot find your reverse hostname, [192.0.2.4]' in msg,
          '%d %s' % (code, msg))


def t_sighup_same_connection(w):
    """A reload changes the decision; Postfix's connection to spfpd (one
    smtpd, one SMTP session) stays the same."""
    s = Session(w.p1, '198.51.100.1', 'forger.example.com')
    r1 = s.rcpts('a@example.com', ['u@dest.test'])
    s.rset()
    w.reconfigure('whitelist = 198.51.100.1\n')
    try:
        r2 = s.rcpts('a@example.com', ['u@dest.test'])
        s.close()
    finally:
        w.reconfigure('')
    check(r1[0][0] == 550, 'before: %r' % r1)
    check(r2[0][0] == 250, 'after reload: %r' % r2)
    lines = [m for m in re.finditer(
        r'(conn=\d+) instance=\S* client=198\.51\.100\.1 .* result=(\S+) ',
        w.spfpd_log())]
    conns = [m.group(1) for m in lines[-2:]]
    check(len(conns) == 2 and conns[0] == conns[1],
          'policy connections: %s' % conns)
    check(lines[-1].group(2) == 'skipped(whitelist)', lines[-1].group(0))


def t_pass_class(w):
    """mail_from_pass_restriction names a class of
    smtpd_restriction_classes: Postfix applies it to an SPF pass, for
    every recipient, and not to a softfail or a refused fail."""
    w.reconfigure('mail_from_pass_restriction = spf_pass_class\n')
    try:
        s = Session(w.p1, '192.0.2.1', 'mail.example.com')
        passed = s.rcpts('a@example.com', ['u1@dest.test', 'u2@dest.test'])
        s.close()
        soft = rcpt(w.p1, '198.51.100.1', 'forger.example.com',
                    'a@soft.example.com')
        forged = rcpt(w.p1, '198.51.100.1', 'forger.example.com',
                      'a@example.com')
    finally:
        w.reconfigure('')
    check(all(c == 554 and 'Client host rejected: spf_pass_class applied'
              in m for c, m in passed), 'SPF pass: %r' % passed)
    check(soft[0] == 250, 'softfail: %r' % (soft,))
    check(forged[0] == 550 and forged[1].startswith('5.7.23 '),
          'fail: %r' % (forged,))
    log = w.spfpd_log()
    check(re.search(r'client=192\.0\.2\.1 .* result=pass '
                    r'action=spf_pass_class ', log), log[-800:])


def t_backup_mx(w):
    """trust_recipient_mx (the default): our backup MX relays mail whose
    sender's SPF fails (it queued it for us); Postfix accepts it for our
    domain, with the header saying why, and still refuses the same
    forgery for a recipient of another of our domains in the message."""
    old = set(w.delivered())
    s = Session(w.p1, '203.0.113.25', 'backup.ourdomain.test')
    r = s.rcpts('a@example.com', ['u@ourdomain.test', 'v@dest.test'])
    code, msg = s.data(MESSAGE)
    s.close()
    check(r[0][0] == 250, 'ourdomain.test: %r' % (r[0],))
    check(r[1][0] == 550 and r[1][1].startswith('5.7.23 '),
          'dest.test: %r' % (r[1],))
    check(code == 250, 'DATA: %d %s' % (code, msg))
    files = set(wait_delivered(w, len(old) + 1)) - old
    check(len(files) == 1, 'delivered: %r' % sorted(files))
    head = headers_of(files.pop())
    spf = re.findall(r'^Received-SPF:.*(?:\n[ \t].*)*', head, re.M)
    check(len(spf) == 1 and spf[0].startswith('Received-SPF: fail ') and
          'accepted: client is an MX host of ourdomain.test' in spf[0],
          'headers:\n%s' % head)
    log = w.spfpd_log()
    check(re.search(r'client=203\.0\.113\.25 .*recipient=<u@ourdomain'
                    r'\.test> .* trusted=mx trusted_by=ourdomain\.test '
                    r'result=fail action=PREPEND', log), log[-800:])


def t_data_stage(w):
    """spfpd in smtpd_data_restrictions and smtpd_end_of_data_restrictions
    (nothing at RCPT): a forgery is refused at DATA; a legitimate message
    gets its one header at DATA, and none at END-OF-MESSAGE, where Postfix
    cannot take it."""
    s = Session(w.p3, '198.51.100.1', 'forger.example.com')
    r = s.rcpts('a@example.com', ['u@dest.test'])
    check(r[0][0] == 250, 'RCPT: %r' % r)
    code, msg = s.data(MESSAGE)
    s.close()
    check(code == 550 and msg.startswith('5.7.23 '), 'DATA: %d %s' %
          (code, msg))
    old = set(w.delivered())
    s = Session(w.p3, '192.0.2.1', 'mail.example.com')
    r = s.rcpts('a@example.com', ['u1@dest.test', 'u2@dest.test'])
    code, msg = s.data(MESSAGE)
    s.close()
    check(code == 250, 'DATA: %d %s' % (code, msg))
    for f in set(wait_delivered(w, len(old) + 2)) - old:
        head = headers_of(f)
        n = len(re.findall(r'^Received-SPF: pass ', head, re.M))
        check(n == 1, '%d Received-SPF headers in %s:\n%s' % (n, f, head))
    log = w.spfpd_log()
    check(re.search(r'result=repeat action=DUNNO', log), 'the '
          'END-OF-MESSAGE request of that message: ' + log[-600:])


def t_end_of_data_stage(w):
    """Only in smtpd_end_of_data_restrictions: a forgery is refused after
    the message; a legitimate one passes with no header, and Postfix has
    no PREPEND to drop (it warns when it has one)."""
    s = Session(w.p4, '198.51.100.1', 'forger.example.com')
    r = s.rcpts('a@example.com', ['u@dest.test'])
    code, msg = s.data(MESSAGE)
    s.close()
    check(r[0][0] == 250 and code == 550 and msg.startswith('5.7.23 '),
          'forgery: RCPT %r, end of data %d %s' % (r, code, msg))
    old = set(w.delivered())
    s = Session(w.p4, '192.0.2.1', 'mail.example.com')
    r = s.rcpts('a@example.com', ['u@dest.test'])
    code, msg = s.data(MESSAGE)
    s.close()
    check(code == 250, 'end of data: %d %s' % (code, msg))
    # maildir names sort by second, then by inode: not by age
    new = set(wait_delivered(w, len(old) + 1)) - old
    check(len(new) == 1, 'delivered: %r' % new)
    head = headers_of(new.pop())
    check('Received-SPF' not in head, head)
    bad = [line for line in w.maillog().splitlines()
           if 'warning' in line and ('PREPEND' in line or
                                     'unavailable' in line)]
    check(not bad, '\n'.join(bad[:3]))


def t_policy_context(w):
    """A [policy_context = submission] section, chosen by the attribute
    Postfix sends from check_policy_service { ..., policy_context=
    submission } (the smtpd of p5): there the forgery is accepted with its
    header (mail_from_reject = no), on p1 (no policy_context) it is
    refused as before; a section of another context changes nothing."""
    w.reconfigure('[policy_context = submission]\n'
                  'mail_from_reject = no\n'
                  '[policy_context = other]\n'
                  'reason_message = other {result}\n')
    try:
        old = set(w.delivered())
        s = Session(w.p5, '198.51.100.1', 'forger.example.com')
        r = s.rcpts('a@example.com', ['u@dest.test'])
        code, msg = s.data(MESSAGE)
        s.close()
        refused = rcpt(w.p1, '198.51.100.1', 'forger.example.com',
                       'a@example.com')
    finally:
        w.reconfigure('')
    check(r[0][0] == 250, 'submission: %r' % (r[0],))
    check(code == 250, 'DATA: %d %s' % (code, msg))
    check(refused[0] == 550 and refused[1].startswith('5.7.23 ') and
          'Message rejected due to: SPF fail' in refused[1],
          'no policy_context: %r' % (refused,))
    files = set(wait_delivered(w, len(old) + 1)) - old
    check(len(files) == 1, 'delivered: %r' % sorted(files))
    head = headers_of(files.pop())
    spf = re.findall(r'^Received-SPF:.*', head, re.M)
    check(len(spf) == 1 and spf[0].startswith('Received-SPF: fail '),
          'headers:\n%s' % head)
    log = w.spfpd_log()
    check(re.search(r'client=198\.51\.100\.1 .*recipient=<u@dest\.test> '
                    r'section="policy_context = submission" .*result=fail '
                    r'action=PREPEND', log), log[-1200:])


def t_no_policy_trouble(w):
    log = w.maillog()
    bad = [line for line in log.splitlines()
           if re.search(r'policy|spfpd|spawn', line) and
           re.search(r'timeout|timed out|problem talking|warning|fatal|'
                     r'panic|exit status|signal', line)]
    check(not bad, '\n'.join(bad[:5]))


# the tests of both modes: fn(w, port), port w.p1 (spfpd as a daemon)
# or w.p2 (spfpd spawned by Postfix, spawn(8))
BOTH_MODES = [('forged_refused', forged_refused),
              ('bypasses_refused', bypasses_refused),
              ('legit_one_header', legit_one_header)]


def mode(prefix, port):
    return [('%s_%s' % (prefix, name), lambda w, fn=fn: fn(w, port(w)))
            for name, fn in BOTH_MODES]


TESTS = mode('daemon', lambda w: w.p1) + [
    ('daemon_temperror_defers', t_temperror_defers),
    ('daemon_no_ptr_refused', t_no_ptr_refused),
    ('daemon_sighup_same_connection', t_sighup_same_connection),
    ('daemon_pass_class', t_pass_class),
    ('daemon_backup_mx', t_backup_mx),
    ('daemon_policy_context', t_policy_context),
] + mode('spawn', lambda w: w.p2) + [
    ('data_stage', t_data_stage),
    ('end_of_data_stage', t_end_of_data_stage),
    ('no_policy_trouble_in_maillog', t_no_policy_trouble),
]


def main():
    ap = arg_parser(__doc__)
    args = ap.parse_args()
    suite = Suite('postfix', args.spfpd, open(args.log, 'a'))
    w = None
    try:
        w = World(suite.spfpd, suite.logf, suite.tmp)
        w.start_postfix()       # it makes queue/private for the socket
        w.start_spfpd()
        suite.run(TESTS, w, only=args.only)
    except (Fail, RuntimeError) as e:     # RuntimeError: from knotd
        suite.fail('setup', e)
    finally:
        if w is not None:
            for p in w.stop():
                suite.fail('teardown', p)
    return suite.finish()


if __name__ == '__main__':
    sys.exit(main())
