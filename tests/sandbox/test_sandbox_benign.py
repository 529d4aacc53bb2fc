"""The benign corpus: realistic data-science snippets that must pass."""

import glob
import os
import re

import pytest
import sbx_helpers  # noqa: F401  (puts the repo on sys.path)
from sbx_helpers import HERE, write_input_csv

import sandbox

BENIGN = sorted(glob.glob(os.path.join(HERE, "benign", "*.py")))


def test_corpus_size():
    assert len(BENIGN) >= 40


@pytest.mark.parametrize("path", BENIGN, ids=os.path.basename)
def test_benign_snippet_runs(path, tmp_path):
    code = open(path).read()
    chk = sandbox.check(code)
    assert chk.ok, chk.errors
    write_input_csv(tmp_path)
    res = sandbox.Executor(tmp_path, timeout_s=60, memory_mb=2048).run(code)
    assert res.ok, (res.error_type, res.error, res.stderr[-3000:])
    m = re.search(r"^# expect: (.+)$", code, re.M)
    for name in m.group(1).split(",") if m else []:
        p = tmp_path / name.strip()
        assert p.is_file() and p.stat().st_size > 0, name
        if name.strip().endswith(".png"):
            assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
