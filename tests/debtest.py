#!/usr/bin/python3
"""debtest.py - the Debian package of debian/, built and checked.

    /usr/bin/python3 tests/debtest.py --build-dir build [--log FILE]
        [--only NAME] [--no-build]

"make B=BUILD deb" (dpkg-buildpackage -us -uc -b in a copy of the tree
in BUILD/deb/) builds spfpd_<VERSION>-<revision>_<arch>.deb, where
VERSION is the Makefile's; --no-build takes the package already there.
Then, without installing it (too invasive for this machine and CI):

  - the work tree is as it was (debian/ unchanged, nothing beside it);
  - the control fields, the conffiles and the file list (dpkg-deb -I,
    -e, -c): /usr/sbin/spfpd, the man pages, /etc/spfpd/spfpd.conf, the
    units of contrib/systemd/, README.Debian; all root's, none under
    /usr/local;
  - the maintainer scripts: sh, set -e, the postinst creates the system
    user spfpd with adduser, no script touches Postfix's configuration;
  - the units and the man page are those of the tree with /usr/sbin; the
    packaged spfpd.conf is etc/spfpd.conf with the lines of
    contrib/postfix/spfpd.conf in force (daemon mode) and passes
    "spfpd -n"; spawned as an ordinary user (spawn mode) it answers;
  - README.Debian holds the lines of contrib/postfix/ (the ones
    tests/postfixtest.py runs), with /usr/sbin;
  - lintian on the .changes (the .debs and the .buildinfo): no E: line;
  - tests/postfixtest.py, a real Postfix in both modes, against the
    spfpd binary extracted from the .deb (dpkg-deb -x).

Needs root (postfixtest.py does) and the packages of
contrib/install-deps.sh.  Prints "ok NAME" / "FAIL NAME: why" (the
tests of postfixtest.py as postfix/NAME), lintian's lines as "#"
comments, and "deb: N passed, M failed".
"""
import argparse
import glob
import gzip
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from harness import Fail, check, run_test  # noqa: E402

PYTHON = '/usr/bin/python3'
# postfixtest.py's whole run (it gives each wait its own deadline)
POSTFIX_TIMEOUT = 900


def makefile_version(top):
    with open(os.path.join(top, 'Makefile')) as f:
        m = re.search(r'^VERSION\s*=\s*(\S+)', f.read(), re.M)
    return m.group(1)


def run(args, timeout=120, **kw):
    """A command's CompletedProcess (text, stdout and stderr together)."""
    return subprocess.run(args, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True,
                          timeout=timeout, **kw)


def make_env():
    """The environment without the calling make's: a make deb run from
    make check must not inherit its variables (WERROR=1, CFLAGS) nor its
    jobserver."""
    env = dict(os.environ)
    for k in ('MAKEFLAGS', 'MFLAGS', 'MAKELEVEL', 'MAKEOVERRIDES'):
        env.pop(k, None)
    return env


def settings(text):
    """The "key = value" lines of a spfpd.conf text, in order."""
    return [line for line in text.splitlines()
            if re.match(r'[a-z_]+ =', line)]


def words(text):
    return ' '.join(text.split())


def snapshot():
    """What a package build must not change in the work tree: debian/
    (every file and its modification time) and the package files that
    dpkg-buildpackage would leave beside the tree."""
    snap = {}
    for d, dirs, files in os.walk(os.path.join(TOP, 'debian')):
        for name in dirs + files:
            p = os.path.join(d, name)
            snap[os.path.relpath(p, TOP)] = os.lstat(p).st_mtime_ns
    for pat in ('*.deb', '*.changes', '*.buildinfo'):
        for p in glob.glob(os.path.join(TOP, '..', pat)) + \
                glob.glob(os.path.join(TOP, pat)):
            snap[os.path.relpath(p, TOP)] = os.lstat(p).st_mtime_ns
    return snap


class Package:
    """The built package: its files in BUILD/deb/, dpkg-deb's views of
    the .deb, and its contents extracted into a temporary directory."""

    def __init__(self, args, logf):
        self.args = args
        self.logf = logf
        self.bdir = os.path.abspath(args.build_dir)
        self.debdir = os.path.join(self.bdir, 'deb')
        self.version = makefile_version(TOP)
        # the copy of the tree the package was built from: what it is
        # compared with (others may edit the work tree meanwhile)
        self.src = os.path.join(self.debdir, 'spfpd-' + self.version)
        self.arch = run(['dpkg', '--print-architecture']).stdout.strip()
        self.tmp = tempfile.mkdtemp(prefix='debtest-')
        os.chmod(self.tmp, 0o755)       # postfixtest's nobody reads here
        self.deb = None
        self.before = self.after = None

    def log(self, text):
        self.logf.write(text)
        self.logf.flush()

    def build(self):
        if not self.args.no_build:
            self.before = snapshot()
            p = run(['make', '-C', TOP, '--no-print-directory',
                     'B=' + self.bdir, 'deb'], timeout=900, env=make_env())
            self.log('--- make deb\n' + p.stdout)
            self.after = snapshot()
            check(p.returncode == 0, 'make deb exited %d: %s' % (
                p.returncode, ' | '.join(p.stdout.splitlines()[-6:])))
        debs = glob.glob(os.path.join(self.debdir, 'spfpd_*.deb'))
        check(len(debs) == 1, 'packages in %s: %s' % (self.debdir, debs))
        self.deb = debs[0]
        name = os.path.basename(self.deb)
        m = re.match(r'spfpd_([^_]+)_([^_]+)\.deb$', name)
        check(m, name)
        self.changes = self.deb[:-4] + '.changes'
        for f in (self.changes, self.deb[:-4] + '.buildinfo'):
            check(os.path.exists(f), 'no ' + os.path.basename(f))
        self.control = self.fields()
        self.listing = self.contents()
        self.root = os.path.join(self.tmp, 'root')
        p = run(['dpkg-deb', '-x', self.deb, self.root])
        check(p.returncode == 0, 'dpkg-deb -x: ' + p.stdout)
        self.ctrl = os.path.join(self.tmp, 'control')
        p = run(['dpkg-deb', '-e', self.deb, self.ctrl])
        check(p.returncode == 0, 'dpkg-deb -e: ' + p.stdout)

    def need(self):
        if self.deb is None:
            raise Fail('no package (the build failed)')

    def fields(self):
        p = run(['dpkg-deb', '-f', self.deb])
        check(p.returncode == 0, 'dpkg-deb -f: ' + p.stdout)
        out = {}
        key = None
        for line in p.stdout.splitlines():
            if line[:1] in (' ', '\t') and key:
                out[key] += '\n' + line
            elif ':' in line:
                key, v = line.split(':', 1)
                out[key] = v.strip()
        return out

    def contents(self):
        """dpkg-deb -c: {path without "./": (mode string, owner/group)}."""
        p = run(['dpkg-deb', '-c', self.deb])
        check(p.returncode == 0, 'dpkg-deb -c: ' + p.stdout)
        self.log('--- dpkg-deb -c\n' + p.stdout)
        out = {}
        for line in p.stdout.splitlines():
            f = line.split(None, 5)
            path = f[5].split(' -> ')[0]
            out[path[2:].rstrip('/')] = (f[0], f[1])
        return out

    def path(self, rel):
        return os.path.join(self.root, rel)

    def source(self, *path):
        """A file of the tree the package was built from."""
        with open(os.path.join(self.src, *path)) as f:
            return f.read()

    def contrib(self, *path):
        return self.source('contrib', *path)

    def read(self, rel):
        p = self.path(rel)
        if rel.endswith('.gz'):
            with gzip.open(p, 'rt') as f:
                return f.read()
        with open(p) as f:
            return f.read()

    def unit_dir(self):
        """lib/systemd/system (debhelper of bookworm) or its /usr twin
        (newer debhelper)."""
        for d in ('usr/lib/systemd/system', 'lib/systemd/system'):
            if 'spfpd.service' in os.listdir(self.path(d)) \
                    if os.path.isdir(self.path(d)) else False:
                return d
        raise Fail('no spfpd.service in the package')

    def units(self):
        return [u for u in ('spfpd.service', 'spfpd.socket')
                if os.path.exists(os.path.join(self.src, 'contrib',
                                               'systemd', u))]

    def scripts(self):
        return {n: open(os.path.join(self.ctrl, n)).read()
                for n in sorted(os.listdir(self.ctrl))
                if n in ('preinst', 'postinst', 'prerm', 'postrm',
                         'config')}

    def cleanup(self):
        shutil.rmtree(self.tmp, ignore_errors=True)


# ----- tests -----

def t_build(pkg):
    pkg.build()


def t_tree_untouched(pkg):
    pkg.need()
    if pkg.before is None:
        return                  # --no-build: nothing was built just now
    changed = sorted(k for k in set(pkg.before) | set(pkg.after)
                     if pkg.before.get(k) != pkg.after.get(k))
    check(not changed, 'the package build changed the work tree: %s' %
          changed[:10])


def t_control(pkg):
    pkg.need()
    c = pkg.control
    check(c.get('Package') == 'spfpd', 'Package: %s' % c.get('Package'))
    m = re.match(r'spfpd \(([^)-]+)-([^)]+)\)',
                 pkg.source('debian', 'changelog'))
    version = makefile_version(pkg.src)
    check(m and m.group(1) == version, 'debian/changelog is at %s, '
          'the Makefile at %s: add a changelog entry' % (
              m and m.group(1), version))
    check(c.get('Version') == '%s-%s' % (version, m.group(2)),
          'Version: %s' % c.get('Version'))
    check(c.get('Architecture') == pkg.arch,
          'Architecture: %s' % c.get('Architecture'))
    check(os.path.basename(pkg.deb) == 'spfpd_%s_%s.deb' % (
        c['Version'], pkg.arch), os.path.basename(pkg.deb))
    check(c.get('Section') == 'mail', 'Section: %s' % c.get('Section'))
    check(re.match(r'.+ <[^@ ]+@[^@ ]+>$', c.get('Maintainer', '')),
          'Maintainer: %s' % c.get('Maintainer'))
    depends = [d.strip().split()[0] for d in
               c.get('Depends', '').split(',')]
    # c-ares: libc-ares2 on bookworm, libcares2 on trixie
    for want in ('adduser', 'postfix', 'libevent-', 'libspf2-',
                 'libc-?ares'):
        check(any(re.match(want, d) for d in depends),
              'Depends has no %s: %s' % (want, c.get('Depends')))
    check(c.get('Description', '').startswith('Postfix policy daemon'),
          'Description: %s' % c.get('Description'))


def t_files(pkg):
    pkg.need()
    files = pkg.listing
    ud = pkg.unit_dir()
    want = {'usr/sbin/spfpd': '-rwxr-xr-x',
            'usr/share/man/man8/spfpd.8.gz': '-rw-r--r--',
            'usr/share/man/man5/spfpd.conf.5.gz': '-rw-r--r--',
            'etc/spfpd/spfpd.conf': '-rw-r--r--',
            'usr/share/doc/spfpd/copyright': '-rw-r--r--',
            'usr/share/doc/spfpd/changelog.Debian.gz': '-rw-r--r--'}
    for u in pkg.units():
        want['%s/%s' % (ud, u)] = '-rw-r--r--'
    for path, mode in want.items():
        check(path in files, 'no %s in the package' % path)
        check(files[path][0] == mode, '%s: %s' % (path, files[path][0]))
    check(any(p.startswith('usr/share/doc/spfpd/README.Debian')
              for p in files), 'no README.Debian')
    dirs = {'etc', 'etc/spfpd', 'usr', 'usr/sbin', 'usr/share',
            'usr/share/doc', 'usr/share/doc/spfpd', 'usr/share/man',
            'usr/share/man/man5', 'usr/share/man/man8', 'usr/share/lintian',
            'usr/share/lintian/overrides', 'lib', 'lib/systemd', 'usr/lib',
            'usr/lib/systemd', ud}
    for path, (mode, owner) in files.items():
        if path == '':
            continue
        check(owner == 'root/root', '%s is %s' % (path, owner))
        check('local' not in path.split('/'), path)
        check(not re.search('[sStT]', mode) and mode[8] != 'w',
              '%s: %s' % (path, mode))
        check(path in want or (mode[0] == 'd' and path in dirs) or
              (mode[0] == '-' and (
                  path.startswith('usr/share/doc/spfpd/') or
                  path == 'usr/share/lintian/overrides/spfpd')),
              'unexpected %s in the package' % path)


def t_conffiles(pkg):
    pkg.need()
    with open(os.path.join(pkg.ctrl, 'conffiles')) as f:
        conffiles = f.read().split()
    check(conffiles == ['/etc/spfpd/spfpd.conf'], 'conffiles: %s' %
          conffiles)


# what a maintainer script must not touch: Postfix's configuration
POSTFIX_CONF = re.compile(r'main\.cf|master\.cf|/etc/postfix|postconf|'
                          r'postfix\s+(reload|start|stop|restart|check)|'
                          r'postmap|postalias')


def t_maintainer_scripts(pkg):
    pkg.need()
    scripts = pkg.scripts()
    check('postinst' in scripts, 'no postinst: %s' % sorted(scripts))
    for name, text in scripts.items():
        lines = text.splitlines()
        check(lines[0] == '#!/bin/sh', '%s: %s' % (name, lines[0]))
        check('set -e' in lines, '%s has no "set -e"' % name)
        p = run(['sh', '-n', os.path.join(pkg.ctrl, name)])
        check(p.returncode == 0, '%s: sh -n: %s' % (name, p.stdout))
        m = POSTFIX_CONF.search(text)
        check(not m, '%s touches Postfix: %r' % (name, m and m.group(0)))
    post = scripts['postinst']
    m = re.search(r'adduser --system .*?\bspfpd$', post, re.M | re.S)
    check(m, 'the postinst does not create the user spfpd')
    for opt in ('--no-create-home', '--home /nonexistent'):
        check(opt in m.group(0), 'adduser without %s' % opt)
    for u in pkg.units():
        check(re.search(r"deb-systemd-helper enable '?%s" % re.escape(u),
                        post), 'the postinst does not enable %s' % u)
    # started: the socket first (the service then gets it from systemd),
    # the service restarted on upgrades, the socket never (systemd
    # refuses to start a socket unit while its service runs)
    starts = re.findall(r'deb-systemd-invoke (\S+) (.*?) *>', post)
    units = [(a, u.strip("'")) for a, us in starts for u in us.split()]
    check(('$_dh_action', 'spfpd.service') in units,
          'spfpd.service is not started or restarted: %s' % starts)
    if 'spfpd.socket' in pkg.units():
        check(units[0] == ('start', 'spfpd.socket') and len(units) == 2,
              'the postinst starts %s' % units)
        for name, text in scripts.items():
            check(not re.search(r'deb-systemd-invoke (restart|stop) .*'
                                r'spfpd\.socket', text) or name == 'prerm',
                  '%s stops or restarts spfpd.socket' % name)


def t_units(pkg):
    pkg.need()
    ud = pkg.unit_dir()
    check(pkg.units(), 'no units in contrib/systemd/')
    for u in pkg.units():
        text = pkg.read('%s/%s' % (ud, u))
        tree = pkg.contrib('systemd', u)
        check(text == tree.replace('/usr/local/sbin/', '/usr/sbin/'),
              '%s is not contrib/systemd/%s with /usr/sbin' % (u, u))
        check('/usr/local' not in text, u)
    service = pkg.read('%s/spfpd.service' % ud)
    check(re.search(r'^ExecStart=/usr/sbin/spfpd ', service, re.M),
          'ExecStart in spfpd.service')


def t_man_pages(pkg):
    pkg.need()
    for page, src in (('usr/share/man/man8/spfpd.8.gz', 'spfpd.8'),
                      ('usr/share/man/man5/spfpd.conf.5.gz',
                       'spfpd.conf.5')):
        text = pkg.read(page)
        tree = pkg.source(src)
        check(text == tree.replace('/usr/local/sbin/', '/usr/sbin/'),
              '%s is not %s with /usr/sbin' % (page, src))
        check('/usr/local' not in text, page)


def t_config(pkg):
    """etc/spfpd.conf with contrib/postfix/spfpd.conf's lines in place of
    their commented-out defaults, a note on top; spfpd -n accepts it."""
    pkg.need()
    conf = pkg.read('etc/spfpd/spfpd.conf')
    daemon = settings(pkg.contrib('postfix', 'spfpd.conf'))
    check(daemon, 'no settings in contrib/postfix/spfpd.conf')
    check(set(settings(conf)) == set(daemon),
          'settings of the packaged spfpd.conf: %s, contrib/postfix/'
          'spfpd.conf: %s' % (settings(conf), daemon))
    tree = pkg.source('etc', 'spfpd.conf').splitlines()
    keys = {line.split(' =')[0]: line for line in daemon}
    lines = conf.splitlines()
    # the note after the first line, then the tree's file line by line
    check(lines[0] == tree[0], lines[0])
    note = lines[1:len(lines) - len(tree) + 1]
    check(note and all(n.startswith('#') for n in note) and
          'README.Debian' in ' '.join(note), 'the note: %s' % note)
    for got, orig in zip(lines[len(note) + 1:], tree[1:]):
        m = re.match(r'#([a-z_]+) =', orig)
        if m and m.group(1) in keys:
            check(got == keys[m.group(1)], '%r for %r' % (got, orig))
        else:
            check(got == orig, '%r for %r' % (got, orig))
    spfpd = pkg.path('usr/sbin/spfpd')
    p = run([spfpd, '-n', '-c', pkg.path('etc/spfpd/spfpd.conf')])
    check(p.returncode == 0 and 'configuration OK' in p.stdout,
          'spfpd -n: ' + p.stdout)
    p = run([spfpd, '-p', '-c', pkg.path('etc/spfpd/spfpd.conf')])
    for line in daemon:
        check(line in p.stdout.splitlines(), 'spfpd -p has no %r' % line)


def t_spawn_packaged_conf(pkg):
    """Spawn mode with the packaged file: run as an ordinary user (as
    spawn(8) runs it), --stdio ignores listen, socket_* and user."""
    pkg.need()
    p = run(['setpriv', '--reuid', 'nobody', '--regid', 'nogroup',
             '--clear-groups', pkg.path('usr/sbin/spfpd'), '--stdio', '-c',
             pkg.path('etc/spfpd/spfpd.conf')], timeout=30,
            input='request=smtpd_access_policy\nprotocol_state=RCPT\n'
            'client_address=127.0.0.1\nsender=a@example.com\n\n')
    check(p.returncode == 0 and p.stdout == 'action=DUNNO\n\n',
          'exit %d: %r' % (p.returncode, p.stdout))


def t_readme_debian(pkg):
    """The lines of contrib/postfix/ that tests/postfixtest.py runs, each
    block as it is (white space aside), with /usr/sbin."""
    pkg.need()
    name = [p for p in pkg.listing
            if p.startswith('usr/share/doc/spfpd/README.Debian')][0]
    text = words(pkg.read(name))

    def block(src):
        body = [line for line in src.splitlines()
                if line.strip() and not line.startswith('#')]
        return words('\n'.join(body)).replace('/usr/local/sbin/',
                                              '/usr/sbin/')
    mcf = pkg.contrib('postfix', 'main.cf')
    # main.cf: each setting of the file as one block
    for part in re.split(r'\n(?=[a-z])', '\n'.join(
            line for line in mcf.splitlines()
            if line.strip() and not line.startswith('#'))):
        check(words(part) in text, 'README.Debian lacks %r' % words(part))
    for src in (pkg.contrib('postfix', 'master.cf'),
                pkg.contrib('postfix', 'spfpd.conf')):
        check(block(src) in text, 'README.Debian lacks %r' % block(src))
    check('/usr/local' not in text, 'README.Debian names /usr/local')


def t_lintian(pkg):
    """No E: line; every tag shown (I: and pedantic P: too, overridden
    ones as O:) as a "#" comment."""
    pkg.need()
    p = subprocess.run(['lintian', '--display-info', '--pedantic',
                        '--show-overrides', pkg.changes],
                       capture_output=True, text=True, timeout=600)
    pkg.log('--- lintian %s\n%s%s' % (os.path.basename(pkg.changes),
                                      p.stdout, p.stderr))
    tags = [line for line in p.stdout.splitlines()
            if re.match(r'[EWIPXO]: ', line)]
    for t in tags:
        print('# lintian ' + t)
    errors = [t for t in tags if t.startswith('E: ')]
    check(not errors, '%d errors: %s' % (len(errors), errors[:3]))
    check(p.returncode == 0, 'lintian exited %d: %s' % (
        p.returncode, (p.stdout + p.stderr)[-300:]))


def postfix(pkg, suite):
    """tests/postfixtest.py against the extracted binary; its results as
    postfix/NAME, each counted."""
    try:
        pkg.need()
    except Fail as e:
        suite.result('postfix', False, str(e))
        return
    logpath = os.path.join(pkg.tmp, 'postfix.log')
    try:
        p = run([PYTHON, os.path.join(pkg.src, 'tests', 'postfixtest.py'),
                 '--spfpd', pkg.path('usr/sbin/spfpd'), '--log', logpath],
                timeout=POSTFIX_TIMEOUT)
        out = p.stdout
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b'').decode('utf-8', 'replace')
        out += '\npostfixtest.py timed out after %ds' % POSTFIX_TIMEOUT
        p = None
    if os.path.exists(logpath):
        with open(logpath) as f:
            pkg.log('--- postfixtest.py log\n' + f.read())
    pkg.log('--- postfixtest.py\n' + out)
    closing = None
    for line in out.splitlines():
        m = re.match(r'(ok|FAIL) (\S+?):?( .*)?$', line)
        if m:
            suite.result('postfix/' + m.group(2), m.group(1) == 'ok',
                         (m.group(3) or '').strip())
        elif re.match(r'postfix: \d+ passed, \d+ failed', line):
            closing = line
        elif line.startswith('#'):
            print(line)
    if p is None or p.returncode != 0 or closing is None:
        suite.result('postfix', False, 'postfixtest.py: exit %s, %s' % (
            p and p.returncode, closing or out[-300:]))


class Suite:
    def __init__(self, logf):
        self.logf = logf
        self.passed = self.failed = 0

    def test(self, name, fn, arg):
        self.logf.write('=== %s\n' % name)
        self.count(run_test(name, fn, arg, self.logf))

    def result(self, name, ok, why):
        print('ok %s' % name if ok else 'FAIL %s: %s' % (name, why))
        sys.stdout.flush()
        self.count(ok)

    def count(self, ok):
        if ok:
            self.passed += 1
        else:
            self.failed += 1


TESTS = [('build', t_build),
         ('tree_untouched', t_tree_untouched),
         ('control', t_control),
         ('files', t_files),
         ('conffiles', t_conffiles),
         ('maintainer_scripts', t_maintainer_scripts),
         ('units', t_units),
         ('man_pages', t_man_pages),
         ('config', t_config),
         ('spawn_packaged_conf', t_spawn_packaged_conf),
         ('readme_debian', t_readme_debian),
         ('lintian', t_lintian)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.strip().split('\n')[0])
    ap.add_argument('--build-dir', required=True,
                    help='the make B= directory: the package is built in '
                    'BUILD/deb/')
    ap.add_argument('--log', default='/dev/null',
                    help='build, lintian and Postfix output (appended)')
    ap.add_argument('--only', help='run only the test of this name (and '
                    'the build)')
    ap.add_argument('--no-build', action='store_true',
                    help='check the package already in BUILD/deb/')
    args = ap.parse_args()
    logf = open(args.log, 'a')
    suite = Suite(logf)
    pkg = Package(args, logf)
    try:
        for name, fn in TESTS:
            if args.only and name not in (args.only, 'build'):
                continue
            suite.test(name, fn, pkg)
        if not args.only or args.only == 'postfix':
            postfix(pkg, suite)
    finally:
        pkg.cleanup()
    print('deb: %d passed, %d failed' % (suite.passed, suite.failed))
    sys.stdout.flush()
    return 0 if suite.failed == 0 else 1


if __name__ == '__main__':
    sys.exit(main())
