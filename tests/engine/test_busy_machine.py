"""A busy machine: the run learns its CPU share from profiling and keeps more time for the finish."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from pipeline.run.context import Budget


def test_an_idle_machine_keeps_the_usual_reserve():
    budget = Budget(60)
    budget.observe_cpu(cpu_s=0.95, wall_s=1.0)
    assert budget.slowdown == 1.0
    assert budget.finish_reserve() == budget.idle_reserve() == 1.5 + 0.04 * 60


def test_a_fifth_of_a_cpu_keeps_five_times_the_fixed_finish_time_within_a_cap():
    budget = Budget(60)
    budget.observe_cpu(cpu_s=0.2, wall_s=1.0)
    assert budget.slowdown == 5.0
    assert budget.finish_reserve() == 5 * 1.5 + 0.04 * 60
    short = Budget(20)
    short.observe_cpu(cpu_s=0.1, wall_s=1.0)
    assert short.finish_reserve() == 0.3 * 20 + 0.04 * 20  # never more than 30 % of the budget for the fixed part


def test_a_step_too_short_to_measure_changes_nothing():
    budget = Budget(60)
    budget.observe_cpu(cpu_s=0.01, wall_s=0.1)
    assert budget.slowdown == 1.0


@pytest.mark.slow
def test_the_thread_cpu_share_is_measured_for_real_when_other_processes_hold_the_cpus():
    """Four CPU-bound processes per core: a busy loop in this thread gets a fraction of a CPU, and the
    budget's reserve grows; measured the same way the profiler measures itself."""
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(4 * (os.cpu_count() or 2))]
    try:
        time.sleep(0.5)
        wall, cpu = time.monotonic(), time.thread_time()
        while time.monotonic() - wall < 1.5:
            sum(range(10_000))
        budget = Budget(60)
        budget.observe_cpu(time.thread_time() - cpu, time.monotonic() - wall)
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
    assert budget.slowdown >= 2.0, budget.slowdown
    assert budget.finish_reserve() > budget.idle_reserve()


def test_the_cli_budget_counts_from_the_process_start_not_from_the_engine_import():
    """The interpreter's start-up and whatever ran before `import pipeline` are inside the user's budget: a
    process that idles 1 s before importing the engine has already spent that second."""
    probe = "import time; time.sleep(1.0); import pipeline; print(time.monotonic() - pipeline.STARTED_AT)"
    spent = float(subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout)
    assert 1.0 <= spent < 30.0
