from django.urls import include, path

from ..converters import register_choice
from . import views as review_views

register_choice("office", "xlsx", "docx")

app_name = "review"

urlpatterns = [
    path("", review_views.dashboard, name="dashboard"),
    # Jurisdiction pages (roll-up, completeness and quality, archive imports): own modules.
    path("", include("disclosure.review.rollup_urls")),
    path("", include("disclosure.review.quality_urls")),
    path("", include("disclosure.review.archive_urls")),
    path("export.xlsx", review_views.export_jurisdiction, name="export_jurisdiction"),
    path("exports/<uuid:pk>/status/", review_views.export_status, name="export_status"),
    path("exports/<uuid:pk>.xlsx", review_views.export_download, name="export_download"),
    path("<slug:org_code>/<int:year>.<office:ext>", review_views.export_report_file, name="export"),
    path("<slug:org_code>/<int:year>/", review_views.report_page, name="report"),
    path("<slug:org_code>/<int:year>/actions/<slug:name>/", review_views.action, name="action"),
    path("<slug:org_code>/<int:year>/comments/", review_views.comment, name="comment"),
    path("<slug:org_code>/<int:year>/comments/<int:pk>/resolve/", review_views.resolve, name="resolve"),
    path("<slug:org_code>/<int:year>/diff/", review_views.diff, name="diff"),
    path("<slug:org_code>/<int:year>/jobs/<uuid:pk>/", review_views.job_status, name="job_status"),
]
