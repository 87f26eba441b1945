"""Who may do what with accounts (imported by eurohpc.rules)."""

import rules  # noqa: F401

from eurohpc.permissions import denial  # noqa: F401
