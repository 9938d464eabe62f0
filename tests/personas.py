"""The people of the review workflow, as fixtures build them.

A city with two districts; the report belongs to a bureau of district A.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.test import Client

from disclosure.models import Membership, Organization

PERSONAS = ["owner_clerk", "office_reviewer", "parent_supervisor", "sibling_clerk", "other_supervisor", "anonymous"]
STATES = ["draft", "submitted", "returned", "approved", "published"]


@dataclass
class World:
    office: Organization
    users: dict

    def client(self, persona: str) -> Client:
        client = Client()
        if persona != "anonymous":
            client.force_login(self.users[persona])
        return client


def build_world() -> World:
    city = Organization.objects.create(name="演示市人民政府", code="city", kind="government")
    district = Organization.objects.create(name="甲区人民政府", code="district-a", kind="government", parent=city)
    other = Organization.objects.create(name="乙区人民政府", code="district-b", kind="government", parent=city)
    office = Organization.objects.create(name="测试局", code="test-org", kind="department", parent=district)
    sibling = Organization.objects.create(name="邻局", code="sibling", kind="department", parent=district)
    User = get_user_model()
    plan = {
        "owner_clerk": (office, Membership.Role.CLERK),
        "office_reviewer": (office, Membership.Role.REVIEWER),
        "parent_supervisor": (district, Membership.Role.SUPERVISOR),
        "sibling_clerk": (sibling, Membership.Role.CLERK),
        "other_supervisor": (other, Membership.Role.SUPERVISOR),
    }
    users = {}
    for persona, (org, role) in plan.items():
        user = User.objects.create_user(persona, email=f"{persona}@example.org", password="unused-pass-1")
        Membership.objects.create(user=user, organization=org, role=role)
        users[persona] = user
    return World(office=office, users=users)
