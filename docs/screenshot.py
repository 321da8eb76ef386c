"""Make docs/readiness-report.png: the HTML readiness report of a sample person, served by a
real server and captured in headless Chromium (Debian's chromium and chromium-driver).

    .venv/bin/python docs/screenshot.py [--dark]

Runs on a throwaway SQLite database; prints the path of the picture it wrote."""

import io
import shutil
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import uvicorn
from PIL import Image
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from service.app import create_app
from service.auth.service import ensure_admin_key
from service.db import engine_for, open_session, upgrade
from service.readiness.policies import ensure_default_policy
from service.rubrics.service import load_defaults
from service.settings import Settings

KEY = "asc_docs-screenshot-admin-key-0123456789"
WIDTH, HEIGHT = 960, 2300  # the summary, the radar and its table

MANAGER = {"scope-judgement": 3, "execution": 5, "business-understanding": 4, "strategy": 3,
           "trust-collaboration": 4, "developing-people": 2, "team-design": 2,
           "operating-model": 3, "communication-influence": 4, "value-outcomes": 3,
           "self-leadership": 4}
SELF = {"scope-judgement": 4, "execution": 5, "strategy": 4, "developing-people": 3,
        "communication-influence": 4}
PEER = {"execution": 5, "trust-collaboration": 4, "communication-influence": 3,
        "developing-people": 2}
EVIDENCE = {
    "execution": "Shipped the new checkout in two phases without a missed date; "
                 "cut payment failures by a third.",
    "developing-people": "Coached one engineer through a first discovery project; has not "
                         "yet run a hiring loop.",
    "communication-influence": "The quarterly review deck is now the one other teams copy.",
    "strategy": "Wrote the payments strategy; adopted by two neighbouring teams.",
}


def seed(base: str) -> str:
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {KEY}"}) as client:
        for pid, name in (("E001", "Grace Hopper"), ("E123", "Ada Lovelace")):
            client.put(f"/v1/people/{pid}", json={
                "display_name": name, "org_unit": "payments", "rubric": "product-leadership",
                "level": "senior-pm" if pid == "E123" else "director",
                "manager_external_id": "E001" if pid == "E123" else None}).raise_for_status()
        aid = client.post("/v1/assessments", json={"person": "E123", "cycle": "2026-H2"}
                          ).raise_for_status().json()["id"]
        raters = [("manager", "E001", MANAGER), ("self", "E123", SELF),
                  ("peer", "E301", PEER), ("peer", "E302", PEER | {"execution": 4})]
        for role, rater, values in raters:
            etag = client.get(f"/v1/assessments/{aid}").headers["etag"]
            client.put(f"/v1/assessments/{aid}/ratings", headers={"If-Match": etag}, json={
                "rater_role": role, "rater_id": rater, "ratings": [
                    {"competency": k, "proficiency": v, "evidence": EVIDENCE.get(k)}
                    for k, v in values.items()]}).raise_for_status()
        return aid


def main(dark: bool) -> Path:
    out = Path(__file__).with_name("readiness-report" + ("-dark" if dark else "") + ".png")
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(database_url=f"sqlite:///{tmp}/docs.db", webhooks_worker=False,
                            bulk_worker=False)
        upgrade(settings.database_url)
        engine = engine_for(settings)
        with open_session(engine, write=True) as session:
            load_defaults(session)
            ensure_default_policy(session)
            ensure_admin_key(session, KEY)
            session.commit()
        engine.dispose()
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        server = uvicorn.Server(uvicorn.Config(create_app(settings), log_level="warning"))
        threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True).start()
        while not server.started:
            time.sleep(0.05)
        base = f"http://127.0.0.1:{sock.getsockname()[1]}"
        try:
            aid = seed(base)
            options = webdriver.ChromeOptions()
            options.binary_location = shutil.which("chromium")
            for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                         "--disable-background-networking", "--force-device-scale-factor=1",
                         f"--window-size={WIDTH},{HEIGHT}"):
                options.add_argument(flag)
            driver = webdriver.Chrome(options=options,
                                      service=Service(shutil.which("chromedriver")))
            try:
                driver.execute_cdp_cmd("Network.enable", {})
                driver.execute_cdp_cmd("Network.setExtraHTTPHeaders",
                                       {"headers": {"Authorization": f"Bearer {KEY}"}})
                driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": [
                    {"name": "prefers-color-scheme", "value": "dark" if dark else "light"}]})
                driver.get(f"{base}/v1/assessments/{aid}/readiness?format=html")
                png = driver.get_screenshot_as_png()
            finally:
                driver.quit()
        finally:
            server.should_exit = True
    image = Image.open(io.BytesIO(png)).convert("RGB")
    image.save(out, optimize=True)
    return out


if __name__ == "__main__":
    print(main("--dark" in sys.argv[1:]))
