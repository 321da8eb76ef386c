"""The app's operations as data (from its OpenAPI document), so route-wide tests cover every
operation, including ones added later."""

PUBLIC_PATHS = {"/livez", "/healthz", "/readyz"}
PLACEHOLDER = {"integer": "1", "string": "00000000-0000-0000-0000-000000000000"}


def operations(app) -> list[tuple[str, str, dict]]:
    """(METHOD, concrete path, operation) for every documented operation."""
    ops = []
    for path, item in app.openapi()["paths"].items():
        for method, op in item.items():
            concrete = path
            for param in op.get("parameters", []):
                if param["in"] == "path":
                    kind = param.get("schema", {}).get("type", "string")
                    concrete = concrete.replace("{" + param["name"] + "}", PLACEHOLDER[kind])
            ops.append((method.upper(), concrete, op))
    return ops


def templated_operations(app) -> list[tuple[str, str, dict]]:
    """(METHOD, path template as documented, operation) for every documented operation."""
    return [(method.upper(), path, op) for path, item in app.openapi()["paths"].items()
            for method, op in item.items()]


def mounted_operations(app) -> list[tuple[str, str, dict]]:
    """The same for the FastAPI sub-applications mounted in ``app`` (SCIM under /scim/v2),
    which ``/openapi.json`` leaves out on purpose: each one's own OpenAPI document, with the
    mount's prefix."""
    from fastapi import FastAPI
    from starlette.routing import Mount

    return [(method, mount.path + path, op) for mount in app.routes
            if isinstance(mount, Mount) and isinstance(mount.app, FastAPI)
            for method, path, op in templated_operations(mount.app)]


def required_scopes(op: dict) -> set[str]:
    return {scope for requirement in op.get("security", []) for scopes in requirement.values()
            for scope in scopes}


def protected_operations(app) -> list[tuple[str, str, dict]]:
    return [(m, p, op) for m, p, op in operations(app) if p not in PUBLIC_PATHS]
