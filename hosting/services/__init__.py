"""Writes of the hosting app. Every state and limit changes through one of these functions."""

from hosting.services.alerts import ALERT_THRESHOLDS, allocation_alerts_check
from hosting.services.machines import (
    hosting_agreement_create,
    machine_accounting_update,
    machine_create,
    partition_accounting_update,
    partition_create,
    period_create,
)
from hosting.services.pools import access_pool_set, period_covering, project_award
from hosting.services.projects import (
    FAST_LANE_MAX_GPU_HOURS,
    PAY_PER_USE_CAP,
    add_months,
    allocation_create,
    project_create,
)
from hosting.services.usage import (
    SYNC_IMPORT_MAX_BYTES,
    charge_of,
    usage_import_create,
    usage_import_fail,
    usage_import_queue,
    usage_import_run,
    usage_import_submit,
    usage_refusal,
)

__all__ = [
    "ALERT_THRESHOLDS",
    "FAST_LANE_MAX_GPU_HOURS",
    "PAY_PER_USE_CAP",
    "SYNC_IMPORT_MAX_BYTES",
    "access_pool_set",
    "add_months",
    "allocation_alerts_check",
    "allocation_create",
    "charge_of",
    "hosting_agreement_create",
    "machine_accounting_update",
    "machine_create",
    "partition_accounting_update",
    "partition_create",
    "period_covering",
    "period_create",
    "project_award",
    "project_create",
    "usage_import_create",
    "usage_import_fail",
    "usage_import_queue",
    "usage_import_run",
    "usage_import_submit",
    "usage_refusal",
]
