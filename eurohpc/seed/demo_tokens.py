"""Demo API tokens, so that the profile page shows each state of one: the finance officer's reporting script
(read, in use), an export script's token that expired, and one the officer revoked. Their secrets are not kept
anywhere (the demo creates them and forgets them): make one on the profile page to try the API. Idempotent."""

from datetime import timedelta

from django.utils import timezone

from eurohpc.identity.services.tokens import api_token_create, api_token_revoke
from eurohpc.models import ApiToken, User
from eurohpc.seed.demo import replayed_at

# name, scope, days before the seeding it was created, life in days, revoked that many days after creation
TOKENS = [
    ("Monthly budget report", ApiToken.Scope.READ, 20, 90, None),
    ("Quarterly ledger export", ApiToken.Scope.READ, 120, 30, None),
    ("Laptop test script", ApiToken.Scope.WRITE, 45, 90, 2),
]


def seed(*, out) -> None:
    holder = User.objects.filter(username="finance").first()
    if holder is None or ApiToken.objects.filter(user=holder).exists():
        out("API tokens: kept as they were")
        return
    now = timezone.now().replace(microsecond=0)
    for name, scope, days_ago, life, revoked_after in TOKENS:
        created = now - timedelta(days=days_ago, hours=3)
        with replayed_at(created):
            token, _secret = api_token_create(user=holder, name=name, scope=scope, days=life, second_factor=False,
                                              actor=holder)  # fmt: skip
        if revoked_after is not None:
            with replayed_at(created + timedelta(days=revoked_after)):
                api_token_revoke(token=token, actor=holder)
    used = ApiToken.objects.get(user=holder, name=TOKENS[0][0])
    used.last_used_at = now - timedelta(days=1, hours=5)
    used.save(update_fields=["last_used_at"])
    out(f"API tokens of the finance officer: {len(TOKENS)} created (in use, expired, revoked)")
