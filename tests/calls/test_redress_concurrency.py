"""Evaluation reviews at the same time on PostgreSQL: one request per outcome, one opinion per request."""

from datetime import timedelta

import pytest

from calls.evaluation.services import redress_opinion_record, redress_request_submit
from calls.models import Assignment, RedressRequest
from eurohpc.errors import StateConflict
from eurohpc.models import Role
from eurohpc.selectors import audit_chain_report
from tests.calls.redress_factories import (
    GROUNDS,
    admit,
    declare_all,
    make_committee,
    publish_three,
    published_at,
    submit,
)
from tests.conftest import race, requires_postgresql
from tests.factories import UserFactory

pytestmark = [requires_postgresql, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def published(call, applicant, programme_officer, freezer, experts):
    return publish_three(call, applicant, programme_officer, freezer, experts)


def test_concurrent_requests_for_one_outcome_make_one(published, applicant, organisation, freezer):
    colleague = UserFactory(username="colleague", organisation=organisation, roles=[Role.APPLICANT])
    freezer(published_at(published[2]) + timedelta(days=1))
    _results, errors = race(
        lambda: redress_request_submit(proposal=published[2], grounds=GROUNDS, actor=applicant),
        lambda: redress_request_submit(proposal=published[2], grounds=GROUNDS, actor=colleague),
    )
    assert len(errors) == 1 and isinstance(errors[0], StateConflict) and errors[0].code == "redress_exists", errors
    assert RedressRequest.objects.count() == 1
    assert audit_chain_report().ok


def test_concurrent_opinions_record_one(published, applicant, freezer, programme_officer):
    committee = make_committee()
    request = admit(submit(published[2], applicant, freezer), programme_officer, committee)
    declare_all(request, committee)
    _results, errors = race(
        lambda: redress_opinion_record(request=request, opinion="confirm", reason="Followed.", actor=committee[0]),
        lambda: redress_opinion_record(request=request, opinion="re_evaluate", reason="Missed.", actor=committee[1]),
    )
    assert len(errors) == 1 and isinstance(errors[0], StateConflict), errors
    request = RedressRequest.objects.get()
    assert request.status in ("confirmed", "re_evaluation")
    closed = Assignment.objects.filter(closed_at__isnull=False).count()
    assert closed == (3 if request.status == "re_evaluation" else 0)
