"""ResourceRepository: what ResourceService relies on, on the fake and on DynamoDB.
Nothing is written in a deleted organization or under a deleted parent; deleting a
parent takes what is nested under it; lists page by key, newest deployment first."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from kuploy_access.domain.errors import NotFound, ValidationFailed
from kuploy_access.domain.resources import Resource, ResourceKind
from tests.contract.org_fixtures import NOW, ORG_ID, OrgHouse, a_resource, an_event, founded, join, org_house

PROJECT, APPLICATION, DEPLOYMENT = ResourceKind.PROJECT, ResourceKind.APPLICATION, ResourceKind.DEPLOYMENT
DATABASE, CHANNEL = ResourceKind.DATABASE, ResourceKind.NOTIFICATION_CHANNEL


@pytest.fixture(params=["fake", "dynamo"])
def house(request: pytest.FixtureRequest) -> OrgHouse:
    return org_house(request)


def made(house: OrgHouse, resource: Resource, parent: tuple[ResourceKind, str, str] | None = None) -> Resource:
    house.resources.create(resource, an_event(resource.org_id, f"{resource.kind.value}.created"), parent=parent)
    return resource


def a_tree(house: OrgHouse) -> tuple[Resource, Resource, Resource]:
    """A project, an application in it, a deployment of that."""
    project = made(house, a_resource(PROJECT))
    app = made(house, a_resource(APPLICATION, parent_id=project.id), (PROJECT, "", project.id))
    deployment = made(house, a_resource(DEPLOYMENT, parent_id=app.id), (APPLICATION, project.id, app.id))
    return project, app, deployment


# --- create and get -----------------------------------------------------------------------------


def test_a_created_resource_is_found_as_it_was_made(house: OrgHouse) -> None:
    founded(house)
    database = made(house, a_resource(DATABASE))
    channel = made(house, replace(a_resource(CHANNEL), fields={"kind": "webhook", "target": "https://example.com/h"}))
    project, app, deployment = a_tree(house)

    assert house.resources.get(ORG_ID, DATABASE, database.id) == database
    assert house.resources.get(ORG_ID, CHANNEL, channel.id) == channel
    assert house.resources.get(ORG_ID, PROJECT, project.id) == project
    assert house.resources.get(ORG_ID, APPLICATION, app.id, project.id) == app
    assert house.resources.get(ORG_ID, DEPLOYMENT, deployment.id, app.id) == deployment
    assert house.actions()[1:] == [
        "database.created",
        "notification_channel.created",
        "project.created",
        "application.created",
        "deployment.created",
    ]


def test_a_resource_is_found_only_under_its_own_kind_parent_and_organization(house: OrgHouse) -> None:
    founded(house)
    founded(house, "org_02other")
    project, app, _ = a_tree(house)
    other_project = made(house, a_resource(PROJECT))

    assert house.resources.get(ORG_ID, APPLICATION, app.id, other_project.id) is None
    assert house.resources.get(ORG_ID, APPLICATION, app.id) is None
    assert house.resources.get(ORG_ID, DATABASE, project.id) is None
    assert house.resources.get("org_02other", PROJECT, project.id) is None


def test_nothing_is_created_in_a_deleted_or_unknown_organization(house: OrgHouse) -> None:
    with pytest.raises(NotFound):
        made(house, a_resource(PROJECT))
    founded(house)
    house.orgs.mark_deleted(ORG_ID, NOW, an_event())
    trail = house.actions()

    project = a_resource(PROJECT)
    with pytest.raises(NotFound):
        made(house, project)

    assert house.resources.get(ORG_ID, PROJECT, project.id) is None
    assert house.actions() == trail


def test_nothing_is_created_under_a_parent_that_is_gone(house: OrgHouse) -> None:
    founded(house)
    project, app, _ = a_tree(house)
    house.resources.delete(app, an_event())
    trail = house.actions()

    orphan = a_resource(DEPLOYMENT, parent_id=app.id)
    with pytest.raises(NotFound):
        made(house, orphan, (APPLICATION, project.id, app.id))
    stray = a_resource(APPLICATION, parent_id="prj_never")
    with pytest.raises(NotFound):
        made(house, stray, (PROJECT, "", "prj_never"))

    assert house.resources.get(ORG_ID, DEPLOYMENT, orphan.id, app.id) is None
    assert house.resources.get(ORG_ID, APPLICATION, stray.id, "prj_never") is None
    assert house.actions() == trail


def test_a_resource_is_never_created_over_another(house: OrgHouse) -> None:
    founded(house)
    project = made(house, a_resource(PROJECT))
    trail = house.actions()

    with pytest.raises(NotFound):
        made(house, replace(project, name="Squatter"))

    assert house.resources.get(ORG_ID, PROJECT, project.id) == project
    assert house.actions() == trail


# --- rename ---------------------------------------------------------------------------------------


def test_a_rename_answers_and_stores_the_new_name_and_time(house: OrgHouse) -> None:
    founded(house)
    project = made(house, a_resource(PROJECT))
    later = NOW + timedelta(minutes=5)

    renamed = house.resources.rename(project, "Renamed", later, an_event(action="project.renamed"))

    assert renamed == replace(project, name="Renamed", updated_at=later)
    assert house.resources.get(ORG_ID, PROJECT, project.id) == renamed
    assert house.actions()[-1] == "project.renamed"


def test_what_is_gone_is_not_renamed(house: OrgHouse) -> None:
    founded(house)
    project = made(house, a_resource(PROJECT))
    house.resources.delete(project, an_event())
    trail = house.actions()

    with pytest.raises(NotFound):
        house.resources.rename(project, "Back", NOW, an_event())

    assert house.resources.get(ORG_ID, PROJECT, project.id) is None
    assert house.actions() == trail


def test_nothing_is_renamed_or_deleted_in_a_deleted_organization(house: OrgHouse) -> None:
    founded(house)
    project = made(house, a_resource(PROJECT))
    house.orgs.mark_deleted(ORG_ID, NOW, an_event())
    trail = house.actions()

    with pytest.raises(NotFound):
        house.resources.rename(project, "Renamed", NOW, an_event())
    with pytest.raises(NotFound):
        house.resources.delete(project, an_event())

    assert house.resources.get(ORG_ID, PROJECT, project.id) == project
    assert house.actions() == trail


# --- delete ---------------------------------------------------------------------------------------


def test_deleting_a_project_takes_its_applications_and_their_deployments(house: OrgHouse) -> None:
    founded(house)
    project, app, deployment = a_tree(house)
    second_app = made(house, a_resource(APPLICATION, parent_id=project.id), (PROJECT, "", project.id))
    more = [
        made(house, a_resource(DEPLOYMENT, parent_id=second_app.id), (APPLICATION, project.id, second_app.id))
        for _ in range(2)
    ]
    kept = made(house, a_resource(PROJECT))

    nested = house.resources.delete(project, an_event(action="project.deleted"))

    assert nested == 5
    assert house.resources.get(ORG_ID, PROJECT, project.id) is None
    assert house.resources.get(ORG_ID, APPLICATION, app.id, project.id) is None
    assert house.resources.get(ORG_ID, DEPLOYMENT, deployment.id, app.id) is None
    assert all(house.resources.get(ORG_ID, DEPLOYMENT, d.id, second_app.id) is None for d in more)
    assert house.resources.get(ORG_ID, PROJECT, kept.id) == kept
    assert house.actions()[-1] == "project.deleted"


def test_deleting_an_application_takes_its_deployments_only(house: OrgHouse) -> None:
    founded(house)
    project, app, deployment = a_tree(house)
    sibling = made(house, a_resource(APPLICATION, parent_id=project.id), (PROJECT, "", project.id))
    sibling_deployment = made(
        house, a_resource(DEPLOYMENT, parent_id=sibling.id), (APPLICATION, project.id, sibling.id)
    )

    assert house.resources.delete(app, an_event()) == 1

    assert house.resources.get(ORG_ID, DEPLOYMENT, deployment.id, app.id) is None
    assert house.resources.get(ORG_ID, PROJECT, project.id) == project
    assert house.resources.get(ORG_ID, DEPLOYMENT, sibling_deployment.id, sibling.id) == sibling_deployment


def test_deleting_what_nests_nothing_takes_nothing_else(house: OrgHouse) -> None:
    founded(house)
    database = made(house, a_resource(DATABASE))
    _, _, deployment = a_tree(house)

    assert house.resources.delete(database, an_event()) == 0
    assert house.resources.delete(deployment, an_event()) == 0


def test_what_is_gone_is_not_deleted_again(house: OrgHouse) -> None:
    founded(house)
    database = made(house, a_resource(DATABASE))
    house.resources.delete(database, an_event())
    trail = house.actions()

    with pytest.raises(NotFound):
        house.resources.delete(database, an_event())

    assert house.actions() == trail


# --- pages ------------------------------------------------------------------------------------------


def test_a_list_pages_in_id_order_and_ends_without_a_cursor(house: OrgHouse) -> None:
    founded(house)
    projects = [made(house, a_resource(PROJECT)) for _ in range(5)]
    made(house, a_resource(DATABASE))

    first = house.resources.page(ORG_ID, PROJECT, 2, None)
    second = house.resources.page(ORG_ID, PROJECT, 2, first.next_cursor)
    third = house.resources.page(ORG_ID, PROJECT, 2, second.next_cursor)

    assert [first.items, second.items, third.items] == [projects[:2], projects[2:4], projects[4:]]
    assert third.next_cursor is None
    exact = house.resources.page(ORG_ID, PROJECT, 5, None)
    assert exact.items == projects
    assert exact.next_cursor is None
    assert house.resources.page(ORG_ID, CHANNEL, 10, None).items == []


def test_deployments_come_newest_first(house: OrgHouse) -> None:
    founded(house)
    project, app, first = a_tree(house)
    later = [made(house, a_resource(DEPLOYMENT, parent_id=app.id), (APPLICATION, project.id, app.id)) for _ in range(3)]
    newest_first = [*reversed(later), first]

    page = house.resources.page(ORG_ID, DEPLOYMENT, 3, None, parent_id=app.id)
    rest = house.resources.page(ORG_ID, DEPLOYMENT, 3, page.next_cursor, parent_id=app.id)

    assert page.items == newest_first[:3]
    assert rest.items == newest_first[3:]
    assert rest.next_cursor is None


def test_a_parent_s_list_holds_its_own_children_only(house: OrgHouse) -> None:
    founded(house)
    project, app, _ = a_tree(house)
    other = made(house, a_resource(PROJECT))
    other_app = made(house, a_resource(APPLICATION, parent_id=other.id), (PROJECT, "", other.id))

    assert house.resources.page(ORG_ID, APPLICATION, 10, None, parent_id=project.id).items == [app]
    assert house.resources.page(ORG_ID, APPLICATION, 10, None, parent_id=other.id).items == [other_app]
    assert house.resources.page(ORG_ID, PROJECT, 10, None).items == [project, other]


def test_the_next_page_starts_after_the_last_one_shown(house: OrgHouse) -> None:
    founded(house)
    projects = [made(house, a_resource(PROJECT)) for _ in range(4)]
    first = house.resources.page(ORG_ID, PROJECT, 2, None)

    house.resources.delete(projects[0], an_event())  # shown already: skips nobody

    assert house.resources.page(ORG_ID, PROJECT, 2, first.next_cursor).items == projects[2:]


def test_a_forged_cursor_is_refused(house: OrgHouse) -> None:
    founded(house)
    made(house, a_resource(PROJECT))

    for forged in ("not-ours", "2", "eyJrIjogMX0", "%%%"):
        with pytest.raises(ValidationFailed):
            house.resources.page(ORG_ID, PROJECT, 10, forged)


def test_a_cursor_of_another_list_is_refused(house: OrgHouse) -> None:
    founded(house)
    project, _, _ = a_tree(house)
    other = made(house, a_resource(PROJECT))
    for _ in range(2):
        made(house, a_resource(APPLICATION, parent_id=project.id), (PROJECT, "", project.id))
        made(house, a_resource(DATABASE))
    apps = house.resources.page(ORG_ID, APPLICATION, 1, None, parent_id=project.id)
    databases = house.resources.page(ORG_ID, DATABASE, 1, None)
    projects = house.resources.page(ORG_ID, PROJECT, 1, None)
    assert None not in (apps.next_cursor, databases.next_cursor, projects.next_cursor)

    with pytest.raises(ValidationFailed):  # another kind
        house.resources.page(ORG_ID, PROJECT, 10, databases.next_cursor)
    with pytest.raises(ValidationFailed):  # another parent's children
        house.resources.page(ORG_ID, APPLICATION, 10, apps.next_cursor, parent_id=other.id)
    with pytest.raises(ValidationFailed):  # a parent's own list
        house.resources.page(ORG_ID, APPLICATION, 10, projects.next_cursor, parent_id=project.id)
    join(house, "usr_01ada")
    members = house.orgs.members_page(ORG_ID, 1, None)
    assert members.next_cursor is not None
    with pytest.raises(ValidationFailed):  # the members' list
        house.resources.page(ORG_ID, PROJECT, 10, members.next_cursor)
