from django.shortcuts import render


def permission_denied(request, exception=None):
    reason = str(exception) if exception and str(exception) else "You do not have permission to see this page."
    return render(request, "errors/403.html", {"reason": reason}, status=403)


def not_found(request, exception=None):
    return render(request, "errors/404.html", {}, status=404)
