import pytest
from django.core.cache import cache

from disclosure.models import Organization


@pytest.fixture(autouse=True)
def _fresh_cache():
    """The portal caches per publication; every test starts with nothing cached."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def department(db) -> Organization:
    return Organization.objects.create(name="测试局", code="test-org", kind="department")


def pytest_report_header(config) -> str:
    from django.conf import settings

    db = settings.DATABASES["default"]
    return f"database: {db['ENGINE'].rsplit('.', 1)[-1]} {db.get('HOST') or db['NAME']}"


@pytest.fixture
def world():
    """A city, two districts and their people (tests/personas.py)."""
    from .personas import build_world

    return build_world()


@pytest.fixture
def report(world):
    """A complete, balanced 2021 draft of the bureau in the world above."""
    from disclosure.services import import_document

    from .factories import balanced_document

    return import_document(balanced_document("2021", year=2021)).report
