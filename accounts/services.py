"""Writes about accounts, audited like every other write."""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction

from disclosure.services import record_event

from .models import PasswordChangeRequired


@transaction.atomic
def require_password_change(user: AbstractBaseUser, *, actor: AbstractBaseUser | None) -> None:
    """An admin created the user or set their password: the user must choose their own."""
    PasswordChangeRequired.objects.update_or_create(user=user, defaults={"set_by": actor})
    record_event("account.password_set", actor=actor, user=user.pk, username=user.get_username())


@transaction.atomic
def password_changed(user: AbstractBaseUser, *, how: str) -> None:
    """The user chose a new password themselves (``how``: "change" or "reset")."""
    PasswordChangeRequired.objects.filter(user=user).delete()
    record_event(f"account.password_{how}", actor=user, user=user.pk)


def must_change_password(user: AbstractBaseUser) -> bool:
    return bool(user.is_authenticated) and PasswordChangeRequired.objects.filter(user_id=user.pk).exists()
