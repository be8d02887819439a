"""A real OpenLDAP `slapd` for the directory-login tests: a temporary slapd.conf and MDB
database on a free port, filled from an LDIF of users and groups with `ldapadd`, and
changed by the tests through `ldapmodify` as an operator would (Debian's `slapd` and
`ldap-utils`, installed by `make system-test-deps`)."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

from tests.support.registry import free_port

SLAPD = "/usr/sbin/slapd"
BASE = "dc=wharf,dc=test"
ADMIN_DN = f"cn=admin,{BASE}"
ADMIN_PASSWORD = "directory-admin"
PEOPLE = f"ou=people,{BASE}"
GROUPS = f"ou=groups,{BASE}"

CONF = """\
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
pidfile {dir}/slapd.pid
modulepath /usr/lib/ldap
moduleload back_mdb
database mdb
maxsize 16777216
suffix "{base}"
rootdn "{admin}"
rootpw {password}
directory {dir}/data
access to attrs=userPassword by self write by anonymous auth by * none
access to * by * read
"""


def available() -> bool:
    return Path(SLAPD).exists() and shutil.which("ldapadd") is not None


def person(uid: str, password: str, *, given: str, surname: str, mail: str) -> str:
    return (
        f"dn: uid={uid},{PEOPLE}\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {given} {surname}\n"
        f"givenName: {given}\nsn: {surname}\nmail: {mail}\nuserPassword: {password}\n"
    )


def group(cn: str, *members: str) -> str:
    lines = [f"dn: cn={cn},{GROUPS}", "objectClass: groupOfNames", f"cn: {cn}"]
    # groupOfNames needs a member: the admin stays in every group, so any person can leave.
    lines += [f"member: {ADMIN_DN}"] + [f"member: uid={uid},{PEOPLE}" for uid in members]
    return "\n".join(lines) + "\n"


class Slapd:
    """One running slapd; `uri` is where it listens."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.uri = f"ldap://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Slapd:
        (self.directory / "data").mkdir(parents=True, exist_ok=True)
        conf = self.directory / "slapd.conf"
        conf.write_text(CONF.format(dir=self.directory, base=BASE, admin=ADMIN_DN, password=ADMIN_PASSWORD))
        # -d 0: stay in the foreground (so the fixture owns the process), log nothing.
        self.process = subprocess.Popen(
            [SLAPD, "-f", str(conf), "-h", self.uri, "-d", "0"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"slapd exited: {self.process.stderr.read().decode()}")  # type: ignore[union-attr]
            probe = subprocess.run(
                ["ldapsearch", "-x", "-H", self.uri, "-b", "", "-s", "base", "-LLL", "namingContexts"],
                capture_output=True,
            )
            if probe.returncode in (0, 32):
                break
            time.sleep(0.1)
        else:
            raise RuntimeError("slapd did not answer")
        self.add(
            f"dn: {BASE}\nobjectClass: dcObject\nobjectClass: organization\ndc: wharf\no: Wharf\n\n"
            f"dn: {PEOPLE}\nobjectClass: organizationalUnit\nou: people\n\n"
            f"dn: {GROUPS}\nobjectClass: organizationalUnit\nou: groups\n"
        )
        return self

    def _tool(self, tool: str, ldif: str, *extra: str) -> None:
        result = subprocess.run(
            [tool, "-x", "-H", self.uri, "-D", ADMIN_DN, "-w", ADMIN_PASSWORD, *extra],
            input=ldif.encode(),
            capture_output=True,
        )
        if result.returncode != 0:
            raise RuntimeError(f"{tool} failed: {result.stderr.decode()}\n{ldif}")

    def add(self, ldif: str) -> None:
        self._tool("ldapadd", ldif)

    def modify(self, ldif: str) -> None:
        self._tool("ldapmodify", ldif)

    def delete(self, dn: str) -> None:
        self._tool("ldapdelete", "", dn)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
