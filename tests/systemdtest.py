#!/usr/bin/python3
"""systemdtest.py - spfpd under systemd, without systemd as PID 1 (issue 14).

    /usr/bin/python3 tests/systemdtest.py --spfpd build/spfpd [--log FILE]

Readiness notification: the test binds its own AF_UNIX datagram socket
(SO_PASSCRED: the kernel says which process sent each message) and starts
spfpd -d with NOTIFY_SOCKET naming it, as systemd does for Type=notify.
spfpd must send READY=1 once its socket accepts a policy request;
RELOADING=1 with MONOTONIC_USEC (CLOCK_MONOTONIC, between the SIGHUP and
its receipt) then READY=1 around a reload, READY=1 too when the new file
has errors (the running configuration stays; STATUS says the reload
failed); STOPPING=1 on SIGTERM, then exit 0.  Every message must come
from spfpd's pid.  A NOTIFY_SOCKET nobody reads is one warning, nothing
more.

Socket activation: spfpd runs under systemd-socket-activate (package
systemd), which listens on the addresses of its -l options, waits for the
first connection and then execs spfpd with the sockets as descriptors 3...
(LISTEN_FDS, LISTEN_PID, LISTEN_FDNAMES).  A policy request on the UNIX
socket, and on a TCP socket next to it, must be answered; the log must
say that listen = is ignored and which sockets came from systemd; a reload
keeps them; after spfpd exits the socket file must still be there (it is
systemd's).  Descriptors that are not listening UNIX or TCP stream
sockets (a datagram socket, a connection as Accept=yes passes, a file)
must be refused at start with exit 1, and --stdio must not look at them.

systemd-analyze verify of contrib/systemd/spfpd.service and spfpd.socket,
copied with ExecStart= and ExecStartPre= rewritten to the binary under
test: an error, or a warning about either file, fails.  Where
systemd-analyze cannot verify even a trivial unit (no systemd, a chroot
without what it needs) the test is skipped with its output as the reason.

Output as tests/harness.py: "ok NAME" (or "ok NAME # skip: why") /
"FAIL NAME: why", the notifications seen as "#" lines, then "systemd: N
passed, M failed".  Standard library only.
"""
import os
import re
import shutil
import socket
import stat
import struct
import subprocess
import sys
import time
from signal import SIGHUP, SIGTERM

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Client, Daemon, Fail, Skip, Suite,  # noqa: E402
                     arg_parser, check, free_port, sanitizer_mark,
                     wait_until, write_conf)

HERE = os.path.dirname(os.path.abspath(__file__))
UNITS = os.path.join(os.path.dirname(HERE), 'contrib', 'systemd')
TIMEOUT = 10.0                  # any single wait (ASan starts slowly)
ACTIVATE = 'systemd-socket-activate'
ANALYZE = 'systemd-analyze'
# the sanitizer settings reach spfpd through systemd-socket-activate,
# which passes on only the variables named with -E
SAN_ENV = ('ASAN_OPTIONS', 'UBSAN_OPTIONS', 'LSAN_OPTIONS')
DUNNO = 'DUNNO'

# configuration of every spfpd here: no DNS, every answer DUNNO
BASE = {'debug': 'yes', 'shutdown_timeout': '2s',
        'helo_reject': 'no_check', 'mail_from_reject': 'no_check',
        'ptr_check': 'no', 'dns_servers': '127.0.0.1:1'}

SEEN = []                       # notifications shown at the end


# ----------------------------------------------------------- helpers

class NotifySocket:
    """What systemd listens on for sd_notify: an AF_UNIX datagram socket
    with SO_PASSCRED, so that each message carries its sender's pid.
    Anyone may write to it, as to systemd's /run/systemd/notify: spfpd
    sends READY=1 after dropping its privileges (to nobody, when the test
    runs as root)."""

    def __init__(self, ctx, name='notify.sock'):
        self.path = os.path.join(ctx.tmp, name)
        if os.path.lexists(self.path):
            os.unlink(self.path)        # an earlier test's
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        ctx.servers.append(self.sock)   # closed at the test's cleanup
        self.sock.bind(self.path)
        os.chmod(self.path, 0o777)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)

    def recv(self, timeout=TIMEOUT):
        """(fields, text, sender pid) of the next message; None at the
        deadline."""
        self.sock.settimeout(timeout)
        try:
            data, anc, _, _ = self.sock.recvmsg(
                4096, socket.CMSG_SPACE(struct.calcsize('iII')))
        except socket.timeout:
            return None
        pid = None
        for level, typ, cdata in anc:
            if level == socket.SOL_SOCKET and \
                    typ == socket.SCM_CREDENTIALS:
                pid = struct.unpack('iII', cdata[:12])[0]
        text = data.decode('utf-8', 'replace')
        fields = dict(line.split('=', 1) for line in text.split('\n')
                      if '=' in line)
        return fields, text, pid

    def expect(self, d, key, what, timeout=TIMEOUT):
        """The next message, which must set key=1 and come from d's pid."""
        m = self.recv(timeout)
        check(m is not None, 'no notification within %.0fs, expected %s=1 '
              '(%s); log: %s' % (timeout, key, what, d.tail()))
        fields, text, pid = m
        note(what, text)
        check(fields.get(key) == '1', 'expected %s=1 (%s), got %r' %
              (key, what, text))
        check(pid == d.pid, 'message %r from pid %s, spfpd is %d' %
              (text, pid, d.pid))
        return fields

    def expect_nothing(self, seconds=0.3):
        m = self.recv(seconds)
        check(m is None, 'unexpected notification %r' % (m and m[1],))


def note(what, text):
    line = '%s: %s' % (what, text.replace('\n', ' | '))
    if line not in SEEN:
        SEEN.append(line)


def conf(ctx, name, **extra):
    """A config file of BASE and extra, readable by all: spfpd reloads it
    after dropping its privileges."""
    opts = dict(BASE)
    opts.update(extra)
    path = write_conf(os.path.join(ctx.tmp, name), opts)
    os.chmod(path, 0o644)
    return path


def ask(addr, family=socket.AF_UNIX):
    """One policy request on a new connection: the action."""
    c = Client(addr, family, timeout=TIMEOUT)
    try:
        return c.ask('192.0.2.1', 'a@example.com')
    finally:
        c.close()


def connect_retry(addr, family=socket.AF_UNIX):
    """A Client once addr accepts connections (a socket file exists from
    bind(), a moment before listen())."""
    def attempt():
        try:
            return Client(addr, family, timeout=TIMEOUT)
        except Fail:
            return None
    return wait_until(attempt, TIMEOUT, 'a connection to %s' % (addr,))


def daemon(ctx, cmd, logname, env=None, **kw):
    """cmd (its argv, spfpd or what execs it) as a harness Daemon: stderr
    in a log file of ctx.tmp, killed at the test's cleanup, not waited
    for."""
    return Daemon(cmd[0], None, os.path.join(ctx.tmp, logname),
                  args=cmd[1:], logf=ctx.logf, track=ctx.daemons,
                  debug=False, wait=False, env=env, **kw)


def have(prog):
    if shutil.which(prog) is None:
        raise Skip('%s not found (Debian package systemd)' % prog)


def monotonic_usec():
    return time.monotonic_ns() // 1000   # CLOCK_MONOTONIC, as systemd's


def activate(ctx, listen, spfpd_args, logname, notify=None, extra=()):
    """spfpd -d under systemd-socket-activate -l each of listen."""
    have(ACTIVATE)
    cmd = [ACTIVATE]
    for a in listen:
        cmd += ['-l', a]
    for v in SAN_ENV:
        cmd += ['-E', v]                # passed on only if set here
    if notify:
        cmd += ['-E', 'NOTIFY_SOCKET=' + notify.path]
    cmd += list(extra) + [ctx.spfpd, '-d'] + list(spfpd_args)
    return daemon(ctx, cmd, logname)


# ----------------------------------------------------------- notify

def t_notify(ctx):
    ns = NotifySocket(ctx)
    sock = os.path.join(ctx.tmp, 'spfpd.sock')
    cpath = conf(ctx, 'notify.conf', listen='unix:' + sock)
    d = daemon(ctx, [ctx.spfpd, '-d', '-c', cpath], 'notify.log',
               env=dict(os.environ, NOTIFY_SOCKET=ns.path))
    # READY=1 is the first message, and by then the socket answers
    f = ns.expect(d, 'READY', 'start')
    check('listening on unix:' + sock in f.get('STATUS', ''),
          'STATUS at start: %r' % f.get('STATUS'))
    check(ask(sock) == DUNNO, 'no DUNNO right after READY=1')

    # a reload: RELOADING=1 (with the time), then READY=1
    t0 = monotonic_usec()
    d.signal(SIGHUP)
    f = ns.expect(d, 'RELOADING', 'reload')
    t1 = monotonic_usec()
    us = f.get('MONOTONIC_USEC', '')
    check(us.isdigit() and t0 <= int(us) <= t1,
          'MONOTONIC_USEC=%r not between %d and %d' % (us, t0, t1))
    f = ns.expect(d, 'READY', 'reload done')
    check('reloaded' in f.get('STATUS', ''), 'STATUS after a reload: %r' %
          f.get('STATUS'))
    d.wait_log(r'reloaded configuration from')
    check(ask(sock) == DUNNO, 'no DUNNO after the reload')

    # a broken file: still READY=1, the STATUS says the reload failed
    with open(cpath, 'a') as fp:
        fp.write('no_such_option = 1\n')
    d.signal(SIGHUP)
    ns.expect(d, 'RELOADING', 'reload of a broken file')
    f = ns.expect(d, 'READY', 'failed reload done')
    check('reload failed' in f.get('STATUS', ''),
          'STATUS after a failed reload: %r' % f.get('STATUS'))
    d.wait_log(r'keeping the running configuration')
    check(ask(sock) == DUNNO, 'no DUNNO after the failed reload')

    # SIGTERM: STOPPING=1, exit 0, nothing after it
    d.signal(SIGTERM)
    ns.expect(d, 'STOPPING', 'stop')
    # its exit, before stop(): a second SIGTERM could come after spfpd
    # gave back the signal dispositions, and kill it
    d.wait_exit(TIMEOUT)
    d.stop()
    ns.expect_nothing()
    check('sd_notify' not in d.log(), 'a warning about sd_notify: %s' %
          d.tail())


def t_notify_nobody(ctx):
    # NOTIFY_SOCKET naming a socket that is not there: one warning, and
    # spfpd serves, reloads and stops as ever
    sock = os.path.join(ctx.tmp, 'spfpd.sock')
    cpath = conf(ctx, 'nobody.conf', listen='unix:' + sock)
    d = daemon(ctx, [ctx.spfpd, '-d', '-c', cpath], 'nobody.log',
               env=dict(os.environ, NOTIFY_SOCKET=os.path.join(
                   ctx.tmp, 'nobody-listens.sock')))
    d.wait_log(r'started, version')
    check(ask(sock) == DUNNO, 'no DUNNO')
    d.signal(SIGHUP)
    d.wait_log(r'reloaded configuration from')
    check(ask(sock) == DUNNO, 'no DUNNO after the reload')
    d.stop()
    n = len(re.findall(r'warning: sd_notify', d.log()))
    check(n == 1, '%d warnings about sd_notify, expected 1: %s' %
          (n, d.tail()))


# ----------------------------------------------------------- activation

def t_activate_unix(ctx):
    ns = NotifySocket(ctx)
    sock = os.path.join(ctx.tmp, 'activated.sock')
    unused = os.path.join(ctx.tmp, 'unused.sock')
    # user = (empty): spfpd keeps its uid, so that it could remove the
    # socket file at exit (nobody could not, in this root-owned directory)
    cpath = conf(ctx, 'act.conf', listen='unix:' + unused, user='')
    d = activate(ctx, [sock], ['-c', cpath], 'act.log', notify=ns,
                 extra=['--fdname=postfix'])
    wait_until(lambda: os.path.exists(sock), TIMEOUT,
               'systemd-socket-activate to bind %s' % sock)
    # the first connection makes systemd-socket-activate exec spfpd,
    # which accepts it from the queue
    c = connect_retry(sock)
    try:
        check(c.ask('192.0.2.1', 'a@example.com') == DUNNO,
              'no DUNNO on the activated socket')
    finally:
        c.close()
    f = ns.expect(d, 'READY', 'start, socket-activated')
    check('from systemd' in f.get('STATUS', ''), 'STATUS: %r' %
          f.get('STATUS'))
    d.wait_log(r'using the 1 socket passed by systemd: listen = unix:%s '
               r'is ignored' % re.escape(unused))
    d.wait_log(r'listening on unix:%s \(from systemd: descriptor 3, name '
               r'postfix\)' % re.escape(sock))
    check(not os.path.lexists(unused), 'spfpd created %s' % unused)
    check(ask(sock) == DUNNO, 'no DUNNO on a second connection')

    # a reload keeps the socket; a changed listen = is not even noted
    write_conf(cpath, dict(BASE, listen='unix:' + unused + '2', user=''))
    d.signal(SIGHUP)
    ns.expect(d, 'RELOADING', 'reload, socket-activated')
    ns.expect(d, 'READY', 'reload done, socket-activated')
    d.wait_log(r'reloaded configuration from')
    check('listen changed' not in d.log(), 'listen changed was logged '
          'with a socket from systemd: %s' % d.tail())
    check(ask(sock) == DUNNO, 'no DUNNO after the reload')

    d.signal(SIGTERM)
    ns.expect(d, 'STOPPING', 'stop, socket-activated')
    d.wait_exit(TIMEOUT)
    d.stop()
    # the socket file is systemd's: spfpd leaves it
    st = os.lstat(sock) if os.path.lexists(sock) else None
    check(st is not None and stat.S_ISSOCK(st.st_mode),
          'the socket file %s is gone after spfpd exited' % sock)


def t_activate_unix_tcp(ctx):
    sock = os.path.join(ctx.tmp, 'both.sock')
    port = free_port()
    cpath = conf(ctx, 'both.conf', listen=None)   # no listen = at all
    d = activate(ctx, [sock, '127.0.0.1:%d' % port], ['-c', cpath],
                 'both.log', extra=['--fdname=postfix', '--fdname=tcp'])
    addr = ('127.0.0.1', port)
    # triggered by TCP this time
    c = connect_retry(addr, socket.AF_INET)
    try:
        check(c.ask('192.0.2.1', 'a@example.com') == DUNNO,
              'no DUNNO on the activated TCP socket')
    finally:
        c.close()
    d.wait_log(r'started, version')
    check(ask(sock) == DUNNO, 'no DUNNO on the activated UNIX socket')
    check(ask(addr, socket.AF_INET) == DUNNO, 'no DUNNO on TCP again')
    d.wait_log(r'listening on unix:%s \(from systemd: descriptor 3, name '
               r'postfix\)' % re.escape(sock))
    d.wait_log(r'listening on inet:127\.0\.0\.1:%d \(from systemd: '
               r'descriptor 4, name tcp\)' % port)
    check('is ignored' not in d.log(), 'an ignored listen = was logged, '
          'without one: %s' % d.tail())
    d.stop()
    check(os.path.exists(sock), 'the socket file is gone after exit')


def refused(ctx, d, pattern):
    """d (spfpd, or what execs it) must exit 1 logging pattern."""
    rc = d.wait_exit(TIMEOUT)
    ctx.logf.write(d.log())
    check(rc == 1, 'exit %s, expected 1: %s' % (rc, d.tail()))
    check(re.search(pattern, d.log()), 'no %r in the log: %s' %
          (pattern, d.tail()))
    m = sanitizer_mark(d.log())
    check(not m, 'sanitizer report (%s)' % m)


def t_refuse_datagram(ctx):
    sock = os.path.join(ctx.tmp, 'dgram.sock')
    d = activate(ctx, [sock], ['-c', conf(ctx, 'dgram.conf')], 'dgram.log',
                 extra=['--datagram'])
    wait_until(lambda: os.path.exists(sock), TIMEOUT,
               'systemd-socket-activate to bind %s' % sock)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        s.sendto(b'wake up', sock)      # the first datagram execs spfpd
    finally:
        s.close()
    refused(ctx, d, r'descriptor 3 \(unknown\): not a stream socket')


def t_refuse_accept(ctx):
    # Accept=yes: one spfpd per connection, given the connection
    sock = os.path.join(ctx.tmp, 'accept.sock')
    d = activate(ctx, [sock], ['-c', conf(ctx, 'accept.conf')],
                 'accept.log', extra=['--accept'])
    c = connect_retry(sock)
    try:
        c.expect_eof()                  # spfpd exits: the connection ends
    finally:
        c.close()
    d.wait_log(r'descriptor 3 \(\w+\): not listening \(a connection')
    d.wait_log(r'fatal: 1 of the 1 sockets passed by systemd cannot be '
               r'used')
    m = sanitizer_mark(d.log())
    check(not m, 'sanitizer report (%s)' % m)
    d.kill()                            # the activator itself
    ctx.logf.write(d.log())


def shell_fds(ctx, args, logname, **kw):
    """spfpd with LISTEN_PID (its own), LISTEN_FDS=1 and /dev/null as
    descriptor 3: no socket at all."""
    cmd = ['/bin/sh', '-c', 'LISTEN_PID=$$ LISTEN_FDS=1 exec "$0" "$@" '
           '3</dev/null', ctx.spfpd] + list(args)
    return daemon(ctx, cmd, logname, **kw)


def t_refuse_file(ctx):
    d = shell_fds(ctx, ['-d', '-c', conf(ctx, 'file.conf')], 'file.log')
    refused(ctx, d, r'descriptor 3 \(unknown\): not a socket')


def t_stdio_ignores(ctx):
    # --stdio is for spawn(8): LISTEN_FDS is none of its business
    cpath = conf(ctx, 'stdio.conf')
    cmd = ['/bin/sh', '-c', 'LISTEN_PID=$$ LISTEN_FDS=1 exec "$0" "$@" '
           '3</dev/null', ctx.spfpd, '-d', '--stdio', '-c', cpath]
    req = ('request=smtpd_access_policy\nclient_address=192.0.2.1\n'
           'sender=a@example.com\n\n')
    p = subprocess.run(cmd, input=req, capture_output=True, text=True,
                       timeout=TIMEOUT * 3)
    ctx.logf.write(p.stderr)
    check(p.returncode == 0 and p.stdout == 'action=DUNNO\n\n',
          'exit %d, output %r: %s' % (p.returncode, p.stdout,
                                      p.stderr.strip()[-300:]))
    check('systemd' not in p.stderr, 'systemd mentioned: %s' %
          p.stderr.strip()[-300:])
    m = sanitizer_mark(p.stderr)
    check(not m, 'sanitizer report (%s)' % m)


# ----------------------------------------------------------- the units

TRIVIAL = """[Unit]
Description=a trivial unit: can systemd-analyze verify here?

[Service]
Type=oneshot
ExecStart=/bin/true
"""


def analyze(paths, cwd):
    """systemd-analyze verify --man=no paths: (status, output)."""
    p = subprocess.run([ANALYZE, 'verify', '--man=no'] + paths, cwd=cwd,
                       capture_output=True, text=True, timeout=120)
    return p.returncode, (p.stdout + p.stderr).strip()


def t_verify(ctx):
    have(ANALYZE)
    d = os.path.join(ctx.tmp, 'units')
    os.mkdir(d)
    # can it work here at all?  A unit with nothing to criticize
    trivial = os.path.join(d, 'spfpd-trivial.service')
    with open(trivial, 'w') as f:
        f.write(TRIVIAL)
    rc, out = analyze([trivial], d)
    ctx.logf.write('systemd-analyze verify (trivial unit): %d\n%s\n' %
                   (rc, out))
    if rc != 0:
        raise Skip('systemd-analyze verify fails here even on a trivial '
                   'unit (exit %d): %s' % (rc, ' | '.join(
                       out.splitlines()[-3:])))
    os.unlink(trivial)
    paths = []
    for name in ('spfpd.service', 'spfpd.socket'):
        with open(os.path.join(UNITS, name)) as f:
            text = f.read()
        # make install's path, not here: the binary under test
        text = text.replace('/usr/local/sbin/spfpd', ctx.spfpd)
        paths.append(os.path.join(d, name))
        with open(paths[-1], 'w') as f:
            f.write(text)
    rc, out = analyze(paths, d)
    ctx.logf.write('systemd-analyze verify spfpd.service spfpd.socket: '
                   '%d\n%s\n' % (rc, out))
    ours = [line for line in out.splitlines() if 'spfpd' in line]
    check(rc == 0 and not ours, 'systemd-analyze verify: exit %d: %s' %
          (rc, ' | '.join(ours or out.splitlines()[-5:])))
    v = subprocess.run([ANALYZE, '--version'], capture_output=True,
                       text=True).stdout.split('\n')[0]
    ctx.note('systemd-analyze verify (%s): exit 0, no output about the '
             'units' % v.strip())


TESTS = [
    ('notify-ready-reload-stop', t_notify),
    ('notify-socket-missing', t_notify_nobody),
    ('activation-unix', t_activate_unix),
    ('activation-unix-and-tcp', t_activate_unix_tcp),
    ('activation-refuses-datagram', t_refuse_datagram),
    ('activation-refuses-accept-yes', t_refuse_accept),
    ('activation-refuses-file', t_refuse_file),
    ('stdio-ignores-listen-fds', t_stdio_ignores),
    ('systemd-analyze-verify', t_verify),
]


def main():
    ap = arg_parser(__doc__)
    args = ap.parse_args()
    ctx = Suite('systemd', args.spfpd, open(args.log, 'a'))
    # spfpd (as root) drops to nobody, who must reach the notify socket
    # and read the config files here to reload them
    os.chmod(ctx.tmp, 0o755)
    try:
        ctx.run(TESTS, only=args.only)
    except Exception as e:
        ctx.fail('setup', e)
    for s in SEEN:
        ctx.note('notify %s' % s)
    return ctx.finish()


if __name__ == '__main__':
    sys.exit(main())
