#!/usr/bin/python3
"""rfcsuite.py - run the openspf RFC 7208 / RFC 4408 test suites through
spfpd's production path.

For each scenario of the suite, its zonedata is served over the wire by
tests/dnsserver.py on a loopback port; one spfpd daemon per scenario answers
every test as a Postfix policy request on its UNIX socket (the production
path: codec, session, policy, SPF over c-ares against that server), and
the result is read back from the action it returns.  Every test is counted:
pass, fail, and the expected failures listed in tests/rfcsuite-known.txt
(each with its reason, also in the README) are reported as KNOWN and
counted apart: "rfc7208: N passed, M failed, K known failures".

Usage: rfcsuite.py --spfpd build/spfpd --suite ../shared/data/rfc7208-tests.yml
       [--only NAME] [--verbose]
Prints "rfc7208: N passed, M failed".
"""
import argparse
import gzip
import json
import os
import re
import subprocess
import sys
import socket
import tempfile
import time

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))


class DNS:
    def __init__(self, zone, tmp):
        self.zonefile = os.path.join(tmp, 'zone.json')
        with open(self.zonefile, 'w') as f:
            json.dump(zone, f)
        self.log = os.path.join(tmp, 'queries.log')
        self.proc = subprocess.Popen(
            ['/usr/bin/python3', os.path.join(HERE, 'dnsserver.py'),
             '--zone', self.zonefile, '--log', self.log],
            stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith('port '):
            raise RuntimeError('dnsserver did not start')
        self.port = int(line.split()[1])

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


def norm_zone(zonedata):
    """YAML zonedata -> JSON-able (keys as strings, values as given)."""
    out = {}
    for name, recs in (zonedata or {}).items():
        out[str(name)] = recs
    return out


class Daemon:
    """spfpd serving the policy protocol on a UNIX socket in tmp."""

    def __init__(self, spfpd, conf, tmp):
        self.sock = os.path.join(tmp, 's.sock')
        self.errlog = open(os.path.join(tmp, 'spfpd.log'), 'w+')
        self.proc = subprocess.Popen(
            [spfpd, '-d', '-c', conf, '-l', 'unix:' + self.sock],
            stderr=self.errlog)
        # ready when it accepts: the socket file exists from bind(),
        # a moment before listen()
        deadline = time.time() + 10
        while True:
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError('spfpd did not start')
            self.conn = socket.socket(socket.AF_UNIX)
            self.conn.settimeout(60)
            try:
                self.conn.connect(self.sock)
                break
            except OSError:
                self.conn.close()
                time.sleep(0.02)
        self.buf = b''
        self.n = 0

    def ask(self, attrs):
        self.n += 1
        req = ''.join('%s=%s\n' % kv for kv in attrs) + \
            'instance=t%d\n\n' % self.n
        self.conn.sendall(req.encode())
        while b'\n\n' not in self.buf:
            data = self.conn.recv(65536)
            if not data:
                raise RuntimeError('spfpd closed the connection')
            self.buf += data
        reply, self.buf = self.buf.split(b'\n\n', 1)
        return reply.decode('utf-8', 'replace')

    def stop(self):
        self.conn.close()
        self.proc.terminate()
        self.proc.wait()
        self.errlog.seek(0)
        log = self.errlog.read()
        self.errlog.close()
        return log


# The policy the suite runs under: every result ends in a PREPENDed
# Received-SPF header, except a fail of the identity the suite checks,
# which is refused with a reason that carries the explanation.
CONFIG = """user =
skip_addresses =
dns_servers = 127.0.0.1:%d
dns_timeout = 500ms
dns_tries = 1
default_explanation = DEFAULT
helo_reject = null
mail_from_reject = fail
reason_message = {identity}|{result}|{spf}
ptr_check = no
"""


def evaluate(daemon, test):
    """The SPF result (and explanation) of the identity the suite checks:
    MAIL FROM, or HELO when MAIL FROM is empty (RFC 7208 2.4)."""
    mailfrom = test.get('mailfrom', '')
    reply = daemon.ask([('request', 'smtpd_access_policy'),
                        ('protocol_state', 'RCPT'),
                        ('client_address', test['host']),
                        ('helo_name', test.get('helo', '')),
                        ('sender', mailfrom),
                        ('recipient', 'postmaster@example.net')])
    m = re.match(r'action=550 5\.7\.2[34] (\w+)\|(\w+)\|(.*)$', reply)
    if m:
        return m.group(2), m.group(3)
    m = re.match(r'action=PREPEND Received-SPF: (\w+) .*identity=(\w+);',
                 reply)
    if m:
        if mailfrom and m.group(2) == 'helo':
            # chosen only when the MAIL FROM result is "none"
            return 'none', None
        return m.group(1), None
    return 'unexpected reply: ' + reply[:200], None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--spfpd', required=True)
    ap.add_argument('--suite', required=True)
    ap.add_argument('--name', default=None)
    ap.add_argument('--only', default=None)
    ap.add_argument('--verbose', action='store_true')
    args = ap.parse_args()
    name = args.name or os.path.basename(args.suite).split('-')[0]
    opener = gzip.open if args.suite.endswith('.gz') else open
    with opener(args.suite, 'rt') as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    passed = failed = 0
    failures = []
    passed_names = set()
    for doc in docs:
        tests = doc.get('tests', {})
        if args.only and args.only not in tests:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            dns = DNS(norm_zone(doc.get('zonedata')), tmp)
            conf = os.path.join(tmp, 'spfpd.conf')
            with open(conf, 'w') as f:
                f.write(CONFIG % dns.port)
            daemon = None
            try:
                daemon = Daemon(args.spfpd, conf, tmp)
                for tname, test in tests.items():
                    if args.only and tname != args.only:
                        continue
                    want = test['result']
                    want = want if isinstance(want, list) else [want]
                    got, expl = evaluate(daemon, test)
                    ok = got in want
                    if ok and 'explanation' in test and got == 'fail':
                        ok = expl == test['explanation']
                        if not ok:
                            got = 'fail, explanation %r' % expl
                    if ok:
                        passed += 1
                        passed_names.add(tname)
                    else:
                        failed += 1
                        failures.append((tname, want, got,
                                         test.get('spec', '')))
                    if args.verbose:
                        print('%s %s: want %s got %s' % (
                            'ok  ' if ok else 'FAIL', tname, want, got))
            finally:
                if daemon:
                    log = daemon.stop()
                    for bad in ('AddressSanitizer', 'runtime error:',
                                'LeakSanitizer'):
                        if bad in log:
                            failed += 1
                            failures.append(('sanitizer', ['clean'],
                                             log[-2000:], ''))
                            break
                dns.stop()
    known = load_known(os.path.join(HERE, 'rfcsuite-known.txt'))
    nknown = 0
    for tname, want, got, spec in failures:
        tag = 'FAIL'
        if tname in known:
            tag = 'KNOWN'
            nknown += 1
        print('%s %s (RFC %s): want %s, got %s' % (tag, tname, spec,
                                                   '/'.join(want), got))
        if tname in known:
            print('      reason: ' + known[tname])
    failed -= nknown
    # a listed failure that passes now: the list must say so
    for tname in sorted(set(known) & passed_names):
        print('FAIL %s: listed in rfcsuite-known.txt, but passes now: '
              'remove it from the list' % tname)
        passed -= 1
        failed += 1
    print('%s: %d passed, %d failed, %d known failures' % (
        name, passed, failed, nknown))
    return 0 if failed == 0 else 1


def load_known(path):
    """name -> reason, from "name: reason" lines ('#' comments)."""
    known = {}
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line and not line.startswith('#'):
                    k, v = line.split(':', 1)
                    known[k.strip()] = v.strip()
    return known


if __name__ == '__main__':
    sys.exit(main())
