"""harness.py - what spfpd's integration test drivers share (blackbox.py,
spftest.py, hostiletest.py, postfixtest.py, rfcsuite.py, sockrace.py,
soak.py):

  Fail, Skip, check()     a test's verdict
  run_test(), Suite,      running tests, with the output tests/summary.sh
  arg_parser()            reads: "ok NAME" (or "ok NAME # skip: why"),
                          "FAIL NAME: why", last "SUITE: N passed, M
                          failed"; a Suite also starts the daemons and
                          DNS servers of a test and stops what is left
  Daemon                  one spfpd process: its stderr in a file, ready
                          when it accepts (or logs "started"), stopped
                          with a check of its exit status and of its log
                          for sanitizer reports (SANITIZER_MARKS)
  Client, request()       the Postfix policy protocol, client side, with a
                          deadline on every wait
  Knot, DNSServer,        DNS servers on loopback: knotd with zone-file
  TestDNS, free_port(),   lines; tests/dnsserver.py (zone data, delays,
  dead_port()             query log); tests/hostiledns.py
  write_conf(), wait_until(), rss_kb(), asan_build()

Standard library only; the drivers run with /usr/bin/python3.
"""
import argparse
import json
import os
import pwd
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import traceback
from signal import SIGTERM

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON = '/usr/bin/python3'     # Debian's: it has dnspython and yaml

# what a sanitizer writes when it finds something (ASan, UBSan, LSan)
SANITIZER_MARKS = ('AddressSanitizer', 'runtime error:', 'LeakSanitizer')
START_TIMEOUT = 10.0            # seconds for a daemon to start (ASan is slow)
STOP_TIMEOUT = 20.0             # ... and to exit on SIGTERM with work pending


# ----------------------------------------------------------- verdicts

class Fail(Exception):
    """The test failed; the message says why."""


class Skip(Exception):
    """The test cannot run here; the message says why."""


def check(cond, why):
    if not cond:
        raise Fail(why)


def sanitizer_mark(text):
    """The first sanitizer mark in text, or None."""
    for m in SANITIZER_MARKS:
        if m in text:
            return m
    return None


def attempt(fn, arg, logf):
    """Run fn(arg): ('ok', None), ('skip', why) or ('fail', why).  The
    traceback of an unexpected exception goes to logf."""
    try:
        fn(arg)
        return 'ok', None
    except Fail as e:
        return 'fail', str(e)
    except Skip as e:
        return 'skip', str(e)
    except Exception as e:
        logf.write(traceback.format_exc())
        tb = traceback.extract_tb(e.__traceback__)[-1]
        return 'fail', '%s: %s (%s line %d)' % (
            type(e).__name__, e, os.path.basename(tb.filename), tb.lineno)


def run_test(name, fn, arg, logf):
    """Run fn(arg) as test NAME and print its line.  True when it passed
    (or was skipped: "ok NAME # skip: why")."""
    status, why = attempt(fn, arg, logf)
    if status == 'ok':
        print('ok %s' % name)
    elif status == 'skip':
        print('ok %s # skip: %s' % (name, why))
    else:
        print('FAIL %s: %s' % (name, why))
    sys.stdout.flush()
    return status != 'fail'


def wait_until(pred, timeout, what='condition', interval=0.02):
    """Poll pred() until it returns a true value (returned); Fail at the
    deadline."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise Fail('timed out after %.1fs waiting for %s' %
                       (timeout, what))
        time.sleep(interval)


# ----------------------------------------------------------- a run

class Suite:
    """A driver's run: the binary under test, the --log file, a temporary
    directory, the daemons of the test that runs (killed after it, if a
    failure left them running), the counts and the closing line."""

    def __init__(self, name, spfpd, logf, tmp=None):
        self.name = name
        self.spfpd = os.path.abspath(spfpd)
        self.logf = logf
        self.tmp = tmp or tempfile.mkdtemp(prefix=name + '-')
        self.daemons = []
        self.servers = []               # DNS servers and dead ports
        self.notes = []
        self.passed = self.failed = 0

    def daemon(self, opts, extra='', **kw):
        """spfpd -d on a UNIX socket of its own directory, with a config
        of opts overridden by the "key = value" lines of extra."""
        d = tempfile.mkdtemp(prefix='spfd-', dir=self.tmp)
        sock = os.path.join(d, 's.sock')
        conf = write_conf(os.path.join(d, 'spfpd.conf'),
                          dict(opts, listen='unix:' + sock), extra)
        return Daemon(self.spfpd, conf, os.path.join(d, 'spfpd.log'),
                      sock=sock, logf=self.logf, track=self.daemons, **kw)

    def dns(self, zone, extra=()):
        """tests/dnsserver.py for the test that runs (TestDNS)."""
        dns = TestDNS(self.tmp, zone, extra)
        self.servers.append(dns)
        return dns

    def dead_dns(self):
        """dns_servers where no answer ever comes, for the test that
        runs."""
        sock, port = dead_port()
        self.servers.append(sock)
        return '127.0.0.1:%d' % port

    def command(self, args, timeout=30):
        """A short run of spfpd (-q, -n): the CompletedProcess (text); its
        output goes to the log; Fail on a sanitizer report."""
        p = subprocess.run([self.spfpd] + list(args), capture_output=True,
                           text=True, timeout=timeout)
        self.logf.write(p.stdout + p.stderr)
        m = sanitizer_mark(p.stdout + p.stderr)
        check(not m, 'sanitizer report (%s) from spfpd %s' % (
            m, ' '.join(args)))
        return p

    def note(self, s):
        self.notes.append(s)

    def run(self, tests, arg=None, only=None):
        """Each (name, fn) of tests (NAME == only, if given) as fn(arg);
        arg defaults to the suite itself."""
        for name, fn in tests:
            if only and name != only:
                continue
            self.logf.write('=== %s\n' % name)
            try:
                if run_test(name, fn, self if arg is None else arg,
                            self.logf):
                    self.passed += 1
                else:
                    self.failed += 1
            finally:
                self.cleanup()

    def run_with_knot(self, zones, tests, only=None):
        """run(tests) with knotd serving zones as self.knot (stopped
        after, whatever happens); the exit status of finish()."""
        self.knot = None
        try:
            self.knot = Knot(self.tmp, zones)
            self.knot.start()
            self.run(tests, only=only)
        except RuntimeError as e:       # knotd did not start
            self.fail('setup', e)
        finally:
            if self.knot:
                self.knot.stop()
        return self.finish()

    def fail(self, what, why):
        """A failure outside the tests (setup, teardown)."""
        print('FAIL %s: %s' % (what, why))
        self.failed += 1

    def cleanup(self):
        for d in self.daemons:
            d.kill()
        for s in self.servers:
            if isinstance(s, socket.socket):
                s.close()
            else:
                s.stop()
        self.daemons = []
        self.servers = []

    def finish(self):
        """Kill what is left, remove the directory, print the notes and the
        closing line; the exit status."""
        self.cleanup()
        shutil.rmtree(self.tmp, ignore_errors=True)
        for n in self.notes:
            print('# ' + n)
        print('%s: %d passed, %d failed' % (self.name, self.passed,
                                            self.failed))
        sys.stdout.flush()
        return 0 if self.failed == 0 else 1


def arg_parser(doc):
    """The options of a driver: --spfpd, --log, --only; add more."""
    ap = argparse.ArgumentParser(description=doc.strip().split('\n')[0])
    ap.add_argument('--spfpd', required=True, help='the binary under test')
    ap.add_argument('--log', default='/dev/null',
                    help='daemon logs and tracebacks (appended)')
    ap.add_argument('--only', help='run only the test of this name')
    return ap


def write_conf(path, opts, extra=''):
    """A spfpd config at path: "key = value" for each of opts (a value None
    leaves the key out), each overridden by a "key = value" line of extra.
    Returns path."""
    opts = dict(opts)
    for line in extra.splitlines():
        if line.strip():
            k, v = line.split('=', 1)
            opts[k.strip()] = v.strip()
    with open(path, 'w') as f:
        for k, v in opts.items():
            if v is not None:
                f.write('%s = %s\n' % (k, v))
    return path


# ----------------------------------------------------------- the daemon

def can_connect(path):
    s = socket.socket(socket.AF_UNIX)
    try:
        s.connect(path)
        return True
    except OSError:
        return False
    finally:
        s.close()


class Daemon:
    """One spfpd process: stdout and stderr in the file logpath.

    Started with -d (debug=False: without), --stdio (then stdin and stdout
    are pipes), -c conf and args; popen goes to subprocess.Popen
    (preexec_fn, start_new_session, ...).  Once it runs it is appended to
    track (a list a cleanup kills), then awaited unless wait=False: ready
    when it accepts on sock (the file exists from bind(), a moment before
    listen()), or without sock when it logs "started, version".

    stop() ends a test's daemon: SIGTERM, its exit awaited, its log
    appended to logf; Fail unless it exited 0 with no sanitizer report.
    """

    def __init__(self, spfpd, conf, logpath, args=(), sock=None, logf=None,
                 track=None, stdio=False, debug=True, wait=True, **popen):
        self.sock = sock
        self.logpath = logpath
        self.logf = logf
        self.cmd = [spfpd] + (['-d'] if debug else []) + \
            (['--stdio'] if stdio else []) + \
            (['-c', conf] if conf else []) + list(args)
        self.logfile = open(logpath, 'wb')
        popen.setdefault('stdin', subprocess.PIPE if stdio
                         else subprocess.DEVNULL)
        popen.setdefault('stdout', subprocess.PIPE if stdio
                         else self.logfile)
        try:
            self.proc = subprocess.Popen(self.cmd, stderr=self.logfile,
                                         **popen)
        except OSError as e:
            self.logfile.close()
            raise Fail('cannot run %s: %s' % (spfpd, e))
        self.pid = self.proc.pid
        self.terminated = False         # we sent it SIGTERM at the end
        self.timed_out = False          # ... and it did not exit: killed
        if track is not None:
            track.append(self)
        if wait and not stdio:
            self.wait_started()

    def log(self):
        with open(self.logpath, 'rb') as f:
            return f.read().decode('utf-8', 'replace')

    def tail(self, n=8):
        return ' | '.join(self.log().strip().splitlines()[-n:])

    def started(self):
        if self.sock:
            return can_connect(self.sock)
        return 'started, version' in self.log()

    def wait_started(self, timeout=START_TIMEOUT, exited_ok=False,
                     interval=0.02):
        """True once it is ready; Fail when it exits first (with
        exited_ok: False) or at the deadline."""
        def ready():
            if self.started():
                return 'started'
            if self.proc.poll() is not None:
                if exited_ok:
                    return 'exited'
                raise Fail('spfpd exited with %s at start: %s' %
                           (self.proc.returncode, self.tail()))
            return None
        try:
            return wait_until(ready, timeout, 'spfpd to start',
                              interval) == 'started'
        except Fail as e:
            raise Fail('%s; log: %s' % (e, self.tail()))

    def wait_log(self, pattern, timeout=START_TIMEOUT, what=None):
        """The first match of pattern in the log, once there is one."""
        rx = re.compile(pattern)
        try:
            return wait_until(lambda: rx.search(self.log()), timeout,
                              what or repr(pattern))
        except Fail as e:
            raise Fail('%s; log: %s' % (e, self.tail()))

    def wait_exit(self, timeout=START_TIMEOUT):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise Fail('spfpd did not exit within %.1fs' % timeout)

    def alive(self):
        return self.proc.poll() is None

    def signal(self, sig):
        self.proc.send_signal(sig)

    def rss(self):
        return rss_kb(self.pid)

    def connect(self, **kw):
        return Client(self.sock, **kw)

    def terminate(self, sig=SIGTERM):
        """sig, unless it exited already (at the end of its test)."""
        if self.proc.poll() is None:
            self.terminated = True
            self.proc.send_signal(sig)

    def reap(self, timeout=STOP_TIMEOUT):
        """Await its exit (killed at the deadline: a problem); close its
        files.  The problems, as a list."""
        problems = []
        if self.proc.poll() is None:
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                self.timed_out = True
                problems.append('spfpd did not exit within %.0fs%s' % (
                    timeout, ' of SIGTERM' if self.terminated else ''))
        self.close()
        return problems

    def problems(self, expect_zero=True):
        """What is wrong with how it ended: a sanitizer report in its log;
        killed by a signal; an exit status not 0 (with expect_zero)."""
        out = []
        rc = self.proc.returncode
        if rc is not None and not self.timed_out:
            if rc < 0:
                out.append('spfpd killed by signal %d' % -rc)
            elif rc != 0 and expect_zero:
                out.append('spfpd exited %d' % rc)
        m = sanitizer_mark(self.log())
        if m:
            out.append('sanitizer report (%s) in the spfpd log' % m)
        return out

    def stop(self, sig=SIGTERM, timeout=STOP_TIMEOUT):
        """sig (unless it exited already), its exit awaited, its log
        appended to logf; Fail unless it exited 0 with no sanitizer
        report."""
        self.terminate(sig)
        problems = self.reap(timeout) + self.problems()
        if self.logf is not None:
            self.logf.write(self.log())
        check(not problems, '; '.join(problems))

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.close()

    def close(self):
        for f in (self.proc.stdin, self.proc.stdout, self.logfile):
            if f is not None and not f.closed:
                f.close()


# ----------------------------------------------------------- the client

def request(client, sender, instance, /, helo='client.example.com',
            rcpt='u@dest.test', **extra):
    """One smtpd_access_policy request, as smtpd sends it (text).  An
    extra attribute (sender= too) replaces the one of its name, at the
    end; a value None leaves an attribute out."""
    attrs = [('request', 'smtpd_access_policy'),
             ('protocol_state', 'RCPT'), ('protocol_name', 'ESMTP'),
             ('client_address', client), ('client_name', 'unknown'),
             ('helo_name', helo), ('sender', sender),
             ('recipient', rcpt), ('instance', instance)]
    attrs = [(k, v) for k, v in attrs if k not in extra] + \
        list(extra.items())
    return ''.join('%s=%s\n' % a for a in attrs if a[1] is not None) + '\n'


def spf_result(action):
    """The result of a Received-SPF header in an action, or None."""
    m = re.match(r'PREPEND Received-SPF: (\w+) ', action)
    return m.group(1) if m else None


class Client:
    """A policy client: one socket (UNIX, or TCP with family), a read
    buffer, a deadline on every wait.  ask()/send_request() fill the
    attributes of request() not given from defaults; an instance not
    given is PREFIX and a number."""
    n = 0

    def __init__(self, addr, family=socket.AF_UNIX, timeout=15.0,
                 prefix='i', **defaults):
        self.timeout = timeout
        self.prefix = prefix
        self.defaults = defaults
        self.buf = b''
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        try:
            self.sock.connect(addr)
        except OSError as e:
            self.sock.close()
            raise Fail('connect to %s: %s' % (addr, e))

    def send(self, data, tolerate_close=False):
        if isinstance(data, str):
            data = data.encode()
        try:
            self.sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            if not tolerate_close:
                raise Fail('the daemon closed the connection while we '
                           'were sending')
        except socket.timeout:
            raise Fail('send blocked for %.0fs: the daemon stopped '
                       'reading without closing' % self.timeout)

    def send_request(self, client, sender, /, instance=None, **attrs):
        if instance is None:
            Client.n += 1
            instance = '%s%d' % (self.prefix, Client.n)
        self.send(request(client, sender, instance,
                          **dict(self.defaults, **attrs)))

    def _recv(self, deadline):
        """The next data before deadline (b'' at EOF), None after it."""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                return self.sock.recv(65536)
            except socket.timeout:
                continue
            finally:
                self.sock.settimeout(self.timeout)

    def read_reply(self, timeout=None):
        """The next reply, its empty line included (bytes)."""
        timeout = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        while b'\n\n' not in self.buf:
            try:
                d = self._recv(deadline)
            except ConnectionResetError:
                raise Fail('connection reset before the reply')
            check(d is not None, 'no reply within %.1fs (have %r)' %
                  (timeout, self.buf[:80]))
            check(d, 'connection closed without a reply (have %r)' %
                  self.buf[:80])
            self.buf += d
        i = self.buf.index(b'\n\n') + 2
        reply, self.buf = self.buf[:i], self.buf[i:]
        return reply

    def reply(self, timeout=None):
        """The action of the next reply (text after "action=")."""
        r = self.read_reply(timeout)[:-2].decode('utf-8', 'replace')
        check(r.startswith('action='), 'bad reply %r' % r)
        return r[len('action='):]

    def ask(self, *a, **kw):
        """send_request(...), then the action of the reply."""
        self.send_request(*a, **kw)
        return self.reply()

    def expect_eof(self, timeout=None):
        """Wait for the daemon to close; return what it sent before."""
        timeout = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        data, self.buf = self.buf, b''
        while True:
            try:
                d = self._recv(deadline)
            except ConnectionResetError:
                # the daemon closed with our input unread: as good as EOF
                return data
            check(d is not None, 'connection not closed within %.1fs' %
                  timeout)
            if not d:
                return data
            data += d

    def expect_silence(self, seconds):
        """Nothing may arrive, and the connection must stay up."""
        self.sock.settimeout(seconds)
        try:
            d = self.sock.recv(65536)
        except socket.timeout:
            return
        finally:
            self.sock.settimeout(self.timeout)
        if d:
            raise Fail('got %r where no reply was expected' % d[:80])
        raise Fail('connection closed where it should stay open')

    def close(self):
        self.sock.close()


# ----------------------------------------------------------- DNS servers

def free_port(host='127.0.0.1', family=socket.AF_INET):
    """A port free for UDP and TCP on host right now."""
    for _ in range(50):
        s = socket.socket(family, socket.SOCK_DGRAM)
        s.bind((host, 0))
        port = s.getsockname()[1]
        t = socket.socket(family, socket.SOCK_STREAM)
        try:
            t.bind((host, port))
        except OSError:
            continue
        finally:
            s.close()
            t.close()
        return port
    raise RuntimeError('no free port')


def dead_port():
    """A UDP socket bound by us and never read, and its port: queries to
    it time out.  Keep the socket open as long as the port is used."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(('127.0.0.1', 0))
    return s, s.getsockname()[1]


def stop_process(proc, timeout=5):
    """SIGTERM, then SIGKILL at the deadline."""
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# master.cf's services of a private Postfix that delivers locally
# (tests/postfixtest.py, tests/interoptest.py), after the smtpd lines
POSTFIX_SERVICES = """\
cleanup   unix  n - n - 0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
verify    unix  - - n - 1 verify
proxymap  unix  - - n - - proxymap
showq     unix  n - n - - showq
error     unix  - - n - - error
retry     unix  - - n - - error
discard   unix  - - n - - discard
virtual   unix  - n n - - virtual
anvil     unix  - - n - 1 anvil
scache    unix  - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
"""


# main.cf of a private Postfix on 127.0.0.1 that delivers to
# {dir}/mail/inbox as uid:gid: {domains} replace()d with the mail
# domains, then format() with dir, uid and gid (and the caller's own)
POSTFIX_MAIN_CF = """\
compatibility_level = 3.6
queue_directory = {dir}/queue
data_directory = {dir}/data
mail_owner = postfix
myhostname = mx.test
mydomain = test
myorigin = mx.test
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 192.0.2.254/32
smtpd_authorized_xclient_hosts = 127.0.0.1
virtual_mailbox_domains = {domains}
virtual_mailbox_base = {dir}/mail
virtual_mailbox_maps = static:inbox/
virtual_uid_maps = static:{uid}
virtual_gid_maps = static:{gid}
alias_maps =
alias_database =
biff = no
smtputf8_enable = no
"""


def wait_port(port, what='a listener', timeout=20):
    """Wait until something accepts TCP connections on 127.0.0.1:port."""
    def listens():
        try:
            socket.create_connection(('127.0.0.1', port), 1).close()
            return True
        except OSError:
            return False
    wait_until(listens, timeout, '%s on port %d' % (what, port), 0.1)


def pid_gone(pid, timeout):
    """Has process pid exited (within timeout seconds)?"""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            os.kill(pid, 0)
        except OSError:
            return True
        time.sleep(0.1)
    return False


class Postfix:
    """A private instance of Debian's postfix in dir: its own config
    directory (etc), queue, data directory and mail folder (for
    virtual(8), owned by nobody: self.nobody), the maillog in
    dir/maillog (POSTFIX_MAIN_CF).  The caller writes main.cf and
    master.cf (write), then start(ports) and, always, stop()."""

    def __init__(self, dir):
        self.dir = dir
        self.etc = os.path.join(dir, 'etc')
        self.started = False
        os.makedirs(self.etc)
        for d in ('queue', 'data', 'mail'):
            os.makedirs(os.path.join(dir, d))
        self.nobody = pwd.getpwnam('nobody')
        pf = pwd.getpwnam('postfix')
        os.chown(os.path.join(dir, 'data'), pf.pw_uid, pf.pw_gid)
        os.chown(os.path.join(dir, 'mail'), self.nobody.pw_uid,
                 self.nobody.pw_gid)

    def write(self, main_cf, master_cf):
        for name, text in (('main.cf', main_cf), ('master.cf', master_cf)):
            with open(os.path.join(self.etc, name), 'w') as f:
                f.write(text)

    def start(self, ports):
        """postfix start, then wait for smtpd on each of ports."""
        self.started = True             # stop() even after a half start
        r = subprocess.run(['postfix', '-c', self.etc, 'start'],
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise Fail('postfix start failed: %s %s\n%s' % (
                r.stdout, r.stderr, self.maillog()[-2000:]))
        for port in ports:
            wait_port(port, 'smtpd')

    def maillog(self):
        try:
            with open(os.path.join(self.dir, 'maillog')) as f:
                return f.read()
        except OSError:
            return ''

    def stop(self):
        """postfix stop, and its master gone (killed after 20 s): the
        problems, as a list."""
        if not self.started:
            return []
        self.started = False
        subprocess.run(['postfix', '-c', self.etc, 'stop'],
                       capture_output=True, timeout=60)
        # master waits for its children: wait for it to be gone
        try:
            with open(os.path.join(self.dir, 'queue', 'pid',
                                   'master.pid')) as f:
                pid = int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            return []
        if pid_gone(pid, 20):
            return []
        try:
            os.kill(pid, 9)
        except OSError:
            pass
        return ['postfix master %d did not stop' % pid]


class Knot:
    """Debian's knotd as an authoritative server on loopback:

        k = Knot(tmpdir, {'example.com': ['@ TXT "v=spf1 -all"',
                                          'mx A 192.0.2.1']})
        k.start()        # picks a free port: k.port (or port=53)
        ...
        k.stop()

    Each zone gets an SOA (negative TTL 60) and an NS; records are
    zone-file lines relative to the zone's origin.  knotd answers REFUSED
    for zones it does not have; a timeout is made with a port that nobody
    answers (dead_port())."""

    def __init__(self, tmpdir, zones, ttl=300, port=None):
        self.dir = os.path.join(tmpdir, 'knot')
        os.makedirs(self.dir, exist_ok=True)
        self.zones = zones
        self.ttl = ttl
        self.proc = None
        self.fixed_port = port          # None: a free one at start()
        self.port = None

    def write(self):
        lines = [
            'server:',
            '    rundir: "%s"' % self.dir,
            '    listen: 127.0.0.1@%d' % self.port,
            '    udp-workers: 1',
            '    tcp-workers: 1',
            '    background-workers: 1',
            'database:',
            '    storage: "%s"' % self.dir,
            'template:',
            '  - id: default',
            '    storage: "%s"' % self.dir,
            '    file: "%s.zone"',
            '    semantic-checks: off',
            'log:',
            '  - target: stderr',
            '    any: error',
            'zone:',
        ]
        for origin, records in self.zones.items():
            lines.append('  - domain: %s' % origin)
            with open(os.path.join(self.dir, origin + '.zone'), 'w') as f:
                f.write('$ORIGIN %s.\n$TTL %d\n' % (origin, self.ttl))
                f.write('@ SOA ns.%s. hostmaster.%s. 1 3600 600 86400 60\n'
                        % (origin, origin))
                f.write('@ NS ns.%s.\n' % origin)
                for r in records:
                    f.write(r + '\n')
        with open(os.path.join(self.dir, 'knot.conf'), 'w') as f:
            f.write('\n'.join(lines) + '\n')

    def start(self):
        self.port = self.fixed_port or free_port()
        self.write()
        self.log = open(os.path.join(self.dir, 'knot.log'), 'w')
        self.proc = subprocess.Popen(
            ['knotd', '-c', os.path.join(self.dir, 'knot.conf')],
            stdout=self.log, stderr=subprocess.STDOUT)
        # ready when it answers the first zone's SOA
        origin = next(iter(self.zones))
        deadline = time.time() + 10
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError('knotd exited: see %s' % self.log.name)
            r = subprocess.run(['kdig', '-p', str(self.port), '@127.0.0.1',
                                origin, 'SOA', '+short', '+timeout=1',
                                '+retry=0'], capture_output=True, text=True)
            if r.stdout.strip():
                return
            time.sleep(0.1)
        raise RuntimeError('knotd did not answer on 127.0.0.1:%d' %
                           self.port)

    def stop(self):
        stop_process(self.proc)
        self.proc = None


class DNSServer:
    """A DNS server of tests/ (dnsserver.py, hostiledns.py) that prints
    "port N" once it listens on 127.0.0.1; servers is the dns_servers
    value for spfpd."""

    def __init__(self, script, args=()):
        self.proc = subprocess.Popen(
            [PYTHON, os.path.join(HERE, script)] + list(args),
            stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith('port '):
            self.stop()
            raise Fail('%s did not start' % script)
        self.port = int(line.split()[1])
        self.servers = '127.0.0.1:%d' % self.port

    def stop(self):
        stop_process(self.proc)
        self.proc.stdout.close()


class TestDNS(DNSServer):
    """tests/dnsserver.py serving zone (its JSON zone data) from a
    directory of its own in tmp, logging the queries to logpath; extra
    are more of its options (--delay-name, --ttl, ...)."""

    def __init__(self, tmp, zone, extra=()):
        self.dir = tempfile.mkdtemp(prefix='dns-', dir=tmp)
        zf = os.path.join(self.dir, 'zone.json')
        with open(zf, 'w') as f:
            json.dump(zone, f)
        self.logpath = os.path.join(self.dir, 'queries.log')
        DNSServer.__init__(self, 'dnsserver.py', ['--zone', zf, '--log',
                                                  self.logpath] + list(extra))

    def queries(self):
        """[(proto, name, type)] of the questions so far"""
        with open(self.logpath) as f:
            return [tuple(line.split()[:3]) for line in f]

    def count(self, name, rtype='TXT'):
        """questions about name/rtype, over UDP and TCP"""
        return sum(1 for q in self.queries() if q[1:3] == (name, rtype))


# ----------------------------------------------------------- the process

def rss_kb(pid):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    raise Fail('no VmRSS for pid %d' % pid)


def asan_build(path):
    """Is the binary at path built with AddressSanitizer (its RSS says
    little then)?"""
    with open(path, 'rb') as f:
        return b'__asan_init' in f.read()
