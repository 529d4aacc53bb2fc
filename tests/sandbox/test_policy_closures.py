"""The language layer's guards do not depend on anything restricted code (or a
library helper it drives) could rebind later: module globals of sandbox.policy,
its tables, the builtins it uses."""

import os

import pytest
import sbx_helpers  # noqa: F401  (puts the repo on sys.path)

import sandbox
from sandbox import policy

PROBES = [
    'import pandas as pd\nx = getattr(pd, "i" + "o")',
    'import numpy as np\nx = getattr(np, "l" + "ib")',
    'import pandas as pd\npd.DataFrame({"a": [1]}).agg("to_" + "pickle", 0, "p.pkl")',
    "x = type(type(1))",
    'import matplotlib\nmatplotlib.rcParams["back" + "end"] = "module://this"',
    'import pandas as pd\npd.set_option("plotting." + "backend", "this")',
    'f = open("/etc/passwd")',
]


@pytest.mark.parametrize("code", PROBES)
def test_rebinding_policy_globals_changes_nothing(code, tmp_path, monkeypatch):
    code_obj, errors = policy._compile(code)
    assert not errors, errors
    violation = policy.PolicyViolation
    glb = policy.make_globals(str(tmp_path))
    # what enum.global_enum(..., module="sandbox.policy") & co. could do
    permissive = {
        "DENIED_ATTRS": frozenset(),
        "DANGEROUS_MODULES": frozenset(),
        "IO_NAMES": frozenset(),
        "DENY_CALLS": frozenset(),
        "SAFE_FUNC_NAMES": frozenset(["to_pickle"]),
        "STRING_DISPATCH_ATTRS": frozenset(),
        "PANDAS_OPTION_PREFIXES": ("",),
        "WRITE_DENIED_NAMES": frozenset(),
        "SPECIAL_WRAPS": {},
        "_MISSING": object(),
        "module_allowed": lambda name: True,
        "PolicyViolation": type("Fake", (Exception,), {}),
    }
    for name, value in permissive.items():
        monkeypatch.setattr(policy, name, value)
    monkeypatch.setitem(policy.MODULE_API, "pandas", ("public", ()))
    monkeypatch.setitem(policy.MODULE_API, "numpy", ("public", ()))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(violation):
        exec(code_obj, glb)  # noqa: S102 - compiled by RestrictedPython
    with pytest.raises(violation):
        exec(code_obj, policy.make_globals(str(tmp_path)))  # noqa: S102
    assert os.listdir(tmp_path) == []


def test_unbound_writer_path_is_resolved_in_the_workdir(tmp_path, monkeypatch):
    """In-process, the caller's cwd is not the workdir: an unbound call's path
    (second argument) is resolved inside the workdir, not relative to the cwd."""
    work = tmp_path / "work"
    work.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    sandbox.restricted_exec(
        'import pandas as pd\npd.DataFrame.to_csv(pd.DataFrame({"a": [1]}), "x.csv")', workdir=str(work)
    )
    assert (work / "x.csv").is_file() and not (elsewhere / "x.csv").exists()
