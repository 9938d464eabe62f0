"""URL patterns of the review room's rollup pages, included by review/urls.py (namespace "review")."""

from django.urls import path

from ..converters import register_choice
from . import rollup

register_choice("rollupfile", "csv", "xlsx")

urlpatterns: list = [
    path("rollup/<slug:org_code>/<int:year>/", rollup.rollup_page, name="rollup"),
    path("rollup/<slug:org_code>/<int:year>.<rollupfile:ext>", rollup.rollup_export, name="rollup_export"),
    path("rollup/<slug:org_code>/<int:year>/fill/", rollup.rollup_fill, name="rollup_fill"),
    path("rollup/<slug:org_code>/scope/", rollup.rollup_scope, name="rollup_scope"),
]
