import streamlit as st

from study.errors import StudyError
from study.sessions import session_hours
from ui.auth import is_researcher, log_in, log_out, sso_configured, sso_user_email, sync_cookie

st.title("Researcher login")

if is_researcher():
    st.success("You are logged in as a researcher. The researcher pages are in the sidebar.")
    st.caption(f"This browser stays logged in for {session_hours():g} hours, also after a reload or in a new tab. "
               "Log out to end it in every tab and browser.")
    if st.button("Log out"):
        log_out()
        st.rerun()
    sync_cookie()
    st.stop()
sync_cookie()

if sso_configured():
    email = sso_user_email()
    if email:
        st.error(f"You are signed in as {email}, which is not on this study's list of researchers "
                 "(`[researchers] emails` in .streamlit/secrets.toml).")
        if st.button("Sign out"):
            st.logout()
    else:
        st.button("Log in with single sign-on", type="primary", on_click=st.login)
    st.caption("Or with the study's password:")

st.caption(
    "The password comes from RESEARCHER_PASSWORD, or from .streamlit/secrets.toml, "
    "or was generated on the first start: the server's console says in which file."
)
with st.form("login"):
    attempt = st.text_input("Password", type="password")
    submitted = st.form_submit_button("Log in")
if submitted:
    try:
        ok = log_in(attempt)
    except StudyError as err:  # too many attempts at once: refused unchecked
        st.error(str(err))
    else:
        if ok:
            st.rerun()
        st.error("Wrong password.")
