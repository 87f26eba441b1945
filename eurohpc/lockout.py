from django.http import JsonResponse
from django.shortcuts import render

from eurohpc.api.errors import error_body

LOCKED_MESSAGE = "Too many failed logins for this account: try again in 15 minutes."


def lockout_response(request, response=None, credentials=None, *args, **kwargs):
    """Axes lockout: JSON in the API's error shape for API clients, the lockout page for browsers."""
    if request.path.startswith("/api/"):
        return JsonResponse(error_body(LOCKED_MESSAGE, "locked_out"), status=429)
    return render(request, "registration/locked_out.html", status=429)
