"""What the real-browser tests share: Debian's Chromium, a real `streamlit run`, waiting for Streamlit."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import Page, expect

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_streamlit(home: Path, env: dict[str, str] | None = None) -> tuple[subprocess.Popen, str, Path]:
    """`streamlit run app.py` on a free loopback port in its own process group; waits for /_stcore/health."""
    port = free_port()
    env = dict(env if env is not None else os.environ, MLPIPELINE_HOME=str(home), OPENBLAS_NUM_THREADS="1")
    log_path = Path(home) / f"server-{port}.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                "app.py",
                "--server.headless",
                "true",
                "--server.port",
                str(port),
                "--server.address",
                "127.0.0.1",
                "--browser.gatherUsageStats",
                "false",
                "--server.fileWatcherType",
                "none",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return proc, url, log_path
        except OSError:
            time.sleep(0.3)
    kill_server(proc)
    raise AssertionError("streamlit did not start: " + log_path.read_text()[-2000:])


def kill_server(proc: subprocess.Popen) -> None:
    """SIGKILL the server and everything it started (sandbox zygote and children)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(10)


def wait_idle(page: Page, timeout_ms: int = 30_000) -> None:
    """Streamlit shows a 'running' indicator while a script run is in flight."""
    page.wait_for_timeout(300)
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=timeout_ms)


def choose(page: Page, label: str, option: str, timeout_ms: int = 30_000) -> None:
    """Pick an option of a selectbox by its label (the option list is virtualised: type to filter it first)."""
    box = page.get_by_test_id("stSelectbox").filter(has=page.get_by_text(label, exact=True))
    box.locator("[role=combobox]").first.click()
    page.keyboard.type(option)
    page.get_by_role("option", name=option, exact=True).click()
    wait_idle(page, timeout_ms)
