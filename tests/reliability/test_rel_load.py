"""Load: five browser sessions at once against a real `streamlit run app.py` (concurrency limit 2).

Five Playwright contexts in Debian's Chromium each upload a different table (distinct column names,
class labels and file names per session, so any leak across sessions is visible), choose the target,
set a short budget and press Run pipeline, one after the other; the first two runs pause at the "Before
training" gate, so they hold both slots however slowly the pages answer, and are approved once all five are
pressed; then all five are watched at once until each says Finished. Asserted: every run finishes; each page
shows only its own run and its own data; the runs started in the order they were queued with at most two
running at any moment (from the phase history in each run.json), and the "Queued — position N" line each page
showed matches the runs still waiting when it was pressed (pages 3, 4 and 5: 1, 2 and 3); the summed
RSS of the server process tree (sampled from /proc every 100 ms) stays under 3 GB. The wall time and the
memory peaks are printed and written to test-artifacts/load.json.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from playwright.sync_api import Page, expect, sync_playwright
from rel_fixtures import corpus  # noqa: F401  (fixture; sets the runs home first)

from tests.browser_support import CHROMIUM, CHROMIUM_ARGS, choose, kill_server, start_streamlit, wait_idle

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
SESSIONS = ["zqamber", "zqbirch", "zqcedar", "zqdune", "zqember"]  # column / label / file prefixes
LIMIT = 2
BUDGET = 25
HOLD_GATE = "Before training"  # runs 1 and 2 wait there (time at a gate is outside the budget) until approved
PRESS_MS = 150_000  # a press answered in 30 s here while five live pages shared two cores with the server
MEMORY_CAP = 3 * 1024**3
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def _table(prefix: str, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = 240 + 40 * seed
    frame = pd.DataFrame(
        {
            f"{prefix}_height": rng.normal(170, 10, n).round(1),
            f"{prefix}_weight": rng.normal(70, 12, n).round(1),
            f"{prefix}_visits": rng.integers(0, 30, n),
            f"{prefix}_colour": rng.choice([f"{prefix}red", f"{prefix}blue", f"{prefix}green"], n),
        }
    )
    score = (frame[f"{prefix}_height"] - 170) / 10 + frame[f"{prefix}_visits"] / 10 + rng.normal(0, 0.7, n)
    frame[f"{prefix}_label"] = np.where(score > 1.4, f"{prefix}yes", f"{prefix}no")
    return frame


# --------------------------------------------------------------------------- memory of a process tree


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry))
    return children


def _tree(root: int, children: dict[int, list[int]]) -> list[int]:
    out, todo = [root], [root]
    while todo:
        for kid in children.get(todo.pop(), []):
            out.append(kid)
            todo.append(kid)
    return out


def _rss(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_SIZE
        except (OSError, IndexError, ValueError):
            pass
    return total


class MemorySampler(threading.Thread):
    """Summed RSS of the server's process tree (and, for the record, of this process's other children:
    the Playwright driver and Chromium) every 100 ms."""

    def __init__(self, server_pid: int) -> None:
        super().__init__(daemon=True)
        self.server_pid = server_pid
        self.stop = threading.Event()
        self.server_peak = self.browser_peak = 0
        self.server_peak_procs = 0
        self.samples = 0

    def run(self) -> None:
        me = os.getpid()
        while not self.stop.is_set():
            children = _children_map()
            server = _tree(self.server_pid, children)
            rss = _rss(server)
            if rss > self.server_peak:
                self.server_peak, self.server_peak_procs = rss, len(server)
            others = [p for p in _tree(me, children) if p != me and p not in set(server)]
            self.browser_peak = max(self.browser_peak, _rss(others))
            self.samples += 1
            self.stop.wait(0.1)


# --------------------------------------------------------------------------- server and browser


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    home = tmp_path_factory.mktemp("load-home")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC", "OPENAI", "LLM_"))}
    env.update(MLPIPELINE_MAX_CONCURRENT=str(LIMIT))
    proc, url, log = start_streamlit(home, env)
    sampler = MemorySampler(proc.pid)
    sampler.start()
    yield {"url": url, "home": home, "proc": proc, "sampler": sampler, "log": log}
    sampler.stop.set()
    kill_server(proc)


def _set_number(page: Page, label: str, value: int) -> None:
    field = page.get_by_role("spinbutton", name=label, exact=True)
    field.fill(str(value))
    field.press("Enter")
    wait_idle(page, 60_000)


def _prepare_session(page: Page, url: str, csv: Path, target: str, gate: str | None) -> None:
    page.goto(url)
    page.locator("input[type=file]").first.set_input_files(str(csv))
    expect(page.get_by_text("Target column", exact=True)).to_be_visible(timeout=60_000)
    wait_idle(page, 60_000)
    choose(page, "Target column", target, 60_000)
    page.get_by_text("Settings", exact=True).click()
    _set_number(page, "Time budget (s)", BUDGET)
    _set_number(page, "Max loops", 1)
    if gate:
        box = page.get_by_test_id("stMultiSelect").filter(has=page.get_by_text("Approval gates", exact=True))
        box.locator("input").first.click()
        page.get_by_role("option", name=gate, exact=True).click()
        page.keyboard.press("Escape")
        wait_idle(page, 60_000)
        expect(box.get_by_text(gate, exact=True)).to_be_visible()


def _recorded_statuses(home: Path) -> dict[str, str]:
    """What the server wrote for each run (tells a page that stopped updating from a run that did not finish)."""
    out = {}
    for run_json in sorted(Path(home).glob("runs/*/run.json")):
        try:
            out[run_json.parent.name] = json.loads(run_json.read_text())["status"]
        except (OSError, ValueError, KeyError):
            out[run_json.parent.name] = "unreadable"
    return out


def _status_line(page: Page) -> str:
    alerts = page.get_by_test_id("stAlert")
    return " | ".join(t.strip() for t in alerts.all_inner_texts())


def test_five_browser_sessions_queue_in_order_stay_apart_and_finish(server, tmp_path):
    sampler: MemorySampler = server["sampler"]
    ARTIFACTS.mkdir(exist_ok=True)
    t_start = time.monotonic()
    tables = {}
    for i, prefix in enumerate(SESSIONS):
        frame = _table(prefix, i)
        path = tmp_path / f"{prefix}.csv"
        frame.to_csv(path, index=False)
        tables[prefix] = (path, frame)

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        contexts = [browser.new_context(viewport={"width": 1440, "height": 1600}) for _ in SESSIONS]
        pages = {prefix: ctx.new_page() for prefix, ctx in zip(SESSIONS, contexts)}
        for page in pages.values():
            page.set_default_timeout(60_000)
        for i, (prefix, page) in enumerate(pages.items()):
            _prepare_session(
                page, server["url"], tables[prefix][0], f"{prefix}_label", HOLD_GATE if i < LIMIT else None
            )

        # Press Run pipeline in all five, in order, as fast as the pages answer.
        t_load = time.monotonic()
        run_ids, first_status, clicked, seen = {}, {}, {}, {}
        for prefix, page in pages.items():
            clicked[prefix] = time.time()
            page.get_by_role("button", name="Run pipeline").click()
            page.wait_for_url(re.compile(r"[?&]run="), timeout=PRESS_MS)
            run_ids[prefix] = re.search(r"[?&]run=([\w-]+)", page.url).group(1)
            expect(page.get_by_text(re.compile(r"^(Queued|Running|Finished)$")).first).to_be_visible(timeout=PRESS_MS)
            first_status[prefix] = _status_line(page)
            seen[prefix] = time.time()
        # Runs 1 and 2 wait at their gate: let them go.
        for prefix in SESSIONS[:LIMIT]:
            approve = pages[prefix].get_by_role("button", name="Approve")
            expect(approve).to_be_visible(timeout=180_000)
            approve.click()

        # Watch all five at once until each has ended.
        ended: dict[str, str] = {}
        deadline = time.monotonic() + 420  # five 25 s runs, two at a time: about 90 s here, 3x that on a busy machine
        while len(ended) < len(pages) and time.monotonic() < deadline:
            for prefix, page in pages.items():
                if prefix in ended:
                    continue
                if page.get_by_text("Finished", exact=True).count():
                    ended[prefix] = "finished"
                elif page.get_by_text(re.compile(r"^(Failed:|Cancelled:|Interrupted:)$")).count():
                    ended[prefix] = _status_line(page)
            time.sleep(0.5)
        t_all_done = time.monotonic()
        for prefix, page in pages.items():
            if prefix not in ended:
                page.screenshot(path=str(ARTIFACTS / f"load_{prefix}_not_ended.png"), full_page=True)
        assert ended == {prefix: "finished" for prefix in pages}, (
            ended,
            first_status,
            _recorded_statuses(server["home"]),
        )

        # Each page: its own run and data only.
        for prefix, page in pages.items():
            wait_idle(page, 60_000)
            page.screenshot(path=str(ARTIFACTS / f"load_{prefix}.png"))
            html, text = page.content(), page.inner_text("body")
            assert f"run={run_ids[prefix]}" in page.url
            assert run_ids[prefix] in text
            assert f"{prefix}.csv" in text and f"{prefix}_label" in text
            for other in SESSIONS:
                if other != prefix:
                    assert other not in html, f"{other}'s data shows in {prefix}'s page"
                    assert run_ids[other] not in html, f"{other}'s run shows in {prefix}'s page"
        browser.close()
    t_end = time.monotonic()
    sampler.stop.set()
    sampler.join(2)

    # The recorded runs: every one finished, on its own data, started in queue order, at most 2 at once.
    states = {}
    for prefix, rid in run_ids.items():
        doc = json.loads((server["home"] / "runs" / rid / "run.json").read_text())
        state = doc["state"]
        assert doc["status"] == "finished" and (server["home"] / "runs" / rid / "model.joblib").is_file()
        assert state["config"]["dataset_name"] == f"{prefix}.csv"
        assert state["config"]["target"] == f"{prefix}_label"
        assert Path(state["config"]["data_path"]).read_text().startswith(f"{prefix}_height")
        states[prefix] = state
    starts = {p: s["history"][0]["started_at"] for p, s in states.items()}
    ends = {p: s["finished_at"] for p, s in states.items()}
    order = sorted(SESSIONS, key=starts.get)
    assert order == SESSIONS, f"runs started in the order {order}, queued in {SESSIONS}"
    edges = sorted([(starts[p], 1) for p in SESSIONS] + [(ends[p], -1) for p in SESSIONS], key=lambda e: (e[0], e[1]))
    live = peak_running = 0
    for _, step in edges:
        live += step
        peak_running = max(peak_running, live)
    assert peak_running == LIMIT, peak_running
    # Each page was told its true place in line when it pressed Run: the number of earlier runs still waiting
    # for a slot at that moment (from the recorded start times; the page rendered between click and `seen`).
    # Runs 1 and 2 held both slots at their gate until every page had been pressed, so pages 3, 4 and 5 waited.
    queued = {p: re.search(r"Queued — position (\d+)", first_status[p]) for p in SESSIONS}
    assert [q.group(1) if q else None for q in queued.values()] == [None] * LIMIT + ["1", "2", "3"], first_status
    slack = 1.0  # a run leaves the queue just before its first phase starts
    for i, p in enumerate(SESSIONS):
        if queued[p] is None:
            assert re.search(r"Running|Finished", first_status[p]) and starts[p] <= seen[p] + slack, (p, first_status)
            continue
        ahead_low = sum(1 for q in SESSIONS[:i] if starts[q] > seen[p] + slack)
        ahead_high = sum(1 for q in SESSIONS[:i] if starts[q] > clicked[p] - slack)
        assert ahead_low + 1 <= int(queued[p].group(1)) <= ahead_high + 1, (p, first_status[p], ahead_low, ahead_high)
        assert starts[p] > clicked[p], p
    assert "Traceback" not in server["log"].read_text()

    peak = sampler.server_peak
    assert sampler.samples > 100
    assert peak < MEMORY_CAP, f"server tree peaked at {peak / 2**20:.0f} MB"
    record = {
        "sessions": len(SESSIONS),
        "max_concurrent": LIMIT,
        "budget_s": BUDGET,
        "wall_s_total": round(t_end - t_start, 1),
        "wall_s_first_click_to_all_finished": round(t_all_done - t_load, 1),
        "server_tree_peak_rss_mb": round(peak / 2**20),
        "server_tree_processes_at_peak": sampler.server_peak_procs,
        "browser_tree_peak_rss_mb": round(sampler.browser_peak / 2**20),
        "memory_samples": sampler.samples,
        "start_order": order,
        "peak_running": peak_running,
        "run_seconds": {p: round(ends[p] - starts[p], 1) for p in SESSIONS},
        "start_offsets_s": {p: round(starts[p] - min(starts.values()), 1) for p in SESSIONS},
        "end_offsets_s": {p: round(ends[p] - min(starts.values()), 1) for p in SESSIONS},
        "queued_text": {p: first_status[p] for p in SESSIONS},
    }
    (ARTIFACTS / "load.json").write_text(json.dumps(record, indent=2))
    print("load:", json.dumps(record))
