#!/usr/bin/python3
"""sockrace.py - the socket-file race of issue 12, as a regression test.

    /usr/bin/python3 tests/sockrace.py --spfpd build/spfpd \\
        --sockrace build/sockrace [--starts 100] [--log FILE]

spfpd starts as root and creates its UNIX socket in a directory that an
unprivileged user owns (Postfix's private/ belongs to postfix).  It used to
chown() and chmod() the socket by name after bind(): that user could rename
a symlink over the socket in between, and root changed the owner and mode
of the file the symlink pointed at.

Here the directory belongs to nobody, and before each start of spfpd (as
root, socket_owner = nobody, socket_group = its group, socket_mode = 0600,
user = nobody) a fresh racer (tests/sockrace.c, as nobody) watches it with
inotify and renames a symlink to a root-owned file (0644, in a root-owned
directory) over the socket as soon as it appears.  Every start must end
with spfpd either listening (then stopped with SIGTERM: exit 0) or
refusing the replaced socket (exit 1, "the socket file was replaced after
bind"); the target file must never change, and spfpd must never remove
the racer's symlink (only its own socket).  Starts alternate between the
two ways spfpd knows its socket file, --starts (100) each: SIOCUNIXFILE,
and by name with O_NOFOLLOW when CAP_NET_ADMIN is gone (dropped from the
bounding set here).

The counts (how often the racer got its symlink in before the chown, how
often spfpd refused) are printed as "#" comments; a run where the racer
never got in before the chown proved nothing and fails.  Against the code
before the fix (chown and chmod by name) the racer changed the target in
139 to 194 of 200 starts in three runs.

Also: without a racer the socket gets its owner, group and mode both ways,
and a default ACL on the directory does not change the mode.

Must run as root (it starts spfpd as root and the racer as nobody): not
root is a failure, not a skip, since the point is root's behaviour.
Output as tests/harness.py: "ok NAME" / "FAIL NAME: why", then
"sockrace: N passed, M failed".
"""
import argparse
import ctypes
import grp
import os
import pwd
import shutil
import signal
import socket
import stat
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from harness import Fail, check, run_test  # noqa: E402

SANITIZER_MARKS = ('AddressSanitizer', 'runtime error:', 'LeakSanitizer')
REFUSED = 'the socket file was replaced after bind'
BYNAME = 'opening the socket file by name'
TIMEOUT = 10.0                          # any single wait (ASan starts slowly)
SOCK = 'spfpd.sock'
USER = 'nobody'                         # and its primary group

PR_CAPBSET_DROP = 24
CAP_NET_ADMIN = 12


def drop_net_admin():
    """preexec_fn: spfpd (root) starts without CAP_NET_ADMIN, so that
    SIOCUNIXFILE fails and it opens the socket file by name."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_CAPBSET_DROP, CAP_NET_ADMIN, 0, 0, 0) != 0:
        os._exit(126)


class Ctx:
    pass


def write_conf(ctx, path, **extra):
    opts = {'listen': 'unix:' + ctx.sock, 'socket_owner': USER,
            'socket_group': ctx.group, 'socket_mode': '0600', 'user': USER,
            'debug': 'yes', 'shutdown_timeout': '2s',
            'helo_reject': 'no_check', 'mail_from_reject': 'no_check',
            'ptr_check': 'no', 'dns_servers': '127.0.0.1:1'}
    opts.update(extra)
    with open(path, 'w') as f:
        for k, v in opts.items():
            f.write('%s = %s\n' % (k, v))
    os.chmod(path, 0o644)


def clean_dir(d):
    for n in os.listdir(d):
        os.unlink(os.path.join(d, n))   # never follows a symlink


class Run:
    """One start of spfpd: its process and its stderr."""

    def __init__(self, ctx, conf, byname):
        self.ctx = ctx
        self.logpath = os.path.join(ctx.tmp, 'spfpd.err')
        self.logf = open(self.logpath, 'w+')
        self.proc = subprocess.Popen(
            [ctx.spfpd, '-d', '-c', conf], stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=self.logf,
            preexec_fn=drop_net_admin if byname else None)

    def log(self):
        with open(self.logpath) as f:
            return f.read()

    def wait_started(self):
        """'listening' or 'exited' (then self.rc is set)."""
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            rc = self.proc.poll()
            if rc is not None:
                self.rc = rc
                return 'exited'
            if 'started, version' in self.log():
                return 'listening'
            time.sleep(0.002)
        raise Fail('spfpd neither listened nor exited in %.0fs: %s' %
                   (TIMEOUT, self.tail()))

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.rc = self.proc.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            raise Fail('spfpd did not exit on SIGTERM')
        return self.rc

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def finish(self, title):
        """Append the log to --log; Fail on a sanitizer report."""
        text = self.log()
        self.logf.close()
        self.ctx.logf.write('=== %s\n%s' % (title, text))
        for m in SANITIZER_MARKS:
            check(m not in text, 'sanitizer report (%s): see the log' % m)
        return text

    def tail(self):
        return ' | '.join(self.log().strip().splitlines()[-3:])


def socket_state(path):
    st = os.lstat(path)
    return (stat.S_ISSOCK(st.st_mode), st.st_uid, st.st_gid,
            stat.S_IMODE(st.st_mode))


def plain_start(ctx, byname, conf, want_mode):
    """spfpd without a racer: the socket gets owner, group and mode, a
    client gets an answer, SIGTERM removes the socket, exit 0."""
    clean_dir(ctx.priv)
    r = Run(ctx, conf, byname)
    try:
        how = r.wait_started()
        check(how == 'listening', 'spfpd exited with %s: %s' %
              (getattr(r, 'rc', '?'), r.tail()))
        got = socket_state(ctx.sock)
        want = (True, ctx.uid, ctx.gid, want_mode)
        check(got == want, 'socket (is socket, uid, gid, mode) is %s, '
              'expected %s' % (fmt_state(got), fmt_state(want)))
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.settimeout(TIMEOUT)
        c.connect(ctx.sock)
        c.sendall(b'request=smtpd_access_policy\n'
                  b'client_address=192.0.2.1\n\n')
        reply = c.recv(4096)
        c.close()
        check(reply.startswith(b'action='), 'reply %r' % reply)
        rc = r.stop()
        check(rc == 0, 'exit status %d on SIGTERM' % rc)
        check(not os.path.lexists(ctx.sock), 'socket file left at exit')
    finally:
        r.kill()
        text = r.finish('plain start, %s' %
                        ('by name' if byname else 'SIOCUNIXFILE'))
    check((BYNAME in text) == byname,
          'expected the socket file %s; log: %s' %
          ('opened by name' if byname else 'from SIOCUNIXFILE',
           text.strip().splitlines()[:3]))


def fmt_state(s):
    return '(%s, %d, %d, %04o)' % s


def t_owner_mode(ctx):
    conf = os.path.join(ctx.tmp, 'plain.conf')
    write_conf(ctx, conf)
    plain_start(ctx, False, conf, 0o600)
    plain_start(ctx, True, conf, 0o600)


def posix_acl(entries):
    """system.posix_acl_* xattr value: version 2, (tag, perm, id)..."""
    return struct.pack('<I', 2) + b''.join(
        struct.pack('<HHI', tag, perm, 0xffffffff) for tag, perm in entries)


# u::rwx g::- o::-
DEFAULT_ACL = posix_acl([(0x01, 7), (0x04, 0), (0x20, 0)])


def no_default_acl(ctx):
    """Why a default ACL cannot be set on the directory, or None."""
    try:
        os.setxattr(ctx.priv, 'system.posix_acl_default', DEFAULT_ACL)
        os.removexattr(ctx.priv, 'system.posix_acl_default')
        return None
    except OSError as e:
        return 'no POSIX ACLs on %s (%s)' % (ctx.priv, e.strerror)


def t_default_acl(ctx):
    # a default ACL masks the mode the umask gives (here to 0600): spfpd
    # must still end with socket_mode, as its chmod by name used to give
    os.setxattr(ctx.priv, 'system.posix_acl_default', DEFAULT_ACL)
    try:
        conf = os.path.join(ctx.tmp, 'acl.conf')
        write_conf(ctx, conf, socket_mode='0660')
        plain_start(ctx, False, conf, 0o660)
        plain_start(ctx, True, conf, 0o660)
    finally:
        os.removexattr(ctx.priv, 'system.posix_acl_default')


def race_once(ctx, conf, byname, i, st):
    clean_dir(ctx.priv)
    racer = subprocess.Popen(
        [ctx.sockrace, ctx.priv, SOCK, ctx.target, '%d' % (TIMEOUT * 1000)],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True,
        user=ctx.uid, group=ctx.gid, extra_groups=[])
    r = None
    verdict = '(not run)'
    try:
        line = racer.stdout.readline().strip()
        check(line == 'ready', 'racer: %r' % line)
        r = Run(ctx, conf, byname)
        how = r.wait_started()
        try:
            out = racer.communicate(timeout=TIMEOUT)[0].strip()
        except subprocess.TimeoutExpired:
            racer.kill()
            out = racer.communicate()[0].strip() + ' (killed)'
        verdict = out.splitlines()[-1] if out else '(nothing)'
        st['racer ' + verdict] = st.get('racer ' + verdict, 0) + 1
        swapped = verdict.startswith('swapped')
        if how == 'listening':
            st['listened'] += 1
            if not swapped:
                # the race lost: the socket must be right
                got = socket_state(ctx.sock)
                want = (True, ctx.uid, ctx.gid, 0o600)
                if got != want:
                    ctx.bad.append('start %d: socket %s, expected %s' %
                                   (i, fmt_state(got), fmt_state(want)))
            rc = r.stop()
            if rc != 0:
                ctx.bad.append('start %d: exit %d on SIGTERM: %s' %
                               (i, rc, r.tail()))
        else:
            log = r.log()
            if r.rc == 1 and REFUSED in log:
                st['refused'] += 1
            else:
                ctx.bad.append('start %d: spfpd exited %d without the '
                               'refusal: %s' % (i, r.rc, r.tail()))
        if swapped and not os.path.islink(ctx.sock):
            ctx.bad.append('start %d: spfpd removed the racer\'s symlink'
                           ' (not its own file)' % i)
    finally:
        if racer.poll() is None:
            racer.kill()
            racer.wait()
        if r is not None:
            r.kill()
            text = r.finish('race start %d (%s), racer: %s' %
                            (i, 'by name' if byname else 'SIOCUNIXFILE',
                             verdict))
            if (BYNAME in text) != byname:
                ctx.bad.append('start %d: expected the socket file %s' %
                               (i, 'opened by name' if byname
                                else 'from SIOCUNIXFILE'))
    now = os.stat(ctx.target)
    state = (now.st_uid, now.st_gid, stat.S_IMODE(now.st_mode))
    if state != ctx.target_state:
        st['changed'] += 1
        ctx.changed.append('start %d: target became %d:%d %04o' %
                           ((i,) + state))
        os.chown(ctx.target, *ctx.target_state[:2])
        os.chmod(ctx.target, ctx.target_state[2])


def t_race(ctx):
    conf = os.path.join(ctx.tmp, 'race.conf')
    write_conf(ctx, conf)
    ctx.bad = []
    ctx.changed = []
    stats = {}
    t0 = time.monotonic()
    for byname in (False, True):
        stats[byname] = {'listened': 0, 'refused': 0, 'changed': 0}
    for i in range(2 * ctx.starts):
        byname = i % 2 == 1
        race_once(ctx, conf, byname, i, stats[byname])
    for byname in (False, True):
        st = stats[byname]
        n = ctx.starts
        early = st.get('racer swapped early', 0)
        others = ', '.join('%s %d' % (k[6:], v) for k, v in sorted(
            st.items()) if k.startswith('racer ') and
            k != 'racer swapped early')
        print('# %s: %d starts: the racer swapped its symlink in before '
              'the chown in %d (other: %s); spfpd refused %d, listened %d; '
              'target changed %d' %
              ('by name (no CAP_NET_ADMIN)' if byname else 'SIOCUNIXFILE',
               n, early, others or 'none', st['refused'], st['listened'],
               st['changed']))
    print('# %d starts in %.1fs' % (2 * ctx.starts, time.monotonic() - t0))
    for b in ctx.changed[:5] + ctx.bad[:5]:
        print('# %s' % b)
    total = stats[False]['changed'] + stats[True]['changed']
    check(total == 0, 'the target file changed in %d of %d starts (%s)' %
          (total, 2 * ctx.starts, ctx.changed[0] if ctx.changed else ''))
    check(not ctx.bad, '%d starts went wrong, first: %s' %
          (len(ctx.bad), ctx.bad[0] if ctx.bad else ''))
    early = sum(stats[b].get('racer swapped early', 0) for b in stats)
    check(early > 0, 'the racer never got its symlink in before the chown: '
          'this run proved nothing')


TESTS = [                               # name, test, why it cannot run
    ('socket-owner-mode', t_owner_mode, None),
    ('default-acl-mode', t_default_acl, no_default_acl),
    ('race-symlink-swap', t_race, None),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--spfpd', required=True)
    ap.add_argument('--sockrace', required=True)
    ap.add_argument('--starts', type=int, default=100,
                    help='starts of spfpd each way (SIOCUNIXFILE, by name)')
    ap.add_argument('--log', default='/dev/null')
    ap.add_argument('--only')
    args = ap.parse_args()
    if os.geteuid() != 0:
        print('FAIL root: sockrace.py must run as root: it starts spfpd as '
              'root and the racer as %s (CI runs make check as root)' % USER)
        print('sockrace: 0 passed, 1 failed')
        return 1
    ctx = Ctx()
    ctx.spfpd = os.path.abspath(args.spfpd)
    ctx.sockrace = os.path.abspath(args.sockrace)
    ctx.starts = args.starts
    ctx.logf = open(args.log, 'a')
    pw = pwd.getpwnam(USER)
    ctx.uid, ctx.gid = pw.pw_uid, pw.pw_gid
    ctx.group = grp.getgrgid(ctx.gid).gr_name     # nogroup on Debian
    ctx.tmp = tempfile.mkdtemp(prefix='sockrace-')
    passed = failed = 0
    try:
        os.chmod(ctx.tmp, 0o755)        # nobody reaches its directory
        # the victim: root's file in root's directory
        rootdir = os.path.join(ctx.tmp, 'root')
        os.mkdir(rootdir, 0o755)
        ctx.target = os.path.join(rootdir, 'target')
        with open(ctx.target, 'w') as f:
            f.write('precious\n')
        os.chown(ctx.target, 0, 0)
        os.chmod(ctx.target, 0o644)
        st = os.stat(ctx.target)
        ctx.target_state = (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode))
        # the socket's directory, nobody's as private/ is postfix's
        ctx.priv = os.path.join(ctx.tmp, 'private')
        os.mkdir(ctx.priv, 0o700)
        os.chown(ctx.priv, ctx.uid, ctx.gid)
        ctx.sock = os.path.join(ctx.priv, SOCK)
        for name, fn, cannot in TESTS:
            if args.only and name != args.only:
                continue
            ctx.logf.write('=== %s\n' % name)
            why = cannot(ctx) if cannot else None
            if why:
                print('ok %s # skip: %s' % (name, why))
                passed += 1
                continue
            if run_test(name, fn, ctx, ctx.logf):
                passed += 1
            else:
                failed += 1
    except Exception as e:
        print('FAIL setup: %s' % e)
        failed += 1
    finally:
        shutil.rmtree(ctx.tmp, ignore_errors=True)
    print('sockrace: %d passed, %d failed' % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == '__main__':
    sys.exit(main())
