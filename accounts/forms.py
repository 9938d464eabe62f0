"""Password forms that refuse keeping the old password."""

from __future__ import annotations

from django import forms
from django.contrib.auth.forms import PasswordChangeForm


class OwnPasswordChangeForm(PasswordChangeForm):
    def clean_new_password2(self) -> str:
        password = super().clean_new_password2()
        if password and self.user.check_password(password):
            raise forms.ValidationError("新密码不能与原密码相同。", code="password_unchanged")
        return password
