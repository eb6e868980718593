#!/usr/bin/python3
"""soak.py - spfpd for N minutes under 1,000 connections of mixed good
and hostile requests (tests/hostiledns.py behind every DNS answer), with
its memory and descriptors watched: they must stay flat.

    soak.py --spfpd build/spfpd --loadgen build/loadgen --minutes N
            [--conns 1000] [--out DIR]

Prints the samples (time, RSS, open fds, cache-busting requests so far)
and a summary; exits 1 if spfpd died, logged a sanitizer report, or its
RSS or descriptor count at the end exceed those a third into the run
(once the cache and the connections have filled) by more than a margin
(RSS +25%, fds +16).
"""
import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (DNSServer, Daemon, Fail, request, rss_kb,  # noqa: E402
                     write_conf)

# kind of sender domain -> weight (see hostiledns.py)
MIX = [('good', 60), ('tc', 5), ('manya', 5), ('manytxt', 5),
       ('servfail', 5), ('silent', 4), ('malformed', 4), ('cnameloop', 4),
       ('late', 4), ('wrongid', 2), ('badptr', 1), ('hugetxt', 1)]


def corpus(path, n, seed=1):
    rnd = random.Random(seed)
    kinds = [k for k, w in MIX for _ in range(w)]
    with open(path, 'w') as f:
        for i in range(n):
            kind = rnd.choice(kinds)
            # distinct names keep the cache from answering everything
            dom = '%s.d%d.hostile.test' % (kind, rnd.randrange(5000))
            ip = '192.0.2.%d' % rnd.randrange(1, 255)
            if kind == 'manya':
                ip = '198.51.%d.%d' % (rnd.randrange(2), rnd.randrange(1,
                                                                       250))
            f.write(request(ip, 'u%d@%s' % (i, dom), None, helo=dom,
                            rcpt='r@dest.test', protocol_name=None))


def proc_sample(pid):
    return rss_kb(pid), len(os.listdir('/proc/%d/fd' % pid))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--spfpd', required=True)
    ap.add_argument('--loadgen', required=True)
    ap.add_argument('--minutes', type=float, default=5)
    ap.add_argument('--conns', type=int, default=1000)
    ap.add_argument('--out')
    args = ap.parse_args()
    out = os.path.abspath(args.out or tempfile.mkdtemp(prefix='soak-'))
    os.makedirs(out, exist_ok=True)
    dns = DNSServer('hostiledns.py')
    sock = os.path.join(out, 'soak.sock')
    conf = write_conf(os.path.join(out, 'soak.conf'), {
        'listen': 'unix:' + sock, 'user': '', 'skip_addresses': '',
        'dns_servers': dns.servers, 'dns_timeout': '1s', 'dns_tries': '1',
        'lookup_time': '5s', 'max_connections': '5000',
        'ptr_check': 'header', 'header_type': 'authentication-results',
        'dns_cache_size': '2000'})
    cpath = os.path.join(out, 'corpus.txt')
    corpus(cpath, 20000)
    failed = []
    res = {}
    samples = []
    d = None
    try:
        try:
            d = Daemon(os.path.abspath(args.spfpd), conf,
                       os.path.join(out, 'spfpd.log'), sock=sock)
        except Fail as e:
            raise SystemExit('soak: %s' % e)
        lg = subprocess.Popen([os.path.abspath(args.loadgen), '-s',
                               'unix:' + sock, '-c', str(args.conns), '-f',
                               cpath, '-d', str(int(args.minutes * 60)),
                               '-t', '30', '-W', '1', '-p', 'soak'],
                              stdout=subprocess.PIPE, text=True)
        t0 = time.time()
        time.sleep(min(10, args.minutes * 60 / 4))
        while lg.poll() is None:
            if not d.alive():
                failed.append('spfpd died: exit %d' % d.proc.returncode)
                break
            rss, fds = proc_sample(d.pid)
            samples.append((time.time() - t0, rss, fds))
            print('soak: t=%4.0fs rss=%d kB fds=%d' % samples[-1],
                  flush=True)
            time.sleep(10)
        res = json.loads(lg.communicate()[0] or '{}')
        if d.alive():
            rss, fds = proc_sample(d.pid)
            samples.append((time.time() - t0, rss, fds))
    finally:
        if d is not None:
            d.terminate()
            failed += d.reap(30) + ['%s (%s)' % (p, d.logpath)
                                    for p in d.problems()]
        dns.stop()
    # the baseline is taken once the cache and the connections have
    # filled (a third into the run): growth after that is what matters
    live = [x for x in samples if x[2] > 16] or samples
    if len(live) >= 2:
        (_, r0, f0), (_, r1, f1) = live[len(live) // 3], live[-1]
        if r1 > r0 * 1.25:
            failed.append('RSS grew: %d -> %d kB' % (r0, r1))
        if f1 > f0 + 16:
            failed.append('descriptors grew: %d -> %d' % (f0, f1))
    print('soak: %.1f min, %d connections: %s requests (%s/s), %s errors, '
          'p99 %s ms; RSS %s -> %s kB, fds %s -> %s; actions %s' % (
              args.minutes, args.conns, res.get('requests'), res.get('rps'),
              res.get('errors'), res.get('p99_ms'),
              live[len(live) // 3][1] if len(live) >= 2 else '?',
              live[-1][1] if len(live) >= 2 else '?',
              live[len(live) // 3][2] if len(live) >= 2 else '?',
              live[-1][2] if len(live) >= 2 else '?',
              json.dumps(res.get('actions'))))
    for f in failed:
        print('soak: FAIL ' + f)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
