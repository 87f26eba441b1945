from django.http import JsonResponse
from django.shortcuts import render

from eurohpc.api.errors import error_body


def permission_denied(request, exception=None):
    reason = str(exception) if exception and str(exception) else "You do not have permission to see this page."
    if request.path.startswith("/api/"):
        return JsonResponse(error_body(reason, "permission_denied"), status=403)
    return render(request, "errors/403.html", {"reason": reason}, status=403)


def not_found(request, exception=None):
    # An API client gets the API's error shape even for an address no route matches.
    if request.path.startswith("/api/"):
        return JsonResponse(error_body("Not found.", "not_found"), status=404)
    return render(request, "errors/404.html", {}, status=404)
