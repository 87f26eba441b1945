"""The hash chain of the audit trail: how an event's hash is computed and how the chain is verified."""

import hashlib
import json
from dataclasses import dataclass

from django.core.serializers.json import DjangoJSONEncoder

GENESIS_HASH = "0" * 64


def normalise(changes: dict | None) -> dict:
    """The JSON form in which changes are stored, so that hashing before and after storage agrees."""
    return json.loads(json.dumps(changes or {}, cls=DjangoJSONEncoder))


def event_hash(*, prev_hash: str, seq: int, created_at, actor_id, verb: str, target_type: str,
               target_id: str, target_repr: str, changes: dict) -> str:  # fmt: skip
    content = json.dumps(
        {
            "seq": seq,
            "created_at": created_at.isoformat(timespec="microseconds"),
            "actor_id": actor_id,
            "verb": verb,
            "target_type": target_type,
            "target_id": target_id,
            "target_repr": target_repr,
            "changes": changes,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256((prev_hash + content).encode()).hexdigest()


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    reason: str = ""


def verify_chain(events) -> ChainReport:
    """Walk events in `seq` order; name the first one whose link or content does not match."""
    from datetime import UTC

    expected_prev = GENESIS_HASH
    expected_seq = 1
    checked = 0
    for event in events:
        if event.seq != expected_seq:
            return ChainReport(False, checked, event.seq, f"sequence gap: expected #{expected_seq}")
        if event.prev_hash != expected_prev:
            return ChainReport(False, checked, event.seq, "link to the previous event does not match")
        recomputed = event_hash(
            prev_hash=event.prev_hash,
            seq=event.seq,
            created_at=event.created_at.astimezone(UTC),
            actor_id=event.actor_id,
            verb=event.verb,
            target_type=event.target_type,
            target_id=event.target_id,
            target_repr=event.target_repr,
            changes=event.changes,
        )
        if recomputed != event.hash:
            return ChainReport(False, checked, event.seq, "content does not match its hash")
        expected_prev = event.hash
        expected_seq += 1
        checked += 1
    return ChainReport(True, checked)
