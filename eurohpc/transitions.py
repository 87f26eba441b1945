"""State machines: which states a status field may move between, and the one function that moves it.

Each app declares its machines (calls/transitions.py, grants/transitions.py) as data: the allowed moves from each
state. Services keep their own state checks, whose messages say the rule in the service's words ("only a draft
can be submitted"); the machine is the last guard and the only writer of the field, so a move no map allows
cannot happen from any code path. Pages and the API ask `allows` when they list the actions open now.
"""

from collections.abc import Mapping
from dataclasses import dataclass

from django.db import models
from django.db.models import QuerySet
from django.utils import timezone

from eurohpc.errors import StateConflict


@dataclass(frozen=True)
class StateMachine:
    name: str  # what the object is called in a refusal: "proposal", "grant"
    field: str
    choices: type[models.TextChoices]
    moves: Mapping[str, frozenset[str]]
    touch: str | None = "updated_at"  # a field stamped on every move, if the model has one

    def allows(self, current: str, to: str) -> bool:
        return to in self.moves.get(current, frozenset())

    def label(self, state: str) -> str:
        return self.choices(state).label

    def check(self, current: str, to: str) -> None:
        if not self.allows(current, to):
            raise StateConflict(
                f"A {self.name} cannot go from {self.label(current).lower()} to {self.label(to).lower()}.",
                code="transition_not_allowed",
            )

    def move(self, obj: models.Model, to: str, **fields) -> str:
        """Move `obj` (already locked by the caller) to `to`, with the fields that go with the move; returns
        the state it left."""
        current = getattr(obj, self.field)
        self.check(current, to)
        setattr(obj, self.field, to)
        for name, value in fields.items():
            setattr(obj, name, value)
        update = [self.field, *fields] + ([self.touch] if self.touch else [])
        obj.save(update_fields=update)
        return current

    def move_all(self, queryset: QuerySet, *, current: str, to: str, **fields) -> int:
        """Move every row of `queryset` that is in `current` to `to` in one UPDATE; returns how many moved."""
        self.check(current, to)
        if self.touch and self.touch not in fields:
            fields[self.touch] = timezone.now()
        return queryset.filter(**{self.field: current}).update(**{self.field: to}, **fields)

    def pairs(self) -> list[tuple[str, str]]:
        """Every (from, to) the machine allows, for documentation and tests."""
        return [(current, to) for current, targets in self.moves.items() for to in sorted(targets)]
