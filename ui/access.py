"""Who may use the app: optional Streamlit OIDC login, or a simple password gate; and who owns a run.

Configured in `.streamlit/secrets.toml` (nothing configured: the app is open and runs are shared):

    [auth]                       # Streamlit's built-in OpenID Connect (st.login); needs Authlib
    redirect_uri = "https://your-app/oauth2callback"
    cookie_secret = "a long random string"
    client_id = "..."
    client_secret = "..."
    server_metadata_url = "https://accounts.example.com/.well-known/openid-configuration"

    [access]                     # or: a shared password (hex SHA-256 of it), the user types a name too
    password_sha256 = "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8"
    [access.users]               # or: one password per user (name = hex SHA-256 of that user's password)
    alice = "..."

With either on, `require_user()` stops every page until the user has signed in, and runs belong to
the user who started them (`RunConfig.owner`): other users cannot list, open or delete them.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import streamlit as st


def _secret(section: str) -> dict[str, Any]:
    try:
        if section in st.secrets:
            return dict(st.secrets[section])
    except Exception:  # no secrets.toml at all
        pass
    return {}


def mode() -> str:
    """'oidc', 'password' or '' (open)."""
    if _secret("auth"):
        return "oidc"
    access = _secret("access")
    if access.get("password_sha256") or access.get("users"):
        return "password"
    return ""


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def check_password(name: str, password: str) -> str | None:
    """The signed-in user's name when the password is right, else None (constant-time comparisons)."""
    access = _secret("access")
    name = name.strip()
    users = {str(k): str(v).lower() for k, v in dict(access.get("users") or {}).items()}
    digest = _sha256(password)
    if name in users:
        return name if hmac.compare_digest(digest, users[name]) else None
    shared = str(access.get("password_sha256") or "").lower()
    if shared and name and hmac.compare_digest(digest, shared):
        return name
    return None


def current_user() -> str | None:
    """The signed-in user, '' when access control is off, None when nobody has signed in yet."""
    m = mode()
    if not m:
        return ""
    if m == "oidc":
        try:
            if st.user.is_logged_in:
                return str(st.user.get("email") or st.user.get("sub") or "")
        except Exception:
            return None
        return None
    return st.session_state.get("access_user")


def owner_filter() -> str | None:
    """The owner to filter runs by: None when access control is off (everyone sees every run)."""
    return (current_user() or None) if mode() else None


def may_see(run_owner: str) -> bool:
    return mode() == "" or (bool(current_user()) and run_owner == current_user())


def require_user() -> str:
    """Draw the sign-in screen and stop the script until someone has signed in; return the user ('' when open)."""
    user = current_user()
    if user is not None and (user or not mode()):
        return user
    st.title(":material/lock: Sign in")
    if mode() == "oidc":
        st.caption("This Neural Observatory is for internal use. Sign in with your organisation account.")
        st.button("Sign in", icon=":material/login:", type="primary", on_click=st.login, key="oidc_login")
        st.stop()
    st.caption("This Neural Observatory is for internal use. Enter your name and the access password.")
    with st.form("password_gate"):
        name = st.text_input("Your name", key="gate_name")
        password = st.text_input("Password", type="password", key="gate_password")
        ok = st.form_submit_button("Sign in", type="primary")
    if ok:
        who = check_password(name, password)
        if who:
            st.session_state["access_user"] = who
            st.session_state.pop("gate_password", None)
            st.rerun()
        st.error("Wrong name or password.", icon=":material/lock:")
    st.stop()
    return ""


def sign_out_button() -> None:
    m = mode()
    if not m:
        return
    st.text(f"Signed in as {current_user()}")  # st.text: a name is never markdown
    if m == "oidc":
        st.button("Sign out", key="sign_out", on_click=st.logout)
    elif st.button("Sign out", key="sign_out"):
        st.session_state.pop("access_user", None)
        st.rerun()
