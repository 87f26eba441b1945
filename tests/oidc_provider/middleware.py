"""A man in the middle, for one client only: its token answers carry an ID token whose payload names another
subject, with the provider's header and signature left as they were."""

import base64
import json

from tests.oidc_provider.people import TAMPERED_CLIENT_ID

ALTERED_SUBJECT = "999999"


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class TamperedIdTokenMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        tampered = (
            request.method == "POST"
            and request.path.rstrip("/").endswith("/openid/token")
            and response.status_code == 200
            and request.POST.get("client_id") == TAMPERED_CLIENT_ID
        )
        if tampered:
            body = json.loads(response.content)
            header, payload, signature = body["id_token"].split(".")
            claims = json.loads(_b64decode(payload))
            claims["sub"] = ALTERED_SUBJECT
            body["id_token"] = ".".join([header, _b64encode(json.dumps(claims).encode()), signature])
            response.content = json.dumps(body).encode()
        return response
