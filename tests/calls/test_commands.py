from datetime import timedelta

import pytest
from django.core.management import call_command

from calls.models import Proposal
from tests.calls.factories import make_call, make_submitted

pytestmark = pytest.mark.django_db


def test_process_cutoffs_command_moves_batch_once(applicant, freezer, capsys):
    proposal = make_submitted(call=make_call(), applicant=applicant)
    freezer(proposal.cut_off.closes_at + timedelta(minutes=1))
    call_command("process_cutoffs")
    first = capsys.readouterr().out
    call_command("process_cutoffs")
    second = capsys.readouterr().out
    proposal.refresh_from_db()
    assert proposal.status == Proposal.Status.SCREENING
    assert "EUROHPC-2026-CEI-AI-03 cut-off" in first
    assert ": 1 proposal(s) to screening." in first
    assert second.strip() == "No cut-off to process."


def test_process_cutoffs_task_is_idempotent(applicant, freezer):
    from calls.tasks import process_cutoffs

    proposal = make_submitted(call=make_call(), applicant=applicant)
    freezer(proposal.cut_off.closes_at + timedelta(minutes=1))
    assert process_cutoffs() == {str(proposal.cut_off_id): 1}
    assert process_cutoffs() == {}
