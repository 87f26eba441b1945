"""The state machine of a grant's status: every change of `Grant.status` goes through `GRANT.move`."""

from eurohpc.transitions import StateMachine
from grants.models import Grant

G = Grant.Status

GRANT = StateMachine(
    name="grant",
    field="status",
    choices=G,
    moves={
        # the first commitment; termination ends a grant at any open stage
        G.PREPARED: frozenset({G.BUDGET_COMMITTED, G.TERMINATED}),
        G.BUDGET_COMMITTED: frozenset({G.SIGNED, G.TERMINATED}),
        # the first payment activates it; the final payment closes it (also straight after the signature)
        G.SIGNED: frozenset({G.ACTIVE, G.CLOSED, G.TERMINATED}),
        G.ACTIVE: frozenset({G.CLOSED, G.TERMINATED}),
        G.CLOSED: frozenset(),
        G.TERMINATED: frozenset(),
    },
)
