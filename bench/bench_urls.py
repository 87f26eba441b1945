"""The product's URLs plus the baseline of every benchmark: a trivial page served the same way
(same middleware, session, login and base template, no data)."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import include, path


@login_required
def trivial(request):
    return render(request, "base.html", {})


urlpatterns = [path("bench/trivial/", trivial), path("", include("eurohpc.urls"))]
