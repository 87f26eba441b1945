from django.http import HttpResponseServerError, JsonResponse
from django.shortcuts import render
from django.template import loader

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


def bad_request(request, exception=None):
    # Django answers a suspicious request (a malformed Host, too many form fields) here, outside any view.
    reason = "The request could not be understood: it is malformed or larger than this service accepts."
    if request.path.startswith("/api/"):
        return JsonResponse(error_body(reason, "bad_request"), status=400)
    return render(request, "errors/400.html", {"reason": reason}, status=400)


def server_error(request):
    # No template context beyond the request: whatever failed must not fail again here.
    reason = "Something went wrong on our side; nothing you sent was half-saved. Please try again later."
    if request.path.startswith("/api/"):
        return JsonResponse(error_body(reason, "server_error"), status=500)
    return HttpResponseServerError(loader.get_template("errors/500.html").render({"reason": reason}))
