"""What every app's pages share: the permission check and the one way a refused action is shown.

A page's POST calls one service through `form_post`: an invalid form renders the page again with its errors (400),
a `DomainError` renders it again with the rule's message under the refusal's status (`render_refusal`), and a
success adds its message and redirects. A permission's reason is declared once beside its predicate
(`eurohpc.permissions`), and `require_perm` answers 403 with it.
"""

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render

from eurohpc.errors import DomainError
from eurohpc.permissions import denial_message

Context = dict | Callable[[], dict]


def require_perm(request, perm: str, obj=None, *, message: str | None = None) -> None:
    """403 with the permission's declared reason unless the django-rules permission holds. `message` overrides the
    declared reason where a call site words it its own way."""
    if not request.user.has_perm(perm, obj):
        raise PermissionDenied(message or denial_message(perm))


def render_refusal(request, exc: DomainError, template: str, context: dict, *, list_errors: bool = True):
    """Render the page again with the rule that refused the action (and each rule it lists), under its 4xx."""
    messages.error(request, exc.message)
    if list_errors:
        for problems in exc.errors.values():
            for problem in problems:
                messages.error(request, problem)
    return render(request, template, context, status=exc.status_code)


def _context(context: Context) -> dict:
    return context() if callable(context) else context


def _refused(request, exc: DomainError, *, template: str, context: Context, on_refusal, list_errors: bool):
    extra = on_refusal(exc) if on_refusal is not None else None
    return render_refusal(request, exc, template, {**_context(context), **(extra or {})}, list_errors=list_errors)


def errors_onto(form) -> Callable[[DomainError], None]:
    """An `on_refusal` that puts a refusal's field errors on `form` (on the field when the form has it, else on the
    form as a whole)."""

    def put(exc: DomainError) -> None:
        for field, problems in (exc.errors or {}).items():
            for problem in problems:
                form.add_error(field if field in form.fields else None, problem)

    return put


def form_post(
    request,
    *,
    form=None,
    template: str,
    context: Context,
    save: Callable[[dict], Any],
    success: str | Callable[[Any], str | None] | None = None,
    redirect_to: Any,
    invalid_message: str = "",
    on_refusal: Callable[[DomainError], dict | None] | None = None,
    list_errors: bool = True,
):
    """Answer a POST that calls one service; `form=None` for a button.

    - A form that does not validate: `template` with `context` again, 400 (after `invalid_message`, if any).
    - `save(cleaned_data)` (`{}` without a form) calls the service. Its `DomainError` renders `template` with
      `context` through `render_refusal`: the refusal's status, its message and (`list_errors`) each rule it lists.
      `on_refusal(exc)`, if given, runs first: it may put the refusal's field errors on the form and return
      context to add.
    - Else the `success` message and a redirect to `redirect_to` (anything `redirect` takes). Either may be a
      callable of what `save` returned; a `success` callable that returns None has added its own messages.

    `context` is the page's context or a callable building it, called only when the page is rendered again.
    """
    if form is not None and not form.is_valid():
        if invalid_message:
            messages.error(request, invalid_message)
        return render(request, template, _context(context), status=400)
    try:
        result = save(form.cleaned_data if form is not None else {})
    except DomainError as exc:
        return _refused(
            request, exc, template=template, context=context, on_refusal=on_refusal, list_errors=list_errors
        )
    message = success(result) if callable(success) else success
    if message:
        messages.success(request, message)
    return redirect(redirect_to(result) if callable(redirect_to) else redirect_to)


def refusable(
    request,
    answer: Callable[[], Any],
    *,
    template: str,
    context: Context,
    on_refusal: Callable[[DomainError], dict | None] | None = None,
    list_errors: bool = True,
):
    """`answer()`'s response (a GET that may be refused, say a download, or a POST whose success is a page of its
    own); its `DomainError` renders `template` with `context` through `render_refusal` (`on_refusal` and
    `list_errors` as for `form_post`)."""
    try:
        return answer()
    except DomainError as exc:
        return _refused(
            request, exc, template=template, context=context, on_refusal=on_refusal, list_errors=list_errors
        )
