"""The SCIM resources Ascent serves, built on scim2-models (RFC 7643 schemas, RFC 7644
messages, filter and PATCH grammar): Users with the enterprise extension and Ascent's career
extension, read-only Groups, and what the discovery endpoints publish."""

from typing import Annotated

import scim2_models as scim
from pydantic import Field

CAREER_URN = "urn:ascent:params:scim:schemas:extension:career:2.0:User"
ENTERPRISE_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
MEDIA_TYPE = "application/scim+json"
MAX_RESULTS = 200  # the largest page a list answers (ServiceProviderConfig says so)


class Manager(scim.Manager):
    """The user's manager: ``value`` is the manager's id here (or, for someone not provisioned
    yet, their HRIS id). RFC 7643 recommends ``$ref`` but identity providers send ``value``
    alone, so it is optional."""

    ref: Annotated[scim.Reference["User"] | None, scim.Required.false] = Field(
        None, serialization_alias="$ref", validation_alias="$ref")


class EnterpriseUser(scim.EnterpriseUser):
    """Enterprise User: employeeNumber, department (the org unit) and manager are stored;
    the other attributes are accepted and not kept."""

    manager: Manager | None = None


class CareerUser(scim.Extension):
    """Ascent career placement: the rubric a person is on and their current level in it (a
    level of the latest published version of that rubric)."""

    __schema__ = scim.URN(CAREER_URN)

    rubric: str | None = None
    """Key of the rubric the person is on."""

    level: str | None = None
    """Key of the person's current level in that rubric."""


User = scim.User[EnterpriseUser | CareerUser]
Group = scim.Group
UserSearch = scim.SearchRequest[User]
GroupSearch = scim.SearchRequest[Group]
UserPatch = scim.PatchOp[User]
UserList = scim.ListResponse[User]
GroupList = scim.ListResponse[Group]

SCHEMAS = (scim.User.to_schema(), EnterpriseUser.to_schema(), CareerUser.to_schema(),
           scim.Group.to_schema())
RESOURCE_TYPES = (scim.ResourceType.from_resource(User), scim.ResourceType.from_resource(Group))

SERVICE_PROVIDER_CONFIG = scim.ServiceProviderConfig(
    patch=scim.Patch(supported=True),
    bulk=scim.Bulk(supported=False, max_operations=0, max_payload_size=0),
    filter=scim.Filter(supported=True, max_results=MAX_RESULTS),
    change_password=scim.ChangePassword(supported=False),
    sort=scim.Sort(supported=False),
    etag=scim.ETag(supported=True),
    authentication_schemes=[scim.AuthenticationScheme(
        type="oauthbearertoken", name="Bearer credential", primary=True,
        # The document's only free text: what a client must know before it deletes.
        description="An Ascent API key or JWT holding the `scim` scope. People are never "
                    "deleted: DELETE /Users/{id} deactivates the person (active=false) and "
                    "their assessments keep their subject. Groups are the org units people "
                    "are in (enterprise department) and are read-only.")],
)
