"""Request bodies bounded before anything reads them: a 413 that names the limit, in the API's error shape."""

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render

from eurohpc.api.errors import error_body
from eurohpc.formatting import human_size


def body_limit(content_type: str) -> int:
    """Largest body accepted: a multipart upload carries a file (each service bounds its own file); any other
    body is read into memory and is bounded like Django's form data."""
    if content_type.startswith("multipart/form-data"):
        return settings.MAX_REQUEST_BYTES
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE


def too_large(request, limit: int):
    reason = f"The request body is larger than {human_size(limit)}, the most this service accepts."
    if request.path.startswith("/api/"):
        return JsonResponse(error_body(reason, "request_too_large"), status=413)
    return render(request, "errors/413.html", {"reason": reason}, status=413)


class RequestBodyLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        limit = body_limit(request.META.get("CONTENT_TYPE", ""))
        if length > limit:
            return too_large(request, limit)
        return self.get_response(request)
