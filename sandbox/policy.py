"""The language layer: RestrictedPython compile + runtime guards.

Untrusted code is compiled with :class:`SandboxPolicy` (RestrictedPython's
transformer plus a few extra static rules) and executed with the globals built
by :func:`make_globals`: safe builtins, a guarded ``__import__`` with an
allowlist, guarded ``_getattr_``/``_getitem_``/``_getiter_``/``_write_`` and a
path guard for file readers/writers.  This layer is *not* a sandbox on its own;
see the package docstring for the OS layers behind it.
"""

from __future__ import annotations

import ast
import builtins
import operator
import os
import sys
import types
from dataclasses import dataclass, field

from RestrictedPython import compile_restricted_exec
from RestrictedPython.Guards import guarded_iter_unpack_sequence, guarded_unpack_sequence, safe_builtins
from RestrictedPython.transformer import (
    INSPECT_ATTRIBUTES,
    IOPERATOR_TO_STR,
    RestrictingNodeTransformer,
    copy_locations,
)

USER_FILENAME = "<untrusted>"

# --------------------------------------------------------------------------
# Allowlists and denylists
# --------------------------------------------------------------------------
ALLOWED_MODULES = frozenset(
    """
pandas numpy scipy sklearn lightgbm matplotlib seaborn math cmath statistics re
datetime collections itertools functools json random decimal fractions time
warnings copy heapq bisect calendar textwrap numbers enum zoneinfo
unicodedata difflib pprint io
""".split()
)
# typing/dataclasses are left out on purpose: typing.get_type_hints() evals
# string annotations with plain (unguarded) compile.
# Modules of which only some names may be used.
MODULE_ATTR_ALLOWLIST = {"io": frozenset({"StringIO", "BytesIO"})}

DENIED_MODULE_PREFIXES = (
    "pandas.compat",
    "pandas.io.pickle",
    "pandas.core.computation",
    "pandas.io.clipboard",
    "pandas.io.clipboards",
    "pandas.io.sql",
    "pandas.io.pytables",
    "pandas.io.html",
    "pandas.io.xml",
    "pandas.util",
    "numpy.ctypeslib",
    "numpy.f2py",
    "numpy.distutils",
    "numpy.lib.format",
    "numpy.lib._datasource",
    "numpy.testing",
    "numpy._pytesttester",
    "sklearn.externals",
    "sklearn.utils._joblib",
    "scipy._lib",
    "scipy.io",
    "matplotlib.cbook",
    "matplotlib.animation",
    "matplotlib.backends",
    "matplotlib.testing",
    "matplotlib.font_manager",
    "lightgbm.libpath",
    "matplotlib.sphinxext",
    "pandas.conftest",
    "numpy.conftest",
    "sklearn.conftest",
    "scipy.conftest",
    "pandas.tests",
    "numpy.tests",
    "lightgbm.dask",
    "lightgbm.basic",
)

# Modules whose functions/classes must never be handed to untrusted code, even
# when a permitted library re-exports them (``pd.io.common.Path`` ...).
DANGEROUS_MODULES = frozenset(
    """
os posix nt sys subprocess _posixsubprocess ctypes _ctypes importlib pickle
_pickle marshal shutil socket _socket io _io builtins pty signal resource
_thread threading multiprocessing gc inspect code codeop runpy pdb tempfile
pathlib glob weakref atexit sysconfig platform webbrowser urllib http ftplib
smtplib ssl asyncio select selectors mmap fcntl termios tty getpass pwd grp
zipimport pkgutil site copyreg shelve dbm sqlite3 joblib cloudpickle dill
faulthandler tracemalloc sre_compile types operator string ast dis
posixpath ntpath genericpath zipfile tarfile lzma bz2 gzip fsspec pyarrow
""".split()
)

DENIED_ATTRS = (
    frozenset(
        """
read_pickle to_pickle eval query memmap fromfile ctypes ctypeslib compat style
read_html read_xml to_xml read_sql read_sql_query read_sql_table to_sql
read_gbq to_gbq read_clipboard to_clipboard read_hdf to_hdf HDFStore
mro read_array DataSource f2py system popen environ
getframe currentframe tb_lasti f_lineno co_consts co_names
load_module exec_module setrecursionlimit register_backend
update_wrapper wraps register_dataframe_accessor register_series_accessor
register_index_accessor register_extension_dtype
""".split()
    )
    | INSPECT_ATTRIBUTES
)
# (update_wrapper/wraps and the accessor registries write attributes of
# modules/classes with a plain setattr, bypassing the write guard)

# callables whose path-like arguments must stay inside the workdir
IO_ATTRS = frozenset(
    """
read_csv read_table read_fwf read_json read_parquet read_feather read_excel
read_orc read_stata read_sas read_spss to_csv to_json to_parquet to_feather
to_excel to_orc to_stata to_html to_latex to_markdown to_string savefig
imsave imread save savez savez_compressed savetxt loadtxt genfromtxt load
tofile save_model load_model loadmat savemat ExcelWriter
""".split()
)
PATH_KWARGS = frozenset(
    """
path path_or_buf path_or_buffer filepath_or_buffer fname file filename
model_file io excel_writer buf fp target destination
""".split()
)
NUMPY_PICKLE_FUNCS = frozenset({"load", "save", "savez", "savez_compressed"})
# pandas resolves string function names with getattr(): agg("to_pickle", ...)
STRING_DISPATCH_ATTRS = frozenset({"agg", "aggregate", "transform", "apply"})

FORBIDDEN_NAMES = frozenset(
    """
eval exec compile globals locals vars breakpoint input memoryview open_code
""".split()
)
ALLOWED_DUNDER_DEFS = frozenset({"__init__"})


class PolicyViolation(Exception):
    """Raised at run time when untrusted code reaches for something denied."""


class PolicyError(PolicyViolation):
    """Raised by :func:`restricted_exec` when code fails the static check."""

    def __init__(self, errors):
        self.errors = list(errors)
        super().__init__("; ".join(self.errors) or "policy check failed")


@dataclass
class CheckResult:
    ok: bool
    errors: list = field(default_factory=list)

    def to_dict(self):
        return {"ok": self.ok, "errors": list(self.errors)}


def module_allowed(name: str) -> bool:
    if not isinstance(name, str) or not name:
        return False
    if name.split(".")[0] not in ALLOWED_MODULES:
        return False
    if name.split(".")[0] in MODULE_ATTR_ALLOWLIST and "." in name:
        return False
    if any(part.startswith("_") for part in name.split(".")):
        return False  # private modules (numpy._core, pandas._libs ...)
    return not any(name == p or name.startswith(p + ".") for p in DENIED_MODULE_PREFIXES)


# --------------------------------------------------------------------------
# Static policy
# --------------------------------------------------------------------------
class SandboxPolicy(RestrictingNodeTransformer):
    """RestrictedPython's transformer with data-science friendly extensions.

    * ``df["a"] += 1`` / ``self.n += 1`` are rewritten into guarded
      read + ``_inplacevar_`` + guarded write (stock RestrictedPython rejects
      augmented assignment of items and attributes).
    * ``except*``, dunder method definitions other than ``__init__``,
      denied attribute names, forbidden builtins and imports outside the
      allowlist are rejected with a line number.
    """

    _aug_counter = 0

    def visit_Import(self, node):
        for alias in node.names:
            if not module_allowed(alias.name):
                self.error(node, f'import of "{alias.name}" is not allowed')
        return super().visit_Import(node)

    def visit_ImportFrom(self, node):
        if node.level:
            self.error(node, "relative imports are not allowed")
        elif not module_allowed(node.module or ""):
            self.error(node, f'import from "{node.module}" is not allowed')
        else:
            only = MODULE_ATTR_ALLOWLIST.get(node.module)
            for alias in node.names:
                if only is not None and alias.name not in only:
                    self.error(node, f'"{node.module}.{alias.name}" is not allowed')
                elif alias.name in DENIED_ATTRS:
                    self.error(node, f'"{alias.name}" is not allowed')
                elif (
                    alias.name != "*"
                    and not module_allowed(f"{node.module}.{alias.name}")
                    and any(f"{node.module}.{alias.name}" == p for p in DENIED_MODULE_PREFIXES)
                ):
                    self.error(node, f'import of "{node.module}.{alias.name}" is not allowed')
        return super().visit_ImportFrom(node)

    def visit_Attribute(self, node):
        if node.attr in DENIED_ATTRS:
            self.error(node, f'"{node.attr}" is not allowed in the sandbox')
        return super().visit_Attribute(node)

    def visit_Name(self, node):
        if node.id in FORBIDDEN_NAMES:
            self.error(node, f'"{node.id}" is not allowed in the sandbox')
        return super().visit_Name(node)

    def visit_FunctionDef(self, node):
        if node.name.startswith("__") and node.name not in ALLOWED_DUNDER_DEFS:
            self.error(node, f'defining "{node.name}" is not allowed')
        self._check_annotation(node, node.returns)
        return super().visit_FunctionDef(node)

    def _check_annotation(self, node, ann):
        # string annotations are evaluated with plain eval() by
        # typing.get_type_hints / functools.singledispatch.register
        if ann is not None and any(isinstance(n, ast.Constant) and isinstance(n.value, str) for n in ast.walk(ann)):
            self.error(node, "string annotations are not allowed")

    def visit_arguments(self, node):
        for a in node.posonlyargs + node.args + node.kwonlyargs + [x for x in (node.vararg, node.kwarg) if x]:
            self._check_annotation(a, a.annotation)
        return super().visit_arguments(node)

    def visit_AnnAssign(self, node):
        self._check_annotation(node, node.annotation)
        return self.generic_visit(node)

    def visit_AsyncFunctionDef(self, node):
        self.error(node, "async functions are not allowed")
        return node

    def visit_TryStar(self, node):
        self.error(node, "except* is not allowed")
        return node

    def visit_Global(self, node):
        return super().visit_Global(node)

    @staticmethod
    def _slice_to_expr(s):
        def conv(e):
            if isinstance(e, ast.Slice):
                none = ast.Constant(None)
                call = ast.Call(
                    func=ast.Name("slice", ast.Load()),
                    args=[e.lower or none, e.upper or none, e.step or none],
                    keywords=[],
                )
                return copy_locations(call, e) or call
            return e

        if isinstance(s, ast.Tuple):
            s.elts = [conv(e) for e in s.elts]
            return s
        return conv(s)

    def visit_AugAssign(self, node):
        tgt = node.target
        if isinstance(tgt, ast.Name):
            return super().visit_AugAssign(node)
        n = SandboxPolicy._aug_counter = SandboxPolicy._aug_counter + 1
        obj_name, key_name = f"_sbx_o{n}", f"_sbx_k{n}"
        op = IOPERATOR_TO_STR[type(node.op)]
        stmts = [ast.Assign(targets=[ast.Name(obj_name, ast.Store())], value=self.visit(tgt.value))]
        if isinstance(tgt, ast.Subscript):
            key = self.visit(self._slice_to_expr(tgt.slice))
            stmts.append(ast.Assign(targets=[ast.Name(key_name, ast.Store())], value=key))
            current = ast.Call(
                func=ast.Name("_getitem_", ast.Load()),
                args=[ast.Name(obj_name, ast.Load()), ast.Name(key_name, ast.Load())],
                keywords=[],
            )
            target = ast.Subscript(
                value=ast.Call(
                    func=ast.Name("_write_", ast.Load()), args=[ast.Name(obj_name, ast.Load())], keywords=[]
                ),
                slice=ast.Name(key_name, ast.Load()),
                ctx=ast.Store(),
            )
        elif isinstance(tgt, ast.Attribute):
            if tgt.attr.startswith("_") or tgt.attr in DENIED_ATTRS:
                self.error(node, f'"{tgt.attr}" is an invalid attribute name')
            current = ast.Call(
                func=ast.Name("_getattr_", ast.Load()),
                args=[ast.Name(obj_name, ast.Load()), ast.Constant(tgt.attr)],
                keywords=[],
            )
            target = ast.Attribute(
                value=ast.Call(
                    func=ast.Name("_write_", ast.Load()), args=[ast.Name(obj_name, ast.Load())], keywords=[]
                ),
                attr=tgt.attr,
                ctx=ast.Store(),
            )
        else:  # pragma: no cover - the grammar allows nothing else
            self.error(node, "unsupported augmented assignment")
            return node
        value = ast.Call(
            func=ast.Name("_inplacevar_", ast.Load()),
            args=[ast.Constant(op), current, self.visit(node.value)],
            keywords=[],
        )
        stmts.append(ast.Assign(targets=[target], value=value))
        for s in stmts:
            copy_locations(s, node)
            ast.fix_missing_locations(s)
        return stmts


MAX_CODE_CHARS = 1_000_000
MAX_ERRORS = 50


def _compile(code: str):
    if not isinstance(code, str):
        return None, ["code must be a str"]
    if len(code) > MAX_CODE_CHARS:
        return None, [f"code is too large ({len(code)} characters, limit {MAX_CODE_CHARS})"]
    if "\x00" in code:
        return None, ["code contains NUL bytes"]
    try:
        res = compile_restricted_exec(code, filename=USER_FILENAME, policy=SandboxPolicy)
    except SyntaxError as e:  # pragma: no cover - RP reports these itself
        return None, [f"Line {e.lineno}: SyntaxError: {e.msg}"]
    except Exception as e:  # noqa: BLE001 - e.g. recursion in the parser
        return None, [f"{type(e).__name__}: {e}"]
    errors = list(res.errors)
    if len(errors) > MAX_ERRORS:
        errors = errors[:MAX_ERRORS] + [f"... and {len(errors) - MAX_ERRORS} more errors"]
    if res.code is None and not errors:
        errors = ["code could not be compiled"]
    return (res.code if not errors else None), errors


def check(code: str) -> CheckResult:
    """Statically check untrusted code. Never executes anything."""
    _, errors = _compile(code)
    return CheckResult(ok=not errors, errors=errors)


# --------------------------------------------------------------------------
# Runtime guards
# --------------------------------------------------------------------------
_DANGEROUS_BUILTIN_IDS = frozenset(
    id(getattr(builtins, n))
    for n in (
        "eval",
        "exec",
        "compile",
        "open",
        "__import__",
        "getattr",
        "setattr",
        "delattr",
        "globals",
        "locals",
        "vars",
        "breakpoint",
        "input",
        "help",
        "exit",
        "quit",
        "memoryview",
        "__build_class__",
    )
    if hasattr(builtins, n)
)
import io as _io_mod  # noqa: E402

_SAFE_VALUE_IDS = frozenset({id(_io_mod.StringIO), id(_io_mod.BytesIO)})
_FORBIDDEN_VALUE_TYPES = (types.FrameType, types.CodeType, types.TracebackType)
_WRITE_DENIED_TYPES = (
    types.ModuleType,
    type,
    types.FunctionType,
    types.BuiltinFunctionType,
    types.MethodType,
    types.CodeType,
    types.FrameType,
    types.TracebackType,
    types.GeneratorType,
    types.CoroutineType,
    types.MappingProxyType,
    property,
    staticmethod,
    classmethod,
)
_MISSING = object()

_INPLACE = {
    "+=": operator.iadd,
    "-=": operator.isub,
    "*=": operator.imul,
    "/=": operator.itruediv,
    "//=": operator.ifloordiv,
    "%=": operator.imod,
    "**=": operator.ipow,
    "<<=": operator.ilshift,
    ">>=": operator.irshift,
    "&=": operator.iand,
    "|=": operator.ior,
    "^=": operator.ixor,
    "@=": operator.imatmul,
}


def _is_pandas(ob) -> bool:
    mod = getattr(type(ob), "__module__", "") or ""
    if isinstance(ob, type):
        mod = getattr(ob, "__module__", "") or ""
    return mod.startswith("pandas")


def _check_format_string(fmt, depth=0) -> None:
    """str.format may only use plain field names: "{}", "{0}", "{name}",
    with any format spec -- no attribute or index traversal ("{0.__class__}",
    "{0[key]}"), which would bypass the attribute guard."""
    import string

    if not isinstance(fmt, str):
        _deny("str.format on a non-string")
    if depth > 2:
        _deny("deeply nested format specs")
    try:
        parsed = list(string.Formatter().parse(fmt))
    except ValueError as e:
        raise ValueError(str(e)) from None
    for _lit, field_name, spec, _conv in parsed:
        if field_name is not None and ("." in field_name or "[" in field_name):
            _deny(f'format field "{{{field_name}}}" (attribute/index access)')
        if spec:
            _check_format_string(spec, depth + 1)


def _safe_str_format(s: str, name: str):
    method = getattr(s, name)

    def safe_format(*args, **kwargs):
        _check_format_string(s)
        return method(*args, **kwargs)

    safe_format.__name__ = name
    return safe_format


def _safe_str_format_unbound(name: str):
    def safe_format(s, *args, **kwargs):
        _check_format_string(s)
        return getattr(str, name)(s, *args, **kwargs)

    safe_format.__name__ = name
    return safe_format


def _deny(what: str):
    raise PolicyViolation(f"{what} is not allowed in the sandbox")


def _value_module(value):
    target = getattr(value, "__func__", value)
    try:
        return getattr(target, "__module__", None)
    except Exception:  # noqa: BLE001
        return None


def _check_value(value, name):
    """Deny dangerous objects whatever path led to them."""
    if id(value) in _SAFE_VALUE_IDS:
        return value
    t = type(value)
    if t is types.ModuleType or isinstance(value, types.ModuleType):
        if not module_allowed(getattr(value, "__name__", "")):
            _deny(f'module "{getattr(value, "__name__", name)}"')
        return value
    if isinstance(value, _FORBIDDEN_VALUE_TYPES):
        _deny(f'"{name}" (frame/code/traceback object)')
    if id(value) in _DANGEROUS_BUILTIN_IDS:
        _deny(f'"{name}"')
    if t in (
        types.FunctionType,
        types.BuiltinFunctionType,
        types.MethodType,
        types.BuiltinMethodType,
        type,
    ) or isinstance(value, type):
        mod = _value_module(value)
        if isinstance(mod, str) and mod.split(".")[0].lstrip("_") in {m.lstrip("_") for m in DANGEROUS_MODULES}:
            _deny(f'"{name}" from module "{mod}"')
    return value


def make_guards(workdir: str | None = None) -> dict:
    """Build the guard functions, bound to ``workdir`` for the path guard.

    With ``workdir=None`` untrusted code gets no file access at all."""
    root = os.path.realpath(workdir) if workdir else None

    def safe_path(p):
        if isinstance(p, bool):
            return p
        if isinstance(p, int):
            _deny("using a file descriptor as a path")
        if isinstance(p, (str, bytes)) or hasattr(type(p), "__fspath__"):
            s = os.fsdecode(os.fspath(p))
            if root is None:
                _deny(f'file access ("{s}") outside the sandbox')
            if "://" in s or s.startswith("~") or "\x00" in s:
                _deny(f'path "{s}"')
            full = os.path.realpath(os.path.join(root, s))
            if full != root and not full.startswith(root + os.sep):
                _deny(f'path "{s}" outside the working directory')
            return full
        return p  # buffers and file objects

    def wrap_io(fn, name):
        def io_call(*args, **kwargs):
            # the first argument is the path: pass the checked, resolved
            # one; later string arguments (sep, fmt ...) are only checked
            # (an unbound call such as DataFrame.to_csv(df, path) has the
            # path second) and passed on unchanged
            args = tuple(
                safe_path(a) if isinstance(a, (str, bytes, int)) or hasattr(type(a), "__fspath__") else a
                for a in args[:1]
            ) + tuple(args[1:])
            for a in args[1:]:
                if isinstance(a, (str, bytes)) and not isinstance(a, bool):
                    safe_path(a)
                elif hasattr(type(a), "__fspath__"):
                    _deny("path objects after the first argument")
            for k in PATH_KWARGS.intersection(kwargs):
                kwargs[k] = safe_path(kwargs[k])
            if name in NUMPY_PICKLE_FUNCS and _value_module(fn) and str(_value_module(fn)).startswith("numpy"):
                if kwargs.get("allow_pickle"):
                    _deny("allow_pickle=True")
                kwargs["allow_pickle"] = False
            return fn(*args, **kwargs)

        io_call.__name__ = name
        return io_call

    def scan_strings(obj, depth=0):
        if depth > 4:
            return
        if isinstance(obj, str):
            if (
                obj.startswith("_")
                or obj in DENIED_ATTRS
                or obj in IO_ATTRS
                or obj in STRING_DISPATCH_ATTRS
                or obj == "pipe"
            ):
                _deny(f'function name "{obj}"')
        elif isinstance(obj, (list, tuple, set, frozenset)):
            for x in obj:
                scan_strings(x, depth + 1)
        elif isinstance(obj, dict):
            for x in obj.values():
                scan_strings(x, depth + 1)

    def wrap_dispatch(fn, name):
        def dispatch_call(*args, **kwargs):
            for a in args:
                scan_strings(a)
            for a in kwargs.values():
                scan_strings(a)
            return fn(*args, **kwargs)

        dispatch_call.__name__ = name
        return dispatch_call

    def guarded_getattr(ob, name, default=_MISSING):
        if type(name) is not str:
            raise TypeError("attribute name must be a string")
        if name.startswith("_") or name in DENIED_ATTRS or name.endswith("__roles__"):
            _deny(f'attribute "{name}"')
        if name in ("format", "format_map") and isinstance(ob, str):
            return _safe_str_format(ob, name)
        if name in ("format", "format_map") and isinstance(ob, type) and issubclass(ob, str):
            return _safe_str_format_unbound(name)
        if name in ("vformat", "get_field"):
            _deny(f'"{name}"')
        if name == "obj" and isinstance(ob, BaseException):
            _deny("exception.obj")
        if isinstance(ob, types.ModuleType):
            mname = getattr(ob, "__name__", "")
            if not module_allowed(mname):
                _deny(f'module "{mname}"')
            only = MODULE_ATTR_ALLOWLIST.get(mname)
            if only is not None and name not in only:
                _deny(f'"{mname}.{name}"')
        if isinstance(ob, _FORBIDDEN_VALUE_TYPES):
            _deny("frame/code/traceback objects")
        if default is _MISSING:
            value = getattr(ob, name)
        else:
            value = getattr(ob, name, default)
        _check_value(value, name)
        if name in IO_ATTRS and callable(value):
            return wrap_io(value, name)
        if name in STRING_DISPATCH_ATTRS and callable(value) and _is_pandas(ob):
            return wrap_dispatch(value, name)
        return value

    def guarded_hasattr(ob, name):
        try:
            guarded_getattr(ob, name)
            return True
        except PolicyViolation:
            raise
        except Exception:  # noqa: BLE001
            return False

    def guarded_write(ob):
        if isinstance(ob, _WRITE_DENIED_TYPES):
            _deny(f"modifying {type(ob).__name__} objects")
        return ob

    def guarded_setattr(ob, name, value):
        if type(name) is not str or name.startswith("_") or name in DENIED_ATTRS:
            _deny(f'setting attribute "{name}"')
        setattr(guarded_write(ob), name, value)

    def guarded_delattr(ob, name):
        if type(name) is not str or name.startswith("_"):
            _deny(f'deleting attribute "{name}"')
        delattr(guarded_write(ob), name)

    def guarded_getitem(ob, key):
        if isinstance(ob, types.ModuleType):
            _deny("indexing modules")
        return ob[key]

    def guarded_getiter(ob):
        if isinstance(ob, types.GeneratorType) or isinstance(ob, (types.FrameType, types.TracebackType)):
            return ob
        return iter(ob)

    def guarded_import(name, globals=None, locals=None, fromlist=(), level=0):
        if type(fromlist) is list and not fromlist and level == 0:
            # PyImport_Import() from C code (e.g. numpy's dtype.__str__)
            # looks __import__ up in the *calling* frame's builtins, which
            # are ours.  Untrusted code cannot produce this call (it cannot
            # name __import__) and the module is not bound to its namespace.
            return builtins.__import__(name, globals, locals, fromlist, 0)
        if level != 0:
            _deny("relative import")
        if not module_allowed(name):
            _deny(f'import of "{name}"')
        mod = builtins.__import__(name, globals, locals, fromlist, 0)
        if not fromlist:
            return mod
        proxy = types.ModuleType(mod.__name__)
        for item in fromlist:
            if item == "*":
                _deny("from ... import *")
            sub = f"{mod.__name__}.{item}"
            if any(sub == p or sub.startswith(p + ".") for p in DENIED_MODULE_PREFIXES):
                _deny(f'import of "{sub}"')
            try:
                val = guarded_getattr(mod, item)
            except AttributeError:
                raise ImportError(f"cannot import name {item!r} from {mod.__name__!r}") from None
            setattr(proxy, item, val)
        return proxy

    def guarded_type(ob):
        return type(ob)

    def guarded_open(file, mode="r", *args, **kwargs):
        if not isinstance(file, (str, bytes)) and not hasattr(type(file), "__fspath__"):
            _deny("open() of a non-path")
        if kwargs.get("opener") is not None:
            _deny("open(opener=...)")
        return open(safe_path(file), mode, *args, **kwargs)

    def inplacevar(op, x, y):
        fn = _INPLACE.get(op)
        if fn is None:
            _deny(f"operator {op}")
        return fn(x, y)

    def metaclass(name, bases, ns):
        for k in ns:
            if k.startswith("__") and k not in ("__init__", "__module__", "__qualname__", "__doc__"):
                _deny(f'class attribute "{k}"')
        return type(name, bases, ns)

    def apply(f, *a, **kw):
        return f(*a, **kw)

    class PrintToStdout:
        def __init__(self, _getattr_=None):
            pass

        def _call_print(self, *objects, **kwargs):
            if kwargs.get("file") is None:
                kwargs["file"] = sys.stdout
            print(*objects, **kwargs)

        def __call__(self):
            return ""

    return {
        "_getattr_": guarded_getattr,
        "_getitem_": guarded_getitem,
        "_getiter_": guarded_getiter,
        "_write_": guarded_write,
        "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
        "_unpack_sequence_": guarded_unpack_sequence,
        "_inplacevar_": inplacevar,
        "_apply_": apply,
        "_print_": PrintToStdout,
        "__metaclass__": metaclass,
        "__import__": guarded_import,
        "getattr": guarded_getattr,
        "hasattr": guarded_hasattr,
        "setattr": guarded_setattr,
        "delattr": guarded_delattr,
        "type": guarded_type,
        "open": guarded_open,
        "safe_path": safe_path,
    }


_EXTRA_BUILTINS = """
list dict set frozenset tuple sorted reversed zip enumerate map filter min max
sum any all iter next bytes bytearray format divmod super staticmethod
classmethod property object dir ascii bin NotImplemented StopAsyncIteration
ModuleNotFoundError FileNotFoundError PermissionError TimeoutError
ConnectionError RecursionError IsADirectoryError FileExistsError
""".split()


def make_globals(workdir: str | None = None) -> dict:
    """Globals for running restricted code (fresh dict every call)."""
    guards = make_guards(workdir)
    b = dict(safe_builtins)
    for n in _EXTRA_BUILTINS:
        if hasattr(builtins, n):
            b[n] = getattr(builtins, n)
    for n in ("__import__", "getattr", "hasattr", "setattr", "delattr", "type", "open"):
        b[n] = guards[n]
    b.pop("__build_class__", None)
    b["__build_class__"] = builtins.__build_class__
    g = {k: v for k, v in guards.items() if k.startswith("_") and k != "__import__"}
    g["__builtins__"] = b
    g["__name__"] = "sandbox_user"
    g["__metaclass__"] = guards["__metaclass__"]
    return g


INJECTED_NAMES = frozenset(make_globals("/").keys())


def user_namespace(glb: dict) -> dict:
    """The names untrusted code defined (guards and builtins removed)."""
    return {k: v for k, v in glb.items() if k not in INJECTED_NAMES and not k.startswith("_sbx_")}


def restricted_exec(code: str, extra_globals: dict | None = None, workdir: str | None = None) -> dict:
    """Check and run untrusted ``code`` in-process with the same guards.

    File access is denied unless ``workdir`` is given (then it is confined
    to it).  Returns the globals dict (the namespace).  Raises :class:`PolicyError`
    when the static check fails.  This gives the language layer only; use
    :class:`sandbox.Executor` for the OS layers.
    """
    code_obj, errors = _compile(code)
    if errors:
        raise PolicyError(errors)
    glb = make_globals(workdir)
    if extra_globals:
        glb.update(extra_globals)
    exec(code_obj, glb)  # noqa: S102 - compiled by RestrictedPython
    return glb
