"""C2PA manifests on redacted copies (c2pa-python).

The agency signs with a local two-level chain made on first use in ``KEYS_DIR/c2pa/``:
a self-signed CA ("bodycam release CA") and an ES256 signer certificate it issued
(C2PA refuses self-signed end-entity certificates). Verification trusts that CA; an
outside verifier is given ``ca.pem`` (the release package carries it).

The manifest names the original as its parent ingredient (``c2pa.opened``) and lists
one ``c2pa.redacted`` action per redaction, with its reason.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ..errors import BodycamError
from ..files import write_private

CLAIM_GENERATOR = {"name": "bodycam", "version": "0.1.0"}


def chain_dir() -> Path:
    from django.conf import settings

    return Path(settings.KEYS_DIR) / "c2pa"


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "bodycam agency"),
                      x509.NameAttribute(NameOID.COUNTRY_NAME, "US")])


def ensure_chain(directory: Path | None = None) -> Path:
    """Make the CA and signer once (idempotent); return the directory."""
    d = Path(directory or chain_dir())
    if (d / "signer.pem").exists() and (d / "signer.key").exists() and (d / "ca.pem").exists():
        return d
    d.mkdir(parents=True, exist_ok=True, mode=0o700)
    now = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("bodycam release CA")
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now)
          .not_valid_after(now + dt.timedelta(days=3650))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                       crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(_name("bodycam records release signer")).issuer_name(ca_name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + dt.timedelta(days=1825))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM

    def write(name: str, data: bytes, private: bool = False):
        tmp = d / f".{name}.tmp"
        if private:
            write_private(tmp, data)
        else:
            with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), "wb") as f:
                f.write(data)
        os.replace(tmp, d / name)

    write("signer.key", key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
          private=True)
    write("ca.pem", ca.public_bytes(pem))
    # The signer file holds the chain, leaf first, as C2PA expects.
    write("signer.pem", cert.public_bytes(pem) + ca.public_bytes(pem))
    return d


def _context(trust_pem: str | None):
    import c2pa

    cfg = {"verify": {"verify_trust": bool(trust_pem)}}
    if trust_pem:
        cfg["trust"] = {"trust_anchors": trust_pem}
    return c2pa.Context.from_dict(cfg)


def sign_video(source: str, dest: str, *, parent_path: str, parent_sha256: str, actions: list[dict],
               title: str = "redacted copy", directory: Path | None = None) -> dict:
    """Write ``source`` + a signed manifest to ``dest`` (MP4). Returns the manifest definition."""
    import c2pa

    d = ensure_chain(directory)
    manifest = {
        "claim_generator_info": [CLAIM_GENERATOR],
        "title": title,
        "format": "video/mp4",
        "assertions": [
            {"label": "c2pa.actions.v2", "data": {"actions": [
                {"action": "c2pa.opened", "parameters": {"ingredientIds": ["original"]}},
                *actions,
            ]}},
        ],
    }
    signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(
        c2pa.C2paSigningAlg.ES256, (d / "signer.pem").read_bytes(), (d / "signer.key").read_bytes(), None))
    with c2pa.Builder(manifest) as builder:
        with open(parent_path, "rb") as parent:
            builder.add_ingredient({"title": f"original sha256:{parent_sha256}", "relationship": "parentOf",
                                    "format": "video/mp4", "label": "original",
                                    "instance_id": f"sha256:{parent_sha256}"}, "video/mp4", parent)
        with open(source, "rb") as src, open(dest, "w+b") as out:
            builder.sign(signer, "video/mp4", src, out)
    signer.close()
    return manifest


class Invalid(BodycamError):
    """The file has no manifest, or it does not validate."""

    status = 400


def verify(path_or_bytes, *, trust_pem: str | None = None) -> dict:
    """Validate the file's C2PA manifest; return a summary or raise Invalid.

    Trust: ``trust_pem`` (a CA bundle) or, by default, this installation's CA."""
    import c2pa

    if trust_pem is None:
        ca = chain_dir() / "ca.pem"
        trust_pem = ca.read_text() if ca.exists() else None
    data = path_or_bytes if isinstance(path_or_bytes, (bytes, bytearray)) else Path(path_or_bytes).read_bytes()
    try:
        ctx = _context(trust_pem)
        with c2pa.Reader("video/mp4", io.BytesIO(bytes(data)), context=ctx) as reader:
            store = json.loads(reader.json())
            state = reader.get_validation_state()
    except Exception as exc:  # noqa: BLE001 - every reader failure means "does not validate"
        raise Invalid(f"no valid C2PA manifest: {exc}") from None
    status = store.get("validation_status") or []
    errors = [s for s in status if not str(s.get("code", "")).endswith((".trusted", ".validated", ".match"))
              and s.get("code") not in ("signingCredential.trusted",)]
    if state not in ("Valid", "Trusted") or errors:
        raise Invalid(f"manifest does not validate ({state}): "
                      + "; ".join(f"{s.get('code')}: {s.get('explanation', '')}" for s in errors)[:500])
    active = store["manifests"][store["active_manifest"]]
    actions = []
    for a in active.get("assertions", []):
        if a.get("label", "").startswith("c2pa.actions"):
            actions += a["data"].get("actions", [])
    return {"state": state, "title": active.get("title"), "signer": (active.get("signature_info") or {}).get("issuer"),
            "ingredients": [i.get("title") for i in active.get("ingredients", [])],
            "actions": actions}
