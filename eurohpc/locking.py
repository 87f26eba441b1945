"""The order in which services lock rows (`select_for_update`), the same everywhere.

Two transactions that lock the same rows in opposite orders can each wait for the other (PostgreSQL ends one of
them with "deadlock detected"). Every service therefore takes its locks from the top of a chain down, and a
service that needs a higher row after a lower one reads the ids it needs first, unlocked, and then locks in
order. Within one level, several rows are locked in primary-key order.

Programme money and proposals:

    envelope chain (root first, by id) → call → call funding → cut-off → proposal → evaluation review request
    → its committee seats → assignment → review
    → consensus → summary report → grant → award letter

Machines and quotas:

    machine → partition → usage import → allocation period → project → partition quota → allocation

Accounts: a user → its membership request (self-registration: a request is filed, confirmed or refused under the
user's lock, so that one user never has two pending and two officers never both decide one).

Last, always: the audit chain's head (every service writes its audit event after its own locks; it locks no
new row after that, so two services never wait for each other across the head).

Examples: `proposal_submit` locks the call, then the cut-off ahead, then the proposal; `cut_off_process` the
call, the cut-off, then moves its proposals; `commitment_create` the envelope chain, then the grant;
`usage_import_run` the machine, then the queued import; `allocation_create` the project, then the quota.
An access award (`access_decide`) locks its proposal, then the machine chain: the allocation period, the new
project, the partition's quota (`project_award`), and writes its audit events after them; no service locks a
machine-chain row before a programme-chain row. `access_ranking_award` locks the cut-off, then each proposal.
An evaluation review's re-evaluation (`redress_opinion_record`) locks the proposal, the request, then the
proposal's assignments it closes; `redress_conclude` the call, the cut-off, the proposal, then the request.
`tests/eurohpc/test_lock_order.py` checks the order of the locks the services take on PostgreSQL and runs two
services that would deadlock in the opposite order.
"""

# The chains above, as the tables whose rows are locked (the test reads the FOR UPDATE statements).
PROGRAMME_CHAIN = (
    "grants_envelope",
    "calls_call",
    "grants_callfunding",
    "calls_cutoff",
    "calls_proposal",
    "calls_redressrequest",
    "calls_redresscommitteemember",
    "calls_assignment",
    "calls_review",
    "calls_consensus",
    "calls_summaryreport",
    "grants_grant",
    "grants_awardletter",
)
MACHINE_CHAIN = (
    "hosting_machine",
    "hosting_partition",
    "hosting_usageimport",
    "hosting_allocationperiod",
    "hosting_userproject",
    "hosting_partitionquota",
    "hosting_allocation",
)
# Locked by audit_record, after every lock of the two chains.
AUDIT_HEAD = "eurohpc_auditchainhead"
