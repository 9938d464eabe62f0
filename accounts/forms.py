"""Password forms: a change that refuses the old password, a reset whose e-mail is a job."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.auth.forms import PasswordChangeForm, PasswordResetForm
from django.template import loader


class OwnPasswordChangeForm(PasswordChangeForm):
    def clean(self) -> dict:
        cleaned = super().clean()
        password = cleaned.get("new_password1")
        if password and self.user.check_password(password):
            error = forms.ValidationError("新密码不能与原密码相同。", code="password_unchanged")
            self.add_error("new_password2", error)
        return cleaned


class QueuedPasswordResetForm(PasswordResetForm):
    """Sends the reset e-mail from a job: no request waits on the mail server."""

    def send_mail(
        self,
        subject_template_name: str,
        email_template_name: str,
        context: dict,
        from_email: str | None,
        to_email: str,
        html_email_template_name: str | None = None,
    ) -> None:
        from disclosure.jobs.mail import queue_mail

        subject = "".join(loader.render_to_string(subject_template_name, context).splitlines())
        body = loader.render_to_string(email_template_name, context)
        # The link is a secret: the job forgets the message once it is sent.
        queue_mail([(subject, body, from_email or settings.DEFAULT_FROM_EMAIL, [to_email])], forget_after_sending=True)
