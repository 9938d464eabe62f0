from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/", include("accounts.urls")),
    path("workspace/", include("disclosure.workspace.urls")),
    path("review/", include("disclosure.review.urls")),
    path("", include("disclosure.portal.urls")),
    path("", RedirectView.as_view(pattern_name="portal:list", permanent=False)),
]
