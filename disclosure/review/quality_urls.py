"""URL patterns of the review room's quality pages, included by review/urls.py (namespace "review")."""

from django.urls import path

from . import quality

urlpatterns = [
    path("completeness/", quality.completeness, name="completeness"),
    path("quality/", quality.quality, name="quality"),
    path("quality/outliers/check/", quality.outlier_check, name="outlier_check"),
]
