"""Real browser, real server: `streamlit run app.py` driven by Debian's Chromium through Playwright.

For a binary, a multiclass and a regression table: upload the CSV, choose the target, press Run
pipeline, wait for Finished, check every phase panel has content, reload and find the same run.
Screenshots go to test-artifacts/ (gitignored) for people to look at.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from pipeline.tables.samples import sample_frame
from tests.browser_support import CHROMIUM, CHROMIUM_ARGS, choose, kill_server, start_streamlit, wait_idle

pytestmark = pytest.mark.slow  # the whole module runs real pipelines, apps or browsers

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
PANELS = ["Data profile", "Features", "Visualizations", "Model", "Evaluation", "Critic"]
# What each panel must show once its phase has run (a heading, metric or chart title unique to it).
PANEL_MARKERS = {
    "Data profile": "Key findings",
    "Features": "Feature code in force",
    "Visualizations": "Plot code",
    "Model": "Best model:",
    "Evaluation": "Holdout",
    "Critic": "Iterations",
}
BUDGET = 25


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    home = tmp_path_factory.mktemp("e2e-home")
    proc, url, _ = start_streamlit(home)
    yield {"url": url, "home": home}
    kill_server(proc)


@pytest.fixture(scope="module")
def browser():
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


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


CASES = [
    ("binary", "breast_cancer", "diagnosis"),
    ("multiclass", "wine", "cultivar"),
    ("regression", "diabetes", "progression"),
]


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
    wait_idle(page)
    expect(page.get_by_text(f"{len(frame):,}", exact=True).first).to_be_visible()  # the preview's row count
    # Pick some other column first, then the real target, so the choice is really made through the UI.
    choose(page, "Target column", str(frame.columns[0]))
    choose(page, "Target column", target)
    page.get_by_text("Settings", exact=True).click()
    budget = page.get_by_label("Time budget (s)")
    budget.fill(str(BUDGET))
    budget.press("Enter")
    wait_idle(page)
    page.screenshot(path=str(ARTIFACTS / f"{task}_0_setup.png"), full_page=False)
    page.get_by_role("button", name="Run pipeline").click()
    expect(page.get_by_text("Running", exact=False).first).to_be_visible(timeout=30_000)
    page.wait_for_timeout(4000)
    page.screenshot(path=str(ARTIFACTS / f"{task}_1_running.png"), full_page=False)
    # A panel chosen during the run stays chosen while phases start and finish, and after the run ends.
    critic_tab = page.get_by_role("tab", name=re.compile("Critic"))
    critic_tab.click()
    expect(page.get_by_text("Finished", exact=True).first).to_be_visible(timeout=BUDGET * 1000 + 120_000)
    wait_idle(page)
    expect(critic_tab).to_have_attribute("aria-selected", "true")
    run_id = re.search(r"[?&]run=([\w-]+)", page.url).group(1)
    assert (server["home"] / "runs" / run_id / "model.joblib").is_file()
    for label in ("Model", "Report", "Holdout predictions", "Export bundle (.zip)"):
        expect(page.get_by_role("button", name=re.compile(re.escape(label)))).to_be_visible()
    # The files are read when a button is pressed (deferred downloads): the browser gets them whole.
    run_dir = server["home"] / "runs" / run_id
    with page.expect_download() as got:
        page.get_by_role("button", name=re.compile("Holdout predictions")).click()
    assert got.value.suggested_filename == f"{run_id}_holdout_predictions.csv"
    assert Path(got.value.path()).read_bytes() == (run_dir / "holdout_predictions.csv").read_bytes()
    with page.expect_download() as got:
        page.get_by_role("button", name=re.compile(re.escape("Export bundle (.zip)"))).click()
    with zipfile.ZipFile(got.value.path()) as bundle:
        assert "export/predict.py" in bundle.namelist()
    _check_panels(page, f"{task}_2")
    page.reload()
    expect(page.get_by_text("Finished", exact=True).first).to_be_visible(timeout=30_000)
    expect(page.get_by_text(run_id).first).to_be_visible()
    assert f"run={run_id}" in page.url
    wait_idle(page)
    page.screenshot(path=str(ARTIFACTS / f"{task}_3_reloaded.png"), full_page=False)
    if task == "binary":
        light = browser.new_page(viewport={"width": 1440, "height": 900}, color_scheme="light")
        light.goto(page.url)
        expect(light.get_by_text("Finished", exact=True).first).to_be_visible(timeout=30_000)
        wait_idle(light)
        light.wait_for_timeout(1000)
        light.screenshot(path=str(ARTIFACTS / f"{task}_4_light_second_tab.png"), full_page=False)
        light.close()
    page.close()
