"""Users in the admin: a password an admin sets must be changed by its owner."""

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin

from . import services

User = get_user_model()


class AccountUserAdmin(UserAdmin):
    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change and obj.has_usable_password():
            services.require_password_change(obj, actor=request.user)

    def user_change_password(self, request, id, form_url=""):
        response = super().user_change_password(request, id, form_url)
        # A redirect after a POST is the admin's "password changed".
        if request.method == "POST" and response.status_code == 302:
            user = User.objects.get(pk=admin.utils.unquote(id))
            if user.pk != request.user.pk and user.has_usable_password():
                services.require_password_change(user, actor=request.user)
        return response


admin.site.unregister(User)
admin.site.register(User, AccountUserAdmin)
