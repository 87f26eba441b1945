"""Every button the demo shows is one the service accepts: as each role, walk the seeded pages, send every form
they render (each in a savepoint that is rolled back) and expect no 403 and no 409.

A form is filled as a user would: the values it shows, the first option of a choice, a short text for a required
reason, EUR 1.00 for an amount. A 400 (a value the form refuses) is not an offered action refused; uploads and the
log-out form are left out.
"""

import html
import re
from urllib.parse import urljoin, urlparse

import pytest
from django.db import transaction

from eurohpc.models import User

pytestmark = pytest.mark.django_db

ROLES = ["applicant", "evaluator1", "officer", "finance", "operator", "techexpert", "admin"]
MAX_PAGES = 60  # per role: enough to reach each kind of object page of the demo
SKIP = ("/accounts/logout", ".csv", ".xlsx", ".pdf", "/api/", "/static/", "/download", "page=", "/verify/")
FORM = re.compile(r"<form\b([^>]*)>(.*?)</form>", re.S)
ATTR = re.compile(r'([a-z-]+)="([^"]*)"')


def _attrs(tag: str) -> dict[str, str]:
    return {k: html.unescape(v) for k, v in ATTR.findall(tag)}


def _fill(body: str) -> dict[str, str]:
    data: dict[str, str] = {}
    for tag in re.findall(r"<input\b[^>]*>", body):
        a = _attrs(tag)
        name, kind = a.get("name"), a.get("type", "text")
        if not name or kind in ("submit", "button", "file"):
            continue
        if kind in ("checkbox", "radio"):
            if "checked" in tag or (kind == "radio" and name not in data):
                data[name] = a.get("value", "on")
            continue
        value = a.get("value", "")
        if not value and ("required" in tag or kind == "number" or a.get("inputmode") == "decimal"):
            value = "1.00" if (kind == "number" or a.get("inputmode") == "decimal") else "Recorded in the demo."
        data[name] = value
    for select in re.findall(r"<select\b[^>]*>.*?</select>", body, re.S):
        name = _attrs(select.split(">", 1)[0]).get("name")
        options = re.findall(r'<option\b[^>]*value="([^"]*)"[^>]*>', select)
        chosen = re.search(r'<option\b[^>]*value="([^"]*)"[^>]*\bselected\b', select)
        values = [o for o in options if o]
        if name:
            data[name] = html.unescape(chosen.group(1) if chosen else (values[0] if values else ""))
    for area in re.findall(r"<textarea\b([^>]*)>(.*?)</textarea>", body, re.S):
        a = _attrs(area[0])
        if a.get("name"):
            data[a["name"]] = html.unescape(area[1]).strip() or "Recorded in the demo."
    return data


def _walk(client):
    """Pages reachable from the dashboard (breadth first, bounded) and the POST forms each renders."""
    seen, queue, forms = set(), ["/dashboard/"], []
    while queue and len(seen) < MAX_PAGES:
        path = queue.pop(0)
        if path in seen:
            continue
        seen.add(path)
        response = client.get(path)
        if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
            continue
        page = response.content.decode()
        for tag, body in FORM.findall(page):
            a = _attrs(tag)
            if a.get("method", "get").lower() != "post" or 'type="file"' in body or "logout" in a.get("action", ""):
                continue
            forms.append((path, urljoin(path, a.get("action") or path), _fill(body)))
        for href in re.findall(r'href="([^"#]+)"', page):
            url = urlparse(urljoin(path, html.unescape(href)))
            target = url.path + (f"?{url.query}" if url.query else "")
            if not url.netloc and not any(part in target for part in SKIP) and target not in seen:
                queue.append(target)
    return seen, forms


@pytest.mark.parametrize("username", ROLES)
def test_every_form_the_demo_renders_is_accepted(seeded_demo, client, username):
    client.force_login(User.objects.get(username=username))
    pages, forms = _walk(client)
    refused = []
    for page, action, data in forms:
        savepoint = transaction.savepoint()
        try:
            response = client.post(action, data)
            if response.status_code in (403, 409):
                refused.append(f"{page} → POST {action}: {response.status_code}")
        finally:
            transaction.savepoint_rollback(savepoint)
    assert len(pages) >= 5
    assert refused == []
