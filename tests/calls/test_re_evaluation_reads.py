"""What a re-evaluation after an evaluation review leaves behind: the former experts' closed assignments ask for no
replacement on the board, and a former expert reads none of the new experts' reviews."""

import pytest

from calls.evaluation.selectors import assignment_board, board_proposals
from calls.models import Assignment, Proposal
from tests.calls.redress_factories import make_committee, publish_three, re_evaluate, send_to_re_evaluation, submit

pytestmark = pytest.mark.django_db


@pytest.fixture
def re_evaluated(call, applicant, programme_officer, freezer, experts):
    published = publish_three(call, applicant, programme_officer, freezer, experts)
    send_to_re_evaluation(submit(published[2], applicant, freezer), programme_officer, make_committee())
    re_evaluate(published[2], programme_officer, "4", "4", "4")
    return Proposal.objects.get(pk=published[2].pk)


def test_board_asks_no_replacement_for_assignments_closed_by_a_re_evaluation(re_evaluated):
    proposals = list(board_proposals(cut_off=re_evaluated.cut_off))
    board = assignment_board(cut_off=re_evaluated.cut_off, proposals=proposals)
    row = next(r for r in board.rows if r.proposal.pk == re_evaluated.pk)
    closed = Assignment.objects.filter(proposal=re_evaluated, close_reason="re_evaluation").count()
    assert (closed, row.active, row.needs_replacement, row.missing) == (3, 3, 0, 0)


def test_former_expert_reads_no_review_of_the_re_evaluation(re_evaluated, experts):
    new_expert = Assignment.objects.get(proposal=re_evaluated, evaluator__username="new1").evaluator
    assert new_expert.has_perm("calls.view_reviews", re_evaluated)
    assert not experts[0].has_perm("calls.view_reviews", re_evaluated)
