"""Real directory servers for the sign-in tests, started on 127.0.0.1 and stopped after:
OpenLDAP ``slapd`` (Debian package) with a throw-away config and an LDIF of users and groups,
with StartTLS (a CA made here), and node ``oidc-provider`` (tests/oidc/provider.mjs)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import time
from pathlib import Path

from .live import free_port

SLAPD = shutil.which("slapd") or "/usr/sbin/slapd"
SLAPADD = shutil.which("slapadd") or "/usr/sbin/slapadd"
NODE = shutil.which("node") or "/usr/bin/node"
OIDC_DIR = Path(__file__).resolve().parent / "oidc"

BASE = "dc=example,dc=org"
SVC_DN, SVC_PW = f"cn=bodycam-svc,{BASE}", "svc-secret-77"
PASSWORD = "directory-pass-2026"

# An Active Directory attribute in a tiny schema, so a disabled AD account can be a real entry.
AD_SCHEMA = """
attributetype ( 1.2.840.113556.1.4.8 NAME 'userAccountControl'
  EQUALITY integerMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
objectclass ( 1.3.6.1.4.1.4203.666.11.24.1 NAME 'bodycamTestAdAccount' AUXILIARY MAY userAccountControl )
"""


def _stop(proc: subprocess.Popen | None, log) -> None:
    if proc and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    log.close()


def _person(uid: str, uac: int | None = None) -> str:
    extra = f"objectClass: bodycamTestAdAccount\nuserAccountControl: {uac}\n" if uac is not None else ""
    return (f"dn: uid={uid},ou=people,{BASE}\nobjectClass: inetOrgPerson\n{extra}uid: {uid}\ncn: {uid.title()}\n"
            f"sn: Test\nmail: {uid}@example.org\nuserPassword: {PASSWORD}\n\n")


def _group(cn: str, members: list[str]) -> str:
    lines = "".join(f"member: uid={m},ou=people,{BASE}\n" for m in members)
    return f"dn: cn={cn},ou=groups,{BASE}\nobjectClass: groupOfNames\ncn: {cn}\n{lines}\n"


LDIF = (f"dn: {BASE}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example PD\n\n"
        f"dn: ou=people,{BASE}\nobjectClass: organizationalUnit\nou: people\n\n"
        f"dn: ou=groups,{BASE}\nobjectClass: organizationalUnit\nou: groups\n\n"
        f"dn: {SVC_DN}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: bodycam-svc\n"
        f"userPassword: {SVC_PW}\n\n"
        + _person("olivia") + _person("dave") + _person("nora") + _person("disa", uac=514) + _person("ursula", uac=512)
        + _group("bodycam-officers", ["olivia", "dave", "disa", "ursula"])
        + _group("bodycam-detectives", ["dave", "retired-detective"])  # groupOfNames needs one member
        + _group("other-staff", ["nora"]))


def make_ca(tmp: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for 127.0.0.1: (ca.pem, server.pem, server.key)."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.timezone.utc)

    def cert(subject, issuer, pub, sign_key, ca: bool, san=None):
        b = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(pub)
             .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
             .not_valid_after(now + dt.timedelta(days=2))
             .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if san:
            b = b.add_extension(x509.SubjectAlternativeName(san), critical=False)
        return b.sign(sign_key, hashes.SHA256())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bodycam test directory CA")])
    ca_cert = cert(ca_name, ca_name, ca_key.public_key(), ca_key, True)
    key = ec.generate_private_key(ec.SECP256R1())
    srv = cert(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]), ca_name, key.public_key(), ca_key,
               False, [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")])
    paths = tmp / "ca.pem", tmp / "server.pem", tmp / "server.key"
    paths[0].write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(srv.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    paths[2].chmod(0o600)
    return paths


class Slapd:
    def __init__(self, tmp: Path):
        self.tmp = Path(tmp)
        self.port = free_port()
        self.url = f"ldap://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> "Slapd":
        t = self.tmp
        (t / "db").mkdir(parents=True)
        (t / "ad.schema").write_text(AD_SCHEMA)
        self.ca, cert, key = make_ca(t)
        (t / "slapd.conf").write_text(f"""
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include {t}/ad.schema
pidfile {t}/slapd.pid
modulepath /usr/lib/ldap
moduleload back_mdb
TLSCACertificateFile {self.ca}
TLSCertificateFile {cert}
TLSCertificateKeyFile {key}
database mdb
maxsize 10485760
suffix "{BASE}"
rootdn "cn=admin,{BASE}"
rootpw admin-secret
directory {t}/db
access to attrs=userPassword by self write by anonymous auth by * none
access to * by users read by * none
""")
        (t / "data.ldif").write_text(LDIF)
        subprocess.run([SLAPADD, "-f", str(t / "slapd.conf"), "-l", str(t / "data.ldif")],
                       check=True, capture_output=True, timeout=60)
        self.log = open(t / "slapd.log", "wb")
        self.proc = subprocess.Popen([SLAPD, "-f", str(t / "slapd.conf"), "-h", self.url, "-d", "0"],
                                     stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + 30
        while time.time() < deadline:
            assert self.proc.poll() is None, (t / "slapd.log").read_text()[-2000:]
            if self.ready():
                return self
            time.sleep(0.1)
        raise RuntimeError("slapd did not start")

    def ready(self) -> bool:
        r = subprocess.run(["ldapwhoami", "-x", "-H", self.url, "-D", SVC_DN, "-w", SVC_PW],
                           capture_output=True, timeout=10)
        return r.returncode == 0

    def ldapmodify(self, ldif: str) -> None:
        subprocess.run(["ldapmodify", "-x", "-H", self.url, "-D", f"cn=admin,{BASE}", "-w", "admin-secret"],
                       input=ldif.encode(), check=True, capture_output=True, timeout=30)

    def settings(self) -> dict:
        """bodycam's settings (Django names) for this directory, plain LDAP."""
        return {"LDAP_URL": self.url, "LDAP_BIND_DN": SVC_DN, "LDAP_BIND_PASSWORD": SVC_PW,
                "LDAP_USER_BASE": f"ou=people,{BASE}", "LDAP_GROUP_BASE": f"ou=groups,{BASE}",
                "LDAP_GROUP_ROLES": f"cn=bodycam-detectives,ou=groups,{BASE}=detective;bodycam-officers=officer",
                "LDAP_STARTTLS": False, "LDAP_CA_FILE": ""}

    def stop(self) -> None:
        _stop(self.proc, self.log)


# -- OpenID provider --------------------------------------------------------------------------

CLIENT_ID, CLIENT_SECRET = "bodycam", "bodycam-client-secret-1234567890"
OIDC_USERS = {
    # IdP MFA in amr: TOTP is skipped
    "alice": {"password": PASSWORD, "groups": ["bodycam-custodians"], "amr": ["pwd", "mfa"]},
    # password only: bodycam asks for TOTP
    "bob": {"password": PASSWORD, "groups": ["Bodycam-Officers", "staff"], "amr": ["pwd"]},
    # an acr value the agency lists counts as MFA
    "erin": {"password": PASSWORD, "groups": ["bodycam-detectives"], "amr": ["pwd"], "acr": "urn:example:phr"},
    # in no mapped group: refused
    "carol": {"password": PASSWORD, "groups": ["staff"], "amr": ["pwd", "mfa"]},
    # the IdP refuses a disabled account (error=access_denied)
    "dan": {"password": PASSWORD, "groups": ["bodycam-officers"], "amr": ["pwd", "mfa"], "disabled": True},
}


class OidcProvider:
    def __init__(self, tmp: Path, redirect_uris: list[str], users: dict | None = None):
        self.tmp = Path(tmp)
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.redirect_uris = redirect_uris
        self.users = users or OIDC_USERS
        self.proc: subprocess.Popen | None = None

    def start(self) -> "OidcProvider":
        assert (OIDC_DIR / "node_modules" / "oidc-provider").is_dir(), "run scripts/install.sh --test (npm ci)"
        cfg = self.tmp / "oidc.json"
        cfg.write_text(json.dumps({"port": self.port, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                                   "redirect_uris": self.redirect_uris, "users": self.users}))
        self.log = open(self.tmp / "oidc.log", "wb")
        self.proc = subprocess.Popen([NODE, str(OIDC_DIR / "provider.mjs"), str(cfg)], cwd=OIDC_DIR,
                                     stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        import requests

        deadline = time.time() + 30
        while time.time() < deadline:
            assert self.proc.poll() is None, (self.tmp / "oidc.log").read_text()[-2000:]
            try:
                if requests.get(self.discovery_url, timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                time.sleep(0.1)
        raise RuntimeError("oidc-provider did not start")

    @property
    def discovery_url(self) -> str:
        return self.issuer + "/.well-known/openid-configuration"

    def settings(self) -> dict:
        return {"OIDC_DISCOVERY_URL": self.discovery_url, "OIDC_CLIENT_ID": CLIENT_ID,
                "OIDC_CLIENT_SECRET": CLIENT_SECRET, "OIDC_SCOPES": "openid profile email groups",
                "OIDC_PROVIDER_NAME": "Example IdP",
                "OIDC_GROUP_ROLES": "bodycam-custodians=custodian;bodycam-detectives=detective;"
                                    "bodycam-officers=officer",
                "OIDC_MFA_ACR": "urn:example:phr"}

    def stop(self) -> None:
        _stop(self.proc, self.log)
