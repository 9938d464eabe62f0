"""Password forms that refuse keeping the old password."""

from __future__ import annotations

from django import forms
from django.contrib.auth.forms import PasswordChangeForm


class OwnPasswordChangeForm(PasswordChangeForm):
    def clean(self) -> dict:
        cleaned = super().clean()
        password = cleaned.get("new_password1")
        if password and self.user.check_password(password):
            error = forms.ValidationError("新密码不能与原密码相同。", code="password_unchanged")
            self.add_error("new_password2", error)
        return cleaned
