"""Every page carries a strict Content-Security-Policy, and no template needs it loosened.

The browser test (tests/browser/test_content_security_policy_browser.py) proves the pages
work under it; these check the header and keep inline code out of the templates.
"""

import re
from pathlib import Path

import pytest
from django.urls import reverse

ROOT = Path(__file__).resolve().parents[2]
#: HTML that a browser renders from this server (e-mail templates are read by mail clients).
PAGE_TEMPLATES = [
    path
    for path in (ROOT / "templates").rglob("*.html")
    if "email" not in path.relative_to(ROOT / "templates").parts
]


def directives(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {
        name: values
        for name, *values in (part.split() for part in header.split(";") if part.strip())
    }


@pytest.mark.django_db
def test_the_admin_login_carries_a_strict_policy(client):
    policy = directives(client.get(reverse("admin:login")))
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'self'"]
    assert policy["base-uri"] == ["'self'"]
    assert policy["form-action"] == ["'self'"]
    assert not any("unsafe" in value for values in policy.values() for value in values)


@pytest.mark.django_db
def test_the_public_backup_link_page_carries_it_too(client):
    response = client.get(reverse("backup-confirm", args=["no-es-un-token"]))
    assert response.status_code == 400
    assert directives(response)["script-src"] == ["'self'"]


@pytest.mark.django_db
def test_pages_still_refuse_to_be_framed_by_other_sites(client):
    response = client.get(reverse("admin:login"))
    assert response["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize("template", PAGE_TEMPLATES, ids=lambda path: path.name)
def test_no_page_template_holds_inline_code_or_styles(template):
    source = template.read_text(encoding="utf-8")
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", source), "inline <script>"
    assert not re.search(r"<style\b", source), "inline <style>"
    assert not re.search(r"\sstyle=", source), "style attribute"
    assert not re.search(r"\son[a-z]+=", source), "inline event handler"
