#!/usr/bin/python3
"""world.py - the benchmark's DNS world and request corpus.

Sender domains whose SPF records look like the real world, in the
proportions below: direct ip4: lists, include: trees 2-3 levels deep like
the big providers' (_spf -> _netblocks -> ip4), mx, a, redirect= to a
provider, no SPF at all, and broken records.  Clients pass (an address the
record allows) or fail (one it does not); PTR records exist for the
passing clients (forward-confirmed) so iprev has work too, and the
failing ones get NXDOMAIN from a reverse zone that is served (every
answer is cacheable, as on the Internet).

    world.py --domains N --requests M --out DIR [--seed S]

writes DIR/zones/*.zone (zone files for knotd), DIR/zones.list (origin and
file per line), DIR/corpus.txt (requests for tests/bench/loadgen.c, one
per blank-line-separated block, without instance=) and DIR/world.json
(counts).  Deterministic for a seed.
"""
import argparse
import ipaddress
import json
import os
import random

# share of sender domains per kind (percent)
KINDS = [
    ('include', 40),    # include:_spf.providerN.bench (3 levels)
    ('ip4', 20),        # ip4: ranges
    ('mx', 10),         # mx
    ('a', 8),           # a
    ('redirect', 10),   # redirect=_spf.providerN.bench
    ('none', 7),        # no SPF record
    ('broken', 5),      # permerror (invalid ip4 prefix)
]

PROVIDERS = 4
BLOCKS_PER_PROVIDER = 3


def provider_records(p):
    """_spf.pN -> _netblocksK.pN (-> _netblocks-v6 style leaf)."""
    recs = []
    incs = ' '.join('include:_netblocks%d.provider%d.bench' % (k, p)
                    for k in range(BLOCKS_PER_PROVIDER))
    recs.append('_spf.provider%d TXT "v=spf1 %s ~all"' % (p, incs))
    for k in range(BLOCKS_PER_PROVIDER):
        # the last block nests once more: 3 levels below the sender
        if k == BLOCKS_PER_PROVIDER - 1:
            recs.append('_netblocks%d.provider%d TXT "v=spf1 '
                        'include:_leaf.provider%d.bench ~all"' % (k, p, p))
        else:
            nets = ' '.join('ip4:172.%d.%d.0/24' % (16 + p, k * 16 + j)
                            for j in range(8))
            recs.append('_netblocks%d.provider%d TXT "v=spf1 %s ~all"' %
                        (k, p, nets))
    recs.append('_leaf.provider%d TXT "v=spf1 ip4:172.%d.200.0/22 ~all"'
                % (p, 16 + p))
    return recs


def provider_pass_ip(p, rnd):
    if rnd.random() < 0.5:
        return '172.%d.%d.%d' % (16 + p, rnd.randrange(8), rnd.randrange(1,
                                                                         255))
    return '172.%d.%d.%d' % (16 + p, 200 + rnd.randrange(4),
                             rnd.randrange(1, 255))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--domains', type=int, default=20000)
    ap.add_argument('--requests', type=int, default=20000)
    ap.add_argument('--out', required=True)
    ap.add_argument('--seed', type=int, default=7208)
    args = ap.parse_args()
    rnd = random.Random(args.seed)
    os.makedirs(os.path.join(args.out, 'zones'), exist_ok=True)

    bench = []          # records of zone "bench" (relative names)
    rev = {}            # /16 reverse zone origin -> records
    for p in range(PROVIDERS):
        bench += provider_records(p)
    kinds = []
    for kind, pct in KINDS:
        kinds += [kind] * pct
    domains = []
    for i in range(args.domains):
        kind = kinds[i % len(kinds)]
        name = 'd%d' % i
        # each domain owns 10.X.Y.0/28 for its direct and host addresses
        net = ipaddress.IPv4Address('10.0.0.0') + i * 16
        info = {'name': name + '.bench', 'kind': kind, 'net': str(net)}
        host = str(net + 1)
        if kind == 'ip4':
            bench.append('%s TXT "v=spf1 ip4:%s/28 -all"' % (name, net))
            info['pass'] = str(net + 5)
        elif kind == 'include':
            p = i % PROVIDERS
            bench.append('%s TXT "v=spf1 ip4:%s/30 '
                         'include:_spf.provider%d.bench -all"' %
                         (name, net, p))
            info['provider'] = p
        elif kind == 'mx':
            bench.append('%s TXT "v=spf1 mx -all"' % name)
            bench.append('%s MX 10 mx.%s' % (name, name))
            bench.append('mx.%s A %s' % (name, host))
            info['pass'] = host
        elif kind == 'a':
            bench.append('%s TXT "v=spf1 a -all"' % name)
            bench.append('%s A %s' % (name, host))
            info['pass'] = host
        elif kind == 'redirect':
            p = i % PROVIDERS
            bench.append('%s TXT "v=spf1 redirect=_spf.provider%d.bench"'
                         % (name, p))
            info['provider'] = p
        elif kind == 'none':
            bench.append('%s A %s' % (name, host))
            info['pass'] = host
        elif kind == 'broken':
            bench.append('%s TXT "v=spf1 ip4:%s/33 -all"' % (name, net))
            info['pass'] = host
        # the HELO name of the domain's mail host, forward-confirmed
        bench.append('mail.%s A %s' % (name, host))
        o = ipaddress.IPv4Address(host).packed
        origin = '%d.%d.in-addr.arpa' % (o[1], o[0])
        rev.setdefault(origin, []).append(
            '%d.%d PTR mail.%s.bench.' % (o[3], o[2], name))
        domains.append(info)

    corpus = []
    passes = 0
    provider_hosts = {}
    for r in range(args.requests):
        d = domains[r % len(domains)]
        good = rnd.random() < 0.7
        if 'provider' in d:
            ip = provider_pass_ip(d['provider'], rnd) if good else None
        else:
            ip = d.get('pass') if good else None
        if ip is None:
            # not allowed by anybody's record, and without PTR (NXDOMAIN
            # from the reverse zone, as for much of the Internet's spam)
            ip = '198.18.%d.%d' % (rnd.randrange(256), rnd.randrange(1, 255))
            rev.setdefault('18.198.in-addr.arpa', [])
        else:
            passes += 1
            if 'provider' in d and ip not in provider_hosts:
                # a provider's outbound host: named, forward-confirmed
                o = ipaddress.IPv4Address(ip).packed
                host = 'out-%d-%d-%d-%d.provider%d' % (
                    o[0], o[1], o[2], o[3], d['provider'])
                provider_hosts[ip] = host
                bench.append('%s A %s' % (host, ip))
                rev.setdefault('%d.%d.in-addr.arpa' % (o[1], o[0]),
                               []).append('%d.%d PTR %s.bench.' %
                                          (o[3], o[2], host))
        helo = 'mail.' + d['name']
        corpus.append('\n'.join([
            'request=smtpd_access_policy',
            'protocol_state=RCPT',
            'protocol_name=ESMTP',
            'client_address=' + ip,
            'client_name=unknown',
            'reverse_client_name=unknown',
            'helo_name=' + helo,
            'sender=user%d@%s' % (r, d['name']),
            'recipient=postmaster@dest.bench',
            'recipient_count=0',
            'size=1234',
        ]) + '\n\n')

    zones = {'bench': bench}
    zones.update(rev)
    with open(os.path.join(args.out, 'zones.list'), 'w') as zl:
        for origin, recs in zones.items():
            path = os.path.join(args.out, 'zones', origin + '.zone')
            with open(path, 'w') as f:
                f.write('$ORIGIN %s.\n$TTL 3600\n' % origin)
                f.write('@ SOA ns.bench. hostmaster.bench. 1 3600 600 '
                        '86400 300\n@ NS ns.bench.\n')
                if origin == 'bench':
                    f.write('ns A 127.0.0.1\n')
                for rec in recs:
                    f.write(rec + '\n')
            zl.write('%s %s\n' % (origin, path))
    with open(os.path.join(args.out, 'corpus.txt'), 'w') as f:
        f.writelines(corpus)
    stats = {'domains': len(domains), 'requests': len(corpus),
             'passing_clients': passes, 'zones': len(zones),
             'kinds': {k: sum(1 for d in domains if d['kind'] == k)
                       for k, _ in KINDS}}
    with open(os.path.join(args.out, 'world.json'), 'w') as f:
        json.dump(stats, f, indent=1)
    print(json.dumps(stats))


if __name__ == '__main__':
    main()
