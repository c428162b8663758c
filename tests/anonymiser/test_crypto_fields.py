"""Field encryption: round trips, and every move or tamper fails with one generic error."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from anonymiser.crypto import (
    FORMAT_VERSION,
    DecryptionError,
    FieldCipher,
    field_aad,
    generate_data_key,
)

KEY = generate_data_key()
CIPHER = FieldCipher(KEY)
ROW = uuid.UUID("6f1c2c52-1f5e-4a5c-9a0e-3f1f5b8f2a11")

names = st.text(st.characters(codec="utf-8"), min_size=1, max_size=30)
row_ids = st.uuids() | st.text(max_size=40)
versions = st.integers(min_value=1, max_value=2**32 - 1)


@given(value=st.binary(max_size=2000), table=names, column=names, row=row_ids, version=versions)
def test_bytes_round_trip(
    value: bytes, table: str, column: str, row: uuid.UUID | str, version: int
) -> None:
    aad = field_aad(table, column, row, version)
    blob = CIPHER.encrypt(value, aad)
    assert blob[0] == FORMAT_VERSION
    assert len(blob) == 1 + 12 + len(value) + 16
    assert CIPHER.decrypt(blob, field_aad(table, column, row, version)) == value


@given(value=st.text(max_size=500))
def test_text_round_trip(value: str) -> None:
    aad = field_aad("data_subject", "name", ROW, 1)
    assert CIPHER.decrypt_text(CIPHER.encrypt_text(value, aad), aad) == value


def test_same_value_encrypts_differently_each_time() -> None:
    aad = field_aad("data_subject", "name", ROW, 1)
    blobs = {CIPHER.encrypt(b"same", aad) for _ in range(100)}
    assert len(blobs) == 100


@pytest.mark.parametrize(
    "where",
    [
        ("data_subject", "name", uuid.uuid4(), 1),  # another row
        ("data_subject", "email", ROW, 1),  # another column
        ("coach", "name", ROW, 1),  # another table
        ("data_subject", "name", ROW, 2),  # another key version
        ("data_subject", "name", str(uuid.uuid4()), 1),  # another row, given as text
    ],
)
def test_moved_ciphertext_fails_generically(where: tuple[str, str, uuid.UUID | str, int]) -> None:
    blob = CIPHER.encrypt(b"Anna de Vries", field_aad("data_subject", "name", ROW, 1))
    with pytest.raises(DecryptionError) as caught:
        CIPHER.decrypt(blob, field_aad(*where))
    assert str(caught.value) == "the value could not be decrypted"
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_other_key_fails() -> None:
    aad = field_aad("data_subject", "name", ROW, 1)
    with pytest.raises(DecryptionError):
        FieldCipher(generate_data_key()).decrypt(CIPHER.encrypt(b"x", aad), aad)


@given(value=st.binary(max_size=200), data=st.data())
def test_any_bit_flip_fails(value: bytes, data: st.DataObject) -> None:
    aad = field_aad("data_subject", "email", ROW, 1)
    blob = bytearray(CIPHER.encrypt(value, aad))
    position = data.draw(st.integers(min_value=0, max_value=len(blob) * 8 - 1))
    blob[position // 8] ^= 1 << (position % 8)
    with pytest.raises(DecryptionError):
        CIPHER.decrypt(bytes(blob), aad)


@pytest.mark.parametrize("cut", [0, 1, 13, 28, -1])
def test_truncated_or_extended_fails(cut: int) -> None:
    aad = field_aad("data_subject", "email", ROW, 1)
    blob = CIPHER.encrypt(b"anna@example.org", aad)
    with pytest.raises(DecryptionError):
        CIPHER.decrypt(blob[:cut], aad)
    with pytest.raises(DecryptionError):
        CIPHER.decrypt(blob + b"\x00", aad)


def test_invalid_utf8_is_the_same_generic_error() -> None:
    aad = field_aad("data_subject", "email", ROW, 1)
    with pytest.raises(DecryptionError):
        CIPHER.decrypt_text(CIPHER.encrypt(b"\xff\xfe", aad), aad)


def test_aad_binds_uuid_the_same_as_text_or_object() -> None:
    assert field_aad("t", "c", ROW, 1) == field_aad("t", "c", str(ROW), 1)
    assert field_aad("t", "c", ROW, 1) == field_aad("t", "c", str(ROW).upper(), 1)
    assert field_aad("t", "c", ROW, 1).endswith(ROW.bytes)


@given(a=st.tuples(names, names, row_ids, versions), b=st.tuples(names, names, row_ids, versions))
def test_aad_is_injective(
    a: tuple[str, str, uuid.UUID | str, int], b: tuple[str, str, uuid.UUID | str, int]
) -> None:
    def canonical(t: tuple[str, str, uuid.UUID | str, int]) -> tuple[str, str, str, int]:
        row = t[2]
        if isinstance(row, str):
            try:
                return (t[0], t[1], "uuid:" + str(uuid.UUID(row)), t[3])
            except ValueError:
                return (t[0], t[1], "text:" + row, t[3])
        return (t[0], t[1], "uuid:" + str(row), t[3])

    assert (field_aad(*a) == field_aad(*b)) == (canonical(a) == canonical(b))


def test_aad_holds_no_value_and_is_unambiguous() -> None:
    assert field_aad("ab", "c", "x", 1) != field_aad("a", "bc", "x", 1)
    assert field_aad("a", "b", "c", 1) != field_aad("a", "b", "c", 256)


@pytest.mark.parametrize(
    "args", [("", "c", ROW, 1), ("t", "", ROW, 1), ("t", "c", ROW, 0), ("t", "c", ROW, 2**32)]
)
def test_aad_rejects_bad_names_and_versions(args: tuple[str, str, uuid.UUID, int]) -> None:
    with pytest.raises(ValueError, match=r"named|range"):
        field_aad(*args)


def test_cipher_rejects_short_keys_and_hides_key_in_repr() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        FieldCipher(b"short")
    assert KEY.hex() not in repr(CIPHER)
