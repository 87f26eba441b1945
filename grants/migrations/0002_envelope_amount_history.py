"""Envelope amounts over time, so that a position at an earlier date reads the amount in force then.

Existing envelopes get their history from the audit trail: the opening amount at creation (the first
amendment's "from", or the current amount when it was never amended), then one row per amendment.
"""

from decimal import Decimal

import django.db.models.deletion
from django.db import migrations, models

from eurohpc.db import append_only_trigger


def envelope_amounts_from_audit(apps, schema_editor):
    Envelope = apps.get_model("grants", "Envelope")
    EnvelopeAmount = apps.get_model("grants", "EnvelopeAmount")
    AuditEvent = apps.get_model("eurohpc", "AuditEvent")
    known = set(EnvelopeAmount.objects.values_list("envelope_id", flat=True))
    amendments: dict[str, list] = {}
    for event in AuditEvent.objects.filter(target_type="grants.envelope", verb="envelope.set_amount").order_by("seq"):
        amendments.setdefault(event.target_id, []).append(event)
    rows = []
    for envelope in Envelope.objects.exclude(pk__in=known).order_by("pk"):
        changes = amendments.get(str(envelope.pk), [])
        opening = Decimal(str(changes[0].changes["from"])) if changes else envelope.amount
        rows.append(EnvelopeAmount(envelope=envelope, amount=opening, effective_at=envelope.created_at))
        rows += [
            EnvelopeAmount(envelope=envelope, amount=Decimal(str(event.changes["to"])), effective_at=event.created_at)
            for event in changes
        ]
    EnvelopeAmount.objects.bulk_create(rows)


class Migration(migrations.Migration):
    dependencies = [
        ("grants", "0001_envelopes_grants_ledger_letters"),
        ("eurohpc", "0002_audit_guards"),
    ]

    operations = [
        migrations.CreateModel(
            name="EnvelopeAmount",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("amount", models.DecimalField(decimal_places=2, max_digits=14)),
                ("effective_at", models.DateTimeField()),
                (
                    "envelope",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="amounts", to="grants.envelope"
                    ),
                ),
            ],
            options={
                "ordering": ["envelope", "effective_at", "pk"],
                "constraints": [
                    models.CheckConstraint(condition=models.Q(("amount__gt", 0)), name="envelopeamount_amount_positive")
                ],
            },
        ),
        append_only_trigger("grants_envelopeamount"),
        migrations.RunPython(envelope_amounts_from_audit, migrations.RunPython.noop),
    ]
