import pytest

from calls.models import Proposal
from tests.calls.factories import make_call, make_eligible

pytestmark = pytest.mark.django_db


def test_proposal_journey_reaches_eligible(applicant, programme_officer, freezer):
    call = make_call()
    proposal = make_eligible(call=call, applicant=applicant, officer=programme_officer, freezer=freezer)
    assert proposal.status == Proposal.Status.ELIGIBLE
    assert proposal.reference == "EUROHPC-2026-CEI-AI-03-0001"
