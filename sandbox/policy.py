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
import operator
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
# Allowlists: what restricted code may touch
# --------------------------------------------------------------------------
# Restricted code never holds a real module: ``import pandas as pd`` binds a
# sandboxed module object whose attributes are the curated view below.  Each
# entry is a module path that may be imported or reached as an attribute
# (submodules not listed here cannot be reached at all), with either
#   ("only", names)   -- exactly these attributes, or
#   ("public", names) -- the module's public attributes except these
# (module-valued attributes are only reachable when their own path is listed).
ONLY, PUBLIC = "only", "public"


def _w(text):
    return tuple(text.split())


_SKLEARN_PUBLIC = _w(
    """
base calibration cluster compose covariance cross_decomposition decomposition
discriminant_analysis dummy ensemble exceptions feature_extraction
feature_extraction.text feature_selection gaussian_process gaussian_process.kernels
impute inspection isotonic kernel_approximation kernel_ridge linear_model
manifold metrics metrics.pairwise mixture model_selection multiclass
multioutput naive_bayes neighbors neural_network pipeline preprocessing
random_projection semi_supervised svm tree
"""
)
_SCIPY_PUBLIC = _w(
    """
stats optimize special linalg interpolate signal integrate ndimage fft
constants spatial spatial.distance cluster cluster.hierarchy cluster.vq sparse
sparse.linalg sparse.csgraph
"""
)
MODULE_API = {
    # standard library
    "math": (PUBLIC, ()),
    "cmath": (PUBLIC, ()),
    "statistics": (PUBLIC, ()),
    "re": (
        ONLY,
        _w(
            "compile match search fullmatch sub subn split findall finditer escape Pattern Match error "
            "A ASCII I IGNORECASE M MULTILINE S DOTALL X VERBOSE U UNICODE NOFLAG"
        ),
    ),
    "datetime": (PUBLIC, ()),
    "collections": (ONLY, _w("Counter defaultdict OrderedDict deque namedtuple ChainMap UserDict UserList")),
    "itertools": (PUBLIC, ()),
    "functools": (ONLY, _w("partial reduce lru_cache cache cmp_to_key cached_property")),
    "json": (ONLY, _w("loads dumps load dump JSONDecodeError JSONEncoder JSONDecoder")),
    "random": (
        ONLY,
        _w(
            "random randint randrange choice choices shuffle sample seed uniform gauss normalvariate "
            "lognormvariate expovariate betavariate gammavariate triangular vonmisesvariate paretovariate "
            "weibullvariate getrandbits randbytes Random"
        ),
    ),
    "decimal": (
        ONLY,
        _w(
            "Decimal getcontext localcontext Context InvalidOperation DivisionByZero ROUND_HALF_UP "
            "ROUND_HALF_EVEN ROUND_HALF_DOWN ROUND_DOWN ROUND_UP ROUND_FLOOR ROUND_CEILING"
        ),
    ),
    "fractions": (ONLY, _w("Fraction")),
    "time": (
        ONLY,
        _w(
            "time time_ns perf_counter perf_counter_ns monotonic process_time sleep strftime strptime gmtime localtime mktime"
        ),
    ),
    "warnings": (ONLY, _w("warn filterwarnings simplefilter catch_warnings resetwarnings")),
    "copy": (ONLY, _w("copy deepcopy")),
    "heapq": (PUBLIC, ()),
    "bisect": (PUBLIC, ()),
    "calendar": (
        ONLY,
        _w("monthrange isleap leapdays weekday day_name month_name day_abbr month_abbr monthcalendar timegm"),
    ),
    "textwrap": (PUBLIC, ()),
    "numbers": (PUBLIC, ()),
    "zoneinfo": (ONLY, _w("ZoneInfo ZoneInfoNotFoundError")),
    "unicodedata": (PUBLIC, ()),
    "difflib": (ONLY, _w("SequenceMatcher get_close_matches ndiff unified_diff context_diff Differ")),
    "pprint": (ONLY, _w("pprint pformat pp PrettyPrinter")),
    "io": (ONLY, _w("StringIO BytesIO")),
    # pandas
    "pandas": (
        PUBLIC,
        _w(
            "io core compat util arrays testing reset_option describe_option show_versions test read_pickle "
            "to_pickle eval read_html read_xml read_sql read_sql_query read_sql_table read_gbq read_clipboard "
            "read_hdf HDFStore read_spss"
        ),
    ),
    "pandas.api": (ONLY, _w("types")),
    "pandas.api.types": (PUBLIC, ()),
    "pandas.tseries": (ONLY, _w("offsets holiday")),
    "pandas.tseries.holiday": (PUBLIC, ()),
    "pandas.tseries.offsets": (PUBLIC, ()),
    "pandas.errors": (PUBLIC, ()),
    "pandas.plotting": (PUBLIC, _w("PlotAccessor")),
    # numpy
    "numpy": (
        PUBLIC,
        _w(
            "lib ctypeslib f2py testing distutils memmap fromfile DataSource show_config show_runtime "
            "get_include info source lookfor who byte_bounds setbufsize from_dlpack recfromcsv recfromtxt "
            "test core typing char rec ma polynomial emath matlib"
        ),
    ),
    "numpy.random": (PUBLIC, _w("bit_generator mtrand")),
    "numpy.linalg": (PUBLIC, ()),
    "numpy.fft": (PUBLIC, ()),
    # scipy: only the listed submodules
    "scipy": (ONLY, ()),
    **{f"scipy.{m}": (PUBLIC, ()) for m in _SCIPY_PUBLIC},
    # scikit-learn: only the listed submodules
    "sklearn": (ONLY, _w("clone set_config get_config config_context")),
    **{f"sklearn.{m}": (PUBLIC, ()) for m in _SKLEARN_PUBLIC},
    "sklearn.datasets": (
        ONLY,
        _w(
            "make_classification make_regression make_blobs make_moons make_circles make_friedman1 "
            "make_s_curve make_swiss_roll make_multilabel_classification load_iris load_diabetes "
            "load_digits load_breast_cancer load_wine load_linnerud"
        ),
    ),
    "sklearn.utils": (ONLY, _w("shuffle resample check_random_state Bunch class_weight validation")),
    "sklearn.utils.validation": (ONLY, _w("check_is_fitted check_array check_X_y column_or_1d")),
    "sklearn.utils.class_weight": (ONLY, _w("compute_class_weight compute_sample_weight")),
    # lightgbm
    "lightgbm": (
        ONLY,
        _w(
            "LGBMClassifier LGBMRegressor LGBMRanker LGBMModel Dataset Booster train cv early_stopping "
            "log_evaluation record_evaluation reset_parameter plot_importance plot_metric "
            "plot_split_value_histogram"
        ),
    ),
    # matplotlib / seaborn
    "matplotlib": (
        ONLY,
        _w(
            "use rcParams rc rcdefaults rc_context get_backend colormaps color_sequences cycler pyplot "
            "colors cm ticker dates patches gridspec lines markers figure"
        ),
    ),
    "matplotlib.pyplot": (
        PUBLIC,
        _w(
            "switch_backend install_repl_displayhook uninstall_repl_displayhook rc_file rc_file_defaults "
            "style get_current_fig_manager new_figure_manager draw_if_interactive ginput "
            "waitforbuttonpress set_loglevel subplot_tool"
        ),
    ),
    "matplotlib.colors": (PUBLIC, ()),
    "matplotlib.cm": (PUBLIC, _w("register_cmap unregister_cmap")),
    "matplotlib.ticker": (PUBLIC, ()),
    "matplotlib.dates": (PUBLIC, ()),
    "matplotlib.patches": (PUBLIC, ()),
    "matplotlib.gridspec": (PUBLIC, ()),
    "matplotlib.lines": (PUBLIC, ()),
    "matplotlib.markers": (PUBLIC, ()),
    "matplotlib.figure": (ONLY, _w("Figure SubFigure figaspect")),
    "seaborn": (PUBLIC, _w("load_dataset get_dataset_names get_data_home")),
}
ALLOWED_MODULES = frozenset(m.split(".")[0] for m in MODULE_API)

# Module attributes that need a dedicated check at call time.
SPECIAL_WRAPS = {
    "pandas.set_option": "set_option",
    "pandas.option_context": "set_option",
    "matplotlib.use": "mpl_use",
    "matplotlib.rc": "rc",
    "matplotlib.pyplot.rc": "rc",
    "matplotlib.rc_context": "checked",
    "matplotlib.pyplot.rc_context": "checked",
    "matplotlib.ticker.StrMethodFormatter": "templates",
    "lightgbm.Dataset": "io",
    "lightgbm.Booster": "io",
    **{f"scipy.sparse.{f}_{k}": "sparse" for f in ("csr", "csc", "bsr") for k in ("matrix", "array")},
}
# scipy.sparse structure arrays: native kernels index with them unchecked, so
# restricted code gets read-only copies and cannot assign them
SPARSE_STRUCTURE = frozenset({"indices", "indptr", "offsets", "row", "col", "coords"})
SPARSE_NO_WRITE = SPARSE_STRUCTURE | frozenset(
    {"data", "shape", "has_sorted_indices", "has_canonical_format", "blocksize"}
)
PANDAS_OPTION_PREFIXES = ("display.", "mode.", "future.", "compute.", "plotting.matplotlib.")
MPL_BACKENDS = frozenset({"agg", "pdf", "svg"})
USER_MODULE = "sandbox_user"

# Callables (module attributes or methods, by name) that read or write files:
# their path arguments must be plain str/bytes inside the workdir, file objects
# opened there, or in-memory buffers.  Names starting with to_/read_/save/load/
# dump/print_/write_/export_ count too, except SAFE_TO_NAMES.
IO_NAMES = frozenset(
    """
read_csv read_table read_fwf read_json read_parquet read_feather read_excel
read_orc read_stata read_sas to_csv to_json to_parquet to_feather to_excel to_orc
to_stata to_html to_latex to_markdown to_string savefig imsave imread save savez
savez_compressed savetxt loadtxt genfromtxt load tofile save_model load_model
ExcelWriter ExcelFile fromregex thumbnail save_binary print_figure write_file
""".split()
)
SAFE_TO_NAMES = frozenset(
    """
to_numpy to_dict to_list to_frame to_series to_datetime to_numeric to_timedelta
to_period to_timestamp to_records to_flat_index to_pydatetime to_julian_date
to_offset to_dense to_coo to_rgba to_rgb to_hex to_rgba_array to_tuples
to_pytimedelta to_datetime64 to_native_types loads dumps load_iris
load_diabetes load_digits load_breast_cancer load_wine load_linnerud
""".split()
)
DENY_CALLS = frozenset(
    """
to_pickle read_pickle rc_file rc_file_defaults switch_backend get_data_home
clear_data_home load_files fetch_openml register_logger to_sql to_clipboard
to_hdf to_gbq to_xml read_html read_xml eval query set_network free_network
""".split()
)
PATH_KWARGS = frozenset(
    """
path path_or_buf path_or_buffer filepath_or_buffer fname file filename
model_file io excel_writer buf fp target destination out_file data f
""".split()
)
# pandas resolves string function names with getattr(): agg("to_pickle", ...)
STRING_DISPATCH_ATTRS = frozenset({"agg", "aggregate", "transform", "apply"})
# the names pandas may be given as strings there
SAFE_FUNC_NAMES = frozenset(
    """
sum mean median min max std var sem count size nunique first last prod product
skew kurt kurtosis any all idxmin idxmax cumsum cumprod cummin cummax rank
shift diff pct_change ffill bfill fillna quantile mode unique value_counts
describe abs round nlargest nsmallest ohlc head tail ngroup cumcount corr cov
sqrt log log2 log10 log1p exp expm1 square sign floor ceil absolute negative
reciprocal sin cos tan tanh clip nth all any
""".split()
)
# pandas callables that take a function name as a keyword (aggfunc=, func=, win_type=)
KWARG_DISPATCH_NAMES = frozenset({"pivot_table", "crosstab", "rolling"})
# window types pandas looks up with getattr(scipy.signal.windows, win_type)
WIN_TYPES = frozenset(
    """
boxcar triang blackman hamming bartlett parzen bohman blackmanharris nuttall
barthann kaiser gaussian general_gaussian exponential tukey cosine hann
""".split()
)
# callables that str.format() a template argument over arbitrary values
TEMPLATE_NAMES = frozenset(
    {
        "set_titles",
        "bar_label",
        "set_major_formatter",
        "set_minor_formatter",
        "clabel",
        "format",
        "format_index",
        "StrMethodFormatter",
        "colorbar",
    }
)
# libraries whose module-level functions get the generic call check
CHECKED_LIBS = frozenset({"sklearn", "lightgbm", "matplotlib", "seaborn"})
# estimator methods that first re-check the estimator's parameters
FIT_NAMES = frozenset(
    """
fit fit_transform fit_predict partial_fit transform predict predict_proba
predict_log_proba decision_function score inverse_transform build_analyzer
build_preprocessor decode refit
""".split()
)
# LightGBM parameters that name files
LGB_FILE_PARAMS = frozenset(
    """
forcedbins_filename forcedsplits_filename output_model input_model output_result
initscore_filename valid_data_initscores machine_list_filename machine_list_file
mlist machines convert_model save_binary is_save_binary is_save_binary_file
data train_data train valid valid_data test_data test model_file model_input
model_in model_out model_output config config_file forced_splits
forced_splits_file fs forced_bins_filename num_machines local_listen_port
local_port port listen_time_out time_out tree_learner tree machine_list
workers nodes num_machine tree_learner_type tree_type convert_model_file
name_pred pred_name predict_name predict_result prediction_name prediction_result
forced_splits_filename data_filename test_data_file train_data_file valid_data_file valid_filenames
""".split()
)
# LightGBM's aliases of the same parameters (every spelling LightGBM accepts must meet the same rule)
LGB_TREE_LEARNER = frozenset({"tree_learner", "tree", "tree_type", "tree_learner_type"})
LGB_NUM_MACHINES = frozenset({"num_machines", "num_machine"})
LGB_PORTS = frozenset({"local_listen_port", "local_port", "port", "listen_time_out", "time_out"})


def _lgb_aliases(canonical: tuple[str, ...]) -> frozenset:
    """Every alias LightGBM itself knows for `canonical` (its own table), besides the ones listed above; only when
    LightGBM is already loaded (importing it here would start threads before the child enters its namespaces)."""
    import sys  # here, not at module level: nothing of the module's globals leads to sys

    basic = sys.modules.get("lightgbm.basic")
    try:
        return frozenset(basic._ConfigAliases.get(*canonical)) if basic is not None else frozenset()
    except Exception:  # noqa: BLE001 - another LightGBM version: the listed spellings still apply
        return frozenset()


# attributes that must not be set on any object
WRITE_DENIED_NAMES = frozenset(
    {"allow_pickle", "memory", "backend", "storage_options", "fmt", "template", "row_template", "col_template"}
)  # (fmt/template: a formatter's template is checked when it is built, not when it is swapped in)
DANGEROUS_BUILTINS = (
    "eval exec compile open __import__ getattr setattr delattr globals locals vars breakpoint input help "
    "exit quit memoryview __build_class__"
).split()

# Modules whose functions/classes must never be handed to untrusted code, even
# when a permitted library re-exports them.
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
logging enum typing contextlib
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
func_globals func_closure func_code func_dict f_globals f_locals f_builtins cffi capsule
""".split()
    )
    | INSPECT_ATTRIBUTES
)
# (update_wrapper/wraps and the accessor registries write attributes of
# modules/classes with a plain setattr, bypassing the write guard)

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
            kind, names = MODULE_API[node.module]
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                if alias.name == "*":
                    continue  # RestrictedPython reports it
                if alias.name.startswith("_") or alias.name in DENIED_ATTRS:
                    self.error(node, f'"{alias.name}" is not allowed')
                elif full in MODULE_API:
                    continue
                elif (kind == ONLY) != (alias.name in names):
                    self.error(node, f'"{full}" is not allowed')
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
# Everything the guards use at run time is bound inside _build() (closures and
# frozen tables), so a helper that writes into this module's namespace
# (enum.global_enum, setattr on the module ...) cannot change them afterwards.


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

_EXTRA_BUILTINS = """
list dict set frozenset tuple sorted reversed zip enumerate map filter min max
sum any all iter next bytes bytearray format divmod super staticmethod
classmethod property object dir ascii bin NotImplemented StopAsyncIteration
ModuleNotFoundError FileNotFoundError PermissionError TimeoutError
ConnectionError RecursionError IsADirectoryError FileExistsError
""".split()


def _build():  # noqa: C901 - one closure on purpose
    import builtins as _builtins
    import importlib as _importlib
    import io as _io
    import os as _os
    import string as _string
    import sys as _sys
    import types as _types

    (
        isinstance,
        issubclass,
        getattr,
        setattr,
        delattr,
        hasattr,
        id,
        callable,
        len,
        type,
        str,
        bytes,
        dict,
        list,
        tuple,
        frozenset,
        iter,
        print,
        open,
        ValueError,
        TypeError,
        AttributeError,
        Exception,
        KeyError,
    ) = (
        _builtins.isinstance,
        _builtins.issubclass,
        _builtins.getattr,
        _builtins.setattr,
        _builtins.delattr,
        _builtins.hasattr,
        _builtins.id,
        _builtins.callable,
        _builtins.len,
        _builtins.type,
        _builtins.str,
        _builtins.bytes,
        _builtins.dict,
        _builtins.list,
        _builtins.tuple,
        _builtins.frozenset,
        _builtins.iter,
        _builtins.print,
        _builtins.open,
        _builtins.ValueError,
        _builtins.TypeError,
        _builtins.AttributeError,
        _builtins.Exception,
        _builtins.KeyError,
    )
    real_import = _builtins.__import__
    missing, special_wraps = _MISSING, dict(SPECIAL_WRAPS)
    iter_unpack_sequence, unpack_sequence = guarded_iter_unpack_sequence, guarded_unpack_sequence
    (BaseException, bool, int, float, set, enumerate, complex, range, slice, bytearray) = (
        _builtins.BaseException,
        _builtins.bool,
        _builtins.int,
        _builtins.float,
        _builtins.set,
        _builtins.enumerate,
        _builtins.complex,
        _builtins.range,
        _builtins.slice,
        _builtins.bytearray,
    )
    object_getattribute = _builtins.object.__getattribute__
    build_class = _builtins.__build_class__
    import_module = _importlib.import_module
    sys_modules = _sys.modules
    realpath, join, fsdecode, sep = _os.path.realpath, _os.path.join, _os.fsdecode, _os.sep
    Violation = PolicyViolation
    ModuleType, FunctionType, BuiltinFunctionType, MethodType = (
        _types.ModuleType,
        _types.FunctionType,
        _types.BuiltinFunctionType,
        _types.MethodType,
    )
    FORBIDDEN_VALUE_TYPES = (_types.FrameType, _types.CodeType, _types.TracebackType)
    WRITE_DENIED_TYPES = (
        ModuleType,
        type,
        FunctionType,
        BuiltinFunctionType,
        MethodType,
        _types.CodeType,
        _types.FrameType,
        _types.TracebackType,
        _types.GeneratorType,
        _types.CoroutineType,
        _types.MappingProxyType,
        property,
        staticmethod,
        classmethod,
    )
    FILE_TYPES = frozenset(
        {_io.StringIO, _io.BytesIO, _io.TextIOWrapper, _io.BufferedReader, _io.BufferedWriter, _io.BufferedRandom}
    )
    SAFE_VALUE_IDS = frozenset({id(_io.StringIO), id(_io.BytesIO)})
    parse_format = _string.Formatter().parse
    api = {k: (v[0], frozenset(v[1])) for k, v in MODULE_API.items()}
    denied_attrs = DENIED_ATTRS
    dangerous_modules = frozenset(m.lstrip("_") for m in DANGEROUS_MODULES)
    dangerous_builtin_ids = frozenset(id(getattr(_builtins, n)) for n in DANGEROUS_BUILTINS if hasattr(_builtins, n))
    inplace = dict(_INPLACE)
    io_names, deny_calls, safe_to, dispatch_names = IO_NAMES, DENY_CALLS, SAFE_TO_NAMES, STRING_DISPATCH_ATTRS
    safe_func_names, path_kwargs, template_names = SAFE_FUNC_NAMES, PATH_KWARGS, TEMPLATE_NAMES
    win_types, kwarg_dispatch_names = WIN_TYPES, KWARG_DISPATCH_NAMES
    write_denied_names = WRITE_DENIED_NAMES
    sparse_structure, sparse_no_write = SPARSE_STRUCTURE, SPARSE_NO_WRITE
    big_libs = frozenset({"pandas", "numpy", "scipy", "sklearn", "lightgbm", "matplotlib", "seaborn"})
    foreign_ok = frozenset(
        {"builtins", "numbers", "collections", "collections.abc", "_collections_abc", "itertools", "math"}
    )
    builtin_containers = (dict, list, _builtins.set, _builtins.bytearray)
    container_mutators = frozenset(
        "update setdefault pop popitem clear append extend insert remove add discard sort reverse".split()
    )
    pandas_option_prefixes, mpl_backends = PANDAS_OPTION_PREFIXES, MPL_BACKENDS
    lgb_tree = LGB_TREE_LEARNER | _lgb_aliases(("tree_learner",))
    lgb_machines = LGB_NUM_MACHINES | _lgb_aliases(("num_machines",))
    lgb_ports = LGB_PORTS | _lgb_aliases(("local_listen_port", "time_out"))
    lgb_file_params = LGB_FILE_PARAMS | lgb_tree | lgb_machines | lgb_ports | _lgb_aliases(tuple(LGB_FILE_PARAMS))
    checked_libs, fit_names, user_module = CHECKED_LIBS, FIT_NAMES, USER_MODULE
    extra_builtins = _EXTRA_BUILTINS
    safe_builtins_ = dict(safe_builtins)

    def deny(what):
        raise Violation(f"{what} is not allowed in the sandbox")

    def module_allowed(name):
        return type(name) is str and name in api

    def io_name(name):
        if name in deny_calls:
            return "deny"
        if name in io_names:
            return "io"
        if name in safe_to:
            return None
        if name.startswith(("fetch_", "register_")):
            return "deny"
        if name.startswith(("to_", "read_", "save", "load", "dump", "print_", "write_", "export_", "from_file")):
            return "io"
        return None

    def type_module(t):
        try:
            m = t.__dict__.get("__module__") if isinstance(t, type) else None
            if m is None:
                m = getattr(t, "__module__", None)
        except Exception:  # noqa: BLE001
            return ""
        return m if type(m) is str else ""

    def value_module(value):
        target = value
        if type(value) is MethodType:
            target = value.__func__
        try:
            m = getattr(target, "__module__", None)
        except Exception:  # noqa: BLE001
            return None
        return m if type(m) is str else None

    def lib_of(ob):
        """Top-level package of the class of ``ob`` (or of ``ob`` when it is a class)."""
        t = ob if isinstance(ob, type) else type(ob)
        return type_module(t).split(".")[0]

    def is_user_object(a):
        return type_module(type(a)) == user_module

    def is_module_globals(d):
        return "__builtins__" in d or ("__name__" in d and "__spec__" in d and "__loader__" in d)

    # ---------------------------------------------------------------- values
    def check_value(value, name, proxies):
        """Deny dangerous objects whatever path led to them; real modules
        become proxies (or are refused)."""
        t = type(value)
        if t in fast_types:
            return value
        if id(value) in SAFE_VALUE_IDS:
            return value
        if isinstance(value, ModuleType):
            mname = getattr(value, "__name__", "")
            if module_allowed(mname):
                return proxies(mname)
            deny(f'module "{mname}"')
        if isinstance(value, FORBIDDEN_VALUE_TYPES):
            deny(f'"{name}" (frame/code/traceback object)')
        if id(value) in dangerous_builtin_ids:
            deny(f'"{name}"')
        if t is dict and is_module_globals(value):
            deny(f'"{name}" (a module namespace)')
        if isinstance(value, type):
            if issubclass(value, type):
                deny(f'"{name}" (a metaclass)')
        if t is FunctionType or t is BuiltinFunctionType or t is MethodType or isinstance(value, type):
            mod = value_module(value)
            if mod is not None and mod.split(".")[0].lstrip("_") in dangerous_modules:
                if not (mod == "_io" and id(value) in SAFE_VALUE_IDS):
                    deny(f'"{name}" from module "{mod}"')
        return value

    fast_types = frozenset({int, float, bool, str, bytes, type(None), list, tuple, complex, slice, range})

    def check_format_string(fmt, depth=0):
        """Format templates may only use plain fields ("{}", "{0}", "{x:.2f}"):
        no attribute or index traversal ("{0.__class__}", "{x.os.environ[K]}")."""
        if type(fmt) is not str:
            if isinstance(fmt, str):
                deny("a str subclass as a format template")
            deny("str.format on a non-string")
        if depth > 2:
            deny("deeply nested format specs")
        try:
            parsed = list(parse_format(fmt))
        except ValueError as e:
            raise ValueError(str(e)) from None
        for _lit, field_name, spec, _conv in parsed:
            if field_name is not None and ("." in field_name or "[" in field_name):
                deny(f'format field "{{{field_name}}}" (attribute/index access)')
            if spec:
                check_format_string(spec, depth + 1)

    def check_templates(args, kwargs):
        for a in list(args) + list(kwargs.values()):
            if isinstance(a, str):
                if "{" in a:
                    check_format_string(a)
            elif type(a) in (list, tuple) or type(a) is dict:
                for x in a.values() if type(a) is dict else a:
                    if isinstance(x, str) and "{" in x:
                        check_format_string(x)

    def safe_str_format(s, name):
        method = getattr(s, name)

        def safe_format(*args, **kwargs):
            check_format_string(s)
            return method(*args, **kwargs)

        safe_format.__name__ = name
        return safe_format

    def safe_str_format_unbound(name):
        def safe_format(s, *args, **kwargs):
            check_format_string(s)
            return getattr(str, name)(s, *args, **kwargs)

        safe_format.__name__ = name
        return safe_format

    # ----------------------------------------------------------- call checks
    def check_rc(rc):
        if rc is None:
            return
        if type(rc) is not dict:
            try:
                rc = dict(rc)
            except Exception:  # noqa: BLE001
                deny("an rc mapping that is not a dict")
        for k in rc:
            check_rc_key(k)

    def check_rc_key(k):
        if type(k) is not str:
            deny("a non-string rcParams key")
        low = k.lower()
        if (
            low.startswith(("backend", "animation.", "pgf.", "ps.", "webagg.", "text.latex", "savefig.directory"))
            or "path" in low
            or low in ("text.usetex", "interactive", "toolbar", "timezone")
        ):
            deny(f'rcParams["{k}"]')

    def check_rc_like(d):
        """A dict handed to matplotlib/seaborn whose keys are rcParams keys."""
        mpl = sys_modules.get("matplotlib")
        rc = getattr(mpl, "rcParams", None) if mpl is not None else None
        if rc is None:
            return
        for k in d:
            if (
                type(k) is str
                and "." in k
                or k in ("backend", "backend_fallback", "interactive", "toolbar", "timezone")
            ):
                if dict.__contains__(rc, k):
                    check_rc_key(k)

    def check_option_key(k):
        if type(k) is not str or not k.startswith(pandas_option_prefixes):
            deny(f'pandas option "{k}"')
        for ch in k:
            if not (ch.isalnum() or ch in "._"):
                deny(f'pandas option pattern "{k}"')

    def lgb_param_bad(k, v):
        """LightGBM parameters that name files or other machines (harmless values pass)."""
        if type(k) is not str or k not in lgb_file_params or v is None or v is False or (type(v) is str and v == ""):
            return False
        if k in lgb_tree:
            return not (type(v) is str and v == "serial")
        if k in lgb_machines:
            return not (type(v) is int and v == 1)
        if k in lgb_ports:
            return True
        return isinstance(v, (str, bytes, list, tuple))  # file names, machine lists

    def check_lgb_params(d):
        if isinstance(d, dict):
            for k, v in d.items():
                if lgb_param_bad(k, v):
                    deny(f'LightGBM parameter "{k}"')

    def check_est_params(est):
        """sklearn/lightgbm estimators: no on-disk cache, no file inputs."""
        try:
            params = est.get_params(deep=True)
        except Exception:  # noqa: BLE001
            return
        if type(params) is not dict:
            return
        for k, v in params.items():
            leaf = k.rsplit("__", 1)[-1] if type(k) is str else ""
            if leaf == "memory" and v is not None:
                deny("an estimator with memory= (an on-disk cache)")
            if leaf == "input" and not (type(v) is str and v == "content"):
                deny(f"an estimator with input={v!r}")
            if lgb_param_bad(leaf, v):
                deny(f'LightGBM parameter "{leaf}"')
            if leaf in ("param_grid", "param_distributions"):
                grids = v if type(v) is list else [v]
                for g in grids:
                    if isinstance(g, dict):
                        for gk in g:
                            gl = gk.rsplit("__", 1)[-1] if type(gk) is str else ""
                            if gl in ("memory", "input") or gl in lgb_file_params:
                                deny(f'searching over "{gk}"')
            if leaf == "extra_params" or leaf == "params":
                check_lgb_params(v)

    def check_func(f, depth=0):
        t = type(f)
        if t is str:
            if f not in safe_func_names:
                deny(f'function name "{f}"')
        elif f is None:
            return
        elif t is list or t is tuple:
            if depth > 3:
                deny("deeply nested function specs")
            if t is tuple and len(f) == 2 and type(f[0]) is str and (callable(f[1]) or type(f[1]) is str):
                check_func(f[1], depth + 1)  # ("name", func)
                return
            for x in f:
                check_func(x, depth + 1)
        elif t is dict:
            if depth > 3:
                deny("deeply nested function specs")
            for x in f.values():
                check_func(x, depth + 1)
        elif t.__name__ == "NamedAgg" and type_module(t).startswith("pandas"):
            check_func(f.aggfunc, depth + 1)  # pd.NamedAgg(column, aggfunc)
        elif isinstance(f, (str, bytes)):
            deny("a str subclass as a function name")
        elif callable(f) and not isinstance(f, (list, tuple, dict)):
            return
        else:
            deny(f"a function spec of type {t.__name__}")

    def any_is(x, items):
        for i in items:
            if x is i:
                return True
        return False

    def check_win_type(v):
        # pandas: getattr(scipy.signal.windows, win_type)
        if type(v) is not str or v not in win_types:
            deny(f"win_type={v!r}")

    def check_call(args, kwargs, lgb=False):
        """What every wrapped library callable refuses: lying objects, loaders of
        arbitrary modules, on-disk caches, file parameters."""
        for a in args:
            ta = type(a)
            if ta in fast_types:
                continue
            if hasattr(ta, "__fspath__") or isinstance(a, (str, bytes)):
                deny(f"a path-like object of type {ta.__name__}")
            if ta is dict:
                check_rc_like(a)
                if lgb:
                    check_lgb_params(a)
            elif hasattr(a, "get_params") and not isinstance(a, type) and lib_of(a) in ("sklearn", "lightgbm"):
                check_est_params(a)
        for k, v in kwargs.items():
            if k == "backend" and v is not None:
                deny("backend=")
            elif k == "memory" and v is not None:
                deny("memory= (an on-disk cache)")
            elif k == "input" and type(v) is str and v != "content":
                deny(f"input={v!r}")
            elif k == "rc":
                check_rc(v)
            elif k in ("estimator", "aggfunc", "func", "agg") and isinstance(v, (str, list, dict)):
                check_func(v)  # seaborn/pandas helpers hand these to DataFrame.agg
            elif k == "win_type" and v is not None:
                check_win_type(v)
            elif k in ("fname", "storage_options", "opener", "filesystem") and v is not None:
                deny(f"{k}=")
            elif k in ("usetex", "engine_kwargs") and v:
                deny(f"{k}=")
            elif k == "skip_parameter_validation" and v:
                deny(f"{k}=")
            elif k in ("params", "extra_params"):
                check_lgb_params(v)
            elif lgb and lgb_param_bad(k, v):
                deny(f'LightGBM parameter "{k}"')
            elif hasattr(v, "get_params") and not isinstance(v, type) and lib_of(v) in ("sklearn", "lightgbm"):
                check_est_params(v)

    def wrap_checked(fn, name, est=None):
        lgb = (value_module(fn) or "").startswith("lightgbm") or (est is not None and lib_of(est) == "lightgbm")

        def checked_call(*args, **kwargs):
            if est is not None:
                check_est_params(est)
            check_call(args, kwargs, lgb)
            return fn(*args, **kwargs)

        checked_call.__name__ = name
        checked_call.__qualname__ = name
        checked_call.__doc__ = getattr(fn, "__doc__", None)
        return checked_call

    # ------------------------------------------------------------ the guards
    def make_guards(workdir=None):
        """Build the guard functions, bound to ``workdir`` for the path guard.

        With ``workdir=None`` untrusted code gets no file access at all."""
        root = realpath(workdir) if workdir else None
        proxy_info = {}  # id(proxy) -> (proxy, module name)
        proxy_by_name = {}
        resolved = {}  # (module name, attribute) -> value handed out

        def safe_path(p):
            t = type(p)
            if t is not str and t is not bytes:
                deny(f"a path of type {t.__name__}")
            s = fsdecode(p)
            if root is None:
                deny(f'file access ("{s}") outside the sandbox')
            if "://" in s or s.startswith("~") or "\x00" in s:
                deny(f'path "{s}"')
            full = realpath(join(root, s))
            if full != root and not full.startswith(root + sep):
                deny(f'path "{s}" outside the working directory')
            return full

        def path_arg(a):
            """A value in a path position: a checked path string, an open
            file / in-memory buffer, or data (arrays, frames...)."""
            t = type(a)
            if t is str or t is bytes:
                return safe_path(a)
            if t in FILE_TYPES or a is None or t is bool or t is float:
                return a
            if t is int:
                deny("using a file descriptor as a path")
            if isinstance(a, (str, bytes)):
                deny("a str/bytes subclass as a path")
            if is_user_object(a) or hasattr(t, "__fspath__"):
                deny(f"an object of type {t.__name__} where a path may go")
            return a

        def wrap_io(fn, name):
            lgb = (value_module(fn) or "").startswith("lightgbm") or lib_of(fn) == "lightgbm"
            numpy_load = name == "load" and (value_module(fn) or "").startswith("numpy")

            def io_call(*args, **kwargs):
                check_call(args[1:], {k: v for k, v in kwargs.items() if k not in path_kwargs}, lgb)
                # to_latex & co. hand formatters/float_format to Styler.format (str.format)
                check_templates((), {k: kwargs[k] for k in ("formatters", "float_format", "formatter") if k in kwargs})
                args = tuple(path_arg(a) if i == 0 else a for i, a in enumerate(args))
                if (
                    len(args) > 1
                    and type(args[1]) in (str, bytes)
                    and lib_of(args[0]) in ("pandas", "numpy")
                    and hasattr(args[0], "shape")
                ):
                    # an unbound call, DataFrame.to_csv(df, path): the path is second
                    args = (args[0], safe_path(args[1])) + args[2:]
                for a in args[1:]:
                    t = type(a)
                    if t is str or t is bytes:
                        safe_path(a)
                    elif t is not int and t is not float and t is not bool:
                        path_arg(a)
                for k in list(kwargs):
                    v = kwargs[k]
                    if k in path_kwargs:
                        kwargs[k] = path_arg(v)
                    elif type(v) not in (str, bytes, int, float, bool) and v is not None:
                        path_arg(v)
                if kwargs.get("allow_pickle"):
                    deny("allow_pickle=True")
                if numpy_load:
                    kwargs["allow_pickle"] = False
                return fn(*args, **kwargs)

            io_call.__name__ = name
            io_call.__qualname__ = name
            io_call.__doc__ = getattr(fn, "__doc__", None)
            return io_call

        def wrap_dispatch(fn, name, unbound=False):
            def dispatch_call(*args, **kwargs):
                pos = args[1:] if unbound else args
                func = pos[0] if pos else kwargs.get("func", kwargs.get("arg"))
                check_func(func)
                if func is None:
                    for v in kwargs.values():
                        if isinstance(v, tuple) and len(v) >= 2:
                            check_func(v[1])
                        else:
                            check_func(v)
                if "engine" in kwargs and kwargs["engine"] not in (None, "python", "cython"):
                    deny("engine=")
                return fn(*args, **kwargs)

            dispatch_call.__name__ = name
            return dispatch_call

        def wrap_kwarg_dispatch(fn, name):
            def kwarg_dispatch_call(*args, **kwargs):
                for k in ("aggfunc", "func", "win_type"):
                    if k in kwargs:
                        check_win_type(kwargs[k]) if k == "win_type" else check_func(kwargs[k])
                return fn(*args, **kwargs)

            kwarg_dispatch_call.__name__ = name
            return kwarg_dispatch_call

        def wrap_sparse_class(cls, name):
            """csr/csc/bsr built from (data, indices, indptr): full structure check."""

            def make_sparse(*args, **kwargs):
                out = cls(*args, **kwargs)
                out.check_format(full_check=True)
                return out

            make_sparse.__name__ = name
            return make_sparse

        def readonly_copy(v):
            if type(v) is tuple:
                return tuple(readonly_copy(x) for x in v)
            if hasattr(v, "copy") and hasattr(v, "flags"):
                v = v.copy()
                v.flags.writeable = False
            return v

        def wrap_no_refcheck(fn, name):
            def resize(*args, **kwargs):
                if not kwargs.get("refcheck", True) or len(args) > 1 and args[-1] is False:
                    deny("resize(refcheck=False)")
                return fn(*args, **kwargs)

            return resize

        def wrap_lgb_paths(fn, name):
            """LightGBM reads files natively when given a path string (predict,
            refit, train(init_model=) ...): such strings must name files in the workdir."""

            def lgb_call(*args, **kwargs):
                for a in args:
                    if type(a) is str or type(a) is bytes:
                        safe_path(a)
                for k in ("init_model", "data", "model_file", "filename"):
                    v = kwargs.get(k)
                    if type(v) is str or type(v) is bytes:
                        kwargs[k] = safe_path(v)
                return fn(*args, **kwargs)

            lgb_call.__name__ = name
            return lgb_call

        def wrap_container_mutator(fn, name, cls):
            """dict.update(x, ...) and friends write straight into the storage of a
            dict/list subclass (rcParams ...), skipping its checked __setitem__."""

            def mutator(target, *args, **kwargs):
                t = type(target)
                if t is not cls and type_module(t) != user_module:
                    deny(f"{cls.__name__}.{name} on a {t.__name__}")
                return fn(target, *args, **kwargs)

            mutator.__name__ = name
            return mutator

        def wrap_templates(fn, name):
            def template_call(*args, **kwargs):
                check_templates(args, kwargs)
                check_call(args, kwargs)
                return fn(*args, **kwargs)

            template_call.__name__ = name
            return template_call

        def wrap_no_backend(fn, name):
            def plot_call(*args, **kwargs):
                if kwargs.get("backend") is not None:
                    deny("backend=")
                out = fn(*args, **kwargs)
                if type(out).__name__ == "PlotAccessor" and type_module(type(out)).startswith("pandas"):
                    return plot_proxy(out)  # DataFrame.plot(df) builds the accessor
                return out

            plot_call.__name__ = name
            return plot_call

        def wrap_set_option(fn, name):
            def option_call(*args, **kwargs):
                if kwargs:
                    deny(f"{name}() with keyword arguments")
                for k in args[0::2]:
                    check_option_key(k)
                return fn(*args)

            option_call.__name__ = name
            return option_call

        def wrap_mpl_use(fn, name):
            def use(backend, *args, **kwargs):
                if type(backend) is not str or backend.lower() not in mpl_backends:
                    deny(f'matplotlib backend "{backend}"')
                return fn(backend, *args, **kwargs)

            return use

        def wrap_rc(fn, name):
            def rc(group, **kwargs):
                groups = [group] if type(group) is str else group
                for g in groups:
                    for k in kwargs:
                        check_rc_key(f"{g}.{k}")
                return fn(group, **kwargs)

            return rc

        def wrap_rc_update(fn, name):
            def update(*args, **kwargs):
                for a in args:
                    check_rc(a)
                check_rc(kwargs)
                return fn(*args, **kwargs)

            update.__name__ = name
            return update

        # ------------------------------------------------------------ proxies
        class module:  # noqa: N801 - what restricted code sees as a module
            __slots__ = ("__weakref__",)

            def __getattr__(self, name):
                # plain getattr (IMPORT_FROM, library code probing with hasattr):
                # the same curated view, and AttributeError for anything outside it
                try:
                    return resolve(self, name)
                except Violation as e:
                    raise AttributeError(str(e)) from None

            def __repr__(self):
                info = proxy_info.get(id(self))
                return f"<module {info[1]!r} (sandboxed)>" if info else "<module>"

        def proxy_for(mname):
            p = proxy_by_name.get(mname)
            if p is None:
                p = module()
                proxy_info[id(p)] = (p, mname)
                proxy_by_name[mname] = p
            return p

        def resolve(proxy, name):
            info = proxy_info.get(id(proxy))
            if info is None or info[0] is not proxy:
                deny("this module object")
            mname = info[1]
            key = (mname, name)
            try:
                return resolved[key]
            except KeyError:
                pass
            if type(name) is not str or name.startswith("_") or name in denied_attrs:
                deny(f'attribute "{name}"')
            full = f"{mname}.{name}"
            if full in api:
                import_module(full)
                resolved[key] = out = proxy_for(full)
                return out
            kind, names = api[mname]
            if kind == "only" and name not in names or kind == "public" and name in names:
                deny(f'"{full}"')
            real = sys_modules.get(mname) or import_module(mname)
            value = getattr(real, name)
            top = mname.split(".")[0]
            if kind == "public" and top in big_libs and callable(value) and not isinstance(value, ModuleType):
                origin = (type_module(value) if isinstance(value, type) else value_module(value)) or ""
                if origin and origin.split(".")[0] not in big_libs and origin not in foreign_ok:
                    deny(f'"{full}" (re-exported from {origin})')
            if isinstance(value, ModuleType):
                vname = getattr(value, "__name__", "")
                if not module_allowed(vname):
                    deny(f'module "{vname}"')
                out = proxy_for(vname)
            else:
                check_value(value, name, proxy_for)
                out = wrap_value(value, name, mname.split(".")[0], full)
            resolved[key] = out
            return out

        def wrap_value(value, name, lib, full):
            """Curated module attributes: wrap what needs a check at call time."""
            special = special_wraps.get(full)
            if special is not None:
                return {
                    "set_option": wrap_set_option,
                    "mpl_use": wrap_mpl_use,
                    "rc": wrap_rc,
                    "templates": wrap_templates,
                    "io": wrap_io,
                    "checked": wrap_checked,
                    "sparse": wrap_sparse_class,
                }[special](value, name)
            if not callable(value):
                return value
            kind = io_name(name)
            if kind == "deny":
                deny(f'"{full}"')
            if kind == "io":
                return wrap_io(value, name)
            if name in template_names:
                return wrap_templates(value, name)
            if lib == "lightgbm" and not isinstance(value, type):
                return wrap_lgb_paths(wrap_checked(value, name), name)
            if (lib in checked_libs or full.startswith("pandas.plotting.")) and not isinstance(value, type):
                return wrap_checked(value, name)
            if lib == "pandas" and name in kwarg_dispatch_names:
                return wrap_kwarg_dispatch(value, name)
            return value

        # pandas' df.plot accessor: callable and with methods; both refuse backend=
        class PlotAccessor:
            __slots__ = ("__weakref__",)

            def __call__(self, *args, **kwargs):
                if kwargs.get("backend") is not None:
                    deny("backend=")
                return plot_targets[id(self)][1](*args, **kwargs)

        plot_targets = {}

        def plot_proxy(acc):
            p = PlotAccessor()
            plot_targets[id(p)] = (p, acc)
            return p

        def is_rc(ob):
            t = type(ob)
            return t.__name__ == "RcParams" and type_module(t) == "matplotlib"

        # ------------------------------------------------------ attribute guard
        def guarded_getattr(ob, name, default=missing):
            if type(name) is not str:
                raise TypeError("attribute name must be a string")
            if name.startswith("_") or name in denied_attrs or name.endswith("__roles__"):
                deny(f'attribute "{name}"')
            tob = type(ob)
            if tob is module:
                if default is missing:
                    return resolve(ob, name)
                try:
                    return resolve(ob, name)
                except AttributeError:
                    return default
            if tob is PlotAccessor:
                value = guarded_getattr(plot_targets[id(ob)][1], name)
                return wrap_no_backend(value, name) if callable(value) else value
            if name in ("format", "format_map") and isinstance(ob, str):
                return safe_str_format(ob, name)
            if name in ("format", "format_map") and isinstance(ob, type) and issubclass(ob, str):
                return safe_str_format_unbound(name)
            if name in ("vformat", "get_field"):
                deny(f'"{name}"')
            if name == "obj" and isinstance(ob, BaseException):
                deny("exception.obj")
            if isinstance(ob, ModuleType):
                deny(f'module "{getattr(ob, "__name__", "?")}" (only sandboxed modules can be used)')
            if isinstance(ob, FORBIDDEN_VALUE_TYPES):
                deny("frame/code/traceback objects")
            if default is missing:
                value = getattr(ob, name)
            else:
                value = getattr(ob, name, default)
            if type(value) in fast_types:
                return value
            value = check_value(value, name, proxy_for)
            if name in sparse_structure and type_module(tob).startswith("scipy.sparse"):
                return readonly_copy(value)
            if type(value) is module or not callable(value):
                return value
            if name == "resize" and lib_of(ob) == "numpy":
                return wrap_no_refcheck(value, name)
            kind = io_name(name)
            if kind == "deny":
                deny(f'"{name}"')
            if kind == "io":
                return wrap_io(value, name)
            lib = lib_of(ob)
            if name in dispatch_names and lib == "pandas":
                return wrap_dispatch(value, name, isinstance(ob, type))
            if name in kwarg_dispatch_names and lib == "pandas":
                return wrap_kwarg_dispatch(value, name)
            if name in template_names:
                return wrap_templates(value, name)
            if lib == "pandas" and name in ("plot", "hist", "boxplot"):
                if isinstance(value, MethodType) or isinstance(ob, type):
                    return wrap_no_backend(value, name)
                return plot_proxy(value)
            if lib in ("sklearn", "lightgbm"):
                if name in fit_names and hasattr(ob, "get_params") and not isinstance(ob, type):
                    out = wrap_checked(value, name, ob)
                else:
                    out = wrap_checked(value, name)
                return wrap_lgb_paths(out, name) if lib == "lightgbm" else out
            if isinstance(ob, type) and any_is(ob, builtin_containers) and name in container_mutators:
                return wrap_container_mutator(value, name, ob)
            if name == "set_params" or (lib in ("matplotlib", "seaborn") and not isinstance(value, type)):
                return wrap_checked(value, name)
            if name in ("update", "setdefault") and is_rc(ob):
                return wrap_rc_update(value, name)
            return value

        def guarded_hasattr(ob, name):
            try:
                guarded_getattr(ob, name)
                return True
            except Violation:
                raise
            except Exception:  # noqa: BLE001
                return False

        # ----------------------------------------------------------- write guard
        def check_writable(ob):
            t = type(ob)
            if t is module or t is PlotAccessor or isinstance(ob, WRITE_DENIED_TYPES):
                deny(f"modifying {t.__name__} objects")
            if t is dict and is_module_globals(ob):
                deny("modifying a module namespace")

        def check_set(ob, name, value):
            if type(name) is not str or name.startswith("_") or name in denied_attrs:
                deny(f'setting attribute "{name}"')
            if name in write_denied_names or name == "input":
                # library objects, and user classes built on estimators
                if not is_user_object(ob) or hasattr(ob, "get_params"):
                    if name != "input":
                        deny(f'setting "{name}"')
                    if not (type(value) is str and value == "content"):
                        deny(f"input={value!r}")
            if name in sparse_no_write and type_module(type(ob)).startswith("scipy.sparse"):
                deny(f'setting "{name}" of a sparse matrix')
            if type_module(type(ob)) == "pandas._config.config":
                try:
                    prefix = object_getattribute(ob, "__dict__").get("prefix", "")
                except Exception:  # noqa: BLE001
                    prefix = ""
                check_option_key(f"{prefix}.{name}" if prefix else name)

        class Writer:
            __slots__ = ("__weakref__",)

            def __setattr__(self, name, value):
                ob = writer_targets.pop(id(self))[1]
                check_set(ob, name, value)
                setattr(ob, name, value)

            def __delattr__(self, name):
                ob = writer_targets.pop(id(self))[1]
                if type(name) is not str or name.startswith("_"):
                    deny(f'deleting attribute "{name}"')
                delattr(ob, name)

            def __setitem__(self, key, value):
                ob = writer_targets.pop(id(self))[1]
                if is_rc(ob):
                    check_rc_key(key)
                ob[key] = value

            def __delitem__(self, key):
                ob = writer_targets.pop(id(self))[1]
                del ob[key]

        writer_targets = {}
        direct_write = frozenset({dict, list, bytearray, set})

        def guarded_write(ob):
            t = type(ob)
            if t in direct_write:
                if t is dict and is_module_globals(ob):
                    deny("modifying a module namespace")
                return ob
            check_writable(ob)
            w = Writer()
            writer_targets[id(w)] = (w, ob)
            return w

        def guarded_setattr(ob, name, value):
            check_writable(ob)
            check_set(ob, name, value)
            setattr(ob, name, value)

        def guarded_delattr(ob, name):
            if type(name) is not str or name.startswith("_"):
                deny(f'deleting attribute "{name}"')
            check_writable(ob)
            delattr(ob, name)

        def guarded_getitem(ob, key):
            t = type(ob)
            if t is module or isinstance(ob, ModuleType):
                deny("indexing modules")
            value = ob[key]
            if type(value) in fast_types:
                return value
            return check_value(value, "item", proxy_for)

        def guarded_getiter(ob):
            if isinstance(ob, (FORBIDDEN_VALUE_TYPES, ModuleType)) or type(ob) is module:
                deny("iterating over this object")
            return iter(ob)

        def guarded_import(name, globals=None, locals=None, fromlist=(), level=0):
            if type(fromlist) is list and not fromlist and level == 0:
                # PyImport_Import() from C code (e.g. numpy's dtype.__str__)
                # looks __import__ up in the *calling* frame's builtins, which
                # are ours.  Untrusted code cannot produce this call (it cannot
                # name __import__) and the module is not bound to its namespace.
                return real_import(name, globals, locals, fromlist, 0)
            if level != 0:
                deny("relative import")
            if not module_allowed(name):
                deny(f'import of "{name}"')
            import_module(name)
            if fromlist:
                for item in fromlist:
                    if item == "*":
                        deny("from ... import *")
                return proxy_for(name)
            return proxy_for(name.split(".")[0])

        type_cache = {}

        def guarded_type(ob):
            """type(x) for builtin types and user classes; for library objects,
            only the class the curated API hands out under its public name
            (so type(reader)/type(npz)/type(booster) cannot reach a constructor
            the API does not offer, or skip its wrapper)."""
            t = type(ob)
            if issubclass(t, type):
                deny("type() of a class")
            if t is module:
                return module
            try:
                return type_cache[t]
            except KeyError:
                pass
            mod = type_module(t)
            if mod == "builtins" or mod == user_module:
                type_cache[t] = t  # metaclasses were refused above
                return t
            parts = mod.split(".")
            for i, part in enumerate(parts):
                if part.startswith("_"):
                    parts = parts[:i]
                    break
            name = t.__name__
            while parts:
                cand = ".".join(parts)
                if cand in api:
                    real = sys_modules.get(cand)
                    if real is not None and getattr(real, name, None) is t:
                        try:
                            out = resolve(proxy_for(cand), name)
                        except Violation:
                            break
                        type_cache[t] = out
                        return out
                parts = parts[:-1]
            deny(f"type() of a {name} object (its class is not part of the sandbox's API)")

        def guarded_open(file, mode="r", *args, **kwargs):
            if kwargs.get("opener") is not None:
                deny("open(opener=...)")
            return open(safe_path(file), mode, *args, **kwargs)

        def inplacevar(op, x, y):
            fn = inplace.get(op)
            if fn is None:
                deny(f"operator {op}")
            return fn(x, y)

        def metaclass(name, bases, ns):
            for k in ns:
                if k.startswith("__") and k not in ("__init__", "__module__", "__qualname__", "__doc__"):
                    deny(f'class attribute "{k}"')
            for b in bases:
                if type(b) is not type and issubclass(type(b), type) and type_module(type(b)) not in ("abc",):
                    deny(f"subclassing a class with metaclass {type(b).__name__}")
            return type(name, bases, ns)

        def apply(f, *a, **kw):
            return f(*a, **kw)

        class PrintToStdout:
            def __init__(self, _getattr_=None):
                pass

            def _call_print(self, *objects, **kwargs):
                if kwargs.get("file") is None:
                    kwargs["file"] = _sys.stdout
                print(*objects, **kwargs)

            def __call__(self):
                return ""

        return {
            "_getattr_": guarded_getattr,
            "_getitem_": guarded_getitem,
            "_getiter_": guarded_getiter,
            "_write_": guarded_write,
            "_iter_unpack_sequence_": iter_unpack_sequence,
            "_unpack_sequence_": unpack_sequence,
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

    def make_globals(workdir=None):
        """Globals for running restricted code (fresh dict every call)."""
        guards = make_guards(workdir)
        b = dict(safe_builtins_)
        for n in extra_builtins:
            if hasattr(_builtins, n):
                b[n] = getattr(_builtins, n)
        for n in ("__import__", "getattr", "hasattr", "setattr", "delattr", "type", "open"):
            b[n] = guards[n]
        b["__build_class__"] = build_class
        g = {k: v for k, v in guards.items() if k.startswith("_") and k != "__import__"}
        g["__builtins__"] = b
        g["__name__"] = user_module
        g["__metaclass__"] = guards["__metaclass__"]
        return g

    return make_guards, make_globals, module_allowed


make_guards, make_globals, module_allowed = _build()
del _build


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
