"""The DER notAfter reader against cryptography's reading of the same certificates."""

from __future__ import annotations

import datetime

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from hypothesis import given, settings
from hypothesis import strategies as st

from exporter.probes.certificate import not_after

UTC = datetime.timezone.utc


def certificate_der(not_valid_after: datetime.datetime) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "lpse.test")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(datetime.datetime(2020, 1, 1, tzinfo=UTC)).not_valid_after(not_valid_after)
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.DER)


def test_reads_what_cryptography_reads_from_a_served_certificate():
    pem = trustme.CA().issue_cert("lpse.test").cert_chain_pems[0].bytes()
    cert = x509.load_pem_x509_certificate(pem)
    assert not_after(cert.public_bytes(serialization.Encoding.DER)) == cert.not_valid_after_utc.timestamp()


@pytest.mark.parametrize("when", [
    datetime.datetime(2027, 3, 4, 5, 6, 7, tzinfo=UTC),  # UTCTime
    datetime.datetime(2049, 12, 31, 23, 59, 59, tzinfo=UTC),  # UTCTime's last year
    datetime.datetime(2050, 1, 1, tzinfo=UTC),  # GeneralizedTime from 2050 on
    datetime.datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC),  # RFC 5280's "no well-defined expiration"
])
def test_reads_both_time_forms(when):
    der = certificate_der(when)
    assert not_after(der) == when.timestamp()
    assert x509.load_der_x509_certificate(der).not_valid_after_utc == when


@pytest.mark.parametrize("der", [b"", b"\x30", b"\x30\x82\xff\xff\x30", b"\x02\x01\x00", b"not a certificate"])
def test_refuses_what_is_no_certificate(der):
    with pytest.raises(ValueError):
        not_after(der)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_a_damaged_certificate_is_a_value_error_or_still_the_same_time(data):
    """Truncated or with one byte changed: never another exception (the probe catches ValueError only)."""
    when = datetime.datetime(2031, 5, 6, 7, 8, 9, tzinfo=UTC)
    der = bytearray(DER_2031)
    if data.draw(st.booleans()):
        der = der[:data.draw(st.integers(0, len(der) - 1))]
    else:
        der[data.draw(st.integers(0, len(der) - 1))] = data.draw(st.integers(0, 255))
    try:
        expiry = not_after(bytes(der))
    except ValueError:
        return
    assert isinstance(expiry, float)
    if bytes(der) == DER_2031:  # the byte drawn was the one already there
        assert expiry == when.timestamp()


DER_2031 = certificate_der(datetime.datetime(2031, 5, 6, 7, 8, 9, tzinfo=UTC))
