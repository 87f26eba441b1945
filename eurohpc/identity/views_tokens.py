"""API tokens on the profile page: the list and the creation form (`tokens_section`), creation (the secret is
shown once, on the answer to the POST, and kept nowhere) and revocation."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from eurohpc.identity.forms_tokens import ApiTokenForm
from eurohpc.identity.selectors.tokens import api_token_list
from eurohpc.identity.services.second_factor import second_factor_passed
from eurohpc.identity.services.tokens import api_token_create, api_token_revoke
from eurohpc.models import ApiToken
from eurohpc.pages import errors_onto, form_post, refusable

PROFILE_TEMPLATE = "identity/profile.html"


def tokens_section(request, form: ApiTokenForm | None = None) -> dict:
    """The profile page's API tokens section: the user's tokens (with their state) and the creation form."""
    return {
        "api_tokens": list(api_token_list(user=request.user)),
        "api_token_form": form or ApiTokenForm(),
    }


def profile_context(request, form: ApiTokenForm | None = None) -> dict:
    from eurohpc.identity.views_account import profile_context as profile_context

    context = profile_context(request)
    if form is not None:
        context["api_token_form"] = form
    return context


def _back() -> str:
    return reverse("profile") + "#api-tokens"


@login_required
@require_POST
def token_create(request):
    form = ApiTokenForm(request.POST)
    context = lambda: profile_context(request, form)  # noqa: E731
    if not form.is_valid():
        return render(request, PROFILE_TEMPLATE, context(), status=400)

    def created():
        token, secret = api_token_create(
            user=request.user, name=form.cleaned_data["name"], scope=form.cleaned_data["scope"],
            days=form.cleaned_data["days"], second_factor=second_factor_passed(request), actor=request.user,
        )  # fmt: skip
        response = render(request, "identity/token_created.html", {"token": token, "secret": secret, "back": _back()})
        response["Cache-Control"] = "no-store"
        return response

    return refusable(
        request, created, template=PROFILE_TEMPLATE, context=context, on_refusal=errors_onto(form), list_errors=False
    )


@login_required
@require_POST
def token_revoke(request, pk: int):
    token = get_object_or_404(ApiToken.objects.filter(user=request.user), pk=pk)
    return form_post(
        request,
        template=PROFILE_TEMPLATE,
        context=lambda: profile_context(request),
        save=lambda _: api_token_revoke(token=token, actor=request.user),
        success=f"The token “{token.name}” is revoked: it no longer works.",
        redirect_to=_back(),
        list_errors=False,
    )
