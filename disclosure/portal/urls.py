from django.urls import path

from ..converters import register_choice
from . import views as portal_views

register_choice("ext", "pdf", "json", "csv")

app_name = "portal"

urlpatterns = [
    path("reports/", portal_views.report_list, name="list"),
    path("reports/<slug:org_code>/", portal_views.organization, name="organization"),
    path("reports/<slug:org_code>/<int:year>/", portal_views.report_page, name="report"),
    path("reports/<slug:org_code>/<int:year>.<ext:ext>", portal_views.download_latest, name="download"),
    path(
        "reports/<slug:org_code>/<int:year>/r<int:number>.<ext:ext>",
        portal_views.download_revision,
        name="download_revision",
    ),
    path("data/", portal_views.data_index, name="data"),
    path("data/<int:year>.zip", portal_views.year_zip, name="year_zip"),
    path("stats/", portal_views.statistics, name="stats"),
]
