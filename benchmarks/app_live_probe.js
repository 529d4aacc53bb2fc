(() => {
  const B = window.__bench = {changes: [], terminal: null, runningSeen: null, maxBeatGap: 0, beatGaps: [],
                              longtasks: [], events: [], wsIn: [], wsOut: [], clicks: [], tabSamples: 0,
                              tabDisabled: 0};
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
    lastBeat = now;
    if (gap > B.maxBeatGap) B.maxBeatGap = gap;
    if (gap > 100) B.beatGaps.push([now, gap]);
  }, 50);
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
