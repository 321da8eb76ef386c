"""``/graphql``: Strawberry's FastAPI router with Ascent's rules.

- Every operation needs a credential, as on REST: without one the answer is 401 with
  ``WWW-Authenticate: Bearer`` and an ``UNAUTHENTICATED`` GraphQL error, before anything is
  parsed. Only the GraphiQL page itself (a GET asking for HTML) is public.
- GraphiQL is served from the app's own assets (``service/static/graphiql``, see its
  README), under the same Content-Security-Policy as the other docs pages; no CDN.
- No subscriptions, so no WebSocket route.
"""

import json
import secrets
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.routing import WebSocketRoute
from strawberry.fastapi import GraphQLRouter
from strawberry.types.unset import UNSET

from ..docs import docs_csp
from ..problems import BadRequest, Unauthorized
from ..settings import Settings
from ..wire import reject_nul
from .context import get_context
from .errors import problem_body
from .schema import build_schema

PATH = "/graphql"
ASSETS = "/docs-assets/graphiql"
STATIC = Path(__file__).resolve().parent.parent / "static" / "graphiql"

EXAMPLE = """# Put your API key in Headers (below), then run.
query Person($id: String! = "E123") {
  person(externalId: $id) {
    displayName
    level
    readiness { score band topGaps { competency gap } }
    assessments { cycle status readiness { score band pathToReady { competency from to } } }
  }
}
"""

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Ascent - GraphiQL</title>
<link rel="stylesheet" href="{assets}/graphiql.min.css">
</head>
<body style="margin: 0">
<div id="graphiql" style="height: 100vh">Loading GraphiQL...</div>
<script src="{assets}/react.production.min.js"></script>
<script src="{assets}/react-dom.production.min.js"></script>
<script src="{assets}/graphiql.min.js"></script>
<script nonce="{nonce}">
const fetcher = GraphiQL.createFetcher({{url: {endpoint}}});
ReactDOM.createRoot(document.getElementById("graphiql")).render(
  React.createElement(GraphiQL, {{
    fetcher: fetcher,
    defaultQuery: {query},
    defaultHeaders: {headers},
    isHeadersEditorEnabled: true,
    shouldPersistHeaders: false,
    defaultEditorToolsVisibility: "headers",
  }}));
</script>
</body>
</html>
"""


def ide_page(request: Request) -> HTMLResponse:
    root = request.scope.get("root_path", "")
    nonce = secrets.token_urlsafe(16)
    body = _PAGE.format(assets=root + ASSETS, nonce=nonce, endpoint=json.dumps(root + PATH),
                        query=json.dumps(EXAMPLE),
                        headers=json.dumps('{"Authorization": "Bearer "}'))
    return HTMLResponse(body, headers={"Content-Security-Policy": docs_csp(nonce)})


class GraphQLEndpoint(GraphQLRouter):
    def decode_json(self, data: str | bytes) -> object:
        """A problem+json 400, as REST answers it, for a body (or GET ``variables``) that is
        not JSON, not UTF-8, or nested too deeply to parse (Strawberry would answer the first
        as plain text and fail on the others)."""
        try:
            return json.loads(data)
        except RecursionError as exc:
            raise BadRequest("The request is nested too deeply to be parsed.") from exc
        except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
            raise BadRequest("The request is not valid JSON (UTF-8).") from exc

    async def parse_http_body(self, request):
        """The request as Strawberry reads it (a POST body or GET parameters), with no NUL in
        its variables (the same rule as REST; literals are checked by validation)."""
        data = await super().parse_http_body(request)
        for one in data if isinstance(data, list) else [data]:
            reject_nul(one.variables, "variables")
        return data

    async def run(self, request, context=UNSET, root_value=UNSET):
        if not self.is_websocket_request(request) and context.principal is None \
                and not self.should_render_graphql_ide(self.request_adapter_class(request)):
            error = context.auth_error or Unauthorized("This operation needs a credential.")
            return JSONResponse(problem_body(error), status_code=error.status,
                                headers=error.headers())
        return await super().run(request, context=context, root_value=root_value)

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:
        return ide_page(request)


def install(app: FastAPI, settings: Settings) -> None:
    """Mount ``/graphql`` (left out of the OpenAPI document) and the GraphiQL assets."""
    ide = bool(settings.graphql_ide)
    router = GraphQLEndpoint(build_schema(bool(settings.graphql_introspection)), path=PATH,
                             context_getter=get_context,
                             graphql_ide="graphiql" if ide else None, subscription_protocols=(),
                             include_in_schema=False)
    router.routes = [r for r in router.routes if not isinstance(r, WebSocketRoute)]
    app.include_router(router, include_in_schema=False)
    if ide:
        app.mount(ASSETS, StaticFiles(directory=STATIC), name="graphiql")
