"""The review dashboard leads a jurisdiction's supervisors to its own pages
(roll-up, completeness, quality, archive import) and leads no one else there."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_it_links_a_supervisor_to_the_jurisdictions_pages(world, report):
    page = world.client("parent_supervisor").get(reverse("review:dashboard"), {"year": report.year})
    node = page.context["node"]
    assert node is not None
    for url in (
        reverse("review:rollup", args=[node.code, report.year]),
        f"{reverse('review:completeness')}?year={report.year}&amp;org={node.code}",
        f"{reverse('review:quality')}?year={report.year}&amp;org={node.code}",
        reverse("review:archive", args=[node.code]),
    ):
        assert url in page.text, url
    # And each link opens for them.
    client = world.client("parent_supervisor")
    assert client.get(reverse("review:rollup", args=[node.code, report.year])).status_code == 200
    assert client.get(reverse("review:completeness"), {"year": report.year, "org": node.code}).status_code == 200
    assert client.get(reverse("review:quality"), {"year": report.year, "org": node.code}).status_code == 200
    assert client.get(reverse("review:archive", args=[node.code])).status_code == 200


def test_it_shows_no_jurisdiction_links_to_a_reviewer(world, report):
    page = world.client("office_reviewer").get(reverse("review:dashboard"), {"year": report.year})
    assert 'id="jurisdiction-links"' not in page.text
