"""Live view during a run, in a real browser: does the Observatory update at least once a second, and does the
tab stay responsive while it does?

    python benchmarks/app_live.py [--rows 50000] [--budget 80] [--json /tmp/app_live.json]

Starts `streamlit run app.py` (tests/browser_support.py), opens it in Debian's Chromium (Playwright, headless),
uploads a generated table (benchmarks/scale.py's 30-column table), sets the time budget in Settings and presses
Run pipeline, then watches the run until it is no longer live. Scripts injected before navigation record, in the
page's own clock (performance.now):

- the Running banner's text ("… 37 s of a 80 s budget"), sampled every 100 ms: each change is an update the user
  sees. The fragment (`@st.fragment(run_every=1.0)`) redraws it; the elapsed seconds change on every redraw.
- every WebSocket frame in and out; the driver decodes the same frames (Streamlit's protobufs) in the same order,
  so each auto-rerun request of the fragment can be paired with its script_finished: the fragment's round trip.
- main-thread health: a 50 ms setInterval heartbeat (the largest gap between its callbacks is the longest stall a
  timer saw), requestAnimationFrame gaps, and PerformanceObserver 'longtask' entries (tasks over 50 ms).
- interactions: every ~10 s the next phase tab is clicked at once, as a person would (a real input event through
  the DevTools protocol, without Playwright's wait for the tab to be enabled: Streamlit disables stale tabs while a
  rerun is in flight, and a click on one is lost). Whether it took effect, the time from the click event to the
  first frame that shows the tab selected with its panel, the Event Timing API's duration of the click (input
  delay + handlers + next paint, what INP uses), and 3 s later whether the tab is still the selected one. The
  share of 100 ms samples in which the phase tabs were disabled is counted too.

Prints the figures; exits 1 if the run never showed as Running or was not seen to finish.
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
PROBE = r"""
(() => {
  const B = window.__bench = {changes: [], terminal: null, runningSeen: null, beats: 0, maxBeatGap: 0,
                              beatGaps: [], frames: 0, frameGaps: [], longtasks: [], events: [], wsIn: [],
                              wsOut: [], clicks: [], visibility: [],
                              tabSamples: 0, tabDisabled: 0};
  const Orig = window.WebSocket;
  window.WebSocket = class extends Orig {
    constructor(...a) {
      super(...a);
      this.addEventListener('message', () => B.wsIn.push(performance.now()));
    }
    send(data) { B.wsOut.push(performance.now()); return super.send(data); }
  };
  try {
    new PerformanceObserver(l => { for (const e of l.getEntries()) B.longtasks.push([e.startTime, e.duration]); })
      .observe({type: 'longtask', buffered: true});
  } catch (e) { B.longtaskError = String(e); }
  try {
    new PerformanceObserver(l => {
      for (const e of l.getEntries()) if (e.name === 'click' || e.name === 'pointerdown' || e.name === 'pointerup')
        B.events.push([e.name, e.startTime, e.duration, e.processingStart - e.startTime]);
    }).observe({type: 'event', durationThreshold: 16, buffered: true});
  } catch (e) { B.eventError = String(e); }
  let lastBeat = performance.now();
  setInterval(() => {
    const now = performance.now(), gap = now - lastBeat;
    lastBeat = now; B.beats++;
    if (gap > B.maxBeatGap) B.maxBeatGap = gap;
    if (gap > 100) B.beatGaps.push([now, gap]);
  }, 50);
  let lastFrame = performance.now();
  const frame = (t) => {
    const gap = t - lastFrame;
    lastFrame = t; B.frames++;
    if (gap > 50) B.frameGaps.push([t, gap]);
    requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
  // The status banner, sampled every 100 ms (textContent: no layout forced).
  let last = null;
  setInterval(() => {
    const now = performance.now();
    let running = null, terminal = null;
    for (const el of document.querySelectorAll('[data-testid="stAlert"]')) {
      const t = el.textContent;
      if (/Running/.test(t) && / s budget/.test(t)) running = t;
      else if (/^\W*(Finished|Failed|Cancelled|Interrupted)\b/.test(t.replace(/^[a-z_]+/, ''))) terminal = t;
    }
    if (running !== null && B.runningSeen === null) B.runningSeen = now;
    if (running !== null) {  // are the phase tabs clickable right now? (Streamlit disables stale tabs during a rerun)
      const tabs = [...document.querySelectorAll('[data-testid="stTabs"]')].pop();
      B.tabSamples++;
      if (tabs && tabs.querySelector('[role=tab][aria-disabled=true]')) B.tabDisabled++;
    }
    if (running !== null && running !== last) { B.changes.push([now, running]); last = running; }
    if (terminal !== null && B.terminal === null && B.runningSeen !== null) B.terminal = [now, terminal];
  }, 100);
  document.addEventListener('visibilitychange', () => B.visibility.push([performance.now(), document.visibilityState]));
  // A phase-tab click: from the input event to the first frame that shows the tab selected and its panel.
  B.armClick = (name) => {
    const rec = {name, start: null, shown: null};
    B.clicks.push(rec);
    document.addEventListener('click', (ev) => {
      rec.start = ev.timeStamp;
      const t0 = performance.now();
      const hit = ev.target.closest && ev.target.closest('[role=tab]');
      rec.disabledAtClick = !!(hit && hit.getAttribute('aria-disabled') === 'true');
      const poll = () => {
        const tabs = [...document.querySelectorAll('[data-testid="stTabs"]')].pop();
        const tab = tabs && [...tabs.querySelectorAll('[role=tab]')].find(t => t.textContent.includes(name));
        const panel = tab && document.getElementById(tab.getAttribute('aria-controls'));
        if (tab && tab.getAttribute('aria-selected') === 'true' && panel && panel.offsetParent !== null) {
          requestAnimationFrame(() => { rec.shown = performance.now(); });
        } else if (performance.now() - t0 < 10000) requestAnimationFrame(poll);
      };
      poll();
    }, {capture: true, once: true});
  };
  B.selected = () => {
    const tabs = [...document.querySelectorAll('[data-testid="stTabs"]')].pop();
    const tab = tabs && tabs.querySelector('[role=tab][aria-selected=true]');
    return tab ? tab.textContent : null;
  };
})();
"""


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
        self.inbound: list[tuple[str, int]] = []   # (type, bytes)
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


def fragment_runs(frames: Frames, t_in: list[float], t_out: list[float], lo: float, hi: float
                  ) -> tuple[list[float], list[float], list[float]]:
    """(auto-rerun requests, request → script_finished times, script_finished times), all in [lo, hi] (ms)."""
    if len(t_in) != len(frames.inbound) or len(t_out) != len(frames.outbound):
        raise SystemExit("the page and the driver saw different numbers of WebSocket frames; cannot pair them")
    finished = [t for t, (kind, _) in zip(t_in, frames.inbound) if kind == "script_finished" and lo <= t <= hi]
    sent = [t for t, (kind, auto, frag) in zip(t_out, frames.outbound)
            if kind == "rerun_script" and auto and frag and lo <= t <= hi]
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


def watch(page, budget: int, click_every: float) -> dict:
    """Wait while the run is live; click a phase tab every `click_every` s. Returns the page's records."""
    deadline = time.monotonic() + 120
    while page.evaluate("window.__bench.runningSeen") is None:
        if time.monotonic() > deadline:
            raise SystemExit("the run never showed as Running within 120 s of pressing Run pipeline")
        page.wait_for_timeout(200)
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
                page.evaluate("() => { const c = window.__bench.clicks; c[c.length - 1].after = window.__bench.selected(); }")
            except Exception as exc:  # noqa: BLE001  (the run may finish mid-click; keep measuring)
                print(f"  click on {name!r} failed: {type(exc).__name__}", file=sys.stderr)
            next_click = time.monotonic() + click_every
        page.wait_for_timeout(500)
    page.wait_for_timeout(3_000)  # the final full-app rerun (downloads drawn) is part of what a user sees
    data = page.evaluate("""() => { const B = window.__bench;
        return {changes: B.changes, terminal: B.terminal, runningSeen: B.runningSeen, beats: B.beats,
                maxBeatGap: B.maxBeatGap, beatGaps: B.beatGaps, frames: B.frames, frameGaps: B.frameGaps,
                longtasks: B.longtasks, events: B.events, wsIn: B.wsIn, wsOut: B.wsOut, clicks: B.clicks,
                tabSamples: B.tabSamples, tabDisabled: B.tabDisabled,
                visibility: B.visibility, visibilityState: document.visibilityState, now: performance.now(),
                longtaskError: B.longtaskError || null, eventError: B.eventError || null}; }""")
    return data


def analyse(d: dict, frames: Frames) -> dict:
    """The figures of one run; times in the page are ms, figures in s or ms as named."""
    if d["terminal"] is None:
        raise SystemExit("the run was not seen to finish (no Finished/Failed/Cancelled banner)")
    lo, hi = d["runningSeen"], d["terminal"][0]
    live = lambda t: lo <= t <= hi  # noqa: E731
    changes = [t for t, _ in d["changes"] if live(t)]
    shown = [int(m.group(1)) for _, txt in d["changes"] if (m := RUNNING.search(txt))]
    sent, trips, finished = fragment_runs(frames, d["wsIn"], d["wsOut"], lo, hi)
    longtasks = [dur for start, dur in d["longtasks"] if live(start)]
    after = [dur for start, dur in d["longtasks"] if start > hi]
    beat_gaps = [g for t, g in d["beatGaps"] if live(t)]
    frame_gaps = [g for t, g in d["frameGaps"] if live(t)]
    clicked = [c for c in d["clicks"] if c["start"] is not None and live(c["start"])]
    took = [c for c in clicked if c["shown"] is not None and c["shown"] - c["start"] <= 2000]
    clicks = [c["shown"] - c["start"] for c in took]
    kept = [c for c in took if c.get("after") is not None]
    live_s = (hi - lo) / 1000
    ms = lambda xs: [(b - a) / 1000 for a, b in zip(xs, xs[1:])]  # noqa: E731  (intervals in s)
    return {
        "live_s": round(live_s, 1), "shown_first_last": [shown[0], shown[-1]] if shown else [],
        "updates": len(changes), "update_interval_s": spread(ms(changes)), "update_seconds": seconds_hit(changes, lo, hi),
        "redraws": len(finished), "redraw_interval_s": spread(ms(finished)), "redraw_seconds": seconds_hit(finished, lo, hi),
        "requests": len(sent), "request_interval_s": spread(ms(sent)), "round_trip_ms": spread(trips),
        "longest_stall_ms": max([max(beat_gaps, default=0.0), max(frame_gaps, default=0.0)] + longtasks),
        "timer_gap_max_ms": max(beat_gaps, default=0.0), "timer_gaps_over_100ms": len(beat_gaps),
        "frame_gap_max_ms": max(frame_gaps, default=0.0), "frame_gaps_over_50ms": len(frame_gaps), "frames": d["frames"],
        "longtasks": len(longtasks), "longtasks_per_min": len(longtasks) / live_s * 60,
        "longtask_max_ms": max(longtasks, default=0.0), "longtask_share": sum(longtasks) / 1000 / live_s,
        "longtasks_after_finish": len(after), "longtask_max_after_finish_ms": max(after, default=0.0),
        "clicks_ms": [round(c) for c in clicks], "click_event_ms": [round(e[2]) for e in d["events"] if e[0] == "click"],
        "clicks": len(clicked), "clicks_took": len(took),
        "clicks_on_disabled": [sum(1 for c in clicked if c.get("disabledAtClick")),
                               sum(1 for c in clicked if c.get("disabledAtClick") and c in took)],
        "clicks_kept": [len([c for c in kept if c["name"] in c["after"]]), len(kept)],
        "clicks_lost_to": [f"{c['name']} → {c['after']}" for c in kept if c["name"] not in c["after"]],
        "tabs_disabled_share": d["tabDisabled"] / max(1, d["tabSamples"]), "visibility": d["visibilityState"], "terminal": d["terminal"][1][:80],
        "ws_inbound_mb": round(sum(n for _, n in frames.inbound) / 1e6, 2),
        "apis": {"longtask": d["longtaskError"] is None, "event_timing": d["eventError"] is None},
    }


def report(r: dict) -> None:
    f = lambda t, unit="s", k=2: f"median {t[0]:.{k}f} {unit}, p95 {t[1]:.{k}f} {unit}, max {t[2]:.{k}f} {unit}"  # noqa: E731
    print(f"live for {r['live_s']} s (the banner showed {r['shown_first_last']} s); load average "
          f"{r['load'][0]} → {r['load'][1]}; tab {r['visibility']}")
    u, rd = r["update_seconds"], r["redraw_seconds"]
    print(f"banner updates: {r['updates']}; interval {f(r['update_interval_s'])}; {u[0]}/{u[1]} seconds had an "
          f"update ({u[0] / u[1]:.0%})")
    print(f"fragment redraws (script_finished): {r['redraws']}; interval {f(r['redraw_interval_s'])}; "
          f"{rd[0]}/{rd[1]} seconds had one ({rd[0] / rd[1]:.0%})")
    print(f"auto-rerun requests: {r['requests']}, interval {f(r['request_interval_s'])}; request → script_finished "
          f"{f(r['round_trip_ms'], 'ms', 0)}; {r['ws_inbound_mb']} MB received")
    print(f"main thread: longest stall {r['longest_stall_ms']:.0f} ms; 50 ms timer max gap {r['timer_gap_max_ms']:.0f} "
          f"ms ({r['timer_gaps_over_100ms']} gaps > 100 ms); frames max gap {r['frame_gap_max_ms']:.0f} ms "
          f"({r['frame_gaps_over_50ms']} gaps > 50 ms in {r['frames']} frames)")
    print(f"long tasks (> 50 ms): {r['longtasks']} = {r['longtasks_per_min']:.0f}/min, longest "
          f"{r['longtask_max_ms']:.0f} ms, {r['longtask_share']:.0%} of the live time; after the finish "
          f"{r['longtasks_after_finish']} (longest {r['longtask_max_after_finish_ms']:.0f} ms)")
    c, k = r["clicks_ms"], r["clicks_kept"]
    print(f"phase tabs disabled (stale during a rerun) in {r['tabs_disabled_share']:.0%} of the 100 ms samples; "
          f"tab clicks that took effect within 2 s: {r['clicks_took']}/{r['clicks']} ({r['clicks_on_disabled'][0]} landed "
          f"on a disabled tab, {r['clicks_on_disabled'][1]} of them took effect)")
    if c:
        print(f"  click → panel shown median {statistics.median(c):.0f} ms, max {max(c)} ms; Event Timing click "
              f"durations {r['click_event_ms'] or 'all < 16'} ms; still selected 3 s later: {k[0]}/{k[1]}"
              + (f" (moved: {'; '.join(r['clicks_lost_to'])})" if r["clicks_lost_to"] else ""))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=50_000)
    ap.add_argument("--budget", type=int, default=80, help="time budget set in the UI (s)")
    ap.add_argument("--click-every", type=float, default=10.0)
    ap.add_argument("--json", help="append the figures as one JSON line to this file")
    args = ap.parse_args()
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
                page.on("websocket", frames.attach)
                start_run(page, url, csv, args.rows, args.budget)
                load0 = f"{os.getloadavg()[0]:.2f}"
                data = watch(page, args.budget, args.click_every)
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
