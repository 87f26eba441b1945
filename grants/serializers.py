"""API shapes of the grants app. Money is a decimal string with two places."""

from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from eurohpc import limits
from eurohpc.dates import plausible_year
from grants.actions import GRANT_ACTIONS, grant_actions
from grants.models import AwardLetter, Envelope, Grant, LedgerEntry, Programme


def money_field(**kwargs) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=16, decimal_places=2, **kwargs)


class EnvelopePositionSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="envelope.pk")
    code = serializers.CharField(source="envelope.code")
    name = serializers.CharField(source="envelope.name")
    programme = serializers.ChoiceField(source="envelope.programme", choices=Programme.choices)
    period = serializers.CharField(source="envelope.period")
    parent = serializers.IntegerField(source="envelope.parent_id", allow_null=True)
    as_of = serializers.DateField(allow_null=True, read_only=True)
    amount = money_field()
    committed = money_field()
    decommitted = money_field()
    net_committed = money_field()
    paid = money_field()
    outstanding = money_field(help_text="committed and not yet paid (RAL)")
    available = money_field()


class EnvelopeInputSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=32)
    name = serializers.CharField(max_length=200)
    programme = serializers.ChoiceField(choices=Programme.choices)
    period_start = serializers.IntegerField(min_value=2000, max_value=2100)
    period_end = serializers.IntegerField(min_value=2000, max_value=2100)
    amount = money_field(min_value=Decimal("0.01"))
    parent = serializers.PrimaryKeyRelatedField(
        queryset=Envelope.objects.order_by("code"), allow_null=True, required=False
    )


class AsOfSerializer(serializers.Serializer):
    as_of = serializers.DateField(
        required=False, allow_null=True, validators=[plausible_year], help_text="YYYY-MM-DD (end of that day, CET)"
    )


class GrantSerializer(serializers.ModelSerializer):
    beneficiary = serializers.SlugRelatedField(slug_field="short_name", read_only=True)
    proposal = serializers.SlugRelatedField(slug_field="reference", read_only=True)
    envelope = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    eu_contribution = money_field()
    national_contribution = money_field()
    total_cost = money_field()
    co_funding_rate = serializers.DecimalField(max_digits=5, decimal_places=4)
    net_committed = serializers.SerializerMethodField()
    paid = serializers.SerializerMethodField()

    class Meta:
        model = Grant
        fields = [
            "id", "reference", "proposal", "beneficiary", "status", "eu_contribution", "national_contribution",
            "total_cost", "co_funding_rate", "envelope", "start_date", "end_date", "signed_at", "net_committed",
            "paid",
        ]  # fmt: skip
        read_only_fields = fields

    def _totals(self, grant):
        if not hasattr(grant, "_api_totals"):
            from grants.selectors import grant_totals

            grant._api_totals = grant_totals(grant=grant)
        return grant._api_totals

    @extend_schema_field(money_field())
    def get_net_committed(self, grant) -> str:
        value = getattr(grant, "net_committed", None)  # set by `grant_totals_attach`
        return f"{(value if value is not None else self._totals(grant).net_committed):.2f}"

    @extend_schema_field(money_field())
    def get_paid(self, grant) -> str:
        value = getattr(grant, "paid", None)
        return f"{(value if value is not None else self._totals(grant).paid):.2f}"


class GrantCreateSerializer(serializers.Serializer):
    proposal = serializers.IntegerField(help_text="id of a selected proposal")
    start_date = serializers.DateField(required=False, validators=[plausible_year])
    end_date = serializers.DateField(required=False, validators=[plausible_year])


class CommitmentInputSerializer(serializers.Serializer):
    envelope = serializers.PrimaryKeyRelatedField(queryset=Envelope.objects.order_by("code"))
    amount = money_field(min_value=Decimal("0.01"))
    memo = serializers.CharField(required=False, allow_blank=True, default="", max_length=limits.MEMO)


class PaymentInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["prefinancing", "interim", "final"])
    amount = money_field(min_value=Decimal("0.01"))
    memo = serializers.CharField(required=False, allow_blank=True, default="", max_length=limits.MEMO)


class AmountInputSerializer(serializers.Serializer):
    amount = money_field(min_value=Decimal("0.01"))
    memo = serializers.CharField(required=False, allow_blank=True, default="", max_length=limits.MEMO)


class GrantDetailSerializer(GrantSerializer):
    actions = serializers.SerializerMethodField(
        help_text="what the requesting user may do with the grant now (the service still checks each amount)"
    )

    class Meta(GrantSerializer.Meta):
        fields = [*GrantSerializer.Meta.fields, "actions"]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.ChoiceField(choices=GRANT_ACTIONS)))
    def get_actions(self, grant) -> list[str]:
        return grant_actions(grant=grant, user=self.context["request"].user, totals=self._totals(grant))


class LedgerEntrySerializer(serializers.ModelSerializer):
    envelope = serializers.SlugRelatedField(slug_field="code", read_only=True)
    grant = serializers.SlugRelatedField(slug_field="reference", read_only=True)
    amount = money_field()
    withheld = money_field()
    signed_amount = money_field(help_text="negative for a reversing entry")
    actor = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = LedgerEntry
        fields = ["id", "kind", "amount", "withheld", "signed_amount", "grant", "envelope", "reverses", "actor",
                  "memo", "created_at"]  # fmt: skip
        read_only_fields = fields


class AwardLetterSerializer(serializers.ModelSerializer):
    class Meta:
        model = AwardLetter
        fields = ["id", "version", "status", "sha256", "size", "requested_at", "rendered_at", "error"]
        read_only_fields = fields


class ReasonInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=limits.REASON, help_text="why the entry is corrected")
