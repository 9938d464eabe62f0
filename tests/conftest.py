import pytest

from disclosure.models import Organization


@pytest.fixture
def department(db) -> Organization:
    return Organization.objects.create(name="测试局", code="test-org", kind="department")
