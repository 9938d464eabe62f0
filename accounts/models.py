"""Who must change a password before doing anything else."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class PasswordChangeRequired(models.Model):
    """A password someone else set (an admin): its owner changes it at the next sign-in.

    The row exists while the change is due and is deleted once it is made.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="password_change_required"
    )
    set_at = models.DateTimeField("设置时间", auto_now=True)
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = "待修改密码"
        verbose_name_plural = "待修改密码"

    def __str__(self) -> str:
        return str(self.user)
