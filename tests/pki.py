"""A CA and certificates made at test time, for the TLS and mTLS tests (the `pki` fixture)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _key() -> Any:
    from cryptography.hazmat.primitives.asymmetric import ec

    return ec.generate_private_key(ec.SECP256R1())


def _write_pem(path: Path, key: Any, cert: Any) -> None:
    from cryptography.hazmat.primitives import serialization

    path.with_suffix(".pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    path.with_suffix(".key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def _certificate(
    subject: str, key: Any, issuer: tuple[str, Any] | None, *, ca: bool, server: bool = False
) -> Any:
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = dt.datetime.now(dt.UTC)
    issuer_name, issuer_key = issuer if issuer else (subject, key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_name)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        ).add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    elif not ca:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
    return builder.sign(issuer_key, hashes.SHA256())


def make_pki(root: Path) -> dict[str, Path]:
    """A CA, a server certificate for 127.0.0.1/localhost, a client certificate, and a
    second ("wrong") CA with its own server and client certificates, as PEM files."""
    root.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}
    for prefix in ("", "wrong_"):
        ca_key = _key()
        ca_name = f"textlens test {prefix or 'good_'}ca"
        ca_cert = _certificate(ca_name, ca_key, None, ca=True)
        _write_pem(root / f"{prefix}ca", ca_key, ca_cert)
        for role in ("server", "client"):
            key = _key()
            cert = _certificate(
                f"{prefix}{role}", key, (ca_name, ca_key), ca=False, server=role == "server"
            )
            _write_pem(root / f"{prefix}{role}", key, cert)
            out[f"{prefix}{role}_cert"] = root / f"{prefix}{role}.pem"
            out[f"{prefix}{role}_key"] = root / f"{prefix}{role}.key"
        out[f"{prefix}ca"] = root / f"{prefix}ca.pem"
    return out
