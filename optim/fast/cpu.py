r"""Fused CPU kernels: a kernel function compiled to one C loop, bitwise equal to NumPy.

On NumPy each line of an in-place formula is one pass over the chunk (14 for
Adam), while PyTorch's fused CPU kernels read and write every array once.
NumPy cannot fuse, so this module does for the CPU what ``cupy.fuse`` does for
the GPU: it takes a *kernel function* of :mod:`optim.fast.kernels` (the
formula's lines written once as array code of ``xp`` with ``out=``) and
compiles it into one C function with one loop over the elements.

Tracing
    The kernel function is run once with a tracing ``xp`` (:class:`_Tracer`):
    its arrays and scalars are symbols, and each operation (``add``,
    ``subtract``, ``multiply``, ``divide``, ``sqrt``, ``negative``,
    ``maximum``) appends one C line ``const T tK = <a> op <b>;``, in the
    order the function calls them. ``out=arr`` makes the result the array's
    new value: a later read of ``arr`` sees it, as in NumPy, and the loop
    stores it at the end of the iteration. Nothing but the kernel function
    describes the formula: there is no hand-written C per optimizer.

Why the results are bitwise NumPy's
    Every operation is an IEEE operation of the array's type (``float`` for
    float32, ``double`` for float64; scalars are passed in that type, as the
    NumPy path passes ``dtype.type(x)``), one rounding each, in the traced
    order: NumPy's passes do exactly that, one array at a time. Three things
    could break it, and are ruled out:

    * the compiler contracting ``a * b + c`` into a fused multiply-add (one
      rounding instead of two): ``-ffp-contract=off`` forbids it (GCC
      contracts by default, even across statements);
    * reassociation and the like: no ``-ffast-math``. ``-fno-math-errno``
      only lets ``sqrt`` become the (correctly rounded) instruction without
      a library call to set ``errno``, so the loop vectorizes;
    * ``maximum``: C's ``fmax`` *drops* a NaN, ``np.maximum`` propagates it.
      The generated ``maximum`` returns ``a`` if ``a`` is NaN, else
      ``a > b ? a : b``: a NaN in either propagates (the first one's when
      both are) and of two equal values (``+0``, ``-0``) the second is
      returned, as NumPy's loops do.

    What is left is the sign bit of a NaN result (and which of two NaNs an
    operation returns): IEEE 754 leaves it unspecified, and compilers use
    that freedom (GCC folds ``-a + b`` into ``b - a`` and orders the
    operands of ``+`` and ``*`` as it likes; NumPy's own loops are compiled
    the same way). A NaN comes out as a NaN in the same place; only that bit
    may differ (``tests/optim/test_fast_cpu_kernels.py`` checks every other
    bit, on data full of NaNs, infinities, signed zeros and subnormals).

Compiling and the cache
    The C source is compiled with the machine's compiler (``CC``, else
    ``cc``, else ``gcc``) into a shared object that :mod:`ctypes` loads
    (a ``ctypes`` call releases the GIL, so the flat path's threads run
    kernels at the same time). Shared objects are cached in
    ``MINIGRAD_CACHE_DIR`` (default ``~/.cache/minigrad/kernels``; a
    directory that cannot be written falls back to a private temporary one),
    named by a hash of everything that decides the binary: the C source, the
    compiler command, the compiler's version and the machine. The machine is
    in the key because ``-march=native`` builds for this CPU (AVX2/AVX-512
    divisions and square roots, the compute cost of these loops): a home
    directory shared with another machine must not load a binary made for
    different instructions. A shared object is compiled under a temporary
    name in the cache directory and renamed into place (``os.replace``), so
    a reader never loads half a file.

Falling back
    A kernel is compiled at its first call for a dtype (float32 or float64).
    If the compiler is missing or fails, a warning says so once and the
    kernel raises :class:`~optim.fast.kernels.KernelUnavailable` from then
    on: the flat path runs the NumPy in-place twin instead (the same
    numbers). So does any call the kernel does not cover: another dtype,
    an array that is not C-contiguous, arrays that overlap, a scalar of
    another dtype. ``MINIGRAD_CPU_FUSED=0`` turns the kernels off.
"""
from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import shlex
import shutil
import subprocess
import tempfile
import threading
import warnings

import numpy as np

from minigrad import atomic

from .kernels import KernelUnavailable

__all__ = ["CFLAGS", "PRELUDE", "CpuKernel", "c_function", "c_source", "cache_dir", "compiler", "enabled", "failures",
           "pointer", "precompile"]

CFLAGS = ("-O3", "-std=c11", "-fPIC", "-shared", "-ffp-contract=off", "-fno-math-errno", "-march=native")
"""The compiler flags: see the module docstring for ``-ffp-contract=off``, ``-fno-math-errno`` and
``-march=native`` (no ``-ffast-math``: it would reorder and contract operations)."""

C_TYPES = {np.dtype(np.float32): ("float", "sqrtf", ctypes.c_float),
           np.dtype(np.float64): ("double", "sqrt", ctypes.c_double)}
"""The dtypes a kernel is compiled for: C type, square root, ctypes type."""

failures: dict = {}
"""Kernels (name and dtype) that could not be compiled, with the reason: their steps ran
the in-place twin instead (a warning said so once)."""


def enabled() -> bool:
    """Whether the flat path uses compiled kernels on the CPU (``MINIGRAD_CPU_FUSED=0`` turns them off)."""
    return os.environ.get("MINIGRAD_CPU_FUSED", "1") != "0"


# ---------------------------------------------------------------------------
# tracing: the kernel function run on symbols
# ---------------------------------------------------------------------------

class _Value:
    """A symbolic element: the result of an operation (a C temporary) or a scalar argument."""

    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name


class _Array:
    """An array argument: ``current`` names its value now (its loaded element until an ``out=`` write)."""

    __slots__ = ("index", "current", "read", "written")

    def __init__(self, index):
        self.index, self.current = index, f"x{index}"
        self.read = self.written = False


class _Tracer:
    """The ``xp`` a kernel function is traced with: each operation appends one C line."""

    __name__ = "minigrad_cpu_tracer"

    def __init__(self, ctype, sqrt):
        self.ctype, self.sqrt_name, self.lines = ctype, sqrt, []

    def _arg(self, x):
        if isinstance(x, _Array):
            if x.current == f"x{x.index}":
                x.read = True                 # the element must be loaded
            return x.current
        if isinstance(x, _Value):
            return x.name
        raise TypeError(f"a CPU kernel function may only compute with its arguments and results, got "
                        f"{type(x).__name__} {x!r}")

    def _emit(self, expr, out):
        name = f"t{len(self.lines)}"
        self.lines.append(f"const {self.ctype} {name} = {expr};")
        if out is None:
            return _Value(name)
        if not isinstance(out, _Array):
            raise TypeError(f"out= must be one of the kernel function's array arguments, got {type(out).__name__}")
        out.current, out.written = name, True    # later reads see the new value, as in NumPy
        return out

    def add(self, a, b, out=None):
        return self._emit(f"{self._arg(a)} + {self._arg(b)}", out)

    def subtract(self, a, b, out=None):
        return self._emit(f"{self._arg(a)} - {self._arg(b)}", out)

    def multiply(self, a, b, out=None):
        return self._emit(f"{self._arg(a)} * {self._arg(b)}", out)

    def divide(self, a, b, out=None):
        return self._emit(f"{self._arg(a)} / {self._arg(b)}", out)

    def sqrt(self, a, out=None):
        return self._emit(f"{self.sqrt_name}({self._arg(a)})", out)

    def negative(self, a, out=None):
        return self._emit(f"-{self._arg(a)}", out)

    def maximum(self, a, b, out=None):
        return self._emit(f"minigrad_maximum_{self.ctype}({self._arg(a)}, {self._arg(b)})", out)


PRELUDE = "\n".join([
    "/* generated by optim.fast.cpu from the kernel functions of optim.fast.kernels */",
    "#include <math.h>",
    "#include <stddef.h>",
    "#include <stdint.h>",
    "",
    "/* np.maximum: a NaN in either argument propagates (fmax would drop it); otherwise a > b ? a : b,",
    "   so of two equal values (+0.0, -0.0) the second is returned, as NumPy's loops do. */",
    "static inline float minigrad_maximum_float(float a, float b) { return (a != a || a > b) ? a : b; }",
    "static inline double minigrad_maximum_double(double a, double b) { return (a != a || a > b) ? a : b; }",
    "",
    "/* Whether two arrays of `bytes` bytes share memory: the loop reads an element of every array",
    "   before it writes any, which is NumPy's order (one whole array after the other) only if they do not. */",
    "static int minigrad_overlap(const void *a, const void *b, size_t bytes)",
    "{",
    "    uintptr_t x = (uintptr_t)a, y = (uintptr_t)b;",
    "    return bytes && x < y + bytes && y < x + bytes;",
    "}",
    "",
])
"""What every generated file starts with: the headers and the helpers the functions use."""


def c_function(fn_name, builder, flags, dtype, n_arrays, n_scalars, title=""):
    """The C function of the kernel function ``builder(xp, **flags)`` for ``dtype`` (after :data:`PRELUDE`).

    ``int fn_name(ptrdiff_t n, T *a0, ..., T s0, ...)``: one loop over ``i``
    that loads the elements the function reads, computes its operations in
    its order, one temporary each, and stores the arrays it wrote with ``out=``.
    It returns 1 without writing anything if two arrays overlap, else 0.
    """
    ctype, sqrt, _ = C_TYPES[np.dtype(dtype)]
    tracer = _Tracer(ctype, sqrt)
    arrays = [_Array(k) for k in range(n_arrays)]
    builder(tracer, **flags)(*arrays, *(_Value(f"s{k}") for k in range(n_scalars)))
    params = ["ptrdiff_t n"]
    params += [f"{'' if a.written else 'const '}{ctype} *restrict a{a.index}" for a in arrays]
    params += [f"{ctype} s{k}" for k in range(n_scalars)]
    pairs = [f"minigrad_overlap(a{j}, a{k}, bytes)" for j in range(n_arrays) for k in range(j + 1, n_arrays)]
    body = [f"const {ctype} x{a.index} = a{a.index}[i];" for a in arrays if a.read]
    body += tracer.lines
    body += [f"a{a.index}[i] = {a.current};" for a in arrays if a.written]
    scalar_params = "".join(f", {ctype} s{k}" for k in range(n_scalars))
    scalar_args = "".join(f", s{k}" for k in range(n_scalars))
    row = ", ".join(f"({ctype} *)p[{k}]" for k in range(n_arrays))
    return "\n".join([
        f"/* {title or fn_name}, {ctype} */",
        f"int {fn_name}({', '.join(params)})",
        "{",
        f"    const size_t bytes = (size_t)n * sizeof({ctype});",
        f"    if ({' || '.join(pairs) or '0'}) return 1;",
        "    (void)bytes;",
        "    for (ptrdiff_t i = 0; i < n; i++) {",
        *(f"        {line}" for line in body),
        "    }",
        "    return 0;",
        "}",
        "",
        f"/* the same on `count` chunks: n[c] elements at the {n_arrays} addresses p[c * {n_arrays} ...];",
        "   returns 0, or c + 1 if the arrays of chunk c overlap (chunks c, c + 1, ... are not done) */",
        f"int {fn_name}_many(ptrdiff_t count, const ptrdiff_t *n, const uintptr_t *p{scalar_params})",
        "{",
        f"    for (ptrdiff_t c = 0; c < count; c++, p += {n_arrays})",
        f"        if ({fn_name}(n[c], {row}{scalar_args})) return (int)(c + 1);",
        "    return 0;",
        "}",
        "",
    ])


def c_source(fn_name, builder, flags, dtype, n_arrays, n_scalars, title=""):
    """A whole C file with the one function :func:`c_function` makes."""
    return PRELUDE + c_function(fn_name, builder, flags, dtype, n_arrays, n_scalars, title)


# ---------------------------------------------------------------------------
# the compiler and the cache
# ---------------------------------------------------------------------------

_lock = threading.RLock()
_compilers: dict = {}       # (CC, PATH) -> the compiler command, or None
_versions: dict = {}        # compiler command -> its version line, or an Exception
_loaded: dict = {}          # shared object path -> ctypes.CDLL
_fallback_dir = None
compile_count = [0]         # compilations in this process (a cache hit loads without compiling)


def compiler():
    """The C compiler command (a list): ``CC`` (split like a shell), else ``cc``, else ``gcc``; None if none."""
    key = (os.environ.get("CC", "").strip(), os.environ.get("PATH", ""))
    if key not in _compilers:
        if key[0]:
            _compilers[key] = shlex.split(key[0])
        else:
            path = shutil.which("cc") or shutil.which("gcc")
            _compilers[key] = [path] if path else None
    return _compilers[key]


def _version(cc):
    """The compiler's first ``--version`` line (part of the cache key); raises if it does not run."""
    key = tuple(cc)
    if key not in _versions:
        try:
            done = subprocess.run([*cc, "--version"], capture_output=True, text=True, timeout=60)
            if done.returncode != 0:
                raise RuntimeError(f"{shlex.join(cc)} --version exited with {done.returncode}: "
                                   f"{done.stderr.strip()[:300]}")
            _versions[key] = done.stdout.strip().splitlines()[0] if done.stdout.strip() else ""
        except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
            _versions[key] = exc
    result = _versions[key]
    if isinstance(result, Exception):
        raise result
    return result


def _machine():
    """What the binary is built for: the architecture and, since ``-march=native``, the CPU's features."""
    features = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith(("flags", "Features")):      # x86, ARM
                    features = line.split(":", 1)[1].strip()
                    break
    except OSError:
        features = platform.processor()
    return f"{platform.system()} {platform.machine()} {features}"


def cache_dir():
    """Where shared objects go: ``MINIGRAD_CACHE_DIR`` or ``~/.cache/minigrad/kernels``, if it can be
    written; else a private temporary directory (one per process)."""
    global _fallback_dir
    path = os.environ.get("MINIGRAD_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache",
                                                                "minigrad", "kernels")
    try:
        os.makedirs(path, exist_ok=True)
        if os.access(path, os.W_OK | os.X_OK):
            return path
    except OSError:
        pass
    if _fallback_dir is None or not os.path.isdir(_fallback_dir):
        _fallback_dir = tempfile.mkdtemp(prefix="minigrad-kernels-")
    return _fallback_dir


def _build(source, stem, fn_names):
    """The loaded C functions ``fn_names`` of ``source``: from the cache, else compiled into it.

    The file is named ``stem`` and a hash of the source, the compiler command,
    its version and the machine: a different one of any of them is another file.
    """
    cc = compiler()
    if cc is None:
        raise RuntimeError("no C compiler found (set CC, or install cc or gcc)")
    # a compiler that does not know -march=native (some ARM ones) builds without it
    flag_sets = [CFLAGS] + ([tuple(f for f in CFLAGS if f != "-march=native")] if "-march=native" in CFLAGS else [])
    for attempt, flags in enumerate(flag_sets):
        command = [*cc, *flags]
        key = hashlib.sha256("\0".join([source, shlex.join(command), _version(cc), _machine()]).encode())
        directory = cache_dir()
        path = os.path.join(directory, f"{stem}-{key.hexdigest()[:24]}.so")
        with _lock:
            lib = _loaded.get(path)
            if lib is None:
                if not os.path.exists(path):
                    try:
                        _compile(command, source, path, directory)
                    except _CompileError:
                        if attempt + 1 < len(flag_sets):
                            continue
                        raise
                lib = _loaded[path] = ctypes.CDLL(path)
        return [getattr(lib, name) for name in fn_names]


class _CompileError(RuntimeError):
    """The compiler ran and failed (as opposed to not running at all)."""


def _compile(command, source, path, directory):
    """Compile ``source`` into ``path``: under a temporary name in the same directory, then renamed."""
    c_path = path[:-3] + ".c"
    atomic.write_text(c_path, source)            # kept next to the binary, for reading
    fd, tmp = tempfile.mkstemp(prefix=".", suffix=".so.tmp", dir=directory)
    os.close(fd)
    try:
        done = subprocess.run([*command, "-o", tmp, c_path, "-lm"], capture_output=True, text=True,
                              timeout=300)
        if done.returncode != 0:
            raise _CompileError(f"{shlex.join(command)} failed ({done.returncode}): {done.stderr.strip()[:500]}")
        os.replace(tmp, path)
        compile_count[0] += 1
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


# ---------------------------------------------------------------------------
# a compiled kernel
# ---------------------------------------------------------------------------

class CpuKernel:
    """A kernel function compiled per dtype at its first call: ``kernel(*arrays, *scalars)``.

    Called like the kernel function (arrays first, then scalars); it raises
    :class:`KernelUnavailable` before writing anything when it cannot run
    the call (then the caller runs the NumPy twin): a dtype other than
    float32/float64, a compile that failed (warned once), arrays that are
    not C-contiguous, of another dtype or size, or that overlap, or a scalar
    that is a NumPy scalar of another dtype (NumPy would compute in that one).
    """

    def __init__(self, builder, flags, name):
        self.builder, self.flags, self.name = builder, dict(flags), name
        self.compiled = {}            # dtype -> (C function, arrays, scalars, dtype, C function of many chunks)
        self.broken = {}              # dtype -> why it could not be compiled
        self.compiles = 0             # compilations (a cache hit loads without compiling)

    def _traced(self, dtype, args):
        """``(C function name, its source, number of arrays, number of scalars)`` for a call like ``args``."""
        n_arrays = next((k for k, a in enumerate(args) if not isinstance(a, np.ndarray)), len(args))
        n_scalars = len(args) - n_arrays
        variant = hashlib.sha256(self.name.encode()).hexdigest()[:8]
        fn_name = f"minigrad_{self.builder.__name__}_{dtype.name}_{variant}"
        text = c_function(fn_name, self.builder, self.flags, dtype, n_arrays, n_scalars, title=self.name)
        return fn_name, text, n_arrays, n_scalars

    def _install(self, dtype, fn, many, n_arrays, n_scalars):
        scalar = [C_TYPES[dtype][2]] * n_scalars
        fn.restype = many.restype = ctypes.c_int
        fn.argtypes = [ctypes.c_ssize_t] + [ctypes.c_void_p] * n_arrays + scalar
        many.argtypes = [ctypes.c_ssize_t, ctypes.c_void_p, ctypes.c_void_p] + scalar
        entry = self.compiled[dtype] = (fn, n_arrays, n_scalars, dtype, many)
        return entry

    def _compiled(self, args):
        """The C function for the arrays' dtype (traced and built at the first call with that dtype)."""
        dtype = getattr(args[0], "dtype", None) if args else None
        if not args or type(args[0]) is not np.ndarray or dtype not in C_TYPES:
            raise KernelUnavailable(f"{self.name}: no CPU kernel for {type(args[0]).__name__} of {dtype}"
                                    if args else f"{self.name}: no arguments")
        with _lock:
            entry = self.compiled.get(dtype)
            if entry is not None:
                return entry
            if dtype in self.broken:
                raise KernelUnavailable(f"{self.name}: {self.broken[dtype]}")
            fn_name, text, n_arrays, n_scalars = self._traced(dtype, args)
            before = compile_count[0]
            try:
                fn, many = _build(PRELUDE + text, fn_name, [fn_name, f"{fn_name}_many"])
            except Exception as exc:              # no compiler, a compile error, a load error
                reason = f"{type(exc).__name__}: {exc}"
                self.broken[dtype] = reason
                failures[f"{self.name} {dtype.name}"] = reason
                warnings.warn(f"the fused CPU kernel {self.name} for {dtype.name} could not be built ({reason}); "
                              "its steps run the NumPy in-place formula (the same results, slower)",
                              RuntimeWarning, stacklevel=5)
                raise KernelUnavailable(f"{self.name}: {reason}") from exc
            self.compiles += compile_count[0] - before
            return self._install(dtype, fn, many, n_arrays, n_scalars)

    def batch_function(self, *args):
        """The compiled C function that runs many chunks in one call, for calls like ``args`` (built now if
        needed; :class:`KernelUnavailable` if it cannot be).

        ``many(count, n, p, *scalars)``: ``n`` the address of ``count`` element
        counts (``intp``), ``p`` of ``count`` rows of array addresses
        (``uintp``, in the kernel's order); it returns 0, or ``c + 1`` if the
        arrays of chunk ``c`` overlap (that chunk and the later ones are not
        done). For a caller that has checked what :meth:`__call__` checks of
        each chunk: C-contiguous arrays of the dtype, ``n[c]`` elements each,
        scalars of the dtype (or Python numbers).
        """
        entry = self.compiled.get(getattr(args[0], "dtype", None)) or self._compiled(args)
        if len(args) != entry[1] + entry[2]:
            raise TypeError(f"{self.name} takes {entry[1]} arrays and {entry[2]} scalars, got {len(args)} arguments")
        return entry[4]

    def __call__(self, *args):
        entry = self.compiled.get(getattr(args[0], "dtype", None)) if args else None
        fn, n_arrays, n_scalars, dtype, _ = entry or self._compiled(args)
        if len(args) != n_arrays + n_scalars:
            raise TypeError(f"{self.name} takes {n_arrays} arrays and {n_scalars} scalars, got {len(args)} arguments")
        n = args[0].size
        pointers = []
        for a in args[:n_arrays]:
            if type(a) is not np.ndarray or a.dtype != dtype or a.size != n or not a.flags.c_contiguous:
                raise KernelUnavailable(f"{self.name}: arrays must be C-contiguous {dtype} arrays of {n} elements")
            pointers.append(pointer(a))
        scalars = args[n_arrays:]
        stype = dtype.type
        for x in scalars:
            if type(x) is not stype and isinstance(x, np.generic) and x.dtype != dtype:
                raise KernelUnavailable(f"{self.name}: a {x.dtype} scalar with {dtype} arrays")
        if fn(n, *pointers, *scalars):
            raise KernelUnavailable(f"{self.name}: arrays overlap")


_addressof, _from_buffer = ctypes.addressof, ctypes.c_char.from_buffer


def pointer(a):
    """The address of a C-contiguous array's first element (through the buffer protocol: 3x faster
    than ``a.ctypes.data``, which it falls back to for a read-only or empty array)."""
    try:
        return _addressof(_from_buffer(a))
    except (TypeError, ValueError):
        return a.ctypes.data


def precompile(calls, stem="minigrad_kernels"):
    """Build the kernels of ``calls`` (pairs ``(CpuKernel, example arguments)``) with one compiler run per
    dtype: one shared object holds them all (compiling costs about as much for one function as for
    thirty, so a test that uses many variants compiles them together). Errors are raised, not warned."""
    by_dtype = {}
    for k, args in calls:
        dtype = args[0].dtype
        if dtype not in k.compiled:
            by_dtype.setdefault(dtype, {})[id(k)] = (k, k._traced(dtype, args))
    for dtype, entries in by_dtype.items():
        names = [name for _, (fn_name, *_) in entries.values() for name in (fn_name, f"{fn_name}_many")]
        source = PRELUDE + "\n".join(traced[1] for _, traced in entries.values())
        with _lock:
            before = compile_count[0]
            fns = _build(source, f"{stem}_{dtype.name}", names)
            for j, (k, (_, _, n_arrays, n_scalars)) in enumerate(entries.values()):
                k._install(dtype, fns[2 * j], fns[2 * j + 1], n_arrays, n_scalars)
                k.compiles += compile_count[0] - before
