"""URL patterns of the review room's archive pages, included by review/urls.py (namespace "review")."""

from django.urls import path

from . import archive

urlpatterns: list = [
    path("archive/<slug:org_code>/", archive.archive_page, name="archive"),
    path("archive/<slug:org_code>/upload/", archive.archive_upload, name="archive_upload"),
    path("archive/<slug:org_code>/jobs/<uuid:pk>/", archive.archive_job, name="archive_job"),
    path("archive/<slug:org_code>/jobs/<uuid:pk>/status/", archive.archive_job_status, name="archive_job_status"),
]
