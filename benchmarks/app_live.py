"""Live view during a run, in a real browser: does the Observatory update at least once a second, and does the
tab stay responsive while it does?

    python benchmarks/app_live.py [--rows 50000] [--budget 80] [--json /tmp/app_live.json]

Starts `streamlit run app.py` (tests/browser_support.py), opens it in Debian's Chromium (Playwright, headless),
uploads a generated table (benchmarks/scale.py's 30-column table), sets the time budget in Settings and presses
Run pipeline, then watches the run until it is no longer live. Scripts injected before navigation record, in the
page's own clock (performance.now):

- the Running banner's text ("… 37 s of a 80 s budget"), sampled every 100 ms: each change is an update the user
  sees. The page's pulse fragment (`@st.fragment(run_every=0.5)`: status line, phase chips, timeline) redraws it;
  it shows whole seconds, so the redraws themselves (script_finished frames, below) are the finer measure.
- every WebSocket frame in and out; the driver decodes the same frames (Streamlit's protobufs) in the same order,
  so each auto-rerun request of the fragment can be paired with its script_finished: the fragment's round trip.
- main-thread health: a 50 ms setInterval heartbeat (the largest gap between its callbacks is the longest stall a
  timer saw) and PerformanceObserver 'longtask' entries (tasks over 50 ms); and CPU time, which unlike wall time
  hardly depends on what else the machine runs: the page's main thread (DevTools Performance metrics in thread
  ticks: script, style, layout, other) and all of Chromium's processes (/proc), per second of the live run. These
  probes cost the page about 20 ms of main-thread CPU a second by themselves (measured on an idle page).
- interactions: every ~10 s the next phase tab is clicked at once, as a person would (a real input event through
  the DevTools protocol, without Playwright's wait for the tab to be enabled: Streamlit disables stale tabs while a
  rerun is in flight, and a click on one is lost). Whether it took effect, the time from the click event to the
  first frame that shows the tab selected with its panel, the Event Timing API's duration of the click (input
  delay + handlers + next paint, what INP uses), and 3 s later whether the tab is still the selected one. The
  share of 100 ms samples in which the phase tabs were disabled is counted too.

Prints the figures; exits 1 if the run never showed as Running or was not seen to finish. With --json the figures
are appended as a JSON line; `--summary FILE` prints the medians of the main figures over all lines of FILE.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.scale import make_table  # noqa: E402  (after the path insert)
from tests.browser_support import CHROMIUM, CHROMIUM_ARGS, choose, kill_server, start_streamlit, wait_idle  # noqa: E402

PANELS = ["Data profile", "Features", "Visualizations", "Model", "Evaluation", "Critic"]
RUNNING = re.compile(r"(\d+) s of a (\d+) s budget")

# Injected before any page script runs. Everything is timed with performance.now() (ms since navigation start).
PROBE = (Path(__file__).with_name("app_live_probe.js")).read_text()  # injected into every page


def pct(values: list[float], q: float) -> float:
    """The q-quantile by linear interpolation (numpy's default)."""
    s = sorted(values)
    if not s:
        return math.nan
    k = (len(s) - 1) * q
    lo, hi = math.floor(k), math.ceil(k)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


class Frames:
    """The same WebSocket frames the page timed, decoded by the driver (order is the same in both)."""

    def __init__(self) -> None:
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        self.back, self.forward = BackMsg, ForwardMsg
        self.inbound: list[tuple[str, int]] = []  # (type, bytes)
        self.outbound: list[tuple[str, bool, str]] = []  # (type, is_auto_rerun, fragment_id)

    def attach(self, ws) -> None:
        if "/_stcore/stream" not in ws.url:
            return
        ws.on("framereceived", self._received)
        ws.on("framesent", self._sent)

    def _received(self, payload) -> None:
        msg = self.forward()
        kind = "?"
        if isinstance(payload, bytes):
            try:
                msg.ParseFromString(payload)
                kind = msg.WhichOneof("type") or "?"
            except Exception:  # noqa: BLE001  (an undecodable frame is still a frame)
                pass
        self.inbound.append((kind, len(payload)))

    def _sent(self, payload) -> None:
        msg = self.back()
        kind, auto, fragment = "?", False, ""
        if isinstance(payload, bytes):
            try:
                msg.ParseFromString(payload)
                kind = msg.WhichOneof("type") or "?"
                if kind == "rerun_script":
                    auto, fragment = msg.rerun_script.is_auto_rerun, msg.rerun_script.fragment_id
            except Exception:  # noqa: BLE001
                pass
        self.outbound.append((kind, auto, fragment))


def fragment_runs(
    frames: Frames, t_in: list[float], t_out: list[float], lo: float, hi: float
) -> tuple[list[float], list[float], list[float]]:
    """(auto-rerun requests, request → script_finished times, script_finished times), all in [lo, hi] (ms)."""
    if len(t_in) != len(frames.inbound) or len(t_out) != len(frames.outbound):
        raise SystemExit("the page and the driver saw different numbers of WebSocket frames; cannot pair them")
    finished = [t for t, (kind, _) in zip(t_in, frames.inbound) if kind == "script_finished" and lo <= t <= hi]
    sent = [
        t
        for t, (kind, auto, frag) in zip(t_out, frames.outbound)
        if kind == "rerun_script" and auto and frag and lo <= t <= hi
    ]
    trips = []
    for t in sent:
        nxt = next((f for f in finished if f >= t), None)
        if nxt is not None:
            trips.append(nxt - t)
    return sent, trips, finished


def spread(values: list[float]) -> tuple[float, float, float]:
    """(median, p95, max); NaN for none."""
    if not values:
        return math.nan, math.nan, math.nan
    return statistics.median(values), pct(values, 0.95), max(values)


def seconds_hit(times: list[float], lo: float, hi: float) -> tuple[int, int]:
    """(whole seconds of [lo, hi] with at least one of `times`, whole seconds); times in ms."""
    n = max(1, int((hi - lo) // 1000))
    hit = {int((t - lo) // 1000) for t in times}
    return sum(1 for s in range(n) if s in hit), n


def start_run(page, url: str, csv: Path, rows: int, budget: int) -> None:
    page.goto(url)
    page.locator("input[type=file]").first.set_input_files(str(csv))
    page.get_by_text("Target column", exact=True).wait_for(timeout=120_000)
    wait_idle(page, 120_000)
    choose(page, "Target column", "target", 60_000)
    page.keyboard.press("Escape")  # a list left open would take the next click
    page.get_by_text("Settings", exact=True).click()
    box = page.get_by_label("Time budget (s)")
    box.fill(str(budget))
    box.press("Enter")
    wait_idle(page, 60_000)
    page.get_by_role("button", name="Run pipeline").click()


def browser_cpu() -> dict[str, float]:
    """CPU seconds (user + system) so far of this process's Chromium processes, by kind (renderer, gpu-process, …).

    CPU time, unlike wall time, hardly depends on what else the machine runs: per second of a live run it is what
    the live view costs the browser."""
    parents, info = {}, {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            pid = int(stat.parent.name)
            fields = stat.read_text().rsplit(")", 1)[1].split()
            parents[pid] = int(fields[1])
            info[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            continue
    out: dict[str, float] = {}
    for pid, cpu in info.items():
        up, seen = parents.get(pid), 0
        while up not in (None, 0, 1, os.getpid()) and seen < 50:
            up, seen = parents.get(up), seen + 1
        if up != os.getpid():
            continue
        try:
            cmd = (Path("/proc") / str(pid) / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if len(cmd) <= 2:  # Chromium's children rewrite their title: one string with spaces
            cmd = b" ".join(cmd).split()
        if not cmd or b"chrom" not in cmd[0]:
            continue
        kind = next((a.split(b"=", 1)[1].decode() for a in cmd if a.startswith(b"--type=")), "browser")
        out[kind] = out.get(kind, 0.0) + cpu
    return out


def main_thread_cpu(cdp) -> dict[str, float]:
    """The page's main-thread CPU seconds so far (DevTools Performance metrics in thread ticks), by kind."""
    m = {x["name"]: x["value"] for x in cdp.send("Performance.getMetrics")["metrics"]}
    out = {
        "script": m["ScriptDuration"],
        "style": m["RecalcStyleDuration"],
        "layout": m["LayoutDuration"],
        "compile": m["V8CompileDuration"],
    }
    out["other"] = m["TaskDuration"] - m.get("DevToolsCommandDuration", 0.0) - sum(out.values())
    return out


def watch(page, cdp, budget: int, click_every: float) -> dict:
    """Wait while the run is live; click a phase tab every `click_every` s. Returns the page's records."""
    deadline = time.monotonic() + 120
    while page.evaluate("window.__bench.runningSeen") is None:
        if time.monotonic() > deadline:
            raise SystemExit("the run never showed as Running within 120 s of pressing Run pipeline")
        page.wait_for_timeout(200)
    cpu0, main0, wall0 = browser_cpu(), main_thread_cpu(cdp), time.monotonic()
    deadline = time.monotonic() + budget + 300
    next_click, n = time.monotonic() + 3, 1
    while page.evaluate("window.__bench.terminal") is None and time.monotonic() < deadline:
        if time.monotonic() >= next_click:
            # the next phase tab that is not the selected one; clicked at once like a person would (force: no
            # waiting for the tab to be enabled), so a click on a disabled tab is lost as it would be for them
            now = page.evaluate("window.__bench.selected()") or ""
            name = next(p for p in PANELS[n:] + PANELS[:n] if p not in now)
            n = (PANELS.index(name) + 1) % len(PANELS)
            page.evaluate("n => window.__bench.armClick(n)", name)
            tab = page.get_by_test_id("stTabs").last.get_by_role("tab").filter(has_text=re.compile(rf"\b{name}\b"))
            try:
                tab.click(force=True, timeout=5_000)
                page.wait_for_timeout(3_000)  # three fragment reruns later: which tab is selected?
                page.evaluate("() => { const B = window.__bench; B.clicks[B.clicks.length - 1].after = B.selected(); }")
            except Exception as exc:  # noqa: BLE001  (the run may finish mid-click; keep measuring)
                print(f"  click on {name!r} failed: {type(exc).__name__}", file=sys.stderr)
            next_click = time.monotonic() + click_every
        page.wait_for_timeout(500)
    cpu1, main1, wall1 = browser_cpu(), main_thread_cpu(cdp), time.monotonic()
    page.wait_for_timeout(3_000)  # the final full-app rerun (downloads drawn) is part of what a user sees
    data = page.evaluate("""() => { const B = window.__bench;
        return {changes: B.changes, terminal: B.terminal, runningSeen: B.runningSeen, maxBeatGap: B.maxBeatGap,
                beatGaps: B.beatGaps, longtasks: B.longtasks, events: B.events, wsIn: B.wsIn, wsOut: B.wsOut,
                clicks: B.clicks, tabSamples: B.tabSamples, tabDisabled: B.tabDisabled,
                visibilityState: document.visibilityState, longtaskError: B.longtaskError || null,
                eventError: B.eventError || null}; }""")
    data["cpu_per_s"] = {k: round((cpu1.get(k, 0.0) - cpu0.get(k, 0.0)) / (wall1 - wall0), 3) for k in cpu1}
    data["main_cpu_per_s"] = {k: round((main1[k] - main0[k]) / (wall1 - wall0), 3) for k in main1}
    return data


def analyse(d: dict, frames: Frames) -> dict:
    """The figures of one run; times in the page are ms, figures in s or ms as named."""
    if d["terminal"] is None:
        raise SystemExit("the run was not seen to finish (no Finished/Failed/Cancelled banner)")
    lo, hi = d["runningSeen"], d["terminal"][0]
    live = lambda t: lo <= t <= hi  # noqa: E731
    live_s = (hi - lo) / 1000
    changes = [t for t, _ in d["changes"] if live(t)]
    shown = [int(m.group(1)) for _, txt in d["changes"] if (m := RUNNING.search(txt))]
    sent, trips, finished = fragment_runs(frames, d["wsIn"], d["wsOut"], lo, hi)
    longtasks = [dur for start, dur in d["longtasks"] if live(start)]
    after = [dur for start, dur in d["longtasks"] if start > hi]
    beat_gaps = [g for t, g in d["beatGaps"] if live(t)]
    clicked = [c for c in d["clicks"] if c["start"] is not None and live(c["start"])]
    took = [c for c in clicked if c["shown"] is not None and c["shown"] - c["start"] <= 2000]
    kept = [c for c in took if c.get("after") is not None]
    on_disabled = [c for c in clicked if c.get("disabledAtClick")]
    gaps = lambda xs: [(b - a) / 1000 for a, b in zip(xs, xs[1:])]  # noqa: E731  (intervals in s)
    return {
        "live_s": round(live_s, 1),
        "shown_first_last": [shown[0], shown[-1]] if shown else [],
        "updates": len(changes),
        "update_interval_s": spread(gaps(changes)),
        "update_seconds": seconds_hit(changes, lo, hi),
        "redraws": len(finished),
        "redraw_interval_s": spread(gaps(finished)),
        "redraw_seconds": seconds_hit(finished, lo, hi),
        "requests": len(sent),
        "request_interval_s": spread(gaps(sent)),
        "round_trip_ms": spread(trips),
        "longest_stall_ms": max([max(beat_gaps, default=0.0)] + longtasks),
        "timer_gap_max_ms": max(beat_gaps, default=0.0),
        "timer_gaps_over_100ms": len(beat_gaps),
        "longtasks": len(longtasks),
        "longtasks_per_min": len(longtasks) / live_s * 60,
        "longtask_max_ms": max(longtasks, default=0.0),
        "longtask_share": sum(longtasks) / 1000 / live_s,
        "longtasks_after_finish": len(after),
        "longtask_max_after_finish_ms": max(after, default=0.0),
        "main_thread_cpu_per_s": d["main_cpu_per_s"],
        "browser_cpu_per_s": d["cpu_per_s"],
        "clicks": len(clicked),
        "clicks_took": len(took),
        "clicks_on_disabled": [len(on_disabled), len([c for c in on_disabled if c in took])],
        "clicks_ms": [round(c["shown"] - c["start"]) for c in took],
        "click_event_ms": [round(e[2]) for e in d["events"] if e[0] == "click"],
        "clicks_kept": [len([c for c in kept if c["name"] in c["after"]]), len(kept)],
        "clicks_moved_to": [f"{c['name']} → {c['after']}" for c in kept if c["name"] not in c["after"]],
        "tabs_disabled_share": d["tabDisabled"] / max(1, d["tabSamples"]),
        "visibility": d["visibilityState"],
        "terminal": d["terminal"][1][:80],
        "ws_inbound_mb": round(sum(n for _, n in frames.inbound) / 1e6, 2),
        "apis": {"longtask": d["longtaskError"] is None, "event_timing": d["eventError"] is None},
    }


def _spread(t: list[float], unit: str = "s", k: int = 2) -> str:
    return f"median {t[0]:.{k}f} {unit}, p95 {t[1]:.{k}f} {unit}, max {t[2]:.{k}f} {unit}"


def _ms(parts: dict[str, float]) -> str:
    return ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in sorted(parts.items(), key=lambda kv: -kv[1]) if v >= 0.0005)


def report(r: dict) -> None:
    u, rd = r["update_seconds"], r["redraw_seconds"]
    print(
        f"live for {r['live_s']} s (the banner showed {r['shown_first_last']} s); load average "
        f"{r['load'][0]} → {r['load'][1]}; tab {r['visibility']}"
    )
    print(
        f"banner updates: {r['updates']}; interval {_spread(r['update_interval_s'])}; {u[0]}/{u[1]} seconds had "
        f"an update ({u[0] / u[1]:.0%})"
    )
    print(
        f"fragment redraws (script_finished): {r['redraws']}; interval {_spread(r['redraw_interval_s'])}; "
        f"{rd[0]}/{rd[1]} seconds had one ({rd[0] / rd[1]:.0%})"
    )
    print(
        f"auto-rerun requests: {r['requests']}, interval {_spread(r['request_interval_s'])}; request → "
        f"script_finished {_spread(r['round_trip_ms'], 'ms', 0)}; {r['ws_inbound_mb']} MB received"
    )
    print(
        f"main thread: longest stall {r['longest_stall_ms']:.0f} ms; 50 ms timer: max gap "
        f"{r['timer_gap_max_ms']:.0f} ms, {r['timer_gaps_over_100ms']} gaps > 100 ms"
    )
    print(
        f"long tasks (> 50 ms): {r['longtasks']} = {r['longtasks_per_min']:.0f}/min, longest "
        f"{r['longtask_max_ms']:.0f} ms, {r['longtask_share']:.0%} of the live time; after the finish "
        f"{r['longtasks_after_finish']} (longest {r['longtask_max_after_finish_ms']:.0f} ms)"
    )
    main, cpu = r["main_thread_cpu_per_s"], r["browser_cpu_per_s"]
    print(
        f"CPU per second of the live run: the page's main thread {sum(main.values()) * 1000:.0f} ms "
        f"({_ms(main)}); all of Chromium {sum(cpu.values()) * 1000:.0f} ms ({_ms(cpu)})"
    )
    c, k, off = r["clicks_ms"], r["clicks_kept"], r["clicks_on_disabled"]
    print(
        f"phase tabs disabled (stale during a rerun) in {r['tabs_disabled_share']:.0%} of the 100 ms samples; "
        f"tab clicks that took effect within 2 s: {r['clicks_took']}/{r['clicks']} ({off[0]} landed on a "
        f"disabled tab, {off[1]} of them took effect)"
    )
    if c:
        moved = f" (moved: {'; '.join(r['clicks_moved_to'])})" if r["clicks_moved_to"] else ""
        print(
            f"  click → panel shown median {statistics.median(c):.0f} ms, max {max(c)} ms; Event Timing click "
            f"durations {r['click_event_ms'] or 'all < 16'} ms; still selected 3 s later: {k[0]}/{k[1]}{moved}"
        )


def summary(path: str) -> None:
    """Medians over the runs recorded in `path` (one JSON line each)."""
    runs = [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
    med = lambda f: statistics.median(f(r) for r in runs)  # noqa: E731
    share = lambda key: med(lambda r: r[key][0] / r[key][1])  # noqa: E731
    clicks = [c for r in runs for c in r["clicks_ms"]]
    print(
        f"{len(runs)} runs; load average at the start {[r['load'][0] for r in runs]}, at the end "
        f"{[r['load'][1] for r in runs]}; live {[r['live_s'] for r in runs]} s"
    )
    print(
        f"banner update interval: median {med(lambda r: r['update_interval_s'][0]):.2f} s, p95 "
        f"{med(lambda r: r['update_interval_s'][1]):.2f} s, max {med(lambda r: r['update_interval_s'][2]):.2f} s; "
        f"seconds with an update {share('update_seconds'):.0%}, with a redraw {share('redraw_seconds'):.0%}"
    )
    print(
        f"request → script_finished: median {med(lambda r: r['round_trip_ms'][0]):.0f} ms, p95 "
        f"{med(lambda r: r['round_trip_ms'][1]):.0f} ms"
    )
    print(
        f"longest stall {med(lambda r: r['longest_stall_ms']):.0f} ms; long tasks "
        f"{med(lambda r: r['longtasks_per_min']):.0f}/min, {med(lambda r: r['longtask_share']):.0%} of the live "
        f"time; CPU a second: main thread {med(lambda r: sum(r['main_thread_cpu_per_s'].values())) * 1000:.0f} ms, "
        f"Chromium {med(lambda r: sum(r['browser_cpu_per_s'].values())) * 1000:.0f} ms"
    )
    print(
        f"tab clicks took effect {sum(r['clicks_took'] for r in runs)}/{sum(r['clicks'] for r in runs)}; "
        f"click → panel shown median {statistics.median(clicks):.0f} ms, max {max(clicks)} ms; still selected "
        f"3 s later {sum(r['clicks_kept'][0] for r in runs)}/{sum(r['clicks_kept'][1] for r in runs)}"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=50_000)
    ap.add_argument("--budget", type=int, default=80, help="time budget set in the UI (s)")
    ap.add_argument("--click-every", type=float, default=10.0)
    ap.add_argument("--json", help="append the figures as one JSON line to this file")
    ap.add_argument("--summary", metavar="FILE", help="only print the medians over the runs recorded in FILE")
    args = ap.parse_args()
    if args.summary:
        summary(args.summary)
        return 0
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="app-live-") as tmp:
        home = Path(tmp)
        csv = home / f"table_{args.rows}.csv"
        make_table(args.rows).to_csv(csv, index=False)
        proc, url, log = start_streamlit(home)
        frames = Frames()
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1440, "height": 900}, color_scheme="dark")
                page.set_default_timeout(60_000)
                page.add_init_script(PROBE)
                cdp = page.context.new_cdp_session(page)
                cdp.send("Performance.enable", {"timeDomain": "threadTicks"})
                page.on("websocket", frames.attach)
                start_run(page, url, csv, args.rows, args.budget)
                load0 = f"{os.getloadavg()[0]:.2f}"
                data = watch(page, cdp, args.budget, args.click_every)
                load1 = f"{os.getloadavg()[0]:.2f}"
                browser.close()
        finally:
            kill_server(proc)
        r = analyse(data, frames)
    r.update(rows=args.rows, budget=args.budget, load=[load0, load1])
    report(r)
    if args.json:
        with open(args.json, "a") as fh:
            fh.write(json.dumps(r) + "\n")
    return 0 if r["updates"] >= 2 and r["redraws"] >= 2 else 1


if __name__ == "__main__":
    sys.exit(main())
