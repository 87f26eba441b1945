from rest_framework.permissions import BasePermission


class HasPerm(BasePermission):
    """Grants access when the django-rules permission holds (for the view, and for the object)."""

    perm = ""
    message = "You do not have permission to perform this action."

    def has_permission(self, request, view) -> bool:
        return request.user.has_perm(self.perm)

    def has_object_permission(self, request, view, obj) -> bool:
        return request.user.has_perm(self.perm, obj)


def has_perm(perm: str, message: str | None = None) -> type[HasPerm]:
    return type(f"HasPerm_{perm.replace('.', '_')}", (HasPerm,), {"perm": perm, "message": message or HasPerm.message})


def check(user, perm: str, obj=None, message: str | None = None) -> None:
    """Raise 403 with a reason when `user` lacks `perm` on `obj`."""
    from rest_framework.exceptions import PermissionDenied

    if not user.has_perm(perm, obj):
        raise PermissionDenied(message or "You do not have permission to perform this action.")
