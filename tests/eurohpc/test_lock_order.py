"""Services lock rows in the product's one order (eurohpc/locking.py), on PostgreSQL where locks exist."""

import re
import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from calls.models import Call, CutOff, Proposal
from calls.services import cut_off_process, proposal_submit
from eurohpc.locking import AUDIT_HEAD, MACHINE_CHAIN, PROGRAMME_CHAIN
from tests.calls.factories import make_call, make_draft
from tests.conftest import requires_postgresql

pytestmark = [requires_postgresql]

CHAINS = (PROGRAMME_CHAIN, MACHINE_CHAIN)
LOCKED_TABLE = re.compile(r'FROM "(\w+)".*FOR (?:NO KEY )?UPDATE', re.S)


def locked_tables(captured) -> list[str]:
    return [m.group(1) for q in captured.captured_queries if (m := LOCKED_TABLE.search(q["sql"]))]


def assert_in_order(tables: list[str]) -> None:
    """Each lock is at or below the previous one in its chain; after the audit chain's head, no new row."""
    assert tables, "the service took no lock"
    if AUDIT_HEAD in tables:
        before, after = tables[: tables.index(AUDIT_HEAD)], tables[tables.index(AUDIT_HEAD) :]
        assert set(after) <= {*before, AUDIT_HEAD}, f"a lock after the audit chain's head: {tables}"
        tables = before
    for chain in CHAINS:
        positions = [chain.index(t) for t in tables if t in chain]
        assert positions == sorted(positions), f"locks out of order: {tables}"
    unknown = [t for t in tables if not any(t in chain for chain in CHAINS)]
    assert unknown == [], f"tables missing from eurohpc/locking.py: {unknown}"


@pytest.mark.django_db
def test_submission_and_cut_off_processing_lock_call_then_cut_off_then_proposals(applicant, freezer):
    proposal = make_draft(call=make_call(), applicant=applicant)
    with CaptureQueriesContext(connection) as captured:
        proposal_submit(proposal=proposal, actor=applicant)
    assert locked_tables(captured) == ["calls_call", "calls_cutoff", "calls_proposal", AUDIT_HEAD]
    cut_off = CutOff.objects.order_by("closes_at").first()
    freezer(cut_off.closes_at + timedelta(minutes=1))
    with CaptureQueriesContext(connection) as captured:
        assert cut_off_process(cut_off=cut_off) == 1
    assert locked_tables(captured) == ["calls_call", "calls_cutoff", AUDIT_HEAD]


@pytest.mark.django_db(transaction=True)
def test_processing_a_cut_off_while_a_call_lock_is_held_waits_instead_of_deadlocking(applicant, freezer):
    call = make_call()
    proposal_submit(proposal=make_draft(call=call, applicant=applicant), actor=applicant)
    cut_off = CutOff.objects.order_by("closes_at").first()
    freezer(cut_off.closes_at + timedelta(minutes=1))
    errors = _race_in_order(
        first=lambda: Call.objects.select_for_update().get(pk=call.pk),
        then=lambda: CutOff.objects.select_for_update().get(pk=cut_off.pk),
        service=lambda: cut_off_process(cut_off=cut_off),
    )
    assert errors == []
    assert Proposal.objects.get().status == Proposal.Status.SCREENING


@pytest.mark.django_db(transaction=True)
def test_submitting_while_a_call_lock_is_held_waits_instead_of_deadlocking(applicant):
    call = make_call()
    draft = make_draft(call=call, applicant=applicant)
    errors = _race_in_order(
        first=lambda: Call.objects.select_for_update().get(pk=call.pk),
        then=lambda: Proposal.objects.select_for_update().get(pk=draft.pk),
        service=lambda: proposal_submit(proposal=draft, actor=applicant),
    )
    assert errors == []
    assert Proposal.objects.get().status == Proposal.Status.SUBMITTED


def _race_in_order(*, first, then, service) -> list[Exception]:
    """Run a holder (`first`, pause, `then`) and `service` once the holder has its first lock; return what
    either raised. Under the opposite order PostgreSQL would end one of them with 'deadlock detected'."""
    held = threading.Event()
    errors: list[Exception] = []

    def guarded(job):
        def run():
            try:
                job()
            except Exception as exc:
                errors.append(exc)
            finally:
                connection.close()

        return run

    def holder():
        with transaction.atomic():
            first()
            held.set()
            time.sleep(0.5)  # meanwhile the service asks for its locks
            then()

    def after_holder():
        assert held.wait(timeout=10)
        service()

    threads = [threading.Thread(target=guarded(holder)), threading.Thread(target=guarded(after_holder))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return errors


@pytest.mark.django_db
def test_an_access_award_locks_its_proposal_then_the_machine_chain(applicant, programme_officer):
    from calls.access.services import access_decide
    from tests.calls.access_factories import (
        assessed_application,
        make_access_call,
        make_gpu_machine,
        make_host_operator,
        set_pool,
    )
    from tests.factories import OrganisationFactory

    host_org = OrganisationFactory(short_name="LUMI-HE", country="FI")
    call = make_access_call()
    _machine, partition, period = make_gpu_machine(hosting_entity=host_org)
    set_pool(partition=partition, period=period, mode="playground", hours=10000, officer=programme_officer)
    application = assessed_application(
        call=call,
        partition=partition,
        applicant=applicant,
        officer=programme_officer,
        host=make_host_operator(host_org),
    )
    with CaptureQueriesContext(connection) as captured:
        access_decide(application=application, outcome="awarded", actor=programme_officer)
    tables = locked_tables(captured)
    # the audit events (project, allocation, decision) each take the head again, after every other lock
    assert tables == [
        "calls_proposal", "hosting_allocationperiod", "hosting_userproject", "hosting_partitionquota", AUDIT_HEAD,
        AUDIT_HEAD, AUDIT_HEAD,
    ]  # fmt: skip
    assert_in_order(tables)
