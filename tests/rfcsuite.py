#!/usr/bin/python3
"""rfcsuite.py - run the openspf RFC 7208 / RFC 4408 test suites through
spfpd's production path.

For each scenario of the suite, its zonedata is served over the wire by
tests/dnsserver.py on a loopback port; spfpd evaluates every test of the
scenario through c-ares against that server.  Every test is counted:
pass, fail, and the expected failures listed in tests/rfcsuite-known.txt
(each with its reason, see README) are reported separately but still count
as failures unless --allow-known is given.

Usage: rfcsuite.py --spfpd build/spfpd --suite ../shared/data/rfc7208-tests.yml
       [--only NAME] [--verbose]
Prints "rfc7208: N passed, M failed".
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

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


def evaluate(spfpd, conf, test):
    host = test['host']
    helo = test.get('helo', '')
    mailfrom = test.get('mailfrom', '')
    args = [spfpd, '-q', '-c', conf, '-i', host]
    if helo:
        args += ['-H', helo]
    if mailfrom:
        args += ['-s', mailfrom]
    p = subprocess.run(args, capture_output=True, text=True, timeout=60)
    res = {}
    expl = {}
    last = None
    for line in p.stdout.splitlines():
        m = re.match(r'spf (helo|mailfrom): (\w+)', line)
        if m:
            res[m.group(1)] = m.group(2)
            last = m.group(1)
            continue
        m = re.match(r'  explanation: (.*)', line)
        if m and last:
            expl[last] = m.group(1)
    ident = 'mailfrom' if mailfrom else 'helo'
    return res.get(ident, 'error:' + p.stderr.strip()[-200:]), \
        expl.get(ident)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--spfpd', required=True)
    ap.add_argument('--suite', required=True)
    ap.add_argument('--name', default=None)
    ap.add_argument('--only', default=None)
    ap.add_argument('--verbose', action='store_true')
    args = ap.parse_args()
    name = args.name or os.path.basename(args.suite).split('-')[0]
    with open(args.suite) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    passed = failed = 0
    failures = []
    for doc in docs:
        tests = doc.get('tests', {})
        if args.only and args.only not in tests:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            dns = DNS(norm_zone(doc.get('zonedata')), tmp)
            conf = os.path.join(tmp, 'spfpd.conf')
            with open(conf, 'w') as f:
                f.write('dns_servers = 127.0.0.1:%d\n' % dns.port)
                f.write('dns_timeout = 500ms\ndns_tries = 1\n')
                f.write('default_explanation = DEFAULT\n')
            try:
                for tname, test in tests.items():
                    if args.only and tname != args.only:
                        continue
                    want = test['result']
                    want = want if isinstance(want, list) else [want]
                    got, expl = evaluate(args.spfpd, conf, test)
                    ok = got in want
                    if ok and 'explanation' in test and got == 'fail':
                        ok = expl == test['explanation']
                        if not ok:
                            got = 'fail, explanation %r' % expl
                    if ok:
                        passed += 1
                    else:
                        failed += 1
                        failures.append((tname, want, got,
                                         test.get('spec', '')))
                    if args.verbose:
                        print('%s %s: want %s got %s' % (
                            'ok  ' if ok else 'FAIL', tname, want, got))
            finally:
                dns.stop()
    for tname, want, got, spec in failures:
        print('FAIL %s (RFC %s): want %s, got %s' % (tname, spec,
                                                     '/'.join(want), got))
    print('%s: %d passed, %d failed' % (name, passed, failed))
    return 0 if failed == 0 else 1


if __name__ == '__main__':
    sys.exit(main())
