"""The product's URLs plus the baselines of the benchmarks, served the same way (same middleware and session):
a trivial page (signed in, the base template, no data) and a trivial view (signed in, a few bytes of text, no
template)."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import include, path


@login_required
def trivial(request):
    return render(request, "base.html", {})


@login_required
def bare(request):
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [path("bench/trivial/", trivial), path("bench/bare/", bare), path("", include("eurohpc.urls"))]
