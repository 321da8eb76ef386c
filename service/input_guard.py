"""The NUL rule (``wire.nul_paths``) on every authenticated REST route.

A dependency of every domain router (``app.py``): a NUL in a path parameter, a query
parameter, a header or the JSON body is a 422 naming each field. The credential is checked
first (401 before 422, as for any other input error), and only when there is a NUL: a clean
request costs a byte search. Bodies that are not JSON are checked where they are parsed
(rubric imports, bulk files); GraphQL checks its variables and literals itself.
"""

import json
from contextlib import suppress

from fastapi import Request

from .auth.deps import bearer, current_principal
from .wire import NUL, escape_nul, nul_error, nul_paths

_ESCAPED_NUL = b"\\u0000"  # the only way JSON text can carry a NUL


async def reject_nul_input(request: Request) -> None:
    paths = [f"path.{name}" for name, value in request.path_params.items()
             if isinstance(value, str) and NUL in value]
    paths += [f"query.{escape_nul(name)}" for name, value in request.query_params.multi_items()
              if NUL in name or NUL in value]
    paths += [f"header.{name}" for name, value in request.headers.items() if NUL in value]
    if getattr(request.scope.get("route"), "body_field", None) is not None:
        body = await request.body()  # already read (and parsed) by FastAPI: no extra I/O
        if _ESCAPED_NUL in body:  # a byte search first; parse again only when it may be there
            with suppress(ValueError, RecursionError):  # not JSON: its validation answers
                paths += nul_paths(json.loads(body))
    if paths:
        await current_principal(request, await bearer(request))  # 401 when it is not good
        raise nul_error(paths[:20])
