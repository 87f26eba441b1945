import uuid

from django.conf import settings
from django.core.validators import MaxLengthValidator
from django.db import models
from django.db.models import F, Q

from calls.models.calls import Call, CutOff
from eurohpc import limits
from eurohpc.countries import COUNTRY_CHOICES
from eurohpc.models import Organisation


class ProposalQuerySet(models.QuerySet):
    def visible_to(self, user) -> "ProposalQuerySet":
        """The same rule as `calls.view_proposal`, as a filter for lists and lookups."""
        from calls.rules import proposal_visibility_filter

        return self.filter(proposal_visibility_filter(user))


class Proposal(models.Model):
    class Type(models.TextChoices):
        NEW_SYSTEM = "new_system", "Acquisition of a new AI-optimised supercomputer"
        UPGRADE = "upgrade", "AI upgrade of an existing EuroHPC supercomputer"
        ACTIVITIES = "activities", "AI Factory activities at an existing hosting entity"
        ACCESS = "access", "Access to AI Factory compute time"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SUBMITTED = "submitted", "Submitted"
        WITHDRAWN = "withdrawn", "Withdrawn"
        SCREENING = "screening", "Eligibility screening"
        ELIGIBLE = "eligible", "Eligible"
        INELIGIBLE = "ineligible", "Ineligible"
        # Evaluation and selection (calls.evaluation moves proposals through these).
        EVALUATION = "evaluation", "Under evaluation"
        SELECTED = "selected", "Selected"
        RESERVE = "reserve", "Reserve list"
        REJECTED = "rejected", "Rejected"

    call = models.ForeignKey(Call, on_delete=models.PROTECT, related_name="proposals")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="proposals")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    type = models.CharField(max_length=20, choices=Type.choices)
    experimental_platform = models.BooleanField(default=False, help_text="includes an experimental AI platform")
    title = models.CharField(max_length=255)
    acronym = models.CharField(max_length=32)
    abstract = models.TextField(blank=True, validators=[MaxLengthValidator(limits.ABSTRACT)])
    machine = models.ForeignKey(
        "hosting.Machine", null=True, blank=True, on_delete=models.PROTECT, related_name="proposals",
        help_text="the EuroHPC machine concerned (upgrade, activities)",
    )  # fmt: skip
    planned_machine_name = models.CharField(max_length=100, blank=True, help_text="new system: its working name")
    planned_machine_country = models.CharField(max_length=2, blank=True, choices=COUNTRY_CHOICES)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    reference = models.CharField(max_length=80, null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    cut_off = models.ForeignKey(CutOff, null=True, blank=True, on_delete=models.PROTECT, related_name="proposals")
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    eligibility_reason = models.TextField(blank=True, validators=[MaxLengthValidator(limits.REASON)])
    eligibility_decided_at = models.DateTimeField(null=True, blank=True)
    eligibility_decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    copied_from = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="copies")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ProposalQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(fields=["call", "cut_off", "status"], name="proposal_call_cutoff_status"),
            models.Index(fields=["organisation", "-created_at"], name="proposal_org_created"),
            # The officer's submission list: newest first, read page by page.
            models.Index(fields=["-submitted_at", "-id"], name="proposal_submitted_desc"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["reference"], name="proposal_reference_unique"),
            models.CheckConstraint(
                condition=Q(type__in=["new_system", "upgrade", "activities", "access"]), name="proposal_type_valid"
            ),
            models.CheckConstraint(
                # an access application of a continuous mode is decided as it comes, with no cut-off
                condition=Q(status="draft")
                | Q(reference__isnull=False, submitted_at__isnull=False, cut_off__isnull=False)
                | Q(type="access", reference__isnull=False, submitted_at__isnull=False),
                name="proposal_submitted_has_reference_and_cut_off",
            ),
            models.CheckConstraint(
                condition=Q(status="draft") | Q(type="new_system") | Q(machine__isnull=False),
                name="proposal_submitted_upgrade_or_activities_has_machine",
            ),
            models.CheckConstraint(
                condition=~Q(status="withdrawn") | Q(withdrawn_at__isnull=False), name="proposal_withdrawn_has_time"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["draft", "submitted", "withdrawn", "screening"])
                | (Q(eligibility_decided_at__isnull=False) & ~Q(eligibility_reason="")),
                name="proposal_eligibility_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return self.reference or f"{self.acronym} (draft)"

    TYPE_SHORT = {"new_system": "New system", "upgrade": "Upgrade", "activities": "Activities", "access": "Access"}

    @property
    def type_short(self) -> str:
        return self.TYPE_SHORT.get(self.type, self.type)

    @property
    def is_draft(self) -> bool:
        return self.status == self.Status.DRAFT


class ConsortiumMember(models.Model):
    class Role(models.TextChoices):
        PARTNER = "partner", "Partner"
        HOSTING_STATE = "hosting_state", "Hosting state representative"
        ASSOCIATED = "associated", "Associated partner"

    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="consortium_members")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    country = models.CharField(max_length=2, choices=COUNTRY_CHOICES)
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.PARTNER)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["proposal", "organisation"], name="consortium_member_once"),
        ]

    def __str__(self) -> str:
        return f"{self.organisation} ({self.get_role_display()})"


class BudgetLine(models.Model):
    class Category(models.TextChoices):
        ACQUISITION = "acquisition", "Acquisition"
        OPERATIONS = "operations", "Operations"
        ACTIVITIES = "activities", "AI Factory activities"
        EXPERIMENTAL_PLATFORM = "experimental_platform", "Experimental platform"

    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="budget_lines")
    category = models.CharField(max_length=24, choices=Category.choices)
    total_cost = models.DecimalField(max_digits=14, decimal_places=2)
    eu_contribution = models.DecimalField(max_digits=14, decimal_places=2)
    national_contribution = models.DecimalField(max_digits=14, decimal_places=2)

    class Meta:
        # Kept on purpose (tests/eurohpc/test_model_ordering.py): pages and checks read `proposal.budget_lines.all()`
        # without a prefetch and show the lines in this order.
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["proposal", "category"], name="budget_line_once_per_category"),
            models.CheckConstraint(condition=Q(total_cost__gt=0), name="budget_line_total_positive"),
            models.CheckConstraint(
                condition=Q(eu_contribution__gte=0, national_contribution__gte=0),
                name="budget_line_shares_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(total_cost=F("eu_contribution") + F("national_contribution")),
                name="budget_line_shares_add_up",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_category_display()}: {self.total_cost}"


def document_path(instance: "Document", filename: str) -> str:
    return f"proposals/{instance.proposal_id}/{uuid.uuid4().hex}.pdf"


class Document(models.Model):
    class Kind(models.TextChoices):
        PROPOSAL_FORM = "proposal_form", "Proposal form"
        MS_COMMITMENT_LETTER = "ms_commitment_letter", "Member State commitment letter"
        CONSORTIUM_AGREEMENT = "consortium_agreement", "Consortium agreement"
        OTHER = "other", "Other"

    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="documents")
    kind = models.CharField(max_length=24, choices=Kind.choices)
    file = models.FileField(upload_to=document_path, max_length=255)
    filename = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField()
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(size__gt=0), name="document_not_empty"),
            models.CheckConstraint(condition=Q(sha256__regex=r"^[0-9a-f]{64}$"), name="document_sha256_hex"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.filename}"
