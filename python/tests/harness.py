"""A tiny test harness (no pytest on Debian's python by default): register with @test, run all,
print one line per failure and a closing count."""

import os
import sys
import traceback

_TESTS = []


def test(fn):
    _TESTS.append(fn)
    return fn


class Skip(Exception):
    pass


def check(cond, msg="check failed"):
    if not cond:
        raise AssertionError(msg)


def raises(exc, fn, *a, arg=None, **kw):
    """fn(*a, **kw) must raise exc (and name `arg` when given). Returns the exception."""
    try:
        fn(*a, **kw)
    except exc as e:
        if arg is not None and getattr(e, "arg", None) != arg:
            raise AssertionError("%s raised with arg=%r, expected %r: %s"
                                 % (type(e).__name__, getattr(e, "arg", None), arg, e))
        return e
    except Exception as e:  # noqa: BLE001 - report the wrong type
        raise AssertionError("expected %s, got %s: %s" % (exc.__name__, type(e).__name__, e))
    raise AssertionError("expected %s, nothing raised" % exc.__name__)


def run(label):
    passed = failed = skipped = 0
    only = os.environ.get("CODELAY_TEST_ONLY")
    for fn in _TESTS:
        if only and only not in fn.__name__:
            continue
        try:
            n = fn()
            passed += n if isinstance(n, int) and n > 0 else 1
        except Skip as s:
            skipped += 1
            print("%s: SKIP %s: %s" % (label, fn.__name__, s))
        except Exception:  # noqa: BLE001
            failed += 1
            print("%s: FAIL %s" % (label, fn.__name__))
            traceback.print_exc(file=sys.stdout)
    print("%s: %d passed, %d failed, %d skipped" % (label, passed, failed, skipped))
    return failed
