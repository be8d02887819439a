"""A real OpenID Provider process for the OIDC tests (django-oauth-toolkit, see
`tests.support.oidc_provider`), on a free port, with users, groups and one client."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.support.registry import free_port

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = "tests.support.oidc_provider.settings"
CLIENT_ID = "wharf"
CLIENT_SECRET = "wharf-client-secret-for-tests"

SEED = """
from django.contrib.auth.models import Group, User
from oauth2_provider.models import Application
import json, os
for name, spec in json.loads(os.environ["OIDC_USERS"]).items():
    user = User.objects.create_user(name, spec["email"], spec["password"], first_name=spec["given"], last_name=spec["family"])
    for group in spec["groups"]:
        user.groups.add(Group.objects.get_or_create(name=group)[0])
Application.objects.create(
    name="wharf", client_id=os.environ["OIDC_CLIENT_ID"], client_secret=os.environ["OIDC_CLIENT_SECRET"],
    client_type="confidential", authorization_grant_type="authorization-code",
    redirect_uris=os.environ["OIDC_REDIRECT"], post_logout_redirect_uris=os.environ["OIDC_REDIRECT"],
    algorithm="RS256", skip_authorization=True,
)
"""


class OidcProvider:
    def __init__(self, directory: Path, users: dict[str, dict[str, object]], redirect_uri: str) -> None:
        self.directory = directory
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.issuer = f"{self.url}/o"
        self.discovery = f"{self.issuer}/.well-known/openid-configuration"
        self.users = users
        self.redirect_uri = redirect_uri
        self.process: subprocess.Popen[bytes] | None = None

    def _env(self) -> dict[str, str]:
        import json

        env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "DJANGO_SETTINGS"))}
        return env | {
            "DJANGO_SETTINGS_MODULE": SETTINGS,
            "OIDC_PROVIDER_DIR": str(self.directory),
            "OIDC_USERS": json.dumps(self.users),
            "OIDC_CLIENT_ID": CLIENT_ID,
            "OIDC_CLIENT_SECRET": CLIENT_SECRET,
            "OIDC_REDIRECT": self.redirect_uri,
            "PYTHONPATH": str(ROOT),
        }

    def start(self) -> OidcProvider:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        (self.directory / "key.pem").write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        django = [sys.executable, "-m", "django"]
        for args in (["migrate", "-v0"], ["shell", "-c", SEED]):
            subprocess.run([*django, *args], env=self._env(), cwd=ROOT, check=True, capture_output=True)
        self.process = subprocess.Popen(
            [*django, "runserver", f"127.0.0.1:{self.port}", "--noreload", "--nothreading"],
            env=self._env(),
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.discovery, timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError("the OpenID Provider did not start")

    def sign_in(self, authorize_url: str, username: str, password: str) -> str:
        """Follow the provider's side of the code flow as a browser would: the authorize
        URL, its login form, and back. Returns the redirect to Wharf's callback."""
        with httpx.Client(follow_redirects=False, timeout=10) as browser:
            response = browser.get(authorize_url)
            assert response.status_code == 302, response.text
            login_url = httpx.URL(self.url).join(response.headers["location"])
            page = browser.get(login_url)
            token = page.text.split('name="csrfmiddlewaretoken" value="', 1)[1].split('"', 1)[0]
            response = browser.post(
                login_url,
                data={
                    "csrfmiddlewaretoken": token,
                    "username": username,
                    "password": password,
                    "next": login_url.params.get("next", ""),
                },
                headers={"Referer": str(login_url)},
            )
            assert response.status_code == 302, response.text
            response = browser.get(httpx.URL(self.url).join(response.headers["location"]))
            assert response.status_code == 302, response.text
            return response.headers["location"]

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
