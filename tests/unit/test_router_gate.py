"""service.http.Router: a router rules itself out by path prefix, and nothing else changes."""

from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient

from service.app import ROUTERS
from service.http import Router

inner = Router(prefix="/v1/inner")


@inner.get("/{key}")
def inner_item(key: str) -> dict[str, str]:
    return {"inner": key}


outer = Router()  # no prefix: like service/outlines/routes.py, it includes another router


@outer.get("/v1/things/{thing_id}")
def thing(thing_id: int) -> dict[str, int]:
    return {"thing": thing_id}


@outer.post("/v1/things")
def make_thing() -> dict[str, str]:
    return {"made": "yes"}


outer.include_router(inner)


def app() -> FastAPI:
    application = FastAPI()
    application.include_router(outer)
    return application


def test_prefixes_come_from_every_route_nested_ones_included():
    TestClient(app()).get("/nowhere")
    assert set(outer._prefixes) == {"/v1/things/", "/v1/things", "/v1/inner/"}


def test_a_path_outside_the_prefixes_never_reaches_fastapis_matching(monkeypatch):
    application = app()
    tried = []
    original = APIRouter.matches  # FastAPI's own matching, which the gate comes before
    monkeypatch.setattr(APIRouter, "matches",
                        lambda self, scope: tried.append(scope["path"]) or original(self, scope))
    client = TestClient(application)
    assert client.get("/v1/other/1").status_code == 404
    assert tried == []
    assert client.get("/v1/things/7").json() == {"thing": 7}
    assert tried == ["/v1/things/7"]


def test_routing_answers_as_before():
    client = TestClient(app())
    assert client.get("/v1/things/7").json() == {"thing": 7}
    assert client.get("/v1/inner/k").json() == {"inner": "k"}
    assert client.post("/v1/things").json() == {"made": "yes"}
    assert client.delete("/v1/things/7").status_code == 405  # path matched, method did not
    assert client.get("/v1/things/x").status_code == 422  # matched; the parameter is bad
    assert client.get("/v1/thingsx").status_code == 404


def test_every_router_of_the_app_is_gated():
    assert all(isinstance(router, Router) for router in ROUTERS)
