"""Django's password views with Chinese templates, clearing a forced change when done."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.http import HttpResponseRedirect
from django.urls import reverse_lazy

from . import services, throttling
from .forms import OwnPasswordChangeForm, QueuedPasswordResetForm


class PasswordChangeView(auth_views.PasswordChangeView):
    form_class = OwnPasswordChangeForm
    success_url = reverse_lazy("password_change_done")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["forced"] = services.must_change_password(self.request.user)
        return context

    def form_valid(self, form):
        response = super().form_valid(form)
        services.password_changed(form.user, how="change")
        return response


class PasswordResetView(auth_views.PasswordResetView):
    form_class = QueuedPasswordResetForm
    email_template_name = "registration/password_reset_email.txt"
    subject_template_name = "registration/password_reset_subject.txt"
    success_url = reverse_lazy("password_reset_done")

    def get_extra_email_context(self) -> dict:
        return {"site_url": settings.SITE_URL.rstrip("/")}

    def form_valid(self, form):
        if not throttling.allow_password_reset(self.request, form.cleaned_data["email"]):
            # Over a limit: no mail, and the very answer a sent mail gets (never an oracle).
            return HttpResponseRedirect(self.get_success_url())
        self.extra_email_context = self.get_extra_email_context()
        return super().form_valid(form)


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    success_url = reverse_lazy("password_reset_complete")

    def form_valid(self, form):
        response = super().form_valid(form)
        services.password_changed(form.user, how="reset")
        return response
