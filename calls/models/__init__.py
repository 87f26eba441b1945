from calls.access.models import AccessApplication, AccessMode, TechnicalAssessment
from calls.models.calls import Call, CutOff
from calls.models.evaluation import *  # noqa: F403  (evaluation and selection)
from calls.models.proposals import BudgetLine, ConsortiumMember, Document, Proposal

__all__ = [
    "AccessApplication",
    "AccessMode",
    "BudgetLine",
    "Call",
    "ConsortiumMember",
    "CutOff",
    "Document",
    "Proposal",
    "TechnicalAssessment",
]
