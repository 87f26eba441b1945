"""One error shape for the whole API: {"detail": reason, "code": rule, "errors": {field: [messages]}}."""

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from eurohpc.errors import DomainError
from eurohpc.formatting import human_size


def error_body(detail: str, code: str, errors: dict | None = None) -> dict:
    return {"detail": detail, "code": code, "errors": errors or {}}


def _first_code(codes) -> str:
    if isinstance(codes, str):
        return codes
    if isinstance(codes, dict):
        for value in codes.values():
            return _first_code(value)
    if isinstance(codes, list) and codes:
        return _first_code(codes[0])
    return "error"


def flatten_errors(errors, prefix: str = "") -> dict[str, list[str]]:
    """Field messages as {"field": [message]}; nested fields get dotted keys ("budget_lines.1.total_cost").

    The documented error shape holds a list of strings per field, whatever the nesting of the serializer.
    """
    flat: dict[str, list[str]] = {}
    if isinstance(errors, dict):
        for key, value in errors.items():
            flat.update(flatten_errors(value, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(errors, list | tuple) and any(isinstance(item, dict | list | tuple) for item in errors):
        for index, item in enumerate(errors):
            if item:
                flat.update(flatten_errors(item, f"{prefix}.{index}" if prefix else str(index)))
    else:
        messages = [str(item) for item in errors] if isinstance(errors, list | tuple) else [str(errors)]
        flat.setdefault(prefix or "non_field_errors", []).extend(messages)
    return flat


def exception_handler(exc, context):
    if isinstance(exc, DomainError):
        response = Response(error_body(exc.message, exc.code, flatten_errors(exc.errors)), status=exc.status_code)
        if exc.status_code == status.HTTP_401_UNAUTHORIZED:  # a credential refused: say which scheme is asked
            response["WWW-Authenticate"] = "Token"
        return response
    if isinstance(exc, DjangoValidationError):
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        return Response(
            error_body("Invalid input.", "invalid", flatten_errors(errors)), status=status.HTTP_400_BAD_REQUEST
        )
    if isinstance(exc, RequestDataTooBig):
        reason = (
            f"The request's form data is larger than {human_size(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)}, "
            "the most this service accepts."
        )
        return Response(error_body(reason, "request_too_large"), status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    if isinstance(exc, TooManyFieldsSent | TooManyFilesSent):
        return Response(error_body(str(exc), "too_many_fields"), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        data = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        response.data = error_body("Invalid input.", "invalid", flatten_errors(data))
    else:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        response.data = error_body(str(detail), _first_code(exc.get_codes()) if hasattr(exc, "get_codes") else "error")
    return response
