"""harness.py - what the integration test drivers (spftest.py,
postfixtest.py, hostiletest.py) share: the failure exception, check(),
and running one test with the output tests/summary.sh reads ("ok NAME"
or "FAIL NAME: why").  tests/blackbox.py keeps its own, richer harness.
"""
import sys
import traceback


class Fail(Exception):
    """The test failed; the message says why."""


def check(cond, why):
    if not cond:
        raise Fail(why)


def run_test(name, fn, arg, logf):
    """Run fn(arg) as test NAME and print its line; the traceback of an
    unexpected exception goes to logf.  True when the test passed."""
    try:
        fn(arg)
        print('ok %s' % name)
        return True
    except Fail as e:
        print('FAIL %s: %s' % (name, e))
    except Exception:
        print('FAIL %s: %s' % (name, traceback.format_exc()
                               .strip().splitlines()[-1]))
        logf.write(traceback.format_exc())
    finally:
        sys.stdout.flush()
    return False
