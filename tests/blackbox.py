#!/usr/bin/python3
"""blackbox.py - black-box tests of the spfpd daemon.

    /usr/bin/python3 tests/blackbox.py --spfpd build/spfpd --log FILE

Runs the real binary on private sockets (UNIX sockets in a temporary
directory, TCP on loopback ports picked here) and talks the Postfix policy
protocol to it, the way smtpd does.  Standard library only.

Output, one line per test: "ok NAME" (or "ok NAME # skip: why") or
"FAIL NAME: reason"; lines starting with "#" are comments (measurements);
the last line is "blackbox: N passed, M failed" (tests/summary.sh reads
it).  Exit status 1 when a test failed.

Every daemon runs with -d and debug = yes; its stderr is appended to the
--log file under a header naming the test, so that a failure can be read
there.  A test also fails when that stderr holds a sanitizer report, or
when the daemon does not exit with status 0 on SIGTERM at the end.

Rules for a new test: everything it creates lives in ctx.dir (removed
afterwards), every process and socket goes through ctx (so it is killed
and closed whatever happens), and every wait is a poll with a deadline.
"""
import argparse
import array
import fcntl
import os
import random
import re
import resource
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import termios
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import (Fail, Skip, asan_build, check,  # noqa: E402
                     free_port, sanitizer_mark, wait_until)

TIMEOUT = 5.0                   # seconds: any single wait; a hang = FAIL

ARGS = None
ASAN = False                    # the binary is built with ASan (-> RSS bound)


def request(instance, client="192.0.2.1", **extra):
    """One smtpd_access_policy request, as smtpd sends it (bytes)."""
    return harness.request(client, "a@example.com", instance,
                           helo="mail.example.com", rcpt="b@example.net",
                           **extra).encode()


DUNNO = b"action=DUNNO\n\n"


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # utime and stime are fields 14 and 15 of stat(5); [0] here is field 3
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_bound_kb():
    return (512 if ASAN else 64) * 1024


def have_ipv6_loopback():
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    except OSError:
        return False
    try:
        s.bind(("::1", 0))
        return True
    except OSError:
        return False
    finally:
        s.close()


def decisions(log, conn=None):
    """The decision lines of a log: [(conn, instance, client, result)]."""
    out = []
    for m in re.finditer(r"spfpd\[\d+\]: conn=(\d+) instance=(\S*) "
                         r"client=(\S*) .* result=(\S+) action=(\S+) "
                         r"elapsed=", log):
        c = int(m.group(1))
        if conn is None or c == conn:
            out.append((c, m.group(2), m.group(3), m.group(4)))
    return out


class Client(harness.Client):
    """A policy client of a test (closed at its cleanup).  These tests are
    about the server, not SPF: every answer is DUNNO."""

    def __init__(self, ctx, addr, family=socket.AF_UNIX):
        harness.Client.__init__(self, addr, family, TIMEOUT)
        ctx.sockets.append(self.sock)

    def expect_dunno(self, timeout=TIMEOUT):
        r = self.read_reply(timeout)
        check(r == DUNNO, "reply %r, expected %r" % (r, DUNNO))

    def dunno(self, req, **kw):
        """A request answered DUNNO: req itself (bytes), or
        request(req, **kw)."""
        self.send(req if isinstance(req, bytes) else request(req, **kw))
        self.expect_dunno()

    def unread(self):
        """Bytes we sent that the daemon has not read yet (AF_UNIX)."""
        buf = array.array("i", [0])
        fcntl.ioctl(self.sock.fileno(), termios.TIOCOUTQ, buf)
        return buf[0]

    def wait_consumed(self):
        wait_until(lambda: self.unread() == 0, TIMEOUT, "the daemon to "
                   "read what we sent")


class Daemon(harness.Daemon):
    """One spfpd process of a test, logging to stderr (-d) into a file of
    ctx.dir, or with syslog (a SyslogSink) there, without -d."""

    def __init__(self, ctx, conf=None, args=(), rlimit_nofile=None,
                 stdio=False, wait=True, syslog=None):
        self.n = len(ctx.daemons) + 1
        self.syslog = syslog

        def preexec():
            if rlimit_nofile is not None:
                # soft and hard: spfpd raises its soft limit itself
                resource.setrlimit(resource.RLIMIT_NOFILE,
                                   (rlimit_nofile, rlimit_nofile))

        harness.Daemon.__init__(
            self, ARGS.spfpd, conf,
            os.path.join(ctx.dir, "daemon%d.log" % self.n), args=args,
            track=ctx.daemons, stdio=stdio, debug=syslog is None,
            wait=wait, preexec_fn=preexec, start_new_session=True,
            close_fds=True)

    def started(self):
        if self.syslog is None:
            return harness.Daemon.started(self)
        self.syslog.read()
        return "started, version" in self.syslog.text()


class SyslogSink:
    """A syslogd's /dev/log: a datagram socket in ctx.dir.  Reads only
    when asked (read(), wait()), so a test can also leave it full."""

    def __init__(self, ctx, name="log.sock"):
        self.path = os.path.join(ctx.dir, name)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        ctx.sockets.append(self.sock)
        self.sock.bind(self.path)
        self.sock.setblocking(False)
        self.lines = []
        ctx.sinks.append(self)

    def read(self):
        while True:
            try:
                self.lines.append(self.sock.recv(65536).decode(
                    "utf-8", "replace"))
            except BlockingIOError:
                return

    def text(self):
        return "\n".join(self.lines)

    def wait(self, pattern, timeout=TIMEOUT):
        """Read as lines arrive (the kernel may queue as few as 10)
        until one matches."""
        rx = re.compile(pattern, re.M)
        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            self.read()
            for i in range(seen, len(self.lines)):
                m = rx.search(self.lines[i])
                if m:
                    return m
            seen = len(self.lines)
            left = deadline - time.monotonic()
            if left <= 0:
                raise Fail("timed out after %.1fs waiting for syslog "
                              "line %r; syslog: %s" % (
                                  timeout, pattern,
                                  " | ".join(self.lines[-5:])))
            select.select([self.sock], [], [], min(left, 0.05))

    def close(self):
        self.sock.close()
        os.unlink(self.path)


class Ctx:
    """What one test owns: a directory, daemons, sockets."""

    def __init__(self, name):
        self.name = name
        self.dir = tempfile.mkdtemp(prefix="bb-")
        self.sock = os.path.join(self.dir, "s.sock")
        self.daemons = []
        self.sockets = []
        self.extra_logs = []            # (title, text) of short-lived runs
        self.sinks = []                 # SyslogSinks, logged at cleanup
        self.comments = []

    def conf(self, name="spfpd.conf", **opts):
        """Write a config: listen on ctx.sock, no privilege drop, debug.
        opts override (None drops a key); returns the path.  These tests
        are about the server, not SPF: no identity nor reverse DNS is
        checked, and the
        resolver points at a closed loopback port all the same."""
        base = {"listen": "unix:" + self.sock, "user": "", "debug": "yes",
                "shutdown_timeout": "2s", "helo_reject": "no_check",
                "mail_from_reject": "no_check", "ptr_check": "no",
                "dns_servers": "127.0.0.1:1"}
        base.update(opts)
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            for k, v in base.items():
                if v is not None:
                    f.write("%s = %s\n" % (k, v))
        return path

    def daemon(self, **opts):
        return Daemon(self, self.conf(**opts))

    def client(self, addr=None, family=socket.AF_UNIX):
        return Client(self, addr or self.sock, family)

    def run(self, args, timeout=TIMEOUT):
        """A short run of spfpd (e.g. -n); output kept for the log."""
        try:
            p = subprocess.run([ARGS.spfpd] + args, stdin=subprocess.DEVNULL,
                               capture_output=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise Fail("spfpd %s did not exit within %.0fs" %
                          (" ".join(args), timeout))
        out = p.stdout.decode("utf-8", "replace")
        err = p.stderr.decode("utf-8", "replace")
        self.extra_logs.append(("spfpd %s (exit %d)" % (" ".join(args),
                                                        p.returncode),
                                "stdout:\n%sstderr:\n%s" % (out, err)))
        return p.returncode, out, err

    def cleanup(self, logf):
        """Close, stop, kill, log, remove.  Returns a list of problems."""
        problems = []
        for s in self.sockets:
            try:
                s.close()
            except OSError:
                pass
        # a daemon that exited by itself: its test checked the status
        for d in self.daemons:
            d.terminate()
        for d in self.daemons:
            problems += ["daemon %d: %s" % (d.n, p) for p in
                         d.reap(TIMEOUT) + d.problems(d.terminated)]
            self.log(logf, "daemon %d: %s (pid %d, exit %s)" % (
                d.n, " ".join(d.cmd), d.pid, d.proc.returncode), d.log())
        texts = list(self.extra_logs)
        for i, k in enumerate(self.sinks):
            k.read() if k.sock.fileno() >= 0 else None
            texts.append(("syslog %d: %s" % (i + 1, k.path),
                          "\n".join(k.lines)))
        for title, text in texts:
            self.log(logf, title, text)
            mark = sanitizer_mark(text)
            if mark:
                problems.append("sanitizer report (%s) in %s" %
                                (mark, title.split(":")[0]))
        logf.flush()
        shutil.rmtree(self.dir, ignore_errors=True)
        return problems

    def log(self, logf, title, text):
        logf.write("==== %s: %s\n" % (self.name, title))
        logf.write(text)
        if text and not text.endswith("\n"):
            logf.write("\n")


# ---------------------------------------------------------------- tests

TESTS = []


def test(name):
    def reg(fn):
        TESTS.append((name, fn))
        return fn
    return reg


@test("two-requests-one-connection")
def t_two_requests(ctx):
    d = ctx.daemon()
    c = ctx.client()
    c.dunno("two.1")
    c.dunno("two.2")
    d.wait_log(r"instance=two\.2 ")
    dec = decisions(d.log())
    check([x[1] for x in dec] == ["two.1", "two.2"] and
          dec[0][0] == dec[1][0], "decision lines: %r" % dec)
    check(dec[0][3] == "unchecked", "result %r, expected unchecked" %
          dec[0][3])


@test("pipelined-requests")
def t_pipelined(ctx):
    d = ctx.daemon()
    c = ctx.client()
    c.send(request("pipe.1") + request("pipe.2") + request("pipe.3"))
    for _ in range(3):
        c.expect_dunno()
    c.expect_silence(0.2)
    d.wait_log(r"instance=pipe\.3 ")
    dec = decisions(d.log())
    check([x[1] for x in dec] == ["pipe.1", "pipe.2", "pipe.3"],
          "requests not answered in order: %r" % dec)


@test("byte-at-a-time")
def t_dribble(ctx):
    d = ctx.daemon()
    c = ctx.client()
    for b in request("drip.1"):
        c.send(bytes([b]))
    c.expect_dunno()
    c.dunno("drip.2")
    del d


def crlf(req):
    return req.replace(b"\n", b"\r\n")


@test("crlf-line-ends")
def t_crlf(ctx):
    d = ctx.daemon()
    ctx.client().dunno(crlf(request("crlf.1")))
    d.wait_log(r"instance=crlf\.1 client=192\.0\.2\.1 ")


@test("half-close-after-request")
def t_half_close(ctx):
    # printf ... | nc -q1: the request, then EOF on our side; the reply
    # is still owed, then the daemon closes
    d = ctx.daemon()
    c = ctx.client()
    c.send(request("half.1"))
    c.sock.shutdown(socket.SHUT_WR)
    data = c.expect_eof()
    check(data == DUNNO, "got %r, expected one reply then EOF" % data)
    d.wait_log(r"conn=1 disconnect from unix: EOF \(1 requests\)")


@test("line-at-max-length")
def t_line_at_limit(ctx):
    d = ctx.daemon(max_line_length=256)
    c = ctx.client()
    value = "y" * (256 - len("sender="))       # a line of exactly 256 bytes
    c.dunno("lim.1", sender=value)
    # a CR before the newline is not counted
    c.dunno(crlf(request("lim.2", sender=value)))
    # client text is cut at 100 bytes in the log, "..." marks the cut
    d.wait_log(r"instance=lim\.2 .* sender=<y{100}\.\.\.>")


@test("log-escaping")
def t_log_escaping(ctx):
    d = ctx.daemon()
    c = ctx.client()
    c.dunno("esc.1", helo_name="a\x01b\\c\x7fd\xe9")
    d.wait_log(r"helo=<a\\x01b\\x5cc\\x7fd\\xc3\\xa9>")


@test("stdio-two-requests")
def t_stdio(ctx):
    conf = ctx.conf(listen=None)
    d = Daemon(ctx, conf, stdio=True)
    d.proc.stdin.write(request("io.1") + request("io.2"))
    d.proc.stdin.flush()
    fd = d.proc.stdout.fileno()
    buf = b""
    deadline = time.monotonic() + TIMEOUT
    while buf.count(b"\n\n") < 2:
        left = deadline - time.monotonic()
        check(left > 0, "no 2 replies on stdout within %.0fs (have %r)" %
              (TIMEOUT, buf))
        r, _, _ = select.select([fd], [], [], left)
        if r:
            chunk = os.read(fd, 65536)
            check(chunk, "stdout closed early (have %r)" % buf)
            buf += chunk
    check(buf == DUNNO * 2, "stdout %r" % buf)
    d.proc.stdin.close()
    rc = d.wait_exit()
    check(rc == 0, "exit status %d after stdin closed" % rc)
    check(len(decisions(d.log())) == 2, "decision lines: %r" %
          decisions(d.log()))


@test("stdio-idle-timeout")
def t_stdio_idle(ctx):
    conf = ctx.conf(listen=None, idle_timeout="1s")
    t0 = time.monotonic()
    d = Daemon(ctx, conf, stdio=True)
    rc = d.wait_exit()                  # stdin stays open
    el = time.monotonic() - t0
    check(rc == 0, "exit status %d after the idle timeout" % rc)
    check(el >= 0.9, "exited after %.2fs, before idle_timeout (1s)" % el)
    check("idle timeout" in d.log(), "no idle timeout in the log: %s" %
          d.tail())


def stdio_batch(ctx, conf, stdin, stdout, args=("-d",)):
    """spfpd --stdio with files for stdin and stdout: must exit by itself.
    Returns (exit status, stderr text)."""
    err = os.path.join(ctx.dir, "batch.err")
    with open(err, "wb") as e:
        try:
            p = subprocess.run([ARGS.spfpd, "--stdio", "-c", conf] +
                               list(args), stdin=stdin, stdout=stdout,
                               stderr=e, timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            raise Fail("spfpd --stdio with stdin %s did not exit "
                          "within %.0fs" % (getattr(stdin, "name", stdin),
                                            TIMEOUT))
    with open(err, "rb") as f:
        text = f.read().decode("utf-8", "replace")
    ctx.extra_logs.append(("spfpd --stdio batch (exit %d)" % p.returncode,
                           text))
    return p.returncode, text


@test("stdio-batch-files")
def t_stdio_batch(ctx):
    # "spfpd --stdio < requests > replies": epoll cannot watch a regular
    # file (it used to hang for ever); every request is answered, then
    # the daemon exits 0
    conf = ctx.conf(listen=None)
    reqs = os.path.join(ctx.dir, "requests")
    with open(reqs, "wb") as f:
        f.write(b"".join(request("batch.%d" % i) for i in range(300)))
    out = os.path.join(ctx.dir, "replies")
    with open(reqs, "rb") as i, open(out, "wb") as o:
        rc, err = stdio_batch(ctx, conf, i, o)
    with open(out, "rb") as f:
        got = f.read()
    check(rc == 0, "exit status %d: %s" % (rc, err[-300:]))
    check(got == DUNNO * 300, "%d replies of 300 in the file" %
          got.count(b"\n\n"))
    check("libevent" not in err, "a library spoke: %s" % err[-300:])
    # a pipe for stdout, /dev/null for stdin and for stdout
    with open(reqs, "rb") as i:
        p = subprocess.run([ARGS.spfpd, "--stdio", "-c", conf], stdin=i,
                           capture_output=True, timeout=TIMEOUT)
    check(p.returncode == 0 and p.stdout == DUNNO * 300,
          "stdout a pipe: exit %d, %d replies" % (p.returncode,
                                                  p.stdout.count(b"\n\n")))
    with open(os.devnull, "rb") as i, open(os.devnull, "wb") as o:
        rc, err = stdio_batch(ctx, conf, i, o)
    check(rc == 0, "stdin /dev/null: exit status %d" % rc)
    with open(reqs, "rb") as i, open(os.devnull, "wb") as o:
        rc, err = stdio_batch(ctx, conf, i, o)
    check(rc == 0, "stdout /dev/null: exit status %d" % rc)
    # a file that ends inside a request: the complete ones are answered,
    # then exit 1 with the reason
    with open(reqs, "wb") as f:
        f.write(request("cut.1") + request("cut.2")[:40])
    with open(reqs, "rb") as i, open(out, "wb") as o:
        rc, err = stdio_batch(ctx, conf, i, o)
    with open(out, "rb") as f:
        got = f.read()
    check(rc == 1 and got == DUNNO and
          "EOF in the middle of a request" in err,
          "cut file: exit %d, replies %r, log %s" % (rc, got, err[-200:]))
    # what cannot work is said, with exit 1: a directory as stdin
    dfd = os.open(ctx.dir, os.O_RDONLY)
    try:
        with open(out, "wb") as o:
            rc, err = stdio_batch(ctx, conf, dfd, o)
    finally:
        os.close(dfd)
    check(rc == 1 and "Is a directory" in err,
          "directory as stdin: exit %d, log %s" % (rc, err[-200:]))


@test("stdio-stderr-not-the-socket")
def t_stdio_stderr(ctx):
    # spawn(8) gives the command the client's socket as stdin, stdout
    # and stderr: whatever a library prints to stderr would be read by
    # Postfix as a reply.  Without -d, fd 2 is /dev/null.
    sink = SyslogSink(ctx)
    conf = ctx.conf(listen=None, syslog_socket=sink.path)
    for args, want in (((), "/dev/null"), (("-d",), None)):
        ours, theirs = socket.socketpair()
        ctx.sockets += [ours, theirs]
        p = subprocess.Popen([ARGS.spfpd, "--stdio", "-c", conf] +
                             list(args), stdin=theirs, stdout=theirs,
                             stderr=theirs, start_new_session=True)
        theirs.close()
        try:
            ours.settimeout(TIMEOUT)
            ours.sendall(request("spawn.1"))
            buf = b""
            while b"\n\n" not in buf:
                d = ours.recv(65536)
                check(d, "EOF before the reply")
                buf += d
            fd2 = os.readlink("/proc/%d/fd/2" % p.pid)
            if want:
                check(fd2 == want, "without -d, stderr is %s" % fd2)
                check(buf == DUNNO, "reply stream %r" % buf)
            else:
                check(fd2.startswith("socket:"), "with -d, stderr is %s" %
                      fd2)
            ours.shutdown(socket.SHUT_WR)
            check(p.wait(TIMEOUT) == 0, "exit status %s" % p.returncode)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
            ours.close()


@test("thousand-connections")
def t_thousand(ctx):
    n = 1000
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 4096
    if soft < want:
        if hard != resource.RLIM_INFINITY and hard < want:
            raise Skip("RLIMIT_NOFILE hard limit %d < %d" % (hard, want))
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    d = ctx.daemon(max_connections=2000)
    idle = d.rss()
    clients = [ctx.client() for _ in range(n)]
    for i, c in enumerate(clients):
        c.send(request("k.%d" % i))
    for c in clients:
        c.expect_dunno()
    busy = d.rss()
    d.wait_log(r"instance=k\.%d " % (n - 1))
    check(len(decisions(d.log())) == n, "%d decision lines, expected %d" %
          (len(decisions(d.log())), n))
    check("max_connections" not in d.log(), "max_connections warning: %s"
          % d.tail())
    # every one of them still works
    for i, c in enumerate(clients):
        c.send(request("k2.%d" % i))
    for c in clients:
        c.expect_dunno()
    ctx.comments.append("VmRSS idle %d kB, with %d connections open %d kB "
                        "(%.1f kB per connection)" %
                        (idle, n, busy, (busy - idle) / n))
    check(busy < rss_bound_kb(), "VmRSS %d kB with %d connections" %
          (busy, n))


def malformed_case(name, payload, expect, conf=None, half_close=False,
                   stall=None):
    """A bad client between a good client's requests.

    The bad client gets no reply and is disconnected; `expect` must appear
    in the log (about conn=2, the bad client); the good client, connected
    before, is answered afterwards; RSS stays bounded."""
    def run(ctx):
        d = ctx.daemon(**(conf or {}))
        good = ctx.client()
        good.dunno("good.1")              # conn=1, surely accepted
        bad = ctx.client()
        t0 = time.monotonic()
        if payload:
            bad.send(payload, tolerate_close=True)
        if half_close:
            bad.sock.shutdown(socket.SHUT_WR)
        if stall:
            # keep the good client busy meanwhile: it must not time out
            deadline = time.monotonic() + stall + TIMEOUT
            i = 0
            while True:
                bad.sock.settimeout(0.4)
                try:
                    d0 = bad.sock.recv(65536)
                    check(not d0, "got %r from the daemon" % d0[:80])
                    break
                except socket.timeout:
                    pass
                except ConnectionResetError:
                    break
                check(time.monotonic() < deadline, "bad client not "
                      "disconnected within %.1fs" % (stall + TIMEOUT))
                i += 1
                good.dunno("keep.%d" % i)
            el = time.monotonic() - t0
            check(el >= stall - 0.3, "disconnected after %.2fs, before "
                  "the %.0fs timeout" % (el, stall))
        else:
            data = bad.expect_eof()
            check(b"action=" not in data and data == b"",
                  "the bad client got %r" % data[:80])
        d.wait_log(expect)
        good.dunno("good.2")
        r = d.rss()
        check(r < rss_bound_kb(), "VmRSS %d kB after the bad input" % r)
        check(not decisions(d.log(), conn=2), "a decision for the bad "
              "client: %r" % decisions(d.log(), conn=2))
    test("malformed-" + name)(run)


def _w(reason):
    return (r"warning: conn=2 unix: malformed request: %s, disconnecting" %
            re.escape(reason))


_long = b"sender=" + b"a" * 5000
malformed_case("long-line-no-newline",
               b"request=smtpd_access_policy\n" + _long, _w("line too long"))
malformed_case("long-line-newline",
               b"request=smtpd_access_policy\n" + _long + b"\n\n",
               _w("line too long"))
malformed_case("line-one-over-limit",
               b"request=smtpd_access_policy\nsender=" + b"z" * 250 + b"\n\n",
               _w("line too long"), conf={"max_line_length": 256})
malformed_case("10000-attributes",
               b"request=smtpd_access_policy\n" +
               b"".join(b"x%d=y\n" % i for i in range(10000)) + b"\n",
               _w("too many attributes"))
malformed_case("request-too-large",
               b"request=smtpd_access_policy\n" +
               b"".join(b"x%d=%s\n" % (i, b"y" * 200) for i in range(200)) +
               b"\n", _w("request too large"),
               conf={"max_attributes": 4096})
malformed_case("nul-byte",
               b"request=smtpd_access_policy\nsender=a\0b@example.com\n\n",
               _w("NUL byte in request"))
malformed_case("line-without-equals",
               b"request=smtpd_access_policy\nhello there\n\n",
               _w("line without '='"))
malformed_case("empty-attribute-name",
               b"request=smtpd_access_policy\n=value\n\n",
               _w("empty attribute name"))
malformed_case("missing-request-attribute",
               b"client_address=192.0.2.1\nsender=a@example.com\n\n",
               _w("missing request attribute"))
malformed_case("request-junk",
               b"request=junk\nclient_address=192.0.2.1\n\n",
               _w("unrecognized request type"))
malformed_case("empty-request", b"\n", _w("empty request"))
# EOF in the middle of a request: not an attack, just a client that went
# away (or a script that half-closed early).  Postfix's contract: no reply;
# spfpd closes and logs it at debug level, no warning.
malformed_case("eof-mid-request",
               b"request=smtpd_access_policy\nclient_address=192.0.2.1\n"
               b"sender=a@exa", r"conn=2 disconnect from unix: EOF in the "
               r"middle of a request \(0 requests\)", half_close=True)
malformed_case("1mib-garbage",
               random.Random(7208).randbytes(1 << 20),
               r"warning: conn=2 unix: malformed request: [^\n]*, "
               r"disconnecting")
# a client that never writes: closed at idle_timeout (logged at debug)
malformed_case("idle-client", b"",
               r"conn=2 disconnect from unix: idle timeout \(0 requests\)",
               conf={"idle_timeout": "2s"}, stall=2.0)
# a request begun and never finished: request_timeout, with a warning
malformed_case("stalled-request",
               b"request=smtpd_access_policy\nclient_addr",
               r"warning: conn=2 unix: timeout with a request or reply "
               r"half way, disconnecting",
               conf={"request_timeout": "1s"}, stall=1.0)


@test("config-check-good")
def t_check_good(ctx):
    path = ctx.conf(whitelist="192.0.2.0/24, 2001:db8::/32",
                    max_connections="10")
    rc, out, err = ctx.run(["-n", "-c", path])
    check(rc == 0, "exit %d: %s" % (rc, err.strip()[:200]))
    check(out == "configuration OK\n", "stdout %r" % out)
    check(err == "", "stderr %r" % err)


@test("config-check-bad")
def t_check_bad(ctx):
    path = os.path.join(ctx.dir, "bad.conf")
    with open(path, "w") as f:
        f.write("listen = unix:%s\nuser =\nno_such_key = 1\n"
                "max_connections = lots\n# fine\nidle_timeout = 2x\n" %
                ctx.sock)
    rc, out, err = ctx.run(["-n", "-c", path])
    check(rc == 1, "exit %d, expected 1" % rc)
    check("configuration OK" not in out, "stdout %r" % out)
    want = ["%s:3: unknown option 'no_such_key'" % path,
            "%s:4: max_connections: expected a number from 1 to 100000, "
            "not 'lots'" % path,
            "%s:6: idle_timeout: expected a time from 1000ms to 86400s "
            "(units ms, s, m, h, d), not '2x'" % path]
    check(err.splitlines() == want, "stderr %r, expected %r" % (err, want))
    # the daemon itself refuses to start on it
    rc, out, err = ctx.run(["-d", "-c", path])
    check(rc == 1, "daemon exit %d on a bad config, expected 1" % rc)
    check("fatal: errors in %s" % path in err, "stderr %r" % err)


@test("config-missing-file")
def t_check_missing(ctx):
    path = os.path.join(ctx.dir, "missing.conf")
    rc, out, err = ctx.run(["-n", "-c", path])
    check(rc != 0, "exit 0 for a missing -c file")
    check("%s: No such file or directory" % path in err, "stderr %r" % err)
    check("configuration OK" not in out, "stdout %r" % out)
    rc, out, err = ctx.run(["-d", "-c", path])
    check(rc != 0, "daemon exit 0 for a missing -c file")
    check(path in err, "stderr %r" % err)


@test("sighup-reload")
def t_sighup(ctx):
    d = ctx.daemon()
    path = os.path.join(ctx.dir, "spfpd.conf")
    c = ctx.client()
    c.dunno("hup.1")
    # a broken file: logged, running config kept, connection unharmed
    with open(path, "a") as f:
        f.write("whitelist = 192.0.2.0/24\nno_such_key = 1\n")
    d.signal(signal.SIGHUP)
    d.wait_log(r"warning: reload: errors in %s: keeping the running "
               r"configuration" % re.escape(path))
    check("unknown option 'no_such_key'" in d.log(), "the error itself "
          "is not logged: %s" % d.tail())
    c.dunno("hup.2")
    # a good file whitelisting the client: the same connection sees it
    ctx.conf(whitelist="192.0.2.0/24")
    d.signal(signal.SIGHUP)
    d.wait_log(r"reloaded configuration from %s" % re.escape(path))
    c.dunno("hup.3")
    d.wait_log(r"instance=hup\.3 ")
    dec = {x[1]: x for x in decisions(d.log())}
    check(dec["hup.1"][3] == "unchecked" and dec["hup.2"][3] == "unchecked",
          "before the reload: %r" % dec)
    check(dec["hup.3"][3] == "skipped(whitelist)", "after the reload: "
          "result=%s, expected skipped(whitelist)" % dec["hup.3"][3])
    check(dec["hup.1"][0] == dec["hup.3"][0], "not the same connection")
    check(d.alive(), "daemon died")


def conf_sections(ctx, sections, **opts):
    """ctx.conf(**opts), then the text sections as it is ("[KEY = VALUE]"
    lines and their options, after the global settings)."""
    path = ctx.conf(**opts)
    with open(path, "a") as f:
        f.write(sections)
    return path


def decision_line(log, instance):
    """The decision line of instance (Fail without one)."""
    m = re.search(r"^.* instance=%s .*$" % re.escape(instance), log, re.M)
    check(m, "no decision line for %s: %s" % (instance, log[-600:]))
    return m.group(0)


@test("sighup-reload-section")
def t_sighup_section(ctx):
    """SIGHUP reloads the [KEY = VALUE] sections like the rest: a section
    changed applies from the next request on the same connection; a
    broken section keeps the running configuration, sections and all."""
    wl = "whitelist = 192.0.2.0/24\n"
    path = conf_sections(ctx, "[recipient = example.net]\n" + wl)
    d = Daemon(ctx, path)
    c = ctx.client()
    c.dunno("hs.1")                     # rcpt b@example.net, 192.0.2.1
    # a broken section: logged, the running config (and section) kept
    conf_sections(ctx, "[recipient = example.net]\n" + wl +
                  "[recipient = a..b]\n")
    d.signal(signal.SIGHUP)
    d.wait_log(r"warning: reload: errors in %s: keeping the running "
               r"configuration" % re.escape(path))
    check(re.search(r"%s:\d+: recipient: bad domain 'a\.\.b'" %
                    re.escape(path), d.log()),
          "the error itself is not logged: %s" % d.tail())
    c.dunno("hs.2")
    # the section now names another domain: the global settings apply
    conf_sections(ctx, "[recipient = example.org]\n" + wl)
    d.signal(signal.SIGHUP)
    d.wait_log(r"reloaded configuration from %s" % re.escape(path))
    c.dunno("hs.3")
    # a section of another key
    conf_sections(ctx, "[server_port = 587]\n" + wl)
    d.signal(signal.SIGHUP)
    wait_until(lambda: d.log().count("reloaded configuration from") >= 2,
               TIMEOUT, "the second reload")
    c.dunno("hs.4", server_port="587")
    c.dunno("hs.5", server_port="25")
    d.wait_log(r"instance=hs\.5 ")
    log = d.log()
    dec = {x[1]: x for x in decisions(log)}
    want = {"hs.1": "skipped(whitelist)", "hs.2": "skipped(whitelist)",
            "hs.3": "unchecked", "hs.4": "skipped(whitelist)",
            "hs.5": "unchecked"}
    got = {k: dec[k][3] if k in dec else None for k in want}
    check(got == want, "results %r, expected %r" % (got, want))
    for inst, section in (("hs.1", "recipient = example.net"),
                          ("hs.2", "recipient = example.net"),
                          ("hs.4", "server_port = 587")):
        line = decision_line(log, inst)
        check(' section="%s" ' % section in line, "%s: %s" % (inst, line))
    for inst in ("hs.3", "hs.5"):
        line = decision_line(log, inst)
        check(" section=" not in line, "%s: %s" % (inst, line))
    check(dec["hs.1"][0] == dec["hs.5"][0], "not the same connection")
    check(d.alive(), "daemon died")


@test("config-check-section-bad")
def t_check_section_bad(ctx):
    """spfpd -n: every error of the sections, as FILE:LINE: ..., exit 1;
    the daemon does not start on such a file."""
    with open(ctx.conf()) as f:
        n = len(f.read().splitlines())  # the global part's lines
    path = conf_sections(ctx,
                         "[recipient = example.com]\n"      # n + 1
                         "mail_from_reject = no\n"
                         "listen = unix:/tmp/x.sock\n"
                         "[foo = bar]\n"
                         "[recipient = example.net]\n"      # n + 5
                         "test_only = yes\n"
                         "test_only = no\n"
                         "[server_port = 99999]\n"
                         "[recipient = example.org\n")
    rc, out, err = ctx.run(["-n", "-c", path])
    check(rc == 1, "exit %d, expected 1" % rc)
    check("configuration OK" not in out, "stdout %r" % out)
    want = ["%s:%d: listen cannot be set in a section" % (path, n + 3),
            "%s:%d: unknown section key 'foo' (recipient, policy_context, "
            "server_address, server_port)" % (path, n + 4),
            "%s:%d: test_only: already set at line %d" % (path, n + 7,
                                                          n + 6),
            "%s:%d: server_port: bad port '99999'" % (path, n + 8),
            "%s:%d: missing ']'" % (path, n + 9)]
    check(err.splitlines() == want, "stderr %r, expected %r" % (err, want))
    rc, out, err = ctx.run(["-d", "-c", path])
    check(rc == 1, "daemon exit %d on a bad config, expected 1" % rc)
    check("fatal: errors in %s" % path in err, "stderr %r" % err)


@test("config-check-section-good")
def t_check_section_good(ctx):
    """spfpd -n on a file with sections: OK; -p prints them after the
    global options, each with what it changes."""
    path = conf_sections(ctx, "[recipient = example.com, Boss@Example.NET]\n"
                         "mail_from_reject = no\n"
                         "\n"
                         "[policy_context = submission]\n"
                         "[server_address = 192.0.2.0/24]\n"
                         "trusted_forwarders = spf:fwd.example "
                         "198.51.100.0/24\n")
    rc, out, err = ctx.run(["-n", "-c", path])
    check(rc == 0, "exit %d: %s" % (rc, err.strip()[:300]))
    check(out == "configuration OK\n", "stdout %r" % out)
    rc, out, err = ctx.run(["-p", "-c", path])
    check(rc == 0, "-p exit %d: %s" % (rc, err.strip()[:300]))
    lines = [ln for ln in out.splitlines() if ln.strip()]
    heads = [i for i, ln in enumerate(lines) if ln.startswith("[")]
    check(len(heads) == 3, "section lines: %r" % [lines[i] for i in heads])
    check(lines[heads[0]].startswith("[recipient = example.com, ") and
          lines[heads[0] + 1] == "mail_from_reject = no" and
          lines[heads[1]] == "[policy_context = submission]" and
          heads[2] == heads[1] + 1 and
          lines[heads[2]] == "[server_address = 192.0.2.0/24]" and
          lines[heads[2] + 1:] == ["trusted_forwarders = 198.51.100.0/24, "
                                   "spf:fwd.example"],
          "-p sections: %r" % lines[heads[0]:])
    check(lines[heads[0] - 1].startswith("whitelist =") and
          "mail_from_reject = no_check" in lines[:heads[0]],
          "the global options before the sections: %r" % lines[:heads[0]])


@test("sigterm-exit")
def t_sigterm(ctx):
    d = ctx.daemon()
    c = ctx.client()
    c.dunno("term.1")
    check(os.path.exists(ctx.sock), "no socket file")
    d.signal(signal.SIGTERM)
    data = c.expect_eof()               # idle connection: closed at once
    check(data == b"", "got %r" % data)
    rc = d.wait_exit()
    check(rc == 0, "exit status %d after SIGTERM" % rc)
    check(not os.path.exists(ctx.sock), "socket file left behind")
    check("stopped" in d.log(), "no 'stopped' in the log")


@test("sigterm-finishes-request")
def t_sigterm_drain(ctx):
    d = ctx.daemon()
    c = ctx.client()
    req = request("drain.1")
    c.send(req[:40])
    c.wait_consumed()                   # the daemon holds half a request
    d.signal(signal.SIGTERM)
    d.wait_log(r"stopping: 1 connections open")
    check(not os.path.exists(ctx.sock), "socket file kept while stopping")
    c.send(req[40:])
    data = c.expect_eof()
    check(data == DUNNO, "got %r, expected the reply and EOF" % data)
    rc = d.wait_exit()
    check(rc == 0, "exit status %d" % rc)


@test("stale-socket-replaced")
def t_stale(ctx):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(ctx.sock)
    s.close()                           # the file stays, nobody listens
    check(os.path.exists(ctx.sock), "could not make a stale socket")
    d = ctx.daemon()
    check("removed stale socket %s" % ctx.sock in d.log(), "no log of the "
          "stale socket: %s" % d.tail())
    ctx.client().dunno("stale.1")


@test("live-socket-refused")
def t_live(ctx):
    a = ctx.daemon()
    conf = os.path.join(ctx.dir, "spfpd.conf")
    b = Daemon(ctx, conf, wait=False)
    rc = b.wait_exit()
    check(rc == 1, "second daemon exited with %d on a socket in use, "
          "expected 1 (fatal)" % rc)
    log = b.log()
    check("another server is listening on this socket" in log and
          "fatal: cannot listen on unix:%s" % ctx.sock in log,
          "second daemon's log: %s" % b.tail())
    check(os.path.exists(ctx.sock), "the live socket file was removed")
    ctx.client().dunno("live.1")
    check(a.alive(), "first daemon died")


@test("not-a-socket-refused")
def t_not_socket(ctx):
    with open(ctx.sock, "w") as f:
        f.write("precious\n")
    d = Daemon(ctx, ctx.conf(), wait=False)
    rc = d.wait_exit()
    check(rc == 1, "daemon exited with %d, expected 1 (fatal)" % rc)
    check("exists and is not a socket" in d.log() and
          "fatal: cannot listen on unix:%s" % ctx.sock in d.log(),
          "log: %s" % d.tail())
    with open(ctx.sock) as f:
        check(f.read() == "precious\n", "the file was changed")


@test("second-listener-fails-cleanly")
def t_second_listener(ctx):
    first = os.path.join(ctx.dir, "a.sock")
    with open(ctx.sock, "w") as f:
        f.write("precious\n")
    d = Daemon(ctx, ctx.conf(listen="unix:%s, unix:%s" % (first, ctx.sock)),
               wait=False)
    rc = d.wait_exit()
    check(rc == 1, "daemon exited with %d, expected 1 (fatal)" % rc)
    check("fatal: cannot listen on unix:%s" % ctx.sock in d.log(),
          "log: %s" % d.tail())
    check(not os.path.exists(first), "the first listener's socket file "
          "was left behind")


def tcp_case(family, host, spec_host):
    def run(ctx):
        if family == socket.AF_INET6 and not have_ipv6_loopback():
            raise Skip("no IPv6 loopback (::1)")
        for attempt in range(3):        # the port may be taken meanwhile
            port = free_port(host, family)
            d = Daemon(ctx, ctx.conf(listen="inet:%s:%d" % (spec_host,
                                                            port)),
                       wait=False)
            try:
                d.wait_started()
                break
            except Fail:
                if "Address already in use" not in d.log() or attempt == 2:
                    raise
        c = ctx.client((host, port), family)
        c.dunno("tcp.1")
        c.dunno("tcp.2")
        peer = ("[%s]" % host) if family == socket.AF_INET6 else host
        d.wait_log(r"conn=1 connect from %s:%d" %
                   (re.escape(peer), c.sock.getsockname()[1]))
        check(len(decisions(d.log())) == 2, "decisions: %r" %
              decisions(d.log()))
    return run


test("tcp-ipv4")(tcp_case(socket.AF_INET, "127.0.0.1", "127.0.0.1"))
test("tcp-ipv6")(tcp_case(socket.AF_INET6, "::1", "[::1]"))


@test("max-connections")
def t_max_connections(ctx):
    d = ctx.daemon(max_connections=5)
    first = []
    for i in range(5):
        c = ctx.client()
        c.dunno("max.%d" % i)             # answered: accepted
        first.append(c)
    sixth = ctx.client()                # waits in the listen queue
    sixth.send(request("max.6"))
    sixth.expect_silence(1.0)
    d.wait_log(r"warning: max_connections \(5\) reached: not accepting "
               r"until a connection closes")
    for c in first[1:]:
        c.dunno("max.again")              # the five still work
    first[0].close()
    sixth.expect_dunno()
    d.wait_log(r"instance=max\.6 ")


@test("emfile-pause-and-recover")
def t_emfile(ctx):
    conf = ctx.conf(max_connections=1000)
    d = Daemon(ctx, conf, rlimit_nofile=32)
    check("open file limit is 32" in d.log(), "no warning about the "
          "file limit: %s" % d.tail())
    clients = [ctx.client() for _ in range(40)]
    d.wait_log(r"warning: accept: Too many open files \(\d+ connections "
               r"open\): pausing accept")
    clients[0].dunno("mf.0")              # an accepted one is served
    last = clients[-1]                  # still in the listen queue
    last.send(request("mf.last"))
    cpu0 = cpu_seconds(d.pid)
    last.expect_silence(1.5)            # the retry timer fires meanwhile
    cpu = cpu_seconds(d.pid) - cpu0
    check(cpu < 0.5, "%.2fs of CPU in 1.5s while out of descriptors: "
          "busy loop?" % cpu)
    check(d.alive(), "daemon died")
    for c in clients[:-1]:
        c.close()
    last.expect_dunno()                 # accepting again
    fresh = ctx.client()
    fresh.dunno("mf.fresh")
    fresh.dunno("mf.fresh2")


SYSLOG_HEAD = (r"^<%d>(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
               r"[ 123]\d \d\d:\d\d:\d\d spfpd\[%d\]: ")


@test("syslog-format-and-reload")
def t_syslog(ctx):
    sink = SyslogSink(ctx)
    conf = ctx.conf(syslog_socket=sink.path)
    d = Daemon(ctx, conf, syslog=sink)
    # facility mail: info is <22>, warning <20>; RFC 3164 as syslog(3)
    sink.wait(SYSLOG_HEAD % (22, d.pid) + r"started, version ")
    sink.wait(SYSLOG_HEAD % (22, d.pid) + r"listening on unix:")
    c = ctx.client()
    c.dunno("sl.1")
    sink.wait(SYSLOG_HEAD % (22, d.pid) + r"conn=\d+ instance=sl\.1 "
              r"client=192\.0\.2\.1 .* action=DUNNO")
    check(d.log() == "", "stderr not empty: %r" % d.log()[:200])
    with open(conf, "a") as f:
        f.write("no_such_key = 1\n")
    d.signal(signal.SIGHUP)
    sink.wait(SYSLOG_HEAD % (20, d.pid) + r"warning: .*unknown option "
              r"'no_such_key'")
    # the facility changes with a reload, at once
    ctx.conf(syslog_socket=sink.path, syslog_facility="local0")
    d.signal(signal.SIGHUP)
    sink.wait(SYSLOG_HEAD % (134, d.pid) + r"reloaded configuration")
    c.dunno("sl.2")
    sink.wait(SYSLOG_HEAD % (134, d.pid) + r"conn=\d+ instance=sl\.2 ")
    d.signal(signal.SIGTERM)
    check(d.wait_exit() == 0, "exit status")
    sink.wait(SYSLOG_HEAD % (134, d.pid) + r"stopped: dns queries=\d+ "
              r"cache_hits=\d+ coalesced=\d+ upstream=\d+ evictions=\d+ "
              r"entries=\d+ bytes=\d+$")


@test("syslog-full-never-blocks")
def t_syslog_full(ctx):
    # a syslogd that stopped reading: with syslog(3) every send() would
    # block the daemon once the kernel queue (max_dgram_qlen) is full;
    # spfpd keeps answering, counts what it could not send, and says so
    # when the socket drains
    with open("/proc/sys/net/unix/max_dgram_qlen") as f:
        qlen = int(f.read())
    n = qlen + 4096 + 2000              # > kernel queue + spfpd's queue
    sink = SyslogSink(ctx)
    conf = ctx.conf(syslog_socket=sink.path, debug="no")
    d = Daemon(ctx, conf, syslog=sink)
    c = ctx.client()
    c.dunno("full.0")
    sink.wait(r"instance=full\.0 ")
    for k in range(1, n + 1, 1000):    # replies stay under the output cap
        last = min(k + 1000, n + 1)
        c.send(b"".join(request("full.%d" % i) for i in range(k, last)))
        for i in range(k, last):
            c.expect_dunno()
    other = ctx.client()                # and others are served too
    other.dunno("full.other")
    m = sink.wait(r"warning: (\d+) log messages lost: the syslog socket "
                  r"%s was full" % re.escape(sink.path))
    lost = int(m.group(1))
    other.dunno("full.after")             # the socket drained: logged again
    sink.wait(r"instance=full\.after ")
    got = len(re.findall(r"instance=full\.(\d+|other) ", sink.text())) - 1
    check(lost > 0, "nothing lost with %d lines into a full socket" % n)
    check(got + lost == n + 1, "%d lines received + %d reported lost != "
          "%d requests" % (got, lost, n + 1))
    ctx.comments.append("syslog-full: %d requests answered with the "
                        "log socket full; %d lines sent, %d counted lost"
                        % (n + 1, got, lost))


@test("syslog-restarted")
def t_syslog_restart(ctx):
    sink = SyslogSink(ctx)
    conf = ctx.conf(syslog_socket=sink.path)
    d = Daemon(ctx, conf, syslog=sink)
    c = ctx.client()
    c.dunno("rs.1")
    sink.wait(r"instance=rs\.1 ")
    sink.close()                        # syslogd stops ...
    c.dunno("rs.2")                       # (this line is lost)
    sink2 = SyslogSink(ctx)             # ... and starts again
    check(sink2.path == sink.path, "not the same path")

    def again():
        c.dunno("rs.%d" % again.i)
        again.i += 1
        sink2.read()
        return re.search(r"instance=rs\.\d+ ", sink2.text())
    again.i = 3
    # spfpd connects again on the first failed send, or within a second
    wait_until(again, TIMEOUT, "a line in the new syslog socket",
               interval=0.2)
    check(d.alive(), "daemon died")


# ---------------------------------------------------------------- main

def main():
    global ARGS, ASAN
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--spfpd", required=True, help="the binary under test")
    ap.add_argument("--log", required=True, help="daemon logs (appended)")
    ap.add_argument("--only", help="run the tests whose name matches this "
                    "regular expression")
    ARGS = ap.parse_args()
    ARGS.spfpd = os.path.abspath(ARGS.spfpd)
    if not os.access(ARGS.spfpd, os.X_OK):
        print("FAIL setup: %s is not executable" % ARGS.spfpd)
        print("blackbox: 0 passed, 1 failed")
        return 1
    ASAN = asan_build(ARGS.spfpd) or "asan" in ARGS.spfpd
    # leak checking: the default on Linux x86-64, explicit elsewhere
    os.environ.setdefault("ASAN_OPTIONS", "detect_leaks=1")
    passed = failed = skipped = 0
    t_start = time.monotonic()
    with open(ARGS.log, "a") as logf:
        logf.write("#### blackbox %s %s\n" % (ARGS.spfpd,
                                              time.strftime("%F %T")))
        for name, fn in TESTS:
            if ARGS.only and not re.search(ARGS.only, name):
                continue
            ctx = Ctx(name)
            t0 = time.monotonic()
            try:
                status, why = harness.attempt(fn, ctx, logf)
            finally:
                problems = ctx.cleanup(logf)
            el = time.monotonic() - t0
            err = why if status == "fail" else None
            skip = why if status == "skip" else None
            logf.write("==== %s: %s in %.2fs\n" % (
                name, "FAIL" if err or problems else
                "skip" if skip else "ok", el))
            if err is None and problems:
                err = "; ".join(problems)
            elif err is not None and problems:
                err += "; " + "; ".join(problems)
            if err is not None:
                failed += 1
                err = " ".join(err.split())
                if len(err) > 600:
                    err = err[:600] + "... (see %s)" % ARGS.log
                print("FAIL %s: %s" % (name, err))
            elif skip is not None:
                skipped += 1
                print("ok %s # skip: %s" % (name, skip))
            else:
                passed += 1
                print("ok %s" % name)
            for c in ctx.comments:
                print("# %s: %s" % (name, c))
            sys.stdout.flush()
    print("# %s: %.1fs%s" % (ARGS.spfpd, time.monotonic() - t_start,
                             " (ASan build)" if ASAN else ""))
    print("blackbox: %d passed, %d failed%s" % (
        passed, failed, ", %d skipped" % skipped if skipped else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
