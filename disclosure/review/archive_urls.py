"""URL patterns of the review room's archive pages, included by review/urls.py (namespace "review")."""

from django.urls import path  # noqa: F401 - used as patterns are added

urlpatterns: list = []
