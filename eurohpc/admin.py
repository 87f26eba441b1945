from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from eurohpc.models import AuditEvent, Notification, Organisation, User, UserRole


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["short_name", "legal_name", "country", "kind", "pic"]
    list_filter = ["kind", "country"]
    search_fields = ["short_name", "legal_name", "pic"]
    fields = ["legal_name", "short_name", "country", "kind", "pic", "address", "representative_name",
              "representative_function"]  # fmt: skip


class UserRoleInline(admin.TabularInline):
    model = UserRole
    extra = 0


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    inlines = [UserRoleInline]
    list_display = ["username", "email", "organisation", "is_active"]
    list_select_related = ["organisation"]
    fieldsets = (*BaseUserAdmin.fieldsets, ("Programme", {"fields": ("organisation",)}))


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["seq", "created_at", "actor_repr", "verb", "target_repr"]
    search_fields = ["verb", "target_repr", "actor_repr"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["subject", "recipient", "created_at", "sent_at"]
    list_select_related = ["recipient"]


# Second factors change only through the product's audited pages (enrolment by their user, reset by an
# administrator), never by editing a device in the admin.
for _model in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)
