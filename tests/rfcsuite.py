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
counted apart: "rfc7208: N passed, M failed, K known failures".  A test
listed there that passes is a failure ("listed ..., but passes now"): the
list must be kept true.  How each daemon ended counts too: a sanitizer
report or an exit status other than 0 on SIGTERM is a failure.

Usage: rfcsuite.py --spfpd build/spfpd --suite ../shared/data/rfc7208-tests.yml
       [--only NAME] [--known FILE] [--verbose]
Prints "rfc7208: N passed, M failed, K known failures".
"""
import argparse
import gzip
import os
import re
import sys
import tempfile

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from harness import Client, Daemon, Fail, TestDNS  # noqa: E402


def norm_zone(zonedata):
    """YAML zonedata -> JSON-able (keys as strings, values as given)."""
    out = {}
    for name, recs in (zonedata or {}).items():
        out[str(name)] = recs
    return out


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


def evaluate(client, test):
    """The SPF result (and explanation) of the identity the suite checks:
    MAIL FROM, or HELO when MAIL FROM is empty (RFC 7208 2.4)."""
    mailfrom = test.get('mailfrom', '')
    reply = client.ask(test['host'], mailfrom, helo=test.get('helo', ''))
    m = re.match(r'550 5\.7\.2[34] (\w+)\|(\w+)\|(.*)$', reply)
    if m:
        return m.group(2), m.group(3)
    m = re.match(r'PREPEND Received-SPF: (\w+) .*identity=(\w+);', reply)
    if m:
        if mailfrom and m.group(2) == 'helo':
            # chosen only when the MAIL FROM result is "none"
            return 'none', None
        return m.group(1), None
    return 'unexpected reply: ' + reply[:200], None


def run_scenario(spfpd, doc, only, verbose):
    """The tests of one scenario (doc) against its zone data, in a spfpd
    of its own: [(name, passed, want, got, spec)].  How the daemon ended
    (exit status, sanitizer report) is one more test, named "daemon"."""
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        dns = TestDNS(tmp, norm_zone(doc.get('zonedata')))
        d = None
        try:
            conf = os.path.join(tmp, 'spfpd.conf')
            with open(conf, 'w') as f:
                f.write(CONFIG % dns.port)
            sock = os.path.join(tmp, 's.sock')
            d = Daemon(spfpd, conf, os.path.join(tmp, 'spfpd.log'),
                       args=['-l', 'unix:' + sock], sock=sock)
            client = Client(sock, timeout=60, prefix='t',
                            rcpt='postmaster@example.net',
                            protocol_name=None, client_name=None)
            for tname, test in doc.get('tests', {}).items():
                if only and tname != only:
                    continue
                want = test['result']
                want = want if isinstance(want, list) else [want]
                got, expl = evaluate(client, test)
                ok = got in want
                if ok and 'explanation' in test and got == 'fail':
                    ok = expl == test['explanation']
                    if not ok:
                        got = 'fail, explanation %r' % expl
                results.append((tname, ok, want, got, test.get('spec', '')))
                if verbose:
                    print('%s %s: want %s got %s' % (
                        'ok  ' if ok else 'FAIL', tname, want, got))
            client.close()
        finally:
            if d:
                d.terminate()
                problems = d.reap() + d.problems()
                if problems:
                    results.append(('daemon', False, ['a clean exit'],
                                    '; '.join(problems) + ': ' +
                                    d.log()[-2000:], ''))
            dns.stop()
    return results


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--spfpd', required=True)
    ap.add_argument('--suite', required=True)
    ap.add_argument('--name', default=None)
    ap.add_argument('--only', default=None)
    ap.add_argument('--known', default=os.path.join(HERE,
                                                    'rfcsuite-known.txt'),
                    help='the known failures (default: %(default)s)')
    ap.add_argument('--verbose', action='store_true')
    args = ap.parse_args()
    spfpd = os.path.abspath(args.spfpd)
    name = args.name or os.path.basename(args.suite).split('-')[0]
    opener = gzip.open if args.suite.endswith('.gz') else open
    with opener(args.suite, 'rt') as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    results = []
    for doc in docs:
        if args.only and args.only not in doc.get('tests', {}):
            continue
        try:
            results += run_scenario(spfpd, doc, args.only, args.verbose)
        except Fail as e:
            results.append(('setup', False, ['spfpd and its DNS server'],
                            str(e), ''))
    known = load_known(args.known)
    passed = failed = nknown = 0
    for tname, ok, want, got, spec in results:
        if ok:
            passed += 1
            continue
        tag = 'FAIL'
        if tname in known:
            tag = 'KNOWN'
            nknown += 1
        else:
            failed += 1
        print('%s %s (RFC %s): want %s, got %s' % (tag, tname, spec,
                                                   '/'.join(want), got))
        if tname in known:
            print('      reason: ' + known[tname])
    # a listed failure that passes now: the list must say so
    for tname in sorted(set(known) & set(r[0] for r in results if r[1])):
        print('FAIL %s: listed in %s, but passes now: remove it from the '
              'list' % (tname, os.path.basename(args.known)))
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
