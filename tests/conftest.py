import pytest

from disclosure.models import Organization


@pytest.fixture
def department(db) -> Organization:
    return Organization.objects.create(name="测试局", code="test-org", kind="department")


def pytest_report_header(config) -> str:
    from django.conf import settings

    db = settings.DATABASES["default"]
    return f"database: {db['ENGINE'].rsplit('.', 1)[-1]} {db.get('HOST') or db['NAME']}"
