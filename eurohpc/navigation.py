"""The role-aware navigation: each entry shows only to users holding its permission."""

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse


@dataclass(frozen=True)
class NavEntry:
    label: str
    url_name: str
    perm: str | None = None  # None: every signed-in user
    public: bool = False


NAVIGATION: list[NavEntry] = [
    NavEntry("Dashboard", "dashboard"),
    NavEntry("Audit trail", "audit-list", perm="eurohpc.view_audit"),
    NavEntry("API", "swagger-ui"),
]


def register(entry: NavEntry, *, before: str | None = None) -> None:
    """Apps add their entries at import time (from their `urls.py`)."""
    if any(existing.url_name == entry.url_name for existing in NAVIGATION):
        return
    index = next((i for i, e in enumerate(NAVIGATION) if e.url_name == before), len(NAVIGATION))
    NAVIGATION.insert(index, entry)


def entries_for(user) -> list[dict]:
    visible = []
    for entry in NAVIGATION:
        if not user.is_authenticated and not entry.public:
            continue
        if entry.perm and not user.has_perm(entry.perm):
            continue
        try:
            url = reverse(entry.url_name)
        except NoReverseMatch:
            continue
        visible.append({"label": entry.label, "url": url})
    return visible
