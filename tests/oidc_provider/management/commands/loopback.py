"""`loopback setup`: a signing key, the clients and the accounts of people.py; `loopback allow`: one more redirect
address (and address after logout) for the clients (a live server's port is known only once it runs)."""

from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.core.management.base import BaseCommand
from oidc_provider.models import Client, ResponseType, RSAKey

from tests.oidc_provider.people import CLIENT_ID, CLIENT_SECRET, PASSWORD, PEOPLE, TAMPERED_CLIENT_ID, UNVERIFIED_GROUP


class Command(BaseCommand):
    def add_arguments(self, parser):
        parser.add_argument("action", choices=["setup", "allow"])
        parser.add_argument("--redirect-uri", action="append", default=[])
        parser.add_argument("--post-logout-uri", action="append", default=[])

    def handle(self, *args, action, redirect_uri, post_logout_uri, **options):
        if action == "setup":
            self._setup()
        for client in Client.objects.filter(client_id__in=[CLIENT_ID, TAMPERED_CLIENT_ID]):
            client.redirect_uris = list(dict.fromkeys([*client.redirect_uris, *redirect_uri]))
            client.post_logout_redirect_uris = list(
                dict.fromkeys([*client.post_logout_redirect_uris, *post_logout_uri])
            )
            client.save()

    def _setup(self):
        if not RSAKey.objects.exists():
            call_command("creatersakey")
        code = ResponseType.objects.get(value="code")
        for client_id in (CLIENT_ID, TAMPERED_CLIENT_ID):
            client, _ = Client.objects.update_or_create(
                client_id=client_id,
                defaults={"name": "AI Factories Grants", "client_type": "confidential", "client_secret": CLIENT_SECRET,
                          "jwt_alg": "RS256", "require_consent": False, "reuse_consent": False},
            )  # fmt: skip
            client.response_types.set([code])
        unverified, _ = Group.objects.get_or_create(name=UNVERIFIED_GROUP)
        for person in PEOPLE.values():
            user, _ = User.objects.update_or_create(
                username=person.username,
                defaults={"first_name": person.first_name, "last_name": person.last_name, "email": person.email},
            )
            user.set_password(PASSWORD)
            user.save()
            groups = [Group.objects.get_or_create(name=f"role:{role}")[0] for role in person.roles]
            user.groups.set([*groups, *([] if person.verified else [unverified])])
