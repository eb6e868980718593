"""knot.py - run Debian's knotd as an authoritative server on loopback for
spfpd's integration tests.

    k = Knot(tmpdir, {'example.com': ['@ TXT "v=spf1 -all"', 'mx A 192.0.2.1']})
    k.start()        # picks a free port: k.port
    ...
    k.stop()

Each zone gets an SOA (negative TTL 60) and an NS; records are zone-file
lines relative to the zone's origin.  A name whose records must time out
is served by no zone at all: give it a zone that is not loaded with
Knot(..., refuse=...) - knotd answers REFUSED for zones it does not have,
so a timeout is made with a port that nobody answers (see dead_port()).
"""
import os
import socket
import subprocess
import time


def free_port():
    """A UDP+TCP port free on 127.0.0.1 right now."""
    for _ in range(50):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            t.bind(('127.0.0.1', port))
        except OSError:
            s.close()
            continue
        s.close()
        t.close()
        return port
    raise RuntimeError('no free port')


def dead_port():
    """A UDP port bound by us and never read: queries to it time out."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(('127.0.0.1', 0))
    return s, s.getsockname()[1]


class Knot:
    def __init__(self, tmpdir, zones, ttl=300):
        self.dir = os.path.join(tmpdir, 'knot')
        os.makedirs(self.dir, exist_ok=True)
        self.zones = zones
        self.ttl = ttl
        self.proc = None
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
        self.port = free_port()
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
        raise RuntimeError('knotd did not answer')

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
