"""sandbox.Worker: a warm sandbox for one piece of code called many times (a model's feature code when serving).

Every call must get a fresh sandboxed process that nothing from an earlier call survives into; the code is
checked and its top level run under every layer before any call; a call that overruns is killed and the worker
goes on serving; a worker is its code's alone.
"""

from __future__ import annotations

import json
import os
import time

import pytest
import sbx_helpers  # noqa: F401  (puts the repo on sys.path)

import sandbox
from sandbox.worker import Worker, WorkerError

ECHO = """
import json


def handle(user, payload):
    return json.dumps(user["answer"](json.loads(payload))).encode()
"""

REMEMBERS = """
calls = []


def answer(request):
    calls.append(request)
    try:
        with open("left_by_an_earlier_call.txt") as fh:
            found = fh.read()
    except FileNotFoundError:
        found = ""
    with open("left_by_an_earlier_call.txt", "w") as fh:
        fh.write(str(request))
    return {"calls_seen": len(calls), "file_found": found}
"""


def _call(worker: Worker, request) -> dict:
    return json.loads(worker.call(json.dumps(request).encode()))


def test_every_call_gets_a_fresh_process_and_workdir():
    with Worker(REMEMBERS, ECHO, timeout_s=20) as worker:
        answers = [_call(worker, n) for n in range(5)]
        assert "seccomp" in worker.isolation or "audithook" in worker.isolation
    # a process reused across calls would count the earlier calls, and a shared workdir would show their file
    assert answers == [{"calls_seen": 1, "file_found": ""}] * 5


def test_concurrent_calls_each_get_their_own_process():
    import concurrent.futures

    with Worker(REMEMBERS, ECHO, timeout_s=30, spares=2) as worker:
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(lambda n: _call(worker, n), range(8)))
    assert answers == [{"calls_seen": 1, "file_found": ""}] * 8


def test_code_that_fails_the_check_or_its_top_level_never_serves():
    with pytest.raises(WorkerError, match='import of "os" is not allowed'):
        Worker("import os\ndef answer(r):\n    return os.environ", ECHO)
    with pytest.raises(WorkerError, match="division by zero"):
        Worker("x = 1 / 0\ndef answer(r):\n    return r", ECHO, timeout_s=20)


def test_the_caller_secret_and_files_stay_out_of_reach(tmp_path, monkeypatch):
    secret = "sk-worker-" + os.urandom(6).hex()
    monkeypatch.setenv("WORKER_TEST_SECRET", secret)
    canary = tmp_path / "canary.txt"
    canary.write_text("original")
    code = f"""
def answer(request):
    found = []
    try:
        with open({str(canary)!r}) as fh:
            found.append(fh.read())
    except Exception:
        found.append("refused")
    try:
        with open({str(tmp_path / "written.txt")!r}, "w") as fh:
            fh.write("x")
    except Exception:
        found.append("refused")
    return found
"""
    with Worker(code, ECHO, timeout_s=20) as worker:
        answer = _call(worker, "go")
    assert answer == ["refused", "refused"]
    assert "original" not in json.dumps(answer) and secret not in json.dumps(answer)
    assert not (tmp_path / "written.txt").exists()
    assert canary.read_text() == "original"


def test_a_call_that_overruns_is_killed_and_the_worker_goes_on():
    code = """
def answer(request):
    if request == "hang":
        while True:
            pass
    return request
"""
    with Worker(code, ECHO, timeout_s=1.5) as worker:
        started = time.monotonic()
        with pytest.raises(WorkerError, match="overran"):
            _call(worker, "hang")
        assert time.monotonic() - started < 5
        assert _call(worker, "next") == "next"


def test_close_stops_the_zygote_and_removes_every_workdir():
    worker = Worker(REMEMBERS, ECHO, timeout_s=20)
    _call(worker, 1)
    base, pid = worker._base, worker._proc.pid
    worker.close()
    assert not os.path.exists(base)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    with pytest.raises(WorkerError, match="closed"):
        worker.call(b"1")


def test_workers_are_not_shared():
    with Worker(REMEMBERS, ECHO, timeout_s=20) as one, Worker(REMEMBERS, ECHO, timeout_s=20) as two:
        assert one._proc.pid != two._proc.pid
        assert _call(one, 1) == _call(two, 1) == {"calls_seen": 1, "file_found": ""}


def test_exported_from_the_package():
    assert sandbox.Worker is Worker and sandbox.WorkerError is WorkerError


def test_a_call_that_fills_its_workdir_is_stopped_at_the_disk_cap():
    code = """
def answer(request):
    block = "x" * (4 << 20)
    for n in range(200):
        with open("fill_%d.txt" % n, "w") as fh:
            fh.write(block)
    return "wrote 800 MB"
"""
    with Worker(code, ECHO, timeout_s=30, max_disk_mb=24) as worker:
        with pytest.raises(WorkerError, match="more than 24 MB"):
            _call(worker, "go")
        base = worker._base
    assert not os.path.exists(base)  # the spare's files went with it


def test_a_worker_whose_zygote_died_starts_a_new_one():
    with Worker(REMEMBERS, ECHO, timeout_s=20) as worker:
        first = worker._proc.pid
        os.kill(first, 9)
        worker._proc.wait()
        assert _call(worker, 1) == {"calls_seen": 1, "file_found": ""}
        assert worker._proc.pid != first
