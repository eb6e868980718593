#!/usr/bin/python3
"""suite2cases.py - the openspf test suites (rfc7208-tests.yml,
rfc4408-tests.yml) as spfdiff cases (tests/diff/FORMAT).

Each test becomes one case whose id is "<suite>:<test name>"; the expected
results go to a side file, one line per case:

    <id> <result>[,<result>...] <explanation-hex|->

with the suite's default explanation "DEFAULT" written as spfdiff's
"spfdiff-default".  The zone data keeps the semantics of pyspf's suite driver
(testspf.py): SPF records are served as TXT unless the name has TXT records
of its own, "NONE" entries add nothing but the name, a bare TIMEOUT times
out every type that no entry before it answers, {TYPE: TIMEOUT} times out
that type.  Names FORMAT cannot write (with spaces) are left out and listed
on stderr.

Usage:
  suite2cases.py SUITE.yml [-o CASES] [--expect FILE]
  suite2cases.py SUITE.yml --check [--spfdiff build/spfdiff] [-v]
      evaluate the cases with pyspf through spfdiff.py's fake DNS (and the
      C binary with --spfdiff) and compare with the suite's expectations;
      the last line is "<suite> via FORMAT: pyspf N/M[, spfdiff N/M]".
"""
import argparse
import os
import sys

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import spfdiff                                          # noqa: E402

QTYPES = ('TXT', 'A', 'AAAA', 'MX', 'PTR')


def entries_of(recs):
    """A zonedata list -> [(TYPE, value) or 'TIMEOUT'], in order, SPF
    records added as TXT at the end when the name has no TXT (testspf.py's
    getrdata), NONE values dropped."""
    out = []
    gen = []
    has_txt = False
    for rec in recs or []:
        if rec == 'TIMEOUT':
            out.append('TIMEOUT')
            continue
        for rtype, value in rec.items():
            rtype = rtype.upper()
            if rtype == 'TXT':
                has_txt = True
            if value == 'NONE':
                continue
            if rtype == 'SPF':
                gen.append(('TXT', value))
                continue
            out.append((rtype, value))
    if not has_txt:
        out.extend(gen)
    return out


def answer(entries, qtype):
    """testspf.py's DNSLookup for one name: 'timeout' or [values]"""
    timeout = True
    values = []
    for e in entries:
        if e == 'TIMEOUT':
            if timeout:
                return 'timeout'
            break
        t, v = e
        if t == qtype:
            timeout = False
            if v == 'TIMEOUT':
                return 'timeout'
            values.append(v)
    return values


def txt_strings(value):
    parts = value if isinstance(value, (list, tuple)) else [value]
    out = []
    for p in parts:
        b = p if isinstance(p, bytes) else str(p).encode('utf-8')
        out.extend([b[i:i + 255] for i in range(0, len(b), 255)] or [b''])
    return out


def host(v):
    """a name as FORMAT writes it; the root (a null MX) as '.'"""
    return str(v).lower().rstrip('.') or '.'


def zone_records(zonedata, case, skipped):
    for raw, recs in (zonedata or {}).items():
        name = host(raw)
        if name == '.' or ' ' in name:
            skipped.append(str(raw))
            continue
        entries = entries_of(recs)
        for e in entries:
            if e != 'TIMEOUT' and e[0] == 'CNAME' and e[1] != 'TIMEOUT':
                case.rrs.append((name, 'CNAME', 300, host(e[1])))
        wrote = False
        for qtype in QTYPES:
            a = answer(entries, qtype)
            if a == 'timeout':
                case.timeouts.append((name, qtype))
                continue
            for v in a:
                wrote = True
                if qtype == 'TXT':
                    case.rrs.append((name, 'TXT', 300, txt_strings(v)))
                elif qtype == 'MX':
                    case.rrs.append((name, 'MX', 300, (int(v[0]), host(v[1]))))
                elif qtype == 'PTR':
                    case.rrs.append((name, 'PTR', 300, host(v)))
                else:
                    case.rrs.append((name, qtype, 300, str(v)))
        if not wrote and not any(e != 'TIMEOUT' and e[0] == 'CNAME'
                                 for e in entries):
            # the name exists without records: NODATA for every type
            for qtype in QTYPES:
                if (name, qtype) not in case.timeouts:
                    case.rcodes.append((name, qtype, 0))


def convert(path):
    """-> [(case, expected results, expected explanation bytes or None)]"""
    suite = os.path.basename(path).split('-')[0]
    out = []
    with open(path) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    for doc in docs:
        warned = False
        for tname, test in doc.get('tests', {}).items():
            mailfrom = test.get('mailfrom', '')
            case = spfdiff.Case('%s:%s' % (suite, tname), str(test['host']),
                                str(test.get('helo', '')).encode('utf-8'),
                                mailfrom.encode('utf-8') if mailfrom
                                else None)
            skipped = []
            zone_records(doc.get('zonedata'), case, skipped)
            if skipped and not warned:
                sys.stderr.write('%s: names FORMAT cannot write, left out '
                                 'of its scenario: %s\n' % (
                                     case.id, ', '.join(skipped)))
                warned = True
            want = test['result']
            want = want if isinstance(want, list) else [want]
            exp = test.get('explanation')
            if exp is not None:
                exp = ('spfdiff-default' if exp == 'DEFAULT' else
                       exp).encode('utf-8')
            out.append((case, want, exp))
    return out


def verdict(ans, want, exp):
    res, got_exp = ans
    if res not in want:
        return False
    if exp is not None and res == 'fail':
        return got_exp == exp
    return True


def main():
    ap = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('suite')
    ap.add_argument('-o', '--output', help='cases file (default stdout)')
    ap.add_argument('--expect', help='side file of expected results')
    ap.add_argument('--check', action='store_true')
    ap.add_argument('--spfdiff', help='with --check: also the C binary')
    ap.add_argument('-v', '--verbose', action='store_true')
    args = ap.parse_args()
    items = convert(args.suite)
    name = os.path.basename(args.suite).split('-')[0]
    if not args.check:
        text = ''.join(c.text() for c, _, _ in items)
        if args.output:
            with open(args.output, 'w') as f:
                f.write(text)
        else:
            sys.stdout.write(text)
        if args.expect:
            with open(args.expect, 'w') as f:
                for c, want, exp in items:
                    f.write('%s %s %s\n' % (c.id, ','.join(want),
                                            exp.hex() if exp else '-'))
        return 0
    c_answers = None
    if args.spfdiff:
        c_answers = spfdiff.run_c(spfdiff.c_command(args.spfdiff),
                                  [c for c, _, _ in items])
    py_ok = c_ok = 0
    for case, want, exp in items:
        # a text round trip, so that the cases are what the file would hold
        case = spfdiff.parse_cases(case.text())[0]
        py = spfdiff.pyspf_check(case)
        ok = verdict(py, want, exp)
        py_ok += ok
        line = '%s %s: want %s%s; pyspf %s' % (
            'ok  ' if ok else 'FAIL', case.id, ','.join(want),
            ' %r' % exp.decode('latin-1') if exp else '', spfdiff.show(py))
        if c_answers is not None:
            c = c_answers.get(case.id, ('spfdiff-error', b'no answer'))
            cok = verdict(c, want, exp)
            c_ok += cok
            line += '; spfdiff %s%s' % (spfdiff.show(c),
                                        '' if cok else ' (FAIL)')
            ok = ok and cok
        if args.verbose or not ok:
            print(line)
    summary = '%s via FORMAT: pyspf %d/%d' % (name, py_ok, len(items))
    if c_answers is not None:
        summary += ', spfdiff %d/%d' % (c_ok, len(items))
    print(summary)
    return 0


if __name__ == '__main__':
    sys.exit(main())
