"""The Neural Observatory: `streamlit run app.py`.

Pages only render and start/stop runs; the work happens in the headless `pipeline` package.
The page scripts live in `app_pages/`, not `pages/`: Streamlit treats a `pages/` folder next to the
main script as a legacy multipage app until `st.navigation` has run once, so the first visit after a
server start on a deep link such as `/runs` would bypass this file (no page config, no navigation).
"""

from __future__ import annotations

import streamlit as st

st.set_page_config(
    page_title="Neural Observatory · ml-pipeline",
    page_icon=":material/radar:",
    layout="wide",
    initial_sidebar_state="collapsed",
    menu_items={"About": "Neural Observatory — an autonomous tabular ML pipeline you can watch."},
)

from pipeline.state import PHASE_TITLES, PHASES
from ui import access  # noqa: E402  (after set_page_config)
from ui.runner import get_runner, max_concurrent
from ui.text import PHASE_MICONS

access.require_user()  # with [auth] or [access] in secrets, nothing below runs until someone signs in

PAGES = [
    st.Page("app_pages/observatory.py", title="Observatory", icon=":material/radar:", default=True),
    st.Page("app_pages/runs.py", title="Runs", icon=":material/history:", url_path="runs"),
    st.Page("app_pages/predict.py", title="Predict", icon=":material/online_prediction:", url_path="predict"),
]
page = st.navigation(PAGES, position="top")
# Static layout CSS only (no data ever goes through HTML): tighter top margin for laptop screens.
st.html(
    "<style>[data-testid='stMainBlockContainer']{padding-top:4.5rem;padding-bottom:3rem}"
    "[data-testid='stMainBlockContainer'] h1{padding-top:0.25rem}</style>"
)

with st.sidebar:
    st.markdown("## :material/radar: Neural Observatory")
    st.caption(
        "Drop a table in, say what you want, press **Run pipeline**, and watch six phases profile, "
        "engineer, plot, train, evaluate and critique — live."
    )
    runner = get_runner()
    live = runner.running()
    st.markdown("##### Server")
    a, b = st.columns(2)
    a.metric("Active runs", len(live))
    b.metric("Run at once", max_concurrent())
    st.markdown("##### Appearance")
    st.caption(
        "Dark “Neural Observatory” and a light variant: pick System, Light or Dark in the ⋮ menu. "
        "Graph and charts follow the choice."
    )
    access.sign_out_button()
    st.markdown("##### Phases")
    for phase in PHASES:
        st.caption(f"{PHASE_MICONS[phase]} {PHASE_TITLES[phase]}")

page.run()
