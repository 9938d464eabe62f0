from django.apps import AppConfig
from django.core import checks


class DisclosureConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "disclosure"

    def ready(self) -> None:
        from .pdf.checks import check_pdf_rendering

        # Reported by `manage.py check` and at runserver/migrate start-up;
        # render_pdf raises the same error itself on a server that skipped it.
        checks.register(check_pdf_rendering)
