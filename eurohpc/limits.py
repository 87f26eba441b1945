"""The longest text each free-text field takes, in characters: one table for models, forms and serializers.

A longer value is refused (400 naming the field), never cut. The README lists the same figures.
"""

ABSTRACT = 4_000  # a proposal's abstract: about a page
CALL_DESCRIPTION = 20_000
REASON = 4_000  # eligibility, conflict of interest, decision, termination, correction, withdrawal
REDRESS_GROUNDS = 20_000  # an applicant's statement of the evaluation procedure's shortcomings
REVIEW_COMMENT = 20_000  # an evaluator's comment on one criterion
MEMO = 1_000  # a ledger entry's memo
CUT_OFFS_TEXT = 4_000  # the call form's cut-offs, one per line
SCORE_TEXT = 16  # a score as typed: "4.5"
