"""Real browser, real server: `streamlit run app.py` driven by Debian's Chromium through Playwright.

For a binary, a multiclass and a regression table: upload the CSV, choose the target, press Run
pipeline, wait for Finished, check every phase panel has content, reload and find the same run.
Screenshots go to test-artifacts/ (gitignored) for people to look at.
"""
from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from pipeline.samples import sample_frame

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
PANELS = ["Data profile", "Features", "Visualizations", "Model", "Evaluation", "Critic"]
# What each panel must show once its phase has run (a heading, metric or chart title unique to it).
PANEL_MARKERS = {"Data profile": "Key findings", "Features": "Feature code in force", "Visualizations": "Plot code",
                 "Model": "Best model:", "Evaluation": "Holdout", "Critic": "Iterations"}
BUDGET = 25


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    home = tmp_path_factory.mktemp("e2e-home")
    port = _free_port()
    env = dict(os.environ, MLPIPELINE_HOME=str(home), OPENBLAS_NUM_THREADS="1")
    log = open(home / "server.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                             "--server.port", str(port), "--server.address", "127.0.0.1",
                             "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail("streamlit did not start: " + (home / "server.log").read_text()[-2000:])
    yield {"url": url, "home": home}
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture(scope="module")
def browser():
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield b
        b.close()


def _wait_idle(page: Page) -> None:
    """Streamlit shows a 'running' indicator while a script run is in flight."""
    page.wait_for_timeout(300)
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=30_000)


def _choose(page: Page, label: str, option: str) -> None:
    box = page.get_by_test_id("stSelectbox").filter(has=page.get_by_text(label, exact=True))
    box.locator("[role=combobox]").first.click()
    page.keyboard.type(option)  # the option list is virtualised: filter it down first
    page.get_by_role("option", name=option, exact=True).click()
    _wait_idle(page)


def _check_panels(page: Page, shots: str) -> None:
    page.set_viewport_size({"width": 1440, "height": 2400})  # Streamlit scrolls inside; a tall window shows it all
    tabs = page.get_by_test_id("stTabs").last
    for name in PANELS:
        tab = tabs.get_by_role("tab").filter(has_text=re.compile(rf"\b{name}\b"))
        tab.click()
        panel = tabs.get_by_role("tabpanel").filter(visible=True)
        expect(panel).to_contain_text(PANEL_MARKERS[name], timeout=15_000)
        expect(panel).not_to_contain_text("appears here when", timeout=1_000)
        assert len(panel.inner_text().strip()) > 80, f"{name} panel is nearly empty"
        page.wait_for_timeout(700)  # let charts and images paint before the screenshot
        page.screenshot(path=str(ARTIFACTS / f"{shots}_{name.lower().replace(' ', '_')}.png"))
    page.set_viewport_size({"width": 1440, "height": 900})


def test_deep_link_is_the_first_visit(server, browser):
    """The very first request after a server start lands on /runs: the app's navigation still applies."""
    page = browser.new_page(viewport={"width": 1440, "height": 900}, color_scheme="dark")
    page.goto(server["url"] + "/runs")
    expect(page.get_by_text("No runs yet", exact=False)).to_be_visible(timeout=30_000)
    nav = page.get_by_test_id("stTopNavLink")
    expect(nav).to_have_count(3)
    expect(page.get_by_text("components", exact=True)).to_have_count(0)
    page.close()


CASES = [("binary", "breast_cancer", "diagnosis"), ("multiclass", "wine", "cultivar"),
         ("regression", "diabetes", "progression")]


@pytest.mark.parametrize("task,sample,target", CASES, ids=[c[0] for c in CASES])
def test_upload_run_finish_reload(server, browser, tmp_path, task, sample, target):
    csv = tmp_path / f"{sample}.csv"
    frame = sample_frame(sample)
    frame.to_csv(csv, index=False)
    page = browser.new_page(viewport={"width": 1440, "height": 900}, color_scheme="dark")
    page.set_default_timeout(30_000)
    page.goto(server["url"])
    expect(page.get_by_role("button", name="Run pipeline")).to_have_count(0)
    page.locator("input[type=file]").first.set_input_files(str(csv))
    expect(page.get_by_text("Target column", exact=True)).to_be_visible(timeout=30_000)
    _wait_idle(page)
    expect(page.get_by_text(f"{len(frame):,}", exact=True).first).to_be_visible()  # the preview's row count
    # Pick some other column first, then the real target, so the choice is really made through the UI.
    _choose(page, "Target column", str(frame.columns[0]))
    _choose(page, "Target column", target)
    page.get_by_text("Settings", exact=True).click()
    budget = page.get_by_label("Time budget (s)")
    budget.fill(str(BUDGET))
    budget.press("Enter")
    _wait_idle(page)
    page.screenshot(path=str(ARTIFACTS / f"{task}_0_setup.png"), full_page=False)
    page.get_by_role("button", name="Run pipeline").click()
    expect(page.get_by_text("Running", exact=False).first).to_be_visible(timeout=30_000)
    page.wait_for_timeout(4000)
    page.screenshot(path=str(ARTIFACTS / f"{task}_1_running.png"), full_page=False)
    expect(page.get_by_text("Finished", exact=True).first).to_be_visible(timeout=BUDGET * 1000 + 120_000)
    _wait_idle(page)
    run_id = re.search(r"[?&]run=([\w-]+)", page.url).group(1)
    assert (server["home"] / "runs" / run_id / "model.joblib").is_file()
    for label in ("Model", "Report", "Holdout predictions", "Export bundle (.zip)"):
        expect(page.get_by_role("button", name=re.compile(re.escape(label)))).to_be_visible()
    _check_panels(page, f"{task}_2")
    page.reload()
    expect(page.get_by_text("Finished", exact=True).first).to_be_visible(timeout=30_000)
    expect(page.get_by_text(run_id).first).to_be_visible()
    assert f"run={run_id}" in page.url
    _wait_idle(page)
    page.screenshot(path=str(ARTIFACTS / f"{task}_3_reloaded.png"), full_page=False)
    if task == "binary":
        light = browser.new_page(viewport={"width": 1440, "height": 900}, color_scheme="light")
        light.goto(page.url)
        expect(light.get_by_text("Finished", exact=True).first).to_be_visible(timeout=30_000)
        _wait_idle(light)
        light.wait_for_timeout(1000)
        light.screenshot(path=str(ARTIFACTS / f"{task}_4_light_second_tab.png"), full_page=False)
        light.close()
    page.close()
