"""Subjects: encrypted at rest (the canary test), found by blind index, read back decrypted."""

from __future__ import annotations

import datetime
import random
import subprocess
import uuid
from pathlib import Path

import pytest

from matching import db
from matching.config import Settings
from matching.errors import InvalidInput, NotFound, SubjectErased
from matching.keyring import load_keyring
from matching.subjects import (
    create_subject,
    find_all_by_email,
    find_by_email,
    read_subject,
    touch,
)
from matching.tables import Subject
from matching.vault import Vault

PG_DUMP = "/usr/bin/pg_dump"


@pytest.fixture
async def vault(database: object, settings: Settings) -> Vault:
    vault = Vault(load_keyring(settings))
    await vault.ensure_secrets()
    return vault


def canaries() -> tuple[str, str, str, list[bytes]]:
    tag = uuid.uuid4().hex
    digits = "".join(random.choice("0123456789") for _ in range(9))
    name = f"Canaryname Q{tag[:12]}"
    email = f"Canary.{tag[12:24]}@Canary-{tag[24:]}.example"
    phone = f"+31 6{digits}"
    needles = [name, email, email.casefold(), phone, tag[:12], tag[12:24], tag[24:], digits]
    return name, email, phone, [n.encode("utf-8") for n in needles]


async def test_canary_values_never_reach_the_database_in_plain_text(
    vault: Vault, database_url: str
) -> None:
    name, email, phone, needles = canaries()
    sid = await create_subject(vault, "candidate", name=name, email=email, phone=phone)
    record = await read_subject(vault, sid)
    assert (record.name, record.email, record.phone) == (name, email, phone)
    index = vault.email_index(email).encode()

    if database_url.startswith("sqlite:"):
        path = db.sqlite_path(database_url)
        files = [Path(f"{path}{suffix}") for suffix in ("", "-wal", "-shm")]
        raw = b"".join(f.read_bytes() for f in files if f.exists())
        assert index in raw, "the subject row must be in the files we scanned"
        found = [n for n in needles if n in raw]
    else:
        if not Path(PG_DUMP).exists():
            pytest.skip("pg_dump is not installed")
        dump = subprocess.run(
            [PG_DUMP, "--no-owner", f"--dbname={database_url}"],
            capture_output=True,
            check=True,
            timeout=60,
        ).stdout
        assert index in dump, "the subject row must be in the dump"
        found = [n for n in needles if n in dump]
    assert found == []


@pytest.mark.parametrize(
    "variant", ["anna@example.org", " Anna@Example.ORG", "ANNA@EXAMPLE.ORG \t"]
)
async def test_find_by_email_ignores_case_and_whitespace(vault: Vault, variant: str) -> None:
    sid = await create_subject(vault, "candidate", name="Anna", email="anna@Example.org")
    await create_subject(vault, "coach", name="Other", email="other@example.org")
    assert await find_by_email(vault, variant) == sid
    assert await find_by_email(vault, "nobody@example.org") is None
    row = (await Subject.select(Subject.email_index).where(Subject.id == sid))[0]
    assert row["email_index"] == vault.email_index(variant)


async def test_find_all_by_email_and_kind(vault: Vault) -> None:
    candidate = await create_subject(vault, "candidate", name="A", email="a@example.org")
    coach = await create_subject(vault, "coach", name="A", email="A@example.org")
    assert set(await find_all_by_email(vault, "a@example.org")) == {candidate, coach}
    assert await find_by_email(vault, "a@example.org", kind="coach") == coach


async def test_read_subject_decrypts_and_hides_personal_fields_in_repr(vault: Vault) -> None:
    sid = await create_subject(vault, "coach", name=" Jan Jansen ", email="jan@example.org")
    record = await read_subject(vault, sid)
    assert (record.id, record.kind, record.name, record.email, record.phone) == (
        sid,
        "coach",
        "Jan Jansen",
        "jan@example.org",
        None,
    )
    assert "Jan" not in repr(record) and "jan@" not in repr(record)


async def test_read_after_shred_or_for_unknown_subject(vault: Vault) -> None:
    sid = await create_subject(vault, "candidate", name="Anna", email="anna@example.org")
    async with db.write_transaction():
        await vault.shred(sid)
    with pytest.raises(SubjectErased):
        await read_subject(vault, sid)
    with pytest.raises(NotFound):
        await read_subject(vault, uuid.uuid4())


async def test_touch_moves_last_active_forward(vault: Vault) -> None:
    sid = await create_subject(vault, "candidate", name="Anna", email="anna@example.org")
    old = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
    await Subject.update({Subject.last_active_at: old}).where(Subject.id == sid)
    await touch(sid)
    record = await read_subject(vault, sid)
    assert record.last_active_at > old + datetime.timedelta(days=365)


@pytest.mark.parametrize(
    ("kind", "name", "email", "phone", "message"),
    [
        ("visitor", "A", "a@b.nl", None, "kind"),
        ("candidate", "  ", "a@b.nl", None, "name"),
        ("candidate", "A", "not-an-address", None, "e-mail"),
        ("candidate", "A", "a b@c.nl", None, "e-mail"),
        ("candidate", "A", "a@b.nl", "9" * 400, "phone"),
    ],
)
async def test_bad_input_is_a_clear_error_without_the_value(
    vault: Vault, kind: str, name: str, email: str, phone: str | None, message: str
) -> None:
    with pytest.raises(InvalidInput, match=message) as caught:
        await create_subject(vault, kind, name=name, email=email, phone=phone)
    assert email not in str(caught.value)
    assert await Subject.count() == 0


async def test_failed_creation_leaves_nothing_behind(vault: Vault) -> None:
    from matching.tables import SubjectKey

    sid = await create_subject(vault, "candidate", name="A", email="a@b.nl")
    await Subject.delete().where(Subject.id == sid)
    count_before = await SubjectKey.count()

    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        async with db.write_transaction():
            await create_subject(vault, "candidate", name="B", email="b@b.nl")
            raise Boom
    assert await SubjectKey.count() == count_before
    assert await Subject.count() == 0
