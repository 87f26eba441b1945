from functools import cached_property

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q

from eurohpc.countries import COUNTRY_CHOICES
from eurohpc.errors import AppendOnlyError


class Organisation(models.Model):
    class Kind(models.TextChoices):
        HOSTING_ENTITY = "hosting_entity", "Hosting entity"
        UNIVERSITY = "university", "University"
        COMPANY = "company", "Company"
        PUBLIC_BODY = "public_body", "Public body"

    legal_name = models.CharField(max_length=255)
    short_name = models.CharField(max_length=64)
    country = models.CharField(max_length=2, choices=COUNTRY_CHOICES, help_text="ISO 3166-1 alpha-2")
    pic = models.CharField("PIC", max_length=9, blank=True, help_text="EU Participant Identification Code")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    # What an award letter is addressed to and signed by: the registered address and the person who may sign a
    # grant agreement for the organisation (the Participant Register's legal signatory).
    address = models.TextField(blank=True, help_text="Registered address, one line per line of the letter")
    representative_name = models.CharField("legal representative", max_length=200, blank=True)
    representative_function = models.CharField("legal representative's function", max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["short_name"], name="organisation_short_name_unique"),
            models.UniqueConstraint(fields=["pic"], condition=~Q(pic=""), name="organisation_pic_unique"),
            models.CheckConstraint(condition=Q(country__regex=r"^[A-Z]{2}$"), name="organisation_country_iso2"),
            models.CheckConstraint(condition=Q(pic="") | Q(pic__regex=r"^[0-9]{9}$"), name="organisation_pic_9_digits"),
            models.CheckConstraint(condition=Q(kind__in=["hosting_entity", "university", "company", "public_body"]),
                                   name="organisation_kind_valid"),
        ]  # fmt: skip

    def __str__(self) -> str:
        return self.short_name

    @property
    def address_lines(self) -> list[str]:
        return [line.strip() for line in self.address.splitlines() if line.strip()]

    @property
    def letter_missing(self) -> list[str]:
        """What an award letter needs of the organisation and the register does not hold yet."""
        missing = []
        if not self.address_lines:
            missing.append("registered address")
        if not self.representative_name.strip():
            missing.append("legal representative")
        return missing


class Role(models.TextChoices):
    APPLICANT = "applicant", "Applicant"
    EVALUATOR = "evaluator", "Evaluator"
    PROGRAMME_OFFICER = "programme_officer", "Programme officer"
    FINANCE_OFFICER = "finance_officer", "Finance officer"
    HOSTING_OPERATOR = "hosting_operator", "Hosting operator"
    TECHNICAL_EXPERT = "technical_expert", "Technical expert (hosting)"
    ADMIN = "admin", "Administrator"


# Roles that act on behalf of an organisation and so need one.
ORGANISATION_ROLES = {Role.APPLICANT, Role.HOSTING_OPERATOR}


class User(AbstractUser):
    organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="members"
    )
    # When the user proved the e-mail address (self-registration link, or an identity provider's verified claim)
    email_verified_at = models.DateTimeField(null=True, blank=True)

    @cached_property
    def roles(self) -> frozenset[str]:
        """The user's roles; uses a prefetched `role_grants` when there is one."""
        if self.pk is None:
            return frozenset()
        found = {grant.role for grant in self.role_grants.all()}
        if self.is_superuser:
            found.add(Role.ADMIN)
        return frozenset(found)

    def has_role(self, role: str) -> bool:
        return role in self.roles

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.username


class UserRole(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="role_grants")
    role = models.CharField(max_length=32, choices=Role.choices)
    granted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "role"], name="userrole_once_per_user"),
            models.CheckConstraint(condition=Q(role__in=Role.values), name="userrole_role_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.user} as {self.get_role_display()}"


class AppendOnlyQuerySet(models.QuerySet):
    """Refuses bulk changes; the PostgreSQL trigger refuses them below the ORM as well."""

    def update(self, **kwargs):
        raise AppendOnlyError(f"{self.model.__name__} is append-only: update refused")

    def delete(self):
        raise AppendOnlyError(f"{self.model.__name__} is append-only: delete refused")

    def bulk_update(self, *args, **kwargs):
        raise AppendOnlyError(f"{self.model.__name__} is append-only: update refused")


class AppendOnlyModel(models.Model):
    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError(f"{type(self).__name__} is append-only: update refused")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError(f"{type(self).__name__} is append-only: delete refused")


class AuditEvent(AppendOnlyModel):
    """One write made through a service. Each event chains the SHA-256 of the previous one."""

    seq = models.PositiveBigIntegerField(unique=True)
    created_at = models.DateTimeField()
    actor = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    actor_repr = models.CharField(max_length=150, blank=True)
    verb = models.CharField(max_length=64)
    target_type = models.CharField(max_length=100, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    target_repr = models.CharField(max_length=255, blank=True)
    changes = models.JSONField(default=dict)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        indexes = [
            models.Index(fields=["target_type", "target_id"], name="auditevent_target_idx"),
            # the trail reads newest first by when things happened (a replayed history is recorded out of order)
            models.Index(fields=["-created_at", "-seq"], name="auditevent_when_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.verb} {self.target_repr}"


class AuditChainHead(models.Model):
    """The single row locked while an event is appended, so the chain never forks."""

    seq = models.PositiveBigIntegerField(default=0)
    hash = models.CharField(max_length=64)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(id=1), name="auditchainhead_singleton")]

    def __str__(self) -> str:
        return f"audit chain head #{self.seq}"


class AuditChainCheck(models.Model):
    """One walk of the audit trail's hash chain (nightly, by command or on request): its result and when."""

    checked_at = models.DateTimeField()
    ok = models.BooleanField()
    events = models.PositiveBigIntegerField(help_text="events found intact before the first bad one, or all")
    first_bad_seq = models.PositiveBigIntegerField(null=True, blank=True)
    reason = models.CharField(max_length=255, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(ok=True, first_bad_seq__isnull=True) | Q(ok=False, first_bad_seq__isnull=False),
                name="auditchaincheck_bad_seq_when_broken",
            )
        ]

    def __str__(self) -> str:
        return f"audit chain {'intact' if self.ok else 'broken'} at {self.checked_at:%Y-%m-%d %H:%M}"


class Notification(models.Model):
    """An email to a user, written in the transaction that caused it and sent by a task after commit."""

    recipient = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notifications")
    subject = models.CharField(max_length=200)
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.subject


# Staff roles: they handle money, confidential proposals or machines, so a second factor guards them
# (settings.STAFF_REQUIRE_2FA) and their sessions end after a shorter idle time.
STAFF_ROLES = frozenset({Role.PROGRAMME_OFFICER, Role.FINANCE_OFFICER, Role.ADMIN, Role.HOSTING_OPERATOR})


class ApiToken(models.Model):
    """A named API credential of one user. Only the SHA-256 of the secret is stored; the secret is shown once."""

    class Scope(models.TextChoices):
        READ = "read", "Read"
        WRITE = "write", "Read and write"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    # The first characters of the secret, shown in lists so that a holder can tell tokens apart.
    prefix = models.CharField(max_length=12)
    digest = models.CharField(max_length=64, unique=True)
    scope = models.CharField(max_length=8, choices=Scope.choices)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # Created after the user passed a second factor (a staff token needs it where STAFF_REQUIRE_2FA is on).
    second_factor = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(scope__in=["read", "write"]), name="apitoken_scope_valid"),
            models.CheckConstraint(condition=Q(expires_at__gt=models.F("created_at")),
                                   name="apitoken_expires_after_creation"),
            models.UniqueConstraint(fields=["user", "name"], condition=Q(revoked_at__isnull=True),
                                    name="apitoken_name_unique_while_active"),
        ]  # fmt: skip

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class UserSession(models.Model):
    """A signed-in browser session of a user, listed on the profile page so that it can be ended."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="browser_sessions")
    session_key = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    # How the session signed in: "password" or "sso"
    method = models.CharField(max_length=16, default="password")

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(last_seen_at__gte=models.F("created_at")),
                                   name="usersession_seen_after_creation"),
        ]  # fmt: skip

    def __str__(self) -> str:
        return f"{self.user} since {self.created_at:%Y-%m-%d %H:%M}"


class ExternalIdentity(models.Model):
    """The link between a user and their account at an OpenID Connect provider (issuer + subject)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="external_identities")
    issuer = models.CharField(max_length=255)
    subject = models.CharField(max_length=255)
    created_at = models.DateTimeField()
    last_login_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["issuer", "subject"], name="externalidentity_unique"),
            models.UniqueConstraint(fields=["user", "issuer"], name="externalidentity_one_per_issuer"),
        ]

    def __str__(self) -> str:
        return f"{self.user} at {self.issuer}"


class MembershipRequest(models.Model):
    """A self-registered user's request to act for an organisation: one from the register, or a new one
    proposed for the programme office to add. An officer confirms or refuses it."""

    class Status(models.TextChoices):
        PENDING = "pending", "Awaiting confirmation"
        CONFIRMED = "confirmed", "Confirmed"
        REFUSED = "refused", "Refused"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="membership_requests")
    organisation = models.ForeignKey(Organisation, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="membership_requests")  # fmt: skip
    # A proposed organisation (when none is chosen from the register)
    proposed_legal_name = models.CharField(max_length=255, blank=True)
    proposed_short_name = models.CharField(max_length=64, blank=True)
    proposed_country = models.CharField(max_length=2, blank=True)
    proposed_kind = models.CharField(max_length=20, blank=True, choices=Organisation.Kind.choices)
    proposed_pic = models.CharField(max_length=9, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(status__in=["pending", "confirmed", "refused"]),
                                   name="membershiprequest_status_valid"),
            # Either an organisation of the register or a proposed one, never both
            models.CheckConstraint(
                condition=(Q(organisation__isnull=False, proposed_legal_name="")
                           | Q(organisation__isnull=True) & ~Q(proposed_legal_name="") & ~Q(proposed_short_name="")),
                name="membershiprequest_register_or_proposed"),
            models.CheckConstraint(condition=Q(status="pending", decided_at__isnull=True)
                                   | ~Q(status="pending") & Q(decided_at__isnull=False),
                                   name="membershiprequest_decided_when_decided"),
            models.UniqueConstraint(fields=["user"], condition=Q(status="pending"),
                                    name="membershiprequest_one_pending_per_user"),
        ]  # fmt: skip

    def __str__(self) -> str:
        target = self.organisation.short_name if self.organisation_id else self.proposed_short_name
        return f"{self.user} for {target}"
