"""
WSGI config for reportsite project.

It exposes the WSGI callable as a module-level variable named ``application``.

For more information on this file, see
https://docs.djangoproject.com/en/5.2/howto/deployment/wsgi/
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reportsite.settings")

application = get_wsgi_application()

# gunicorn runs no system checks: refuse to serve when the PDF renderer would
# fall back to a fifteen-times slower font subsetter or has no stylesheet.
from django.core.exceptions import ImproperlyConfigured  # noqa: E402

from disclosure.pdf.checks import check_pdf_rendering  # noqa: E402

_serious = [message for message in check_pdf_rendering() if message.is_serious()]
if _serious:
    raise ImproperlyConfigured("; ".join(message.msg for message in _serious))
