"""Access-call state built through the services: an open access call with the programme's modes, a machine with a
GPU partition and a period covering this month, its pools, and applications at each step of their way."""

from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone

from calls.access.models import AccessApplication
from calls.access.services import (
    access_application_create,
    access_application_submit,
    access_decide,
    access_eligibility_record,
    access_reply_submit,
    access_reviews_release,
    technical_assessment_record,
)
from calls.evaluation.services import assignment_create, assignment_declare, review_save
from calls.models import Call
from calls.services import call_create
from eurohpc.models import Role
from hosting.models import Partition, PartitionQuota
from hosting.services import access_pool_set, hosting_agreement_create, machine_create, partition_create, period_create
from tests.factories import UserFactory

SCORES = {"excellence": "4.5", "impact": "4", "implementation": "4"}
COMMENTS = {"excellence": "Clear science case.", "impact": "Open models.", "implementation": "Realistic plan."}


def this_month() -> date:
    return timezone.localdate().replace(day=1)


def make_access_call(*, identifier: str = "EUROHPC-2026-AIF-ACCESS", cut_offs=None, **kwargs) -> Call:
    now = timezone.now()
    return call_create(
        identifier=identifier,
        title="AI Factories access: Playground, Fast Lane, Large Scale, AI for Science",
        prong=Call.Prong.ACCESS,
        opens_at=now - timedelta(days=30),
        cut_offs=cut_offs if cut_offs is not None else [now + timedelta(days=10), now + timedelta(days=25)],
        status=Call.Status.OPEN,
        actor=None,
        **kwargs,
    )


def make_gpu_machine(*, hosting_entity, name: str = "LUMI", nodes: int = 100, country: str = "FI"):
    """A machine with one GPU partition (nodes x 4 GPUs) and a period from this month for six months."""
    machine = machine_create(
        name=name, hosting_entity=hosting_entity, country=country, machine_class="high_end",
        eu_share_of_tco=Decimal("0.50"), slurm_cluster=name.lower(), time_zone="Europe/Helsinki", actor=None,
    )  # fmt: skip
    hosting_agreement_create(machine=machine, signed_on=date(2025, 1, 15), actor=None)
    partition = partition_create(
        machine=machine, name=f"{name}-G", kind=Partition.Kind.GPU, nodes=nodes, gpus_per_node=4, actor=None
    )
    start = this_month()
    end_month = (start + timedelta(days=190)).replace(day=1)
    period = period_create(machine=machine, name="access", start=start, end=end_month - timedelta(days=1), actor=None)
    return machine, partition, period


def set_pool(*, partition, period, mode: str, hours, officer) -> None:
    quota = PartitionQuota.objects.get(partition=partition, period=period)
    access_pool_set(quota=quota, access_mode=mode, hours=Decimal(str(hours)), actor=officer)


def make_host_operator(organisation, username: str = "support"):
    return UserFactory(username=username, organisation=organisation, roles=[Role.HOSTING_OPERATOR])


def draft_application(*, call, partition, applicant, mode: str = "playground", **overrides) -> AccessApplication:
    fields = {
        "title": "Small language model for Finnish legal texts",
        "acronym": "FINLEX-SLM",
        "abstract": "Fine-tuning an open 7B model on public Finnish legislation.",
        "ai_model": "Open-weight 7B decoder model; public legislation corpus (no personal data).",
        "team": "Two ML engineers",
        "user_type": "startup",
        "terms": "open_science",
        "gpu_hours": Decimal("4000"),
        "duration_months": 3,
        "start_month": this_month(),
        "no_prohibited_practice": True,
        **overrides,
    }
    return access_application_create(call=call, mode=mode, partition=partition, actor=applicant, **fields)


def submitted_application(**kwargs) -> AccessApplication:
    application = draft_application(**kwargs)
    return access_application_submit(application=application, actor=kwargs["applicant"])


def assessed_application(*, officer, host, recommended=None, feasible: bool = True, **kwargs) -> AccessApplication:
    """Submitted, found eligible and technically assessed (a cut-off mode's cut-off must have passed first:
    callers of reviewed modes move the clock)."""
    application = submitted_application(**kwargs)
    access_eligibility_record(application=application, eligible=True, reason="Established in the EU.", actor=officer)
    technical_assessment_record(
        application=application, feasible=feasible, notes="Runs on PyTorch with ROCm; scales to 64 GPUs.",
        recommended_gpu_hours=recommended, actor=host,
    )  # fmt: skip
    application.refresh_from_db()
    return application


def reviewed(application: AccessApplication, *, officer, reviewers) -> AccessApplication:
    """Two (or more) reviewers assigned, no conflict declared, reviews submitted, reviews released."""
    for reviewer in reviewers:
        assignment = assignment_create(proposal=application.proposal, evaluator=reviewer, actor=officer)
        assignment_declare(assignment=assignment, conflict=False, actor=reviewer)
        review_save(assignment=assignment, scores=SCORES, comments=COMMENTS, actor=reviewer, submit=True)
    access_reviews_release(application=application, actor=officer)
    application.refresh_from_db()
    return application


__all__ = [
    "access_decide",
    "access_reply_submit",
    "assessed_application",
    "draft_application",
    "make_access_call",
    "make_gpu_machine",
    "make_host_operator",
    "reviewed",
    "set_pool",
    "submitted_application",
    "this_month",
]
