from calls.access.models import AccessApplication, AccessMode, TechnicalAssessment
from calls.models.calls import Call, CutOff
from calls.models.evaluation import *  # noqa: F403  (evaluation and selection)
from calls.models.proposals import BudgetLine, ConsortiumMember, Document, Proposal
from calls.models.redress import RedressCommitteeMember, RedressRequest
from calls.models.technical import TECHNICAL_TYPES, FeasibilityAssessment, FeasibilityItem, FeasibilityReminder

__all__ = [
    "TECHNICAL_TYPES",
    "AccessApplication",
    "AccessMode",
    "BudgetLine",
    "Call",
    "ConsortiumMember",
    "CutOff",
    "Document",
    "FeasibilityAssessment",
    "FeasibilityItem",
    "FeasibilityReminder",
    "Proposal",
    "RedressCommitteeMember",
    "RedressRequest",
    "TechnicalAssessment",
]
