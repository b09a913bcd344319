"""Issue 24, Accounts, in headless Chromium against a real ``bodycam serve``: an administrator
creates an officer on the Accounts pages, the officer opens the one-time enrolment link on a
phone, chooses a password, sets up the authenticator (the code computed from the key the page
shows, with the project's TOTP code) and signs in; the administrator then offboards them and
the officer's session ends. Every page is checked at 390 and 1280 px for horizontal overflow.
The rules themselves are tested fast in tests/test_accounts_admin.py."""

from __future__ import annotations

import pytest

pw = pytest.importorskip("playwright.sync_api")

from bodycam.access import totp  # noqa: E402

from .browser import BROWSER_TEST, no_sideways_scroll, shot  # noqa: E402  (after importorskip)

pytestmark = BROWSER_TEST

ADMIN_PASSWORD = "break-glass-admin-2026"
OFFICER_PASSWORD = "copper-kettle-morning-82"


def _look(page, name):
    """Screenshot and overflow check of the current page at 1280 and 390 px."""
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        shot(page, f"accounts-{name}-{width}")
        no_sideways_scroll(page, name)
    page.set_viewport_size({"width": 1280, "height": 900})


def _code_for_step(secret: str, step: int) -> str:
    return totp.hotp(totp._key(secret), step)


def test_admin_creates_an_officer_who_enrols_by_link_signs_in_and_is_offboarded(live, browser, tmp_path):
    pwfile = tmp_path / "pw"
    pwfile.write_text(ADMIN_PASSWORD)
    live.cli("user", "add", "chief", "--role", "admin", "--password-file", str(pwfile))
    live.cli("access", "squad", "Night shift")

    # The administrator signs in (first sign-in: authenticator enrolment on /mfa/).
    admin_ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    admin_ctx.set_default_navigation_timeout(120_000)
    page = admin_ctx.new_page()
    page.goto(live.url + "/login/")
    page.check("input[name=acknowledge]")
    page.fill("input[name=username]", "chief")
    page.fill("input[name=password]", ADMIN_PASSWORD)
    page.click("text=Continue")
    page.wait_for_url("**/mfa/**")
    page.fill("input[name=code]", totp.code_at(page.inner_text("#totp-secret")))
    page.click("form[action='/mfa/'] button[type=submit]")
    page.wait_for_url(live.url + "/")

    # Accounts → New account
    page.click("header nav >> text=Accounts")
    page.wait_for_url(live.url + "/users/")
    _look(page, "list-before")
    page.click("text=New account")
    page.wait_for_url("**/users/new/")
    _look(page, "new")
    page.fill("input[name=username]", "o.reyes")
    page.select_option("select[name=role]", "officer")
    page.fill("input[name=first_name]", "Olivia")
    page.fill("input[name=last_name]", "Reyes")
    page.fill("input[name=badge]", "2291")
    page.fill("input[name=email]", "o.reyes@example.org")
    page.select_option("select[name=squad]", label="Night shift")
    page.fill("input[name=reason]", "new hire, academy class 26-2")
    page.click("text=Create account and enrolment link")
    page.wait_for_selector("#enrol-link")
    assert "shown only once" in page.inner_text("main")
    link = page.input_value("#enrol-link")
    assert link.startswith(live.url + "/enrol/bce_")
    _look(page, "link")

    # The officer, on a phone, opens the link: password twice, authenticator, then signs in.
    officer_ctx = browser.new_context(viewport={"width": 390, "height": 844})
    officer_ctx.set_default_navigation_timeout(120_000)
    phone = officer_ctx.new_page()
    phone.goto(link)
    assert "Set up your account" in phone.inner_text("h1")
    secret = phone.inner_text("#totp-secret")
    no_sideways_scroll(phone, "enrol")
    shot(phone, "accounts-enrol-390")
    phone.fill("input[name=password]", OFFICER_PASSWORD)
    phone.fill("input[name=password2]", OFFICER_PASSWORD + "!")
    phone.fill("input[name=code]", totp.code_at(secret))
    phone.click("text=Finish setting up")
    assert "the two passwords differ" in phone.inner_text("[role=alert]")  # nothing stored; the form again
    phone.fill("input[name=password]", OFFICER_PASSWORD)
    phone.fill("input[name=password2]", OFFICER_PASSWORD)
    enrol_step = totp.step_at()
    phone.fill("input[name=code]", _code_for_step(secret, enrol_step))
    phone.click("text=Finish setting up")
    phone.wait_for_url("**/login/?enrolled=1")
    assert "Your account is ready" in phone.inner_text("main")
    no_sideways_scroll(phone, "login after enrolment")
    phone.check("input[name=acknowledge]")
    phone.fill("input[name=username]", "o.reyes")
    phone.fill("input[name=password]", OFFICER_PASSWORD)
    phone.click("text=Continue")
    phone.wait_for_url("**/mfa/**")
    assert phone.locator("#totp-secret").count() == 0  # enrolled already: a code, not a new key
    # A code is accepted once: the next step's (within the ±1 step the server allows).
    phone.fill("input[name=code]", _code_for_step(secret, enrol_step + 1))
    phone.click("form[action='/mfa/'] button[type=submit]")
    phone.wait_for_url(live.url + "/")
    shot(phone, "accounts-officer-signed-in-390")
    # The link was single use.
    assert phone.goto(link).status == 404
    # The server stores the password with the production hasher (PBKDF2-SHA256 at Django's
    # rounds; in-process tests use fewer, tests/hashers.py).
    from django.contrib.auth.hashers import PBKDF2PasswordHasher

    (stored,), = live.sql("SELECT password FROM access_user WHERE username = 'o.reyes'")
    assert stored.startswith(f"pbkdf2_sha256${PBKDF2PasswordHasher.iterations}$"), stored[:30]

    # The administrator sees the account: enrolled, signed in, the change-log.
    page.goto(live.url + "/users/?role=officer")
    row = page.locator("tbody tr", has_text="o.reyes")
    assert "Olivia Reyes" in row.inner_text() and "Night shift" in row.inner_text()
    assert "enrolled" in row.inner_text() and "never" not in row.inner_text()
    _look(page, "list-after")
    row.locator("a", has_text="o.reyes").click()
    page.wait_for_url("**/users/o.reyes/")
    log = page.inner_text("#h-log >> xpath=..")
    for text in ("Created an account", "Issued an enrolment link", "Used an enrolment link", "Signed in"):
        assert text in log, text
    _look(page, "detail")

    # Offboarding: the confirm page first, a reason, and the officer's session ends at once.
    page.click("text=Disable (offboard)…")
    page.wait_for_url("**/users/o.reyes/disable")
    _look(page, "confirm-disable")
    page.fill("input[name=reason]", "resigned 2026-12-05")
    page.click("main button[type=submit]")
    page.wait_for_url("**/users/o.reyes/")
    assert "disabled" in page.inner_text("#account-status")
    phone.goto(live.url + "/")
    assert "/login/" in phone.url
    rows = live.audit_rows("action = 'account.disable' AND outcome = 'ok'")
    assert [(a, o) for a, _, o, _ in rows] == [("chief", rows[0][2])] and "resigned 2026-12-05" in str(rows[0][3])
    officer_ctx.close()
    admin_ctx.close()
