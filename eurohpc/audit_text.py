"""How audit events read: a label for each action and a sentence for each event, one table for every page.

Every verb a service records has its entry here (a test reads the services' `audit_record` calls to keep it so).
The sentence holds `{actor}` (the person's name, or "The system") and `{target}` (the object as recorded).
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Action:
    label: str  # on a timeline and in the action filter: "Proposal submitted"
    sentence: str  # in the audit trail: "{actor} submitted proposal {target}."


ACTIONS: dict[str, Action] = {
    # organisations and users
    "organisation.create": Action("Organisation registered", "{actor} registered the organisation {target}."),
    "organisation.update_signatory": Action(
        "Organisation signatory recorded", "{actor} recorded the address and legal representative of {target}."
    ),
    "user.create": Action("User account created", "{actor} created the user account {target}."),
    "user.grant_role": Action("Role granted", "{actor} granted a role to {target}."),
    "user.revoke_role": Action("Role removed", "{actor} removed a role from {target}."),
    # single sign-on
    "external_identity.link": Action(
        "Identity provider account linked",
        "{actor} linked the account {target} to an account at the identity provider.",
    ),
    "external_identity.role_withheld": Action(
        "Role from the identity provider withheld",
        "{actor} did not grant {target} a role the identity provider names: it acts for an organisation and the "
        "account has none.",
    ),
    # self-registration
    "user.register": Action("Account registered", "{actor} registered the account {target}."),
    "user.verify_email": Action("E-mail address verified", "{actor} verified the e-mail address of {target}."),
    "membership.request": Action(
        "Organisation membership asked", "{actor} asked to act for an organisation: {target}."
    ),
    "membership.confirm": Action("Organisation membership confirmed", "{actor} confirmed the request {target}."),
    "membership.refuse": Action("Organisation membership refused", "{actor} refused the request {target}."),
    "user.second_factor_enrol": Action("Second factor enrolled", "{actor} enrolled an authenticator app for {target}."),
    "user.second_factor_recovery_use": Action(
        "Recovery code used", "{actor} signed in to {target} with a recovery code."
    ),
    "user.second_factor_recovery_regenerate": Action(
        "Recovery codes renewed", "{actor} made new recovery codes for {target}."
    ),
    "user.second_factor_disable": Action(
        "Second factor turned off", "{actor} turned the second factor of {target} off."
    ),
    "user.second_factor_reset": Action("Second factor reset", "{actor} reset the second factor of {target}."),
    "user.session_revoke": Action("Session ended", "{actor} ended a signed-in session of {target}."),
    "user.password_change": Action(
        "Password changed", "{actor} changed the password of {target}; its other sessions ended."
    ),
    "api_token.create": Action("API token created", "{actor} created the API token {target}."),
    "api_token.revoke": Action("API token revoked", "{actor} revoked the API token {target}."),
    # calls
    "call.create": Action("Call created", "{actor} created the call {target}."),
    "call.open": Action("Call opened", "{actor} opened the call {target}."),
    "call.add_cut_off": Action("Cut-off added", "{actor} added a cut-off to the call {target}."),
    "call.set_funding": Action("Call funding set", "{actor} set the envelope funding the call {target}."),
    "cut_off.process": Action("Cut-off processed", "{actor} moved the proposals of cut-off {target} to screening."),
    # proposals
    "proposal.create": Action("Proposal drafted", "{actor} drafted the proposal {target}."),
    "proposal.copy": Action("Proposal copied", "{actor} copied a withdrawn proposal into the draft {target}."),
    "proposal.update": Action("Proposal edited", "{actor} edited the proposal {target}."),
    "proposal.set_budget": Action("Budget set", "{actor} set the budget of the proposal {target}."),
    "proposal.add_member": Action("Consortium member added", "{actor} added a consortium member to {target}."),
    "proposal.remove_member": Action("Consortium member removed", "{actor} removed a consortium member from {target}."),
    "proposal.upload_document": Action("Document uploaded", "{actor} uploaded a document to the proposal {target}."),
    "proposal.delete_document": Action("Document deleted", "{actor} deleted a document of the proposal {target}."),
    "proposal.submit": Action("Proposal submitted", "{actor} submitted the proposal {target}."),
    "proposal.withdraw": Action("Proposal withdrawn", "{actor} withdrew the proposal {target} before its cut-off."),
    "proposal.record_eligibility": Action(
        "Eligibility recorded", "{actor} recorded the eligibility of the proposal {target}."
    ),
    "proposal.record_history": Action(
        "Recorded from the published selection",
        "{actor} recorded the proposal {target} from the programme's published selection.",
    ),
    # evaluation
    "evaluation.assign": Action("Expert assigned", "{actor} assigned an expert to the proposal {target}."),
    "evaluation.reassign": Action(
        "Overdue work reassigned", "{actor} gave an expert's overdue evaluation of the proposal {target} to another."
    ),
    "evaluation.declare": Action(
        "Conflict of interest declared", "{actor} made the conflict-of-interest declaration on the proposal {target}."
    ),
    "evaluation.review_submit": Action("Review submitted", "{actor} submitted a review of the proposal {target}."),
    "evaluation.consensus": Action("Consensus recorded", "{actor} recorded the consensus on the proposal {target}."),
    "evaluation.decision": Action("Decision recorded", "{actor} recorded the decision on the proposal {target}."),
    "evaluation.promotion": Action(
        "Promoted from the reserve list", "{actor} promoted the proposal {target} from the reserve list."
    ),
    "evaluation.withdrawal": Action(
        "Withdrawn after selection", "{actor} recorded the withdrawal of the proposal {target} from the selection."
    ),
    "evaluation.publish": Action("Decisions published", "{actor} published the decisions of the call {target}."),
    "evaluation.summary_report": Action(
        "Evaluation summary report prepared", "{actor} prepared the evaluation summary report of {target}."
    ),
    "evaluation.summary_report_retry": Action(
        "Summary report prepared again", "{actor} asked for the evaluation summary report of {target} again."
    ),
    "evaluation.record_history": Action(
        "Evaluation recorded from the published selection",
        "{actor} recorded the evaluation of the proposal {target} from the programme's published selection.",
    ),
    "evaluation.record_history_publication": Action(
        "Publication recorded", "{actor} recorded the publication of the decisions of the call {target}."
    ),
    "evaluation.technical_assign": Action(
        "Technical expert assigned", "{actor} assigned a technical expert to the proposal {target}."
    ),
    "evaluation.technical_declare": Action(
        "Technical expert's declaration",
        "{actor} made the conflict-of-interest declaration for the technical assessment of the proposal {target}.",
    ),
    "evaluation.technical_save": Action(
        "Technical assessment saved", "{actor} saved a draft of the technical assessment of the proposal {target}."
    ),
    "evaluation.technical_submit": Action(
        "Technical assessment submitted", "{actor} submitted the technical assessment of the proposal {target}."
    ),
    "evaluation.technical_reassign": Action(
        "Technical assessment reassigned",
        "{actor} reassigned the overdue technical assessment of the proposal {target} to another expert.",
    ),
    "evaluation.technical_record_history": Action(
        "Technical assessment recorded from the published selection",
        "{actor} recorded the technical assessment of the proposal {target} from the programme's published selection.",
    ),
    # evaluation reviews (redress)
    "redress.submit": Action("Evaluation review requested", "{actor} requested the evaluation review {target}."),
    "redress.admissibility": Action(
        "Admissibility recorded", "{actor} recorded the admissibility of the evaluation review {target}."
    ),
    "redress.appoint": Action(
        "Review committee appointed", "{actor} appointed members of the review committee of {target}."
    ),
    "redress.declare": Action(
        "Committee member's declaration",
        "{actor} declared on conflicts of interest with the evaluation review {target}.",
    ),
    "redress.opinion": Action(
        "Review committee's opinion", "{actor} recorded the review committee's opinion on {target}."
    ),
    "redress.conclude": Action(
        "Evaluation review concluded", "{actor} concluded the re-evaluation of the evaluation review {target}."
    ),
    # budget and grants
    "envelope.create": Action("Envelope opened", "{actor} opened the budget envelope {target}."),
    "envelope.set_amount": Action("Envelope amount changed", "{actor} changed the amount of the envelope {target}."),
    "grant.create": Action("Grant prepared", "{actor} prepared the grant {target}."),
    "grant.sign": Action("Grant signed", "{actor} recorded the signature of the grant {target}."),
    "grant.terminate": Action("Grant terminated", "{actor} terminated the grant {target}."),
    "commitment.create": Action("Budget committed", "{actor} committed budget to the grant {target}."),
    "decommitment.create": Action("Budget decommitted", "{actor} decommitted budget of the grant {target}."),
    "payment.record": Action("Payment recorded", "{actor} recorded a payment on the grant {target}."),
    "recovery.record": Action("Recovery recorded", "{actor} recorded a recovery on the grant {target}."),
    "ledger.reverse": Action("Ledger entry reversed", "{actor} reversed a ledger entry of {target}."),
    "award_letter.request": Action("Award letter requested", "{actor} asked for the award letter of {target}."),
    "award_letter.ready": Action("Award letter issued", "{actor} issued the award letter of {target}."),
    "award_letter.fail": Action("Award letter failed", "{actor} could not render the award letter of {target}."),
    # hosting and quotas
    "machine.create": Action("Machine registered", "{actor} registered the machine {target}."),
    "machine.accounting_update": Action(
        "Machine accounting changed", "{actor} changed the Slurm accounting of the machine {target}."
    ),
    "partition.create": Action("Partition added", "{actor} added the partition {target}."),
    "partition.accounting_update": Action(
        "Partition accounting changed", "{actor} changed the Slurm accounting of the partition {target}."
    ),
    "hosting_agreement.create": Action(
        "Hosting agreement recorded", "{actor} recorded the hosting agreement {target}."
    ),
    "period.create": Action("Allocation period opened", "{actor} opened the allocation period {target}."),
    "project.create": Action("User project recorded", "{actor} recorded the user project {target}."),
    "pool.set": Action("Access pool set", "{actor} set an access pool: {target}."),
    # access calls
    "access.set_modes": Action("Access modes set", "{actor} set the access modes of the call {target}."),
    "access.create": Action("Access application drafted", "{actor} drafted the access application {target}."),
    "access.update": Action("Access application edited", "{actor} edited the access application {target}."),
    "access.submit": Action("Access application submitted", "{actor} submitted the access application {target}."),
    "access.withdraw": Action("Access application withdrawn", "{actor} withdrew the access application {target}."),
    "access.record_eligibility": Action(
        "Access eligibility recorded", "{actor} recorded the eligibility of the access application {target}."
    ),
    "access.assess": Action(
        "Technical assessment recorded", "{actor} recorded the technical assessment of the access application {target}."
    ),
    "access.release_reviews": Action(
        "Reviews sent for reply", "{actor} sent the reviews of the access application {target} to the applicant."
    ),
    "access.reply": Action(
        "Reply to reviews sent", "{actor} replied to the reviews of the access application {target}."
    ),
    "access.decide": Action("Access decided", "{actor} recorded the access committee's decision on {target}."),
    "access.final_report": Action(
        "Final report sent", "{actor} sent the final report of the access application {target}."
    ),
    "allocation.create": Action("Allocation made", "{actor} allocated compute time: {target}."),
    "allocation.alert": Action("Usage threshold passed", "{actor} notified the use of the allocation {target}."),
    "usage.queue": Action("Usage file queued", "{actor} queued a Slurm usage file for {target}."),
    "usage.import": Action("Usage imported", "{actor} imported Slurm usage: {target}."),
    "usage.refuse": Action("Usage file refused", "{actor} had a Slurm usage file refused: {target}."),
}


def action_label(verb: str) -> str:
    """The label of a verb; an unknown one (an old event) reads from its words, never as a code."""
    action = ACTIONS.get(verb)
    if action is not None:
        return action.label
    return verb.split(".", 1)[-1].replace("_", " ").capitalize()


def event_sentence(*, verb: str, actor: str, target: str) -> str:
    action = ACTIONS.get(verb)
    target = target or "—"
    if action is None:
        return f"{actor}: {action_label(verb).lower()} ({target})."
    return action.sentence.format(actor=actor, target=target)


def actor_name(event) -> str:
    """Who did it, by name: the person's full name, else the username recorded, else "The system"."""
    if event.actor_id and event.actor is not None:
        return event.actor.display_name
    return "The system" if event.actor_repr in ("", "system") else event.actor_repr


def sentence_of(event) -> str:
    return event_sentence(verb=event.verb, actor=actor_name(event), target=event.target_repr)
