"""SCIM 2.0 at /scim/v2 (issue 17), on SQLite and PostgreSQL, driven two ways: by scim2-client
(a SCIM client library, through its in-process ASGI engine) and by raw HTTP (httpx).

Covered: create, filter (every operator, and/or/not, on meta.lastModified too), pagination,
attributes/excludedAttributes, PUT, PATCH (active, enterprise manager, career level), DELETE
deactivating, userName and externalId conflicts, stale If-Match, one person through two doors
(SCIM and /v1/people), the career extension's level checked like /v1/people, malformed
filters and bodies as SCIM errors (never 5xx), read-only Groups from org units, discovery,
and who may call it at all."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
import scim2_models as scim
from scim2_client.engines.asgi import ASGISCIMClient

from service.scim.resources import CAREER_URN, ENTERPRISE_URN, CareerUser, EnterpriseUser, User
from service.settings import Settings
from tests.factories.jwts import SigningKey, jwt_settings
from tests.factories.people import sync_person
from tests.factories.rubrics import load_default_rubric

pytestmark = pytest.mark.anyio

SCIM = "application/scim+json"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
IDP = SigningKey.rsa("idp")


def user_doc(external_id: str = "HR-1", user_name: str = "ada@example.com", **extra) -> dict:
    doc = {
        "schemas": [CORE, ENTERPRISE_URN, CAREER_URN],
        "externalId": external_id, "userName": user_name,
        "name": {"givenName": "Ada", "familyName": "Lovelace"},
        "displayName": "Ada Lovelace",
        "emails": [{"value": user_name, "type": "work", "primary": True}],
        "active": True,
        ENTERPRISE_URN: {"employeeNumber": "E-1", "department": "payments"},
        CAREER_URN: {"rubric": "product-leadership", "level": "pm"},
    }
    doc.update(extra)
    return doc


def scim_error(response, status: int, scim_type: str | None = None) -> dict:
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith(SCIM), response.headers
    body = response.json()
    assert body["schemas"] == [ERROR] and body["status"] == str(status), body
    assert body.get("scimType") == scim_type, body
    return body


@pytest.fixture
def settings(db_url, tmp_path) -> Settings:
    """API keys, and JWTs from an identity provider whose provisioning client is a service."""
    return jwt_settings(db_url, tmp_path, IDP, jwt_service_subjects=["okta-provisioning"])


@pytest.fixture
async def ladder(engine, db_url):
    await load_default_rubric(engine)


@pytest.fixture
async def provisioner(client_with, make_key, ladder):
    async with client_with(make_key("scim", name="idp")) as client:
        client.headers["Content-Type"] = SCIM
        yield client


@pytest.fixture
def scim_client(app, make_key, ladder) -> ASGISCIMClient:
    """scim2-client, told what the server serves (it also reads the discovery endpoints)."""
    return ASGISCIMClient(
        app, base_url="http://ascent.test/scim/v2",
        headers={"Authorization": f"Bearer {make_key('scim', name='client')}"},
        provider=scim.ScimProvider(models=[scim.User, EnterpriseUser, CareerUser, scim.Group],
                                   resource_types=[scim.ResourceType.from_resource(User),
                                                   scim.ResourceType.from_resource(scim.Group)]))


async def create(client, **doc) -> dict:
    response = await client.post("/scim/v2/Users", json=user_doc(**doc))
    assert response.status_code == 201, response.text
    return response.json()


# --- with a SCIM client library ----------------------------------------------------------------

async def test_a_scim_client_creates_filters_patches_and_deactivates(scim_client):
    await scim_client.discover()
    assert scim_client.provider.config.patch.supported

    ada = User(user_name="ada@example.com", external_id="HR-1", display_name="Ada",
               emails=[scim.Email(value="ada@example.com", primary=True)])
    ada[EnterpriseUser] = EnterpriseUser(department="payments")
    ada[CareerUser] = CareerUser(rubric="product-leadership", level="pm")
    created = await scim_client.create(ada)
    assert created.id and created.meta.version
    assert created[CareerUser].level == "pm"

    found = await scim_client.query(User, query_parameters=scim.SearchRequest[User](
        filter='userName eq "ADA@example.com"'))
    assert found.total_results == 1 and found.resources[0].id == created.id

    patch = scim.PatchOp[User](operations=[
        scim.PatchOperation[User](op="replace", path="active", value=False),
        scim.PatchOperation[User](op="replace", path=f"{CAREER_URN}:level",
                                  value="senior-pm")])
    patched = await scim_client.modify(User, created.id, patch)
    assert patched.active is False and patched[CareerUser].level == "senior-pm"
    assert patched.meta.version != created.meta.version

    await scim_client.delete(User, created.id)
    again = await scim_client.query(User, created.id)
    assert again.active is False  # deactivated, never deleted

    taken = User(user_name="Ada@Example.com", external_id="HR-2", display_name="Other")
    with pytest.raises(scim.UniquenessException):
        await scim_client.create(taken)


# --- raw HTTP: users ---------------------------------------------------------------------------

async def test_create_answers_the_user_with_location_etag_and_scim_media_type(provisioner):
    response = await provisioner.post("/scim/v2/Users", json=user_doc())
    assert response.status_code == 201, response.text
    assert response.headers["content-type"].startswith(SCIM)
    user = response.json()
    assert response.headers["location"] == user["meta"]["location"] \
        == f"http://ascent.test/scim/v2/Users/{user['id']}"
    assert response.headers["etag"] == user["meta"]["version"]
    assert user["userName"] == "ada@example.com" and user["externalId"] == "HR-1"
    assert user[ENTERPRISE_URN] == {"employeeNumber": "E-1", "department": "payments"}
    assert user[CAREER_URN] == {"rubric": "product-leadership", "level": "pm"}
    assert user["name"]["formatted"] == "Ada Lovelace"
    fetched = await provisioner.get(user["meta"]["location"])
    assert fetched.json() == user


async def test_plain_json_is_accepted_too(provisioner):
    response = await provisioner.post("/scim/v2/Users", json=user_doc(),
                                      headers={"Content-Type": "application/json"})
    assert response.status_code == 201, response.text


async def test_filters_translate_every_operator(provisioner):
    ada = await create(provisioner)
    bob = await create(provisioner, external_id="HR-2", user_name="bob@example.com",
                       displayName="Bob Stone", active=False,
                       **{ENTERPRISE_URN: {"department": "risk"},
                          CAREER_URN: {"rubric": "product-leadership", "level": "lead-pm"}})
    cy = await create(provisioner, external_id="HR-3", user_name="cy@example.com",
                      displayName="Cy Young", emails=[],
                      **{ENTERPRISE_URN: {"manager": {"value": ada["id"]}}, CAREER_URN: {}})

    async def ids(expression: str) -> list[str]:
        response = await provisioner.get("/scim/v2/Users", params={"filter": expression})
        assert response.status_code == 200, (expression, response.text)
        body = response.json()
        assert body["totalResults"] == len(body.get("Resources", []))
        return sorted(r["externalId"] for r in body.get("Resources", []))

    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    cases = {
        'userName eq "BOB@example.com"': ["HR-2"],
        'userName ne "bob@example.com"': ["HR-1", "HR-3"],
        'displayName co "ST"': ["HR-2"],
        'displayName sw "ada"': ["HR-1"],
        'emails ew "@example.com"': ["HR-1", "HR-2"],
        'emails pr': ["HR-1", "HR-2"],
        'not (emails pr)': ["HR-3"],
        'active eq false': ["HR-2"],
        'externalId eq "HR-3"': ["HR-3"],
        f'id eq "{bob["id"]}"': ["HR-2"],
        f'{ENTERPRISE_URN}:department eq "risk" or {CAREER_URN}:level eq "pm"':
            ["HR-1", "HR-2"],
        f'{ENTERPRISE_URN}:manager.value eq "{ada["id"]}"': ["HR-3"],
        f'{ENTERPRISE_URN}:manager.value eq "HR-1"': ["HR-3"],
        f'{CAREER_URN}:level pr and active eq true': ["HR-1"],
        'meta.lastModified gt "2020-01-01T00:00:00Z"': ["HR-1", "HR-2", "HR-3"],
        f'meta.lastModified ge "{later}"': [],
        f'meta.lastModified lt "{later}" and meta.created le "{later}"':
            ["HR-1", "HR-2", "HR-3"],
        'displayName co "%" or displayName co "_"': [],  # LIKE wildcards are literal
        'name.familyName eq "lovelace" and (userName sw "ada" or userName sw "cy")':
            ["HR-1", "HR-3"],
    }
    for expression, expected in cases.items():
        assert await ids(expression) == expected, expression
    assert cy[ENTERPRISE_URN]["manager"]["value"] == ada["id"]
    assert cy[ENTERPRISE_URN]["manager"]["displayName"] == "Ada Lovelace"


async def test_pagination_and_attribute_selection(provisioner):
    for n in range(5):
        await create(provisioner, external_id=f"HR-{n}", user_name=f"u{n}@example.com")
    page = (await provisioner.get("/scim/v2/Users", params={
        "startIndex": "2", "count": "2", "attributes": "userName"})).json()
    assert page["totalResults"] == 5 and page["startIndex"] == 2 and page["itemsPerPage"] == 2
    assert [r["userName"] for r in page["Resources"]] == ["u1@example.com", "u2@example.com"]
    assert set(page["Resources"][0]) == {"schemas", "id", "userName"}
    counted = (await provisioner.get("/scim/v2/Users", params={"count": "0"})).json()
    assert counted["totalResults"] == 5 and "Resources" not in counted
    slim = (await provisioner.get("/scim/v2/Users", params={
        "excludedAttributes": f"emails,{ENTERPRISE_URN}"})).json()["Resources"][0]
    assert "emails" not in slim and ENTERPRISE_URN not in slim and "userName" in slim


async def test_put_replaces_and_if_match_guards_against_stale_writes(provisioner):
    user = await create(provisioner)
    url, version = user["meta"]["location"], user["meta"]["version"]
    replaced = await provisioner.put(url, json=user_doc(displayName="Ada King", emails=[]),
                                     headers={"If-Match": version})
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["displayName"] == "Ada King" and "emails" not in replaced.json()
    stale = await provisioner.put(url, json=user_doc(displayName="Lost update"),
                                  headers={"If-Match": version})
    scim_error(stale, 412)
    stale_patch = await provisioner.patch(url, headers={"If-Match": version}, json={
        "schemas": [PATCH], "Operations": [{"op": "replace", "path": "active",
                                            "value": False}]})
    scim_error(stale_patch, 412)
    scim_error(await provisioner.delete(url, headers={"If-Match": version}), 412)
    assert (await provisioner.get(url)).json()["displayName"] == "Ada King"


async def test_patch_add_replace_remove_manager_and_active(provisioner):
    boss = await create(provisioner, external_id="HR-9", user_name="boss@example.com")
    user = await create(provisioner)
    url = user["meta"]["location"]

    async def patch(*operations) -> dict:
        response = await provisioner.patch(url, json={"schemas": [PATCH],
                                                      "Operations": list(operations)})
        assert response.status_code == 200, response.text
        assert response.headers["etag"] == response.json()["meta"]["version"]
        return response.json()

    added = await patch({"op": "add", "path": f"{ENTERPRISE_URN}:manager",
                         "value": {"value": boss["id"]}})
    assert added[ENTERPRISE_URN]["manager"]["value"] == boss["id"]
    entra = await patch({"op": "Replace", "path": "active", "value": "False"})  # Entra's form
    assert entra["active"] is False
    replaced = await patch({"op": "replace", "value": {"active": True, "displayName": "A. L."}})
    assert replaced["active"] is True and replaced["displayName"] == "A. L."
    removed = await patch({"op": "remove", "path": f"{ENTERPRISE_URN}:manager"},
                          {"op": "remove", "path": "name.givenName"})
    assert "manager" not in removed[ENTERPRISE_URN]
    assert removed["name"] == {"familyName": "Lovelace", "formatted": "Lovelace"}
    unchanged = await patch({"op": "replace", "path": "active", "value": True})
    assert unchanged["meta"]["version"] == removed["meta"]["version"]  # nothing written

    scim_error(await provisioner.patch(url, json={"schemas": [PATCH], "Operations": [
        {"op": "replace", "path": "externalId", "value": "HR-77"}]}), 400, "mutability")
    scim_error(await provisioner.patch(url, json={"schemas": [PATCH], "Operations": [
        {"op": "replace", "path": "nonsense", "value": 1}]}), 400, "invalidPath")
    scim_error(await provisioner.patch(url, json={"schemas": [PATCH], "Operations": [
        {"op": "explode", "path": "active"}]}), 400, "invalidValue")


async def test_delete_deactivates_and_the_person_stays(provisioner, admin):
    user = await create(provisioner)
    response = await provisioner.delete(user["meta"]["location"])
    assert response.status_code == 204, response.text
    person = (await admin.get("/v1/people/HR-1")).json()
    assert person["active"] is False and person["display_name"] == "Ada Lovelace"
    assert (await provisioner.get(user["meta"]["location"])).json()["active"] is False
    scim_error(await provisioner.delete("/scim/v2/Users/not-an-id"), 404)


async def test_conflicts_on_user_name_and_external_id(provisioner, admin):
    await create(provisioner)
    body = scim_error(await provisioner.post("/scim/v2/Users", json=user_doc(
        external_id="HR-2", user_name="ADA@example.com")), 409, "uniqueness")
    assert "user name" in body["detail"]
    scim_error(await provisioner.post("/scim/v2/Users", json=user_doc(
        user_name="other@example.com")), 409, "uniqueness")
    # A person synced over /v1 is known by their HRIS id until SCIM names them.
    await sync_person(admin, "HR-5")
    scim_error(await provisioner.post("/scim/v2/Users", json=user_doc(
        external_id="HR-6", user_name="HR-5", emails=[])), 409, "uniqueness")
    people = (await admin.get("/v1/people")).json()["data"]
    assert sorted(p["external_id"] for p in people) == ["HR-1", "HR-5"]


async def test_one_person_two_doors(provisioner, admin):
    user = await create(provisioner)
    person = (await admin.get("/v1/people/HR-1")).json()
    assert person | {"id": None, "created_at": None, "updated_at": None} == {
        "id": None, "external_id": "HR-1", "display_name": "Ada Lovelace",
        "email": "ada@example.com", "org_unit": "payments", "manager_external_id": None,
        "rubric": "product-leadership", "level": "pm", "active": True,
        "created_at": None, "updated_at": None}
    assert person["id"] == user["id"]
    etag = (await admin.get("/v1/people/HR-1")).headers["etag"]
    assert etag == user["meta"]["version"]  # one version, whichever door reads it

    # The HRIS door changes the level and the org unit; SCIM sees it, identity kept.
    synced = await admin.put("/v1/people/HR-1", headers={"If-Match": etag}, json={
        "display_name": "Ada Lovelace", "email": "ada@example.com", "org_unit": "risk",
        "rubric": "product-leadership", "level": "senior-pm"})
    assert synced.status_code == 200, synced.text
    seen = (await provisioner.get(user["meta"]["location"])).json()
    assert seen[CAREER_URN]["level"] == "senior-pm" and seen[ENTERPRISE_URN]["department"] \
        == "risk"
    assert seen["userName"] == "ada@example.com" and seen["name"]["givenName"] == "Ada"
    assert seen["meta"]["version"] == synced.headers["etag"]

    # A /v1 person is a SCIM User at once, named by their HRIS id until provisioned.
    await sync_person(admin, "HR-7", display_name="Grace")
    listed = (await provisioner.get("/scim/v2/Users", params={
        "filter": 'userName eq "hr-7"'})).json()["Resources"]
    assert [(u["externalId"], u["displayName"]) for u in listed] == [("HR-7", "Grace")]


async def test_an_unknown_level_is_invalid_value_like_on_v1(provisioner, admin):
    body = scim_error(await provisioner.post("/scim/v2/Users", json=user_doc(
        **{CAREER_URN: {"rubric": "product-leadership", "level": "wizard"}})),
        400, "invalidValue")
    assert "wizard" in body["detail"]
    rest = await admin.put("/v1/people/HR-1", json={
        "display_name": "Ada", "rubric": "product-leadership", "level": "wizard"})
    assert rest.status_code == 422 and rest.json()["errors"][0]["field"] == "level"
    user = await create(provisioner)
    scim_error(await provisioner.patch(user["meta"]["location"], json={
        "schemas": [PATCH], "Operations": [{"op": "replace", "path": f"{CAREER_URN}:level",
                                            "value": "wizard"}]}), 400, "invalidValue")
    assert (await admin.get("/v1/people/HR-1")).json()["level"] == "pm"
    assert (await admin.get("/v1/people")).json()["data"][0]["external_id"] == "HR-1"


async def test_bad_input_is_a_scim_error_never_a_5xx(provisioner, engine):
    user = await create(provisioner)
    for expression in ('userName eq', 'userName xx "a"', '((', 'active gt true',
                       'nickName eq "x"', 'emails[type eq "work"]', 'title pr',
                       'meta.lastModified gt "yesterday"', "x" * 3000,
                       " and ".join(['userName eq "a"'] * 1200),
                       "not (" * 100 + "userName pr" + ")" * 100,
                       f'id sw "{user["id"]}"', 'meta.lastModified co "2026"',
                       'active co "t"', 'active gt false'):
        scim_error(await provisioner.get("/scim/v2/Users", params={"filter": expression}),
                   400, "invalidFilter")
    scim_error(await provisioner.get("/scim/v2/Users", params={"count": "many"}),
               400, "invalidValue")
    huge = await provisioner.get("/scim/v2/Users", params={"startIndex": str(10**30),
                                                            "count": str(10**30)})
    assert huge.status_code == 200 and "Resources" not in huge.json(), huge.text
    nested = await provisioner.get("/scim/v2/Users", params={
        "filter": "(" * 3000 + 'userName eq "ada@example.com"' + ")" * 3000})
    assert nested.json()["totalResults"] == 1, nested.text
    scim_error(await provisioner.post("/scim/v2/Users", content=b"{not json"),
               400, "invalidSyntax")
    scim_error(await provisioner.post("/scim/v2/Users", content=b"[" * 100_000),
               400, "invalidSyntax")
    scim_error(await provisioner.post("/scim/v2/Users", json=user_doc(
        external_id="HR-2", user_name="a\x00b")), 400, "invalidValue")
    scim_error(await provisioner.post("/scim/v2/Users", json=user_doc(
        external_id="HR 2/x", user_name="x@example.com")), 400, "invalidValue")
    scim_error(await provisioner.post("/scim/v2/Users", json=user_doc(
        external_id="HR-2", user_name="y" * 300)), 400, "invalidValue")
    scim_error(await provisioner.post("/scim/v2/Users", json={"userName": "nobody"}),
               400, "invalidValue")  # no externalId: no HRIS id to file them under
    scim_error(await provisioner.post("/scim/v2/Users", json=user_doc(bogus=1)),
               400, "invalidSyntax")
    scim_error(await provisioner.post("/scim/v2/Users", content=b"x",
                                      headers={"Content-Type": "text/plain"}), 415)
    scim_error(await provisioner.post("/scim/v2/Users", json=user_doc(
        displayName="x" * 2_000_000)), 413)
    scim_error(await provisioner.get("/scim/v2/Users/" + "f" * 40), 404)
    scim_error(await provisioner.get("/scim/v2/Nothing"), 404)
    scim_error(await provisioner.post("/scim/v2/Groups", json={}), 405)
    users = (await provisioner.get("/scim/v2/Users")).json()
    assert users["totalResults"] == 1


async def test_concurrent_creates_of_one_user_name_give_one_user(provisioner):
    answers = await asyncio.gather(*(provisioner.post("/scim/v2/Users", json=user_doc(
        external_id=f"HR-{n}", user_name="same@example.com")) for n in range(4)))
    assert sorted(a.status_code for a in answers)[0] == 201
    assert all(a.status_code in (201, 409) for a in answers), [a.text for a in answers]
    listed = (await provisioner.get("/scim/v2/Users")).json()
    assert listed["totalResults"] == 1


# --- groups and discovery ----------------------------------------------------------------------

async def test_groups_are_org_units_with_their_people(provisioner, admin):
    ada = await create(provisioner)
    await create(provisioner, external_id="HR-2", user_name="bob@example.com",
                 **{ENTERPRISE_URN: {"department": "risk"}})
    groups = (await provisioner.get("/scim/v2/Groups")).json()
    assert [g["displayName"] for g in groups["Resources"]] == ["payments", "risk"]
    payments = groups["Resources"][0]
    assert [m["value"] for m in payments["members"]] == [ada["id"]]
    assert payments["members"][0]["$ref"] == ada["meta"]["location"]
    one = (await provisioner.get(payments["meta"]["location"])).json()
    assert one["id"] == payments["id"] and one["members"] == payments["members"]
    filtered = (await provisioner.get("/scim/v2/Groups", params={
        "filter": 'displayName eq "RISK"', "excludedAttributes": "members"})).json()
    assert [g["displayName"] for g in filtered["Resources"]] == ["risk"]
    assert "members" not in filtered["Resources"][0]
    scim_error(await provisioner.get("/scim/v2/Groups", params={
        "filter": f'members.value eq "{ada["id"]}"'}), 400, "invalidFilter")
    scim_error(await provisioner.get("/scim/v2/Groups/nope"), 404)
    await sync_person(admin, "HR-3", org_unit="payments")  # the HRIS door moves people too
    payments = (await provisioner.get(payments["meta"]["location"])).json()
    assert len(payments["members"]) == 2


async def test_discovery_says_deletes_deactivate(provisioner):
    config = (await provisioner.get("/scim/v2/ServiceProviderConfig")).json()
    assert config["patch"]["supported"] and config["etag"]["supported"]
    assert not config["bulk"]["supported"] and config["filter"]["maxResults"] == 200
    assert "never deleted" in config["authenticationSchemes"][0]["description"]
    types = (await provisioner.get("/scim/v2/ResourceTypes")).json()["Resources"]
    assert {t["name"] for t in types} == {"User", "Group"}
    user_type = next(t for t in types if t["name"] == "User")
    assert {e["schema"] for e in user_type["schemaExtensions"]} == {ENTERPRISE_URN, CAREER_URN}
    schemas = (await provisioner.get("/scim/v2/Schemas")).json()["Resources"]
    career = next(s for s in schemas if s["id"] == CAREER_URN)
    assert {a["name"] for a in career["attributes"]} == {"rubric", "level"}


# --- who may call it ---------------------------------------------------------------------------

async def test_scim_needs_the_scim_scope_and_no_person_binding(client_with, make_key, ladder,
                                                               client):
    scim_error(await client.get("/scim/v2/Users"), 401)
    async with client_with(make_key("people:read", "people:write")) as other:
        scim_error(await other.get("/scim/v2/Users"), 403)
    async with client_with(make_key("scim", person="HR-1")) as bound:
        for method, path in (("GET", "/scim/v2/Users"), ("GET", "/scim/v2/Groups"),
                             ("GET", "/scim/v2/ServiceProviderConfig"),
                             ("POST", "/scim/v2/Users")):
            scim_error(await bound.request(method, path, json=user_doc()), 403)
    async with client_with(IDP.token(sub="okta-provisioning", scope="scim")) as idp:
        assert (await idp.post("/scim/v2/Users", json=user_doc())).status_code == 201
    async with client_with(IDP.token(sub="okta-provisioning", scope="people:write")) as idp:
        scim_error(await idp.get("/scim/v2/Users"), 403)
    async with client_with(IDP.token(sub="HR-1", scope="scim")) as portal:  # bound to HR-1
        scim_error(await portal.get("/scim/v2/Users"), 403)
    async with client_with(make_key("admin")) as root:
        assert (await root.get("/scim/v2/Users")).status_code == 200
    # The rest of the API keeps RFC 9457 problems.
    assert (await client.get("/v1/people")).headers["content-type"] == \
        "application/problem+json"
