"""Self-registration under /accounts/: register, verify the e-mail address, ask to act for an organisation.
The programme office's queue is under /officer/registrations/ (urls_registration_office)."""

from django.urls import path

from eurohpc.identity import views_registration as views

urlpatterns = [
    path("register/", views.register, name="register"),
    path("register/sent/", views.register_sent, name="register-sent"),
    path("verify/new-link/", views.verification_resend, name="verification-resend"),
    path("verify/<str:token>/", views.verify_email, name="verify-email"),
    path("organisation/", views.membership_request, name="membership-request"),
]
