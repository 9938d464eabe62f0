from django.urls import path

from . import imports, views

app_name = "workspace"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("<slug:org_code>/new/", views.create, name="create"),
    path("<slug:org_code>/import/", imports.upload, name="upload"),
    path("<slug:org_code>/import/jobs/<uuid:pk>/", imports.import_job, name="import_job"),
    path("<slug:org_code>/import/jobs/<uuid:pk>/status/", imports.import_job_status, name="import_job_status"),
    path("<slug:org_code>/import/<uuid:pk>/", imports.pending_import, name="pending"),
    path("<slug:org_code>/import/<uuid:pk>/confirm/", imports.confirm_import, name="confirm_import"),
    path("<slug:org_code>/import/<uuid:pk>/discard/", imports.discard_import, name="discard_import"),
    path("<slug:org_code>/<int:year>/save/", views.autosave, name="autosave"),
    path("<slug:org_code>/<int:year>/no-applications/", views.no_applications, name="no_applications"),
    path("<slug:org_code>/<int:year>/explain/", views.explain, name="explain"),
    path("<slug:org_code>/<int:year>/submission/", views.submit, name="submit"),
    path("<slug:org_code>/<int:year>/<slug:step_code>/", views.step_view, name="step"),
]
