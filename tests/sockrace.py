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
import ctypes
import grp
import os
import pwd
import stat
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Client, Daemon, Skip, Suite, arg_parser,  # noqa: E402
                     check, sanitizer_mark, write_conf)

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


def race_conf(ctx, name, **extra):
    """A config in ctx.tmp that nobody can read: the socket in ctx.priv
    for nobody, 0600, then running as nobody."""
    opts = {'listen': 'unix:' + ctx.sock, 'socket_owner': USER,
            'socket_group': ctx.group, 'socket_mode': '0600', 'user': USER,
            'debug': 'yes', 'shutdown_timeout': '2s',
            'helo_reject': 'no_check', 'mail_from_reject': 'no_check',
            'ptr_check': 'no', 'dns_servers': '127.0.0.1:1'}
    opts.update(extra)
    path = write_conf(os.path.join(ctx.tmp, name), opts)
    os.chmod(path, 0o644)
    return path


def clean_dir(d):
    for n in os.listdir(d):
        os.unlink(os.path.join(d, n))   # never follows a symlink


def start(ctx, conf, byname):
    """spfpd as root (without CAP_NET_ADMIN when byname), not waited for."""
    return Daemon(ctx.spfpd, conf, os.path.join(ctx.tmp, 'spfpd.err'),
                  wait=False, preexec_fn=drop_net_admin if byname else None)


def listening(d):
    """True once d listens, False if it exited first."""
    return d.wait_started(TIMEOUT, exited_ok=True, interval=0.002)


def stop(d):
    """SIGTERM: the exit status."""
    d.terminate()
    check(not d.reap(TIMEOUT), 'spfpd did not exit on SIGTERM')
    return d.proc.returncode


def finish(ctx, d, title):
    """Append the log of d to --log; Fail on a sanitizer report."""
    d.kill()
    text = d.log()
    ctx.logf.write('=== %s\n%s' % (title, text))
    m = sanitizer_mark(text)
    check(not m, 'sanitizer report (%s): see the log' % m)
    return text


def socket_state(path):
    st = os.lstat(path)
    return (stat.S_ISSOCK(st.st_mode), st.st_uid, st.st_gid,
            stat.S_IMODE(st.st_mode))


def plain_start(ctx, byname, conf, want_mode):
    """spfpd without a racer: the socket gets owner, group and mode, a
    client gets an answer, SIGTERM removes the socket, exit 0."""
    clean_dir(ctx.priv)
    d = start(ctx, conf, byname)
    try:
        check(listening(d), 'spfpd exited with %s: %s' %
              (d.proc.returncode, d.tail()))
        got = socket_state(ctx.sock)
        want = (True, ctx.uid, ctx.gid, want_mode)
        check(got == want, 'socket (is socket, uid, gid, mode) is %s, '
              'expected %s' % (fmt_state(got), fmt_state(want)))
        c = Client(ctx.sock, timeout=TIMEOUT)
        c.send(b'request=smtpd_access_policy\n'
               b'client_address=192.0.2.1\n\n')
        c.reply()
        c.close()
        rc = stop(d)
        check(rc == 0, 'exit status %d on SIGTERM' % rc)
        check(not os.path.lexists(ctx.sock), 'socket file left at exit')
    finally:
        text = finish(ctx, d, 'plain start, %s' %
                      ('by name' if byname else 'SIOCUNIXFILE'))
    check((BYNAME in text) == byname,
          'expected the socket file %s; log: %s' %
          ('opened by name' if byname else 'from SIOCUNIXFILE',
           text.strip().splitlines()[:3]))


def fmt_state(s):
    return '(%s, %d, %d, %04o)' % s


def t_owner_mode(ctx):
    conf = race_conf(ctx, 'plain.conf')
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
    why = no_default_acl(ctx)
    if why:
        raise Skip(why)
    os.setxattr(ctx.priv, 'system.posix_acl_default', DEFAULT_ACL)
    try:
        conf = race_conf(ctx, 'acl.conf', socket_mode='0660')
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
    d = None
    verdict = '(not run)'
    try:
        line = racer.stdout.readline().strip()
        check(line == 'ready', 'racer: %r' % line)
        d = start(ctx, conf, byname)
        listened = listening(d)
        try:
            out = racer.communicate(timeout=TIMEOUT)[0].strip()
        except subprocess.TimeoutExpired:
            racer.kill()
            out = racer.communicate()[0].strip() + ' (killed)'
        verdict = out.splitlines()[-1] if out else '(nothing)'
        st['racer ' + verdict] = st.get('racer ' + verdict, 0) + 1
        swapped = verdict.startswith('swapped')
        if listened:
            st['listened'] += 1
            if not swapped:
                # the race lost: the socket must be right
                got = socket_state(ctx.sock)
                want = (True, ctx.uid, ctx.gid, 0o600)
                if got != want:
                    ctx.bad.append('start %d: socket %s, expected %s' %
                                   (i, fmt_state(got), fmt_state(want)))
            rc = stop(d)
            if rc != 0:
                ctx.bad.append('start %d: exit %d on SIGTERM: %s' %
                               (i, rc, d.tail()))
        else:
            rc = d.proc.returncode
            if rc == 1 and REFUSED in d.log():
                st['refused'] += 1
            else:
                ctx.bad.append('start %d: spfpd exited %d without the '
                               'refusal: %s' % (i, rc, d.tail()))
        if swapped and not os.path.islink(ctx.sock):
            ctx.bad.append('start %d: spfpd removed the racer\'s symlink'
                           ' (not its own file)' % i)
    finally:
        if racer.poll() is None:
            racer.kill()
            racer.wait()
        if d is not None:
            text = finish(ctx, d, 'race start %d (%s), racer: %s' %
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
    conf = race_conf(ctx, 'race.conf')
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


TESTS = [
    ('socket-owner-mode', t_owner_mode),
    ('default-acl-mode', t_default_acl),
    ('race-symlink-swap', t_race),
]


def setup(ctx):
    """The victim: root's file in root's directory; the socket's
    directory, nobody's as private/ is postfix's."""
    os.chmod(ctx.tmp, 0o755)            # nobody reaches its directory
    rootdir = os.path.join(ctx.tmp, 'root')
    os.mkdir(rootdir, 0o755)
    ctx.target = os.path.join(rootdir, 'target')
    with open(ctx.target, 'w') as f:
        f.write('precious\n')
    os.chown(ctx.target, 0, 0)
    os.chmod(ctx.target, 0o644)
    st = os.stat(ctx.target)
    ctx.target_state = (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode))
    ctx.priv = os.path.join(ctx.tmp, 'private')
    os.mkdir(ctx.priv, 0o700)
    os.chown(ctx.priv, ctx.uid, ctx.gid)
    ctx.sock = os.path.join(ctx.priv, SOCK)


def main():
    ap = arg_parser(__doc__)
    ap.add_argument('--sockrace', required=True)
    ap.add_argument('--starts', type=int, default=100,
                    help='starts of spfpd each way (SIOCUNIXFILE, by name)')
    args = ap.parse_args()
    if os.geteuid() != 0:
        print('FAIL root: sockrace.py must run as root: it starts spfpd as '
              'root and the racer as %s (CI runs make check as root)' % USER)
        print('sockrace: 0 passed, 1 failed')
        return 1
    ctx = Suite('sockrace', args.spfpd, open(args.log, 'a'))
    ctx.sockrace = os.path.abspath(args.sockrace)
    ctx.starts = args.starts
    pw = pwd.getpwnam(USER)
    ctx.uid, ctx.gid = pw.pw_uid, pw.pw_gid
    ctx.group = grp.getgrgid(ctx.gid).gr_name     # nogroup on Debian
    try:
        setup(ctx)
        ctx.run(TESTS, only=args.only)
    except Exception as e:
        ctx.fail('setup', e)
    return ctx.finish()


if __name__ == '__main__':
    sys.exit(main())
