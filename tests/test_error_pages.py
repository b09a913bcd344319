"""The styled error pages (issue 23, "pages that look finished"): an address no route answers
and an unexpected server failure show base.html's page, with the navigation for a signed-in
person and a way home; a page script asking for JSON gets {"error"}; the favicon is linked."""

import json

import pytest
from django.test import RequestFactory

from bodycam.http import server_error_page

from .access_helpers import client_for, make_user

pytestmark = pytest.mark.django_db


def test_a_missing_page_keeps_the_navigation_and_a_way_home():
    user = make_user("cust", "custodian")
    c = client_for(user)
    r = c.get("/no-such-page/")
    html = r.content.decode()
    assert r.status_code == 404 and r["Content-Type"].startswith("text/html")
    assert "<nav>" in html and 'href="/records/"' in html  # the custodian's navigation
    assert "<h1>Not found</h1>" in html and '<a href="/">Home</a>' in html
    assert 'rel="icon" href="/static/web/favicon.svg"' in html
    # A page's own script asking for data gets JSON, not a page.
    r = c.get("/no-such-page/", HTTP_ACCEPT="application/json")
    assert r.status_code == 404 and json.loads(r.content) == {"error": "There is no page at this address."}


def test_a_server_error_page_has_the_navigation_or_at_least_a_way_home():
    user = make_user("adm", "admin")
    request = RequestFactory().get("/somewhere/")
    request.user = user
    r = server_error_page(request)
    html = r.content.decode()
    assert r.status_code == 500 and "<h1>Server error</h1>" in html and "<nav>" in html
    assert '<a href="/">Home</a>' in html

    class Broken:  # the failure is in reading the session or the user itself
        @property
        def is_authenticated(self):
            raise RuntimeError("database gone")

    request.user = Broken()
    r = server_error_page(request)
    html = r.content.decode()
    assert r.status_code == 500 and "<h1>Server error</h1>" in html and "<nav>" not in html
    assert '<a href="/">Home</a>' in html
