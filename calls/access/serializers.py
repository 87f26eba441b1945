"""API shapes of the access calls: the calls and their modes, applications (list, detail, inputs of each step),
the technical-assessment queue, a cut-off's ranking against the access pools and the pool board."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from calls.access.actions import ACCESS_ACTIONS
from calls.access.models import AccessApplication, AccessMode
from calls.access.services import AWARDED, OUTCOMES, RESERVE
from calls.models import Call, Proposal
from eurohpc import limits
from eurohpc.dates import plausible_year
from hosting.models import Partition, PartitionQuota, UserProject
from hosting.selectors import machine_choices

GPU_HOURS = {"max_digits": 12, "decimal_places": 2}
POOL_HOURS = {"max_digits": 16, "decimal_places": 2}
# The schema names each choice set once: the access modes' codes as plain values ("ModeEnum"; hosting's
# "AccessModeEnum" has the same codes with their labels), the organisation types as hosting's projects keep them.
MODE_CHOICES = AccessMode.Code.values
USER_TYPE_CHOICES = UserProject.UserType.choices
OUTCOME_CHOICES = [(AWARDED, "Awarded"), (RESERVE, "Reserve list"), ("rejected", "Not awarded")]
# The outcome of a decided application, by the proposal's state.
OUTCOME_OF = {status: outcome for outcome, status in OUTCOMES.items()}


# --- calls and modes ---------------------------------------------------------------------------------------


class AccessModeSerializer(serializers.ModelSerializer):
    code = serializers.CharField(read_only=True, help_text="playground, fast_lane, large_scale or ai_for_science")
    label = serializers.CharField(source="get_code_display", read_only=True)
    durations = serializers.ListField(child=serializers.IntegerField(), read_only=True, help_text="months")
    user_types = serializers.ListField(
        child=serializers.CharField(), read_only=True, help_text="the organisation types (`user_type`) that may apply"
    )

    class Meta:
        model = AccessMode
        fields = [
            "id",
            "code",
            "label",
            "process",
            "min_gpu_hours",
            "max_gpu_hours",
            "durations",
            "user_types",
            "reviews_required",
            "reply_days",
            "decision_target_days",
        ]
        read_only_fields = fields


class AccessCutOffSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    closes_at = serializers.DateTimeField(read_only=True)
    processed_at = serializers.DateTimeField(read_only=True, allow_null=True)


class AccessCallSerializer(serializers.ModelSerializer):
    cut_offs = AccessCutOffSerializer(many=True, read_only=True)
    modes = serializers.SerializerMethodField()

    class Meta:
        model = Call
        fields = ["id", "identifier", "title", "status", "opens_at", "cut_offs", "modes"]
        read_only_fields = fields

    @extend_schema_field(AccessModeSerializer(many=True))
    def get_modes(self, call) -> list[dict]:
        modes = sorted(call.access_modes.all(), key=lambda mode: mode.pk)  # prefetched by open_access_calls
        return AccessModeSerializer(modes, many=True).data


# --- applications: reads -----------------------------------------------------------------------------------


class AccessApplicationListSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk", read_only=True)
    reference = serializers.CharField(source="proposal.reference", read_only=True, allow_null=True)
    call = serializers.IntegerField(source="proposal.call_id", read_only=True)
    call_identifier = serializers.CharField(source="proposal.call.identifier", read_only=True)
    mode = serializers.ChoiceField(source="mode.code", choices=MODE_CHOICES, read_only=True)
    title = serializers.CharField(source="proposal.title", read_only=True)
    acronym = serializers.CharField(source="proposal.acronym", read_only=True)
    organisation = serializers.CharField(source="proposal.organisation.short_name", read_only=True)
    machine = serializers.IntegerField(source="partition.machine_id", read_only=True)
    machine_name = serializers.CharField(source="partition.machine.name", read_only=True)
    partition = serializers.IntegerField(source="partition_id", read_only=True)
    partition_name = serializers.CharField(source="partition.name", read_only=True)
    status = serializers.ChoiceField(source="proposal.status", choices=Proposal.Status.choices, read_only=True)
    status_label = serializers.CharField(read_only=True, help_text="the state in the words of an access call")
    gpu_hours = serializers.DecimalField(**GPU_HOURS, read_only=True)
    duration_months = serializers.IntegerField(read_only=True)
    start_month = serializers.DateField(read_only=True)
    submitted_at = serializers.DateTimeField(source="proposal.submitted_at", read_only=True, allow_null=True)
    cut_off = serializers.DateTimeField(
        source="proposal.cut_off.closes_at", read_only=True, allow_null=True, help_text="the cut-off it belongs to"
    )
    recommended_gpu_hours = serializers.SerializerMethodField()
    awarded_gpu_hours = serializers.DecimalField(**GPU_HOURS, read_only=True, allow_null=True)
    project_code = serializers.CharField(source="project.code", read_only=True, allow_null=True)

    @extend_schema_field(serializers.DecimalField(**GPU_HOURS, allow_null=True))
    def get_recommended_gpu_hours(self, application) -> str | None:
        technical = technical_of(application)
        if technical is None or technical.recommended_gpu_hours is None:
            return None
        return f"{technical.recommended_gpu_hours:.2f}"


def technical_of(application: AccessApplication):
    """The technical assessment (read by select_related), or None."""
    try:
        return application.technical
    except AccessApplication.technical.RelatedObjectDoesNotExist:
        return None


class AccessCheckSerializer(serializers.Serializer):
    code = serializers.CharField(read_only=True)
    rule = serializers.CharField(read_only=True)
    ok = serializers.BooleanField(read_only=True)
    detail = serializers.CharField(read_only=True)


class TechnicalAssessmentSerializer(serializers.Serializer):
    feasible = serializers.BooleanField(read_only=True)
    notes = serializers.CharField(read_only=True)
    recommended_gpu_hours = serializers.DecimalField(**GPU_HOURS, read_only=True, allow_null=True)
    assessed_at = serializers.DateTimeField(read_only=True)


class ReleasedReviewSerializer(serializers.Serializer):
    """A submitted review as the applicant reads it: scores and comments, never its author."""

    number = serializers.IntegerField(read_only=True, help_text="Review 1, 2, … in the order they were submitted")
    scores = serializers.DictField(child=serializers.CharField(), read_only=True, help_text="criterion → score")
    comments = serializers.DictField(child=serializers.CharField(), read_only=True, help_text="criterion → comment")


class AccessDecisionSerializer(serializers.Serializer):
    outcome = serializers.CharField(read_only=True, help_text="awarded, reserve or rejected")
    awarded_gpu_hours = serializers.DecimalField(**GPU_HOURS, read_only=True, allow_null=True)
    reason = serializers.CharField(read_only=True)
    decided_at = serializers.DateTimeField(read_only=True)


class AccessApplicationSerializer(AccessApplicationListSerializer):
    """One application as its reader may see it. The view gives `checks`, `reviews` and `slurm_account` in the
    context (read once), and the actions open to the reader."""

    mode_label = serializers.CharField(source="mode.get_code_display", read_only=True)
    process = serializers.ChoiceField(source="mode.process", choices=AccessMode.Process.choices, read_only=True)
    abstract = serializers.CharField(source="proposal.abstract", read_only=True)
    ai_model = serializers.CharField(read_only=True)
    team = serializers.CharField(read_only=True)
    user_type = serializers.ChoiceField(choices=USER_TYPE_CHOICES, read_only=True)
    terms = serializers.ChoiceField(choices=AccessApplication.Terms.choices, read_only=True)
    no_prohibited_practice = serializers.BooleanField(read_only=True)
    personal_data = serializers.BooleanField(read_only=True)
    data_protection = serializers.CharField(read_only=True)
    ethics = serializers.CharField(read_only=True)
    pi = serializers.CharField(source="pi.display_name", read_only=True, help_text="the principal investigator")
    eligibility_reason = serializers.CharField(source="proposal.eligibility_reason", read_only=True)
    eligibility_decided_at = serializers.DateTimeField(
        source="proposal.eligibility_decided_at", read_only=True, allow_null=True
    )
    access_checks = serializers.SerializerMethodField(
        help_text="every rule the application is held to at submission, with its result"
    )
    technical_assessment = serializers.SerializerMethodField()
    reviews_submitted = serializers.IntegerField(read_only=True)
    reviews = serializers.SerializerMethodField(
        help_text="the submitted reviews once released to the applicant (applicants and programme officers)"
    )
    reply_deadline = serializers.DateTimeField(read_only=True, allow_null=True)
    reply = serializers.CharField(read_only=True)
    replied_at = serializers.DateTimeField(read_only=True, allow_null=True)
    decision = serializers.SerializerMethodField()
    slurm_account = serializers.SerializerMethodField()
    final_report = serializers.CharField(read_only=True)
    final_report_at = serializers.DateTimeField(read_only=True, allow_null=True)
    created_at = serializers.DateTimeField(source="proposal.created_at", read_only=True)
    updated_at = serializers.DateTimeField(source="proposal.updated_at", read_only=True)
    actions = serializers.SerializerMethodField(
        help_text="what the requesting user may do with the application now (the service still checks every rule)"
    )

    @extend_schema_field(AccessCheckSerializer(many=True))
    def get_access_checks(self, application) -> list[dict]:
        return AccessCheckSerializer(self.context.get("checks", []), many=True).data

    @extend_schema_field(TechnicalAssessmentSerializer(allow_null=True))
    def get_technical_assessment(self, application) -> dict | None:
        technical = technical_of(application)
        return TechnicalAssessmentSerializer(technical).data if technical is not None else None

    @extend_schema_field(ReleasedReviewSerializer(many=True))
    def get_reviews(self, application) -> list[dict]:
        return ReleasedReviewSerializer(self.context.get("reviews", []), many=True).data

    @extend_schema_field(AccessDecisionSerializer(allow_null=True))
    def get_decision(self, application) -> dict | None:
        outcome = OUTCOME_OF.get(application.proposal.status)
        if application.decided_at is None or outcome is None:
            return None
        return AccessDecisionSerializer(
            {
                "outcome": outcome,
                "awarded_gpu_hours": application.awarded_gpu_hours,
                "reason": application.decision_reason,
                "decided_at": application.decided_at,
            }
        ).data

    @extend_schema_field(serializers.CharField(allow_null=True, help_text="the project's Slurm account, once awarded"))
    def get_slurm_account(self, application) -> str | None:
        return self.context.get("slurm_account")

    @extend_schema_field(serializers.ListField(child=serializers.ChoiceField(choices=ACCESS_ACTIONS)))
    def get_actions(self, application) -> list[str]:
        return list(self.context.get("actions", []))


# --- applications: inputs ----------------------------------------------------------------------------------


def _partitions():
    return Partition.objects.select_related("machine").order_by("pk")


class AccessApplicationInput(serializers.Serializer):
    call = serializers.PrimaryKeyRelatedField(
        queryset=Call.objects.filter(prong=Call.Prong.ACCESS).exclude(status=Call.Status.DRAFT).order_by("pk")
    )
    mode = serializers.ChoiceField(choices=MODE_CHOICES)
    machine = serializers.PrimaryKeyRelatedField(
        queryset=machine_choices(),
        required=False,
        allow_null=True,
        help_text="the machine chosen; the partition must be one of its partitions",
    )
    partition = serializers.PrimaryKeyRelatedField(queryset=_partitions())
    title = serializers.CharField(max_length=255)
    acronym = serializers.CharField(max_length=32)
    abstract = serializers.CharField(required=False, allow_blank=True, max_length=limits.ABSTRACT)
    ai_model = serializers.CharField(
        required=False, allow_blank=True, max_length=limits.ABSTRACT, help_text="the models trained or run, and data"
    )
    team = serializers.CharField(required=False, allow_blank=True, max_length=limits.REASON)
    user_type = serializers.ChoiceField(choices=USER_TYPE_CHOICES)
    terms = serializers.ChoiceField(choices=AccessApplication.Terms.choices)
    gpu_hours = serializers.DecimalField(**GPU_HOURS, help_text='GPU-hours requested, e.g. "4000.00"')
    duration_months = serializers.IntegerField(min_value=1, max_value=12)
    start_month = serializers.DateField(
        validators=[plausible_year], help_text="the month access should start (its first day is kept)"
    )
    no_prohibited_practice = serializers.BooleanField(
        required=False, help_text="AI Act: the project uses no prohibited AI practice (Art. 5)"
    )
    personal_data = serializers.BooleanField(required=False)
    data_protection = serializers.CharField(required=False, allow_blank=True, max_length=limits.REASON)
    ethics = serializers.CharField(required=False, allow_blank=True, max_length=limits.REASON)


class AccessApplicationPatchInput(AccessApplicationInput):
    """The fields of a draft to change (read with partial=True: each is optional)."""

    call = None


class AccessEligibilityInput(serializers.Serializer):
    eligible = serializers.BooleanField()
    reason = serializers.CharField(allow_blank=True, max_length=limits.REASON)


class TechnicalAssessmentInput(serializers.Serializer):
    feasible = serializers.BooleanField()
    notes = serializers.CharField(allow_blank=True, max_length=limits.REASON, help_text="software, scaling, data")
    recommended_gpu_hours = serializers.DecimalField(
        **GPU_HOURS,
        required=False,
        allow_null=True,
        help_text="feasible: at most the request (default: the request); not feasible: none",
    )


class ReplyInput(serializers.Serializer):
    reply = serializers.CharField(allow_blank=True, max_length=limits.ABSTRACT)


class DecisionInput(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=OUTCOME_CHOICES)
    gpu_hours = serializers.DecimalField(
        **GPU_HOURS,
        required=False,
        allow_null=True,
        help_text="awarded: at most the technical recommendation (default: the recommendation)",
    )
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=limits.REASON)


class FinalReportInput(serializers.Serializer):
    report = serializers.CharField(allow_blank=True, max_length=limits.ABSTRACT)


# --- the committee's ranking -------------------------------------------------------------------------------


class RankRowSerializer(serializers.Serializer):
    rank = serializers.IntegerField()
    application = serializers.IntegerField(source="application.pk")
    reference = serializers.CharField(source="application.proposal.reference", allow_null=True)
    acronym = serializers.CharField(source="application.proposal.acronym")
    organisation = serializers.CharField(source="application.proposal.organisation.short_name")
    mode = serializers.ChoiceField(source="application.mode.code", choices=MODE_CHOICES)
    partition_name = serializers.CharField(source="application.partition.name")
    status = serializers.ChoiceField(source="application.proposal.status", choices=Proposal.Status.choices)
    status_label = serializers.CharField(source="application.status_label")
    reviews_submitted = serializers.IntegerField(source="application.reviews_submitted")
    review_mean = serializers.DecimalField(
        source="application.review_mean", max_digits=10, decimal_places=2, allow_null=True,
        help_text="the mean total of the submitted reviews",
    )  # fmt: skip
    gpu_hours = serializers.DecimalField(source="application.gpu_hours", **GPU_HOURS)
    recommended_gpu_hours = serializers.DecimalField(source="recommended", **GPU_HOURS, allow_null=True)
    quota = serializers.SerializerMethodField(help_text="the partition quota whose pool it is drawn from")
    pool_hours = serializers.DecimalField(**POOL_HOURS, allow_null=True, help_text="the hours of its mode's pool")
    cumulative = serializers.DecimalField(
        **POOL_HOURS, help_text="the recommendations of its pool down to this row (applications under evaluation)"
    )
    fits = serializers.BooleanField(allow_null=True, help_text="within its pool's remaining hours; null: no pool")

    def get_quota(self, row) -> int | None:
        return row.pool_key[0] if row.pool_key else None


class AccessCutOffRankingSerializer(serializers.Serializer):
    cut_off = serializers.IntegerField()
    call = serializers.CharField()
    closes_at = serializers.DateTimeField(read_only=True)
    count = serializers.IntegerField()
    results = RankRowSerializer(many=True)


class RankingAwardResultSerializer(serializers.Serializer):
    awarded = serializers.ListField(child=serializers.CharField(), help_text="references awarded")
    reserve = serializers.ListField(child=serializers.CharField(), help_text="references their pool cannot hold")
    skipped = serializers.ListField(child=serializers.CharField(), help_text="references not decidable now")


# --- pools -------------------------------------------------------------------------------------------------


class PoolSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pool.pk")
    access_mode = serializers.ChoiceField(source="pool.access_mode", choices=UserProject.AccessMode.choices)
    hours = serializers.DecimalField(source="pool.hours", **POOL_HOURS)
    awarded = serializers.DecimalField(source="pool.awarded", max_digits=20, decimal_places=2)
    remaining = serializers.DecimalField(source="pool.remaining", max_digits=20, decimal_places=2)
    used = serializers.DecimalField(source="pool.used", max_digits=20, decimal_places=4)
    awarded_percent = serializers.DecimalField(source="pool.awarded_percent", max_digits=8, decimal_places=1)
    used_percent = serializers.DecimalField(source="pool.used_percent", max_digits=8, decimal_places=1)
    pending = serializers.DecimalField(**POOL_HOURS, help_text="GPU-hours pending applications ask of the pool")
    pending_count = serializers.IntegerField()


class QuotaPoolsSerializer(serializers.Serializer):
    quota = serializers.IntegerField(source="quota.pk")
    period = serializers.IntegerField(source="quota.period_id")
    period_name = serializers.CharField(source="quota.period.name")
    period_start = serializers.DateField(source="quota.period.start", read_only=True)
    period_end = serializers.DateField(source="quota.period.end", read_only=True)
    partition = serializers.IntegerField(source="quota.partition_id")
    partition_name = serializers.CharField(source="quota.partition.name")
    union_quota = serializers.DecimalField(source="quota.union_quota", **POOL_HOURS)
    unpooled = serializers.DecimalField(**POOL_HOURS, help_text="the Union quota set aside for no mode")
    pools = PoolSerializer(many=True)


class PoolInput(serializers.Serializer):
    quota = serializers.PrimaryKeyRelatedField(
        queryset=PartitionQuota.objects.select_related("partition", "period").order_by("pk")
    )
    access_mode = serializers.ChoiceField(choices=UserProject.AccessMode.choices)
    hours = serializers.DecimalField(**POOL_HOURS, min_value=0)


class PoolOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    quota = serializers.IntegerField(source="quota_id")
    access_mode = serializers.ChoiceField(choices=UserProject.AccessMode.choices)
    hours = serializers.DecimalField(**POOL_HOURS)
    updated_at = serializers.DateTimeField(read_only=True)
