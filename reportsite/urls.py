from django.contrib import admin
from django.urls import path
from django.views.generic import RedirectView

urlpatterns = [
    path("admin/", admin.site.urls),
    # The clerk's pages come with the web-entry issue; until then the admin is the app.
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
]
