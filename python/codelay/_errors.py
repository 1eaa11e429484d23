"""Exceptions: one class per C status, all subclasses of CodelayError.

Each also derives from the built-in exception a Python programmer would expect to catch
(ValueError for shapes, TypeError for dtypes, ...), so ``except ValueError`` keeps working.
"""

NAMES = {
    0: "CODELAY_OK",
    -1: "CODELAY_ERR_NULL",
    -2: "CODELAY_ERR_SHAPE",
    -3: "CODELAY_ERR_DELAY",
    -4: "CODELAY_ERR_DTYPE",
    -5: "CODELAY_ERR_RANGE",
    -6: "CODELAY_ERR_ALIAS",
    -7: "CODELAY_ERR_NOMEM",
    -8: "CODELAY_ERR_BACKEND",
    -9: "CODELAY_ERR_STATE",
    -10: "CODELAY_ERR_ARG",
}


class CodelayError(Exception):
    """An error reported by codelay.

    Attributes: ``status`` (the C status, e.g. -2), ``status_name`` (e.g. "CODELAY_ERR_SHAPE"),
    ``arg`` (the name of the offending argument when known, else None).
    """

    status = None

    def __init__(self, message, arg=None, status=None):
        if status is not None:
            self.status = status
        self.status_name = NAMES.get(self.status, "CODELAY_ERR_%s" % self.status)
        self.arg = arg
        super().__init__("%s: %s" % (self.status_name, message))


class NullError(CodelayError, ValueError):
    status = -1


class ShapeError(CodelayError, ValueError):
    status = -2


class DelayError(CodelayError, ValueError):
    status = -3


class DtypeError(CodelayError, TypeError):
    status = -4


class RangeError(CodelayError, OverflowError):
    status = -5


class AliasError(CodelayError, ValueError):
    status = -6


class NoMemError(CodelayError, MemoryError):
    status = -7


class BackendError(CodelayError, ValueError):
    status = -8


class StateError(CodelayError, RuntimeError):
    status = -9


class ArgError(CodelayError, ValueError):
    status = -10


BY_STATUS = {
    c.status: c
    for c in (
        NullError,
        ShapeError,
        DelayError,
        DtypeError,
        RangeError,
        AliasError,
        NoMemError,
        BackendError,
        StateError,
        ArgError,
    )
}


def from_status(status, message, arg=None):
    cls = BY_STATUS.get(status)
    if cls is None:
        return CodelayError(message, arg=arg, status=status)
    return cls(message, arg=arg)
