"""Access control with AppTest: the password gate (shared and per-user), OIDC configured without a
session (only the sign-in screen), and run ownership (list, open via ?run=, delete)."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

from rel_fixtures import corpus  # noqa: F401  (fixture; sets the runs home first)
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
USERS = {"alice": hashlib.sha256(b"alice-pw").hexdigest(), "bob": hashlib.sha256(b"bob-pw").hexdigest()}
OIDC = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "x" * 32,
    "client_id": "id",
    "client_secret": "secret",
    "server_metadata_url": "https://idp.invalid/.well-known/openid-configuration",
}


def _app(secrets: dict, query: dict | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    for k, v in secrets.items():
        at.secrets[k] = v
    for k, v in (query or {}).items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, at.exception
    return at


def _locked(at) -> bool:
    titles = [t.value for t in at.title]
    return titles == [":material/lock: Sign in"] and not at.get("file_uploader") and not at.get("dataframe")


def _sign_in(at, name: str, password: str) -> None:
    at.text_input(key="gate_name").set_value(name)
    at.text_input(key="gate_password").set_value(password)
    at.button[0].click()  # the form's submit button
    at.run()
    assert not at.exception


def _owned_run(owner: str) -> str:
    """A recorded (failed) run owned by `owner`, written the way the runner writes runs."""
    from pipeline.engine.execute import checkpoint
    from pipeline.run.store import new_run_id
    from pipeline.state import RunConfig, RunState
    from ui.runner import get_runner

    runner = get_runner()
    state = RunState(
        run_id=new_run_id(), config=RunConfig(data_path="x.csv", owner=owner, dataset_name=f"{owner}-data.csv")
    )
    state.status, state.error, state.finished_at = "failed", "Stopped for the test.", time.time()
    run_dir = runner.home / "runs" / state.run_id
    run_dir.mkdir(parents=True)
    checkpoint(state, run_dir, runner.store)
    return state.run_id


def test_password_gate_locks_every_page_and_deep_link():
    secrets = {"access": {"users": USERS}}
    rid = _owned_run("alice")
    at = _app(secrets)
    assert _locked(at)
    at.switch_page("app_pages/runs.py")
    at.run()
    assert _locked(at), "the Runs page is behind the gate too"
    at = _app(secrets, {"run": rid})
    assert _locked(at), "a ?run= deep link shows nothing before sign-in"
    _sign_in(at, "alice", "wrong")
    assert _locked(at) and at.error and "Wrong name or password" in at.error[0].value
    _sign_in(at, "alice", "alice-pw")
    assert not _locked(at)
    assert at.session_state["access_user"] == "alice"
    assert "gate_password" not in at.session_state, "the password is not kept in the session"


def test_shared_password_gate():
    at = _app({"access": {"password_sha256": hashlib.sha256(b"team-secret").hexdigest()}})
    assert _locked(at)
    _sign_in(at, "carol", "not-it")
    assert _locked(at)
    _sign_in(at, "carol", "team-secret")
    assert not _locked(at) and at.session_state["access_user"] == "carol"
    assert any("Observatory" in t.value for t in at.title)


def test_runs_belong_to_their_owner():
    secrets = {"access": {"users": USERS}}
    alice_run, bob_run = _owned_run("alice"), _owned_run("bob")
    # bob: cannot open alice's run by URL, does not see it in the list
    at = _app(secrets, {"run": alice_run})
    _sign_in(at, "bob", "bob-pw")
    assert any("No run with id" in w.value for w in at.warning), [w.value for w in at.warning]
    at.switch_page("app_pages/runs.py")
    at.run()
    assert not at.exception
    listed = at.dataframe[0].value["run"].tolist()
    assert bob_run in listed and alice_run not in listed
    # alice: sees and opens her own run
    at = _app(secrets, {"run": alice_run})
    _sign_in(at, "alice", "alice-pw")
    assert not at.warning or not any("No run with id" in w.value for w in at.warning)
    assert any("Stopped for the test" in e.value for e in at.error), [e.value for e in at.error]
    at.switch_page("app_pages/runs.py")
    at.run()
    listed = at.dataframe[0].value["run"].tolist()
    assert alice_run in listed and bob_run not in listed


def test_delete_refuses_another_users_run():
    """The Runs page's delete checks the owner again (a forged selection cannot delete others' runs)."""
    from ui.runner import get_runner

    secrets = {"access": {"users": USERS}}
    alice_run = _owned_run("alice")
    at = _app(secrets)
    _sign_in(at, "bob", "bob-pw")
    at.switch_page("app_pages/runs.py")
    at.run()
    at.session_state["runs_pick"] = [alice_run]  # forged: bob never saw this id in his table
    at.run()
    assert get_runner().store.get(alice_run) is not None
    assert (get_runner().home / "runs" / alice_run / "run.json").is_file()


def test_oidc_configured_shows_only_the_login_screen():
    rid = _owned_run("dave@example.com")
    at = _app({"auth": OIDC}, {"run": rid})
    assert _locked(at)
    assert [b.label for b in at.button] == ["Sign in"]
    at.switch_page("app_pages/predict.py")
    at.run()
    assert _locked(at)


def test_open_app_without_access_config_shares_runs():
    rid = _owned_run("")
    at = _app({}, {"run": rid})
    assert not _locked(at)
    assert any("Stopped for the test" in e.value for e in at.error)
