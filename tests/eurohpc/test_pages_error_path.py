"""One error path for pages: a permission's reason is declared once beside its predicate, and a refused service
call is answered by `eurohpc.pages.form_post` (or `refusable`), never by a view's own `except DomainError`."""

import ast
from pathlib import Path

import pytest
import rules
from django.core.exceptions import ImproperlyConfigured
from django.utils.html import escape

from calls import services as calls_services
from eurohpc import permissions
from eurohpc.errors import DomainError
from eurohpc.permissions import GENERIC_DENIAL, denial, denial_message, denials
from tests.calls.factories import make_call, make_draft, make_submitted

ROOT = Path(__file__).resolve().parents[2]
VIEWS = sorted(p for p in ROOT.glob("**/views*.py") if ".venv" not in p.parts and "node_modules" not in p.parts)
PAGE_VIEWS = [
    "calls/views.py",
    "calls/evaluation/views.py",
    "calls/evaluation/views_deadlines.py",
    "calls/evaluation/views_redress.py",
    "calls/evaluation/views_technical.py",
    "calls/access/views.py",
    "grants/views.py",
    "hosting/views.py",
    "eurohpc/views.py",
]

REQUIRE = {"_require", "require_perm"}
# Helpers that take the permission as an argument and pass it on to `require_perm`.
PERM_PASSING = {"_action", "_grant_action"}
# The call sites that word a refusal their own way: (views module, permission, message), and why.
OVERRIDES = {
    # hosting.manage_machine declares "Only programme officers record machines." (a page test asserts it); the
    # period form keeps its own words, which another page test asserts.
    ("hosting/views.py", "hosting.manage_machine", "Only programme officers open allocation periods."),
}


def _name(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _calls(path: Path, names: set[str]):
    """Every call of one of `names` in the module, with the function it sits in."""
    tree = ast.parse(path.read_text(), filename=str(path))
    for function in [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]:
        for node in ast.walk(function):
            if isinstance(node, ast.Call) and _name(node.func) in names:
                yield function.name, node


def _text(node) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _required_perms() -> set[str]:
    """The permissions the page views check: literal in a require call, or passed to a helper that checks it."""
    found = set()
    for relative in PAGE_VIEWS:
        for function, call in _calls(ROOT / relative, REQUIRE | PERM_PASSING):
            values = [*call.args, *(k.value for k in call.keywords if k.arg == "perm")]
            perms = {v for v in map(_text, values) if v and v.count(".") == 1 and " " not in v}
            if _name(call.func) in REQUIRE and not perms:
                assert function in PERM_PASSING, f"{relative}: {function} checks a permission the test cannot see"
            found |= perms
    return found


# --- (a) no view of its own error path ---------------------------------------------------------------------


def test_the_views_modules_are_found():
    assert {str(p.relative_to(ROOT)) for p in VIEWS} >= set(PAGE_VIEWS)


@pytest.mark.parametrize("path", VIEWS, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_view_catches_domain_errors_itself(path):
    source = path.read_text()
    assert "except DomainError" not in source
    handlers = [n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.ExceptHandler) and n.type is not None]
    caught = {_name(t) for h in handlers for t in (h.type.elts if isinstance(h.type, ast.Tuple) else [h.type])}
    assert not caught & {"DomainError", "RuleViolation", "StateConflict", "LimitExceeded", "NotPermitted"}


def test_require_calls_pass_no_message_but_the_documented_overrides():
    seen = set()
    for relative in PAGE_VIEWS:
        for _, call in _calls(ROOT / relative, REQUIRE):
            texts = [_text(a) for a in call.args[2:]] + [_text(k.value) for k in call.keywords if k.arg == "message"]
            if any(k.arg == "message" for k in call.keywords) or any(texts):
                seen.add((relative, _text(call.args[1]), next(t for t in texts if t)))
    assert seen == OVERRIDES


def test_each_override_differs_from_the_declared_reason():
    for _, perm, message in OVERRIDES:
        assert perm in denials() and denial_message(perm) != message


# --- (b) every checked permission has its reason -----------------------------------------------------------


def test_every_permission_a_page_checks_has_a_declared_reason():
    checked = _required_perms()
    assert len(checked) >= 35  # the collection sees the views' checks (a broken pattern would see none)
    assert sorted(perm for perm in checked if perm not in denials()) == []


def test_declared_reasons_are_of_real_permissions():
    assert denials(), "the rules modules declare their reasons when they load"
    assert sorted(perm for perm in denials() if not rules.perm_exists(perm)) == []
    assert all(message.endswith(".") and message[0].isupper() for message in denials().values())


def test_registry_falls_back_to_the_generic_reason_and_refuses_a_second_one(monkeypatch):
    monkeypatch.setattr(permissions, "_DENIALS", {})
    assert denial_message("calls.change_proposal") == GENERIC_DENIAL == "You do not have permission to do this."
    denial("calls.change_proposal", "Only applicants change it.")
    denial("calls.change_proposal", "Only applicants change it.")  # the same reason again: a module reloaded
    assert denial_message("calls.change_proposal") == "Only applicants change it."
    with pytest.raises(ImproperlyConfigured, match="calls.change_proposal already has its denial message"):
        denial("calls.change_proposal", "Someone else's words.")


@pytest.mark.django_db
def test_a_refused_permission_answers_403_with_the_declared_reason(client, applicant, programme_officer):
    proposal = make_draft(call=make_call(), applicant=applicant, documents=False)
    client.force_login(programme_officer)
    response = client.get(f"/proposals/{proposal.pk}/edit/")
    assert response.status_code == 403
    assert escape(denial_message("calls.change_proposal")) in response.content.decode()


# --- (c) refusals through the real pages -------------------------------------------------------------------


@pytest.mark.django_db
def test_refused_form_post_answers_the_services_status_and_message(client, applicant, programme_officer):
    proposal = make_submitted(call=make_call(), applicant=applicant)  # before its cut-off: not screened yet
    with pytest.raises(DomainError) as refused:
        calls_services.proposal_record_eligibility(
            proposal=proposal, eligible=True, reason="ok", actor=programme_officer
        )
    client.force_login(programme_officer)
    response = client.post(f"/officer/proposals/{proposal.pk}/eligibility/", {"eligible": "true", "reason": "ok"})
    assert (response.status_code, refused.value.status_code) == (409, 409)
    assert "Eligibility is recorded once the cut-off has passed" in refused.value.message
    assert escape(refused.value.message) in response.content.decode()
    assert "calls/eligibility.html" in [t.name for t in response.templates]


@pytest.mark.django_db
def test_refused_button_post_answers_the_services_status_message_and_rules(client, applicant):
    proposal = make_draft(call=make_call(), applicant=applicant, documents=False)
    with pytest.raises(DomainError) as refused:
        calls_services.proposal_submit(proposal=proposal, actor=applicant)
    client.force_login(applicant)
    response = client.post(f"/proposals/{proposal.pk}/submit/")
    assert (response.status_code, refused.value.status_code) == (400, 400)
    page = response.content.decode()
    assert escape(refused.value.message) in page
    problems = [problem for problems in refused.value.errors.values() for problem in problems]
    assert "Proposal form attached: Proposal form missing: required for every proposal." in problems
    assert [problem for problem in problems if escape(problem) not in page] == []
    assert "calls/proposal_detail.html" in [t.name for t in response.templates]
