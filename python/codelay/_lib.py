"""Loading the shared library and declaring its C prototypes (ctypes, no compiler needed).

Search order: the file named by the environment variable ``CODELAY_LIBRARY`` (an explicit
choice: if it cannot be loaded we fail rather than silently pick another copy), then a
``libcodelay.so*`` sitting next to this package, then ``<prefix>/lib/libcodelay.so.0`` when the
package is installed as ``<prefix>/lib/python3/dist-packages/codelay``, then the system loader
(``libcodelay.so.0``, the SONAME: ld.so.cache / LD_LIBRARY_PATH).
"""

import ctypes
import ctypes.util
import glob
import os
import sys

ABI_MAJOR = 0  # the package speaks the 0.x ABI (SONAME libcodelay.so.0)

_HERE = os.path.dirname(os.path.abspath(__file__))


class View(ctypes.Structure):
    """struct codelay_view (72 bytes on every 64-bit target)."""

    _fields_ = [
        ("data", ctypes.c_void_p),
        ("dtype", ctypes.c_int32),
        ("flags", ctypes.c_int32),
        ("batch", ctypes.c_int64),
        ("streams", ctypes.c_int64),
        ("steps", ctypes.c_int64),
        ("inner", ctypes.c_int64),
        ("stride", ctypes.c_int64 * 3),
    ]


class WeightSpec(ctypes.Structure):
    """struct codelay_weight_spec."""

    _fields_ = [
        ("stream_weight", ctypes.c_void_p),
        ("pad_weight", ctypes.c_void_p),
        ("pad_ids", ctypes.c_void_p),
        ("n_pad_ids", ctypes.c_int32),
        ("use_ignore_id", ctypes.c_int32),
        ("ignore_id", ctypes.c_int64),
    ]


def _candidates():
    env = os.environ.get("CODELAY_LIBRARY")
    if env:
        return [env], True
    names = []
    if sys.platform == "darwin":
        pats = ["libcodelay*.dylib"]
    elif os.name == "nt":
        pats = ["codelay*.dll", "libcodelay*.dll"]
    else:
        pats = ["libcodelay.so.0", "libcodelay.so", "libcodelay.so.*"]
    for pat in pats:
        for p in sorted(glob.glob(os.path.join(_HERE, pat))):
            if p not in names:
                names.append(p)
    if os.name == "posix" and sys.platform != "darwin":
        # installed by cmake as <prefix>/lib/python3/dist-packages/codelay: <prefix>/lib
        prefix_lib = os.path.normpath(os.path.join(_HERE, "..", "..", "..", "libcodelay.so.0"))
        if os.path.exists(prefix_lib):
            names.append(prefix_lib)
        names.append("libcodelay.so.0")
    found = ctypes.util.find_library("codelay")
    if found:
        names.append(found)
    return names, False


def _load():
    names, explicit = _candidates()
    errors = []
    for name in names:
        try:
            return ctypes.CDLL(name), name
        except OSError as e:
            errors.append("%s (%s)" % (name, e))
            if explicit:
                break
    where = "CODELAY_LIBRARY=%s" % names[0] if explicit else "next to the package or on the system path"
    raise ImportError(
        "codelay: cannot load the shared library %s; tried: %s. Build it (cmake) and set "
        "CODELAY_LIBRARY=/path/to/libcodelay.so" % (where, "; ".join(errors) or "nothing")
    )


lib, path = _load()

_i32, _i64, _vp = ctypes.c_int32, ctypes.c_int64, ctypes.c_void_p
_cp = ctypes.c_char_p


def _proto(name, restype, *argtypes):
    f = getattr(lib, name)
    f.restype = restype
    f.argtypes = argtypes
    return f


# Struct arguments are declared as void* so the hot path can hand over raw addresses (ints)
# or ctypes buffers without building pointer objects on every call.
version = _proto("codelay_version", ctypes.c_uint32)
status_string = _proto("codelay_status_string", _cp, ctypes.c_int)
pattern_create = _proto("codelay_pattern_create", ctypes.c_int, _vp, _i64, _vp, _i64)
pattern_destroy = _proto("codelay_pattern_destroy", None, _vp)
pattern_max_offset = _proto("codelay_pattern_max_offset", _i64, _vp)
delay = _proto("codelay_delay", ctypes.c_int, _vp, _vp, _vp, _vp, _vp, _vp)
undelay = _proto("codelay_undelay", ctypes.c_int, _vp, _vp, _vp, _vp, _vp, _vp)
delay_regions = _proto("codelay_delay_regions", ctypes.c_int, _vp, _i64, _vp, _vp)
loss_weights = _proto("codelay_loss_weights", ctypes.c_int, _vp, _vp, _i64, _vp, _vp, _vp, _vp)
stream_create = _proto("codelay_stream_create", ctypes.c_int, _vp, _vp, _i32, _i32, _i64, _vp)
stream_destroy = _proto("codelay_stream_destroy", None, _vp)
stream_push = _proto("codelay_stream_push", ctypes.c_int, _vp, _vp, _vp, _vp, _vp)
stream_flush = _proto("codelay_stream_flush", ctypes.c_int, _vp, _vp, _vp, _vp)
stream_reset = _proto("codelay_stream_reset", ctypes.c_int, _vp)
backend_name = _proto("codelay_backend_name", _cp)
backend_select = _proto("codelay_backend_select", ctypes.c_int, _cp)
backend_supported = _proto("codelay_backend_supported", ctypes.c_int, _cp)

_v = version()
if (_v >> 16) != ABI_MAJOR:
    raise ImportError(
        "codelay: %s is version %d.%d.%d, this package needs %d.x"
        % (path, _v >> 16, (_v >> 8) & 255, _v & 255, ABI_MAJOR)
    )
