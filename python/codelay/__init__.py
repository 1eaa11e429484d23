"""codelay: SIMD delay-pattern kernels for multi-stream token language models, from Python.

    import numpy as np, codelay
    delayed = codelay.delay(codes, delays=[0, 0, 1, 1], lead=0, head=[32000, 2048, 2048, 2048])
    values, mask = codelay.undelay(delayed, delays=[0, 0, 1, 1])
    codelay.presets.moshi(n_q=8).delay(codes)

numpy arrays and CPU torch tensors go in without a copy (any strides); results are new arrays of
the same kind, or the out= array you pass. Errors raise codelay.CodelayError subclasses that carry
the C status name (.status_name) and the offending argument (.arg).
"""

from ._errors import (
    CodelayError,
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
from ._core import (
    Pattern,
    pattern,
    delay,
    undelay,
    regions,
    loss_weights,
    Stream,
    backend,
    select_backend,
    supported_backends,
    version,
    library_path,
)
from . import presets

__version__ = "0.1.0"

HEAD, DATA, TAIL = 0, 1, 2  # the values of regions()

__all__ = [
    "CodelayError", "NullError", "ShapeError", "DelayError", "DtypeError", "RangeError",
    "AliasError", "NoMemError", "BackendError", "StateError", "ArgError",
    "Pattern", "pattern", "delay", "undelay", "regions", "loss_weights", "Stream",
    "backend", "select_backend", "supported_backends", "version", "library_path", "presets",
    "HEAD", "DATA", "TAIL",
]
