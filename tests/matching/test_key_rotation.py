"""Master-key rotation: data stays readable, re-runs are safe, a crash half-way is finished."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from anonymiser.crypto import KeyWrapper, generate_data_key
from matching.config import Settings
from matching.errors import ConfigurationError, IntegrityFailure
from matching.key_rotation import (
    ENVIRONMENT_KEY_MESSAGE,
    rewrap_batch,
    rewrap_secrets,
    rotate_master_key,
)
from matching.keyring import Keyring, load_keyring
from matching.subjects import create_subject, find_by_email, read_subject
from matching.tables import SubjectKey, VaultSecret
from matching.vault import FENCE, SECRET_NAMES, Vault
from tests.conftest import make_settings

ROOT = Path(__file__).resolve().parents[2]


async def open_vault(settings: Settings) -> Vault:
    vault = Vault(load_keyring(settings))
    await vault.ensure_secrets()
    return vault


async def make_subjects(vault: Vault, count: int) -> dict[uuid.UUID, str]:
    people = {}
    for i in range(count):
        email = f"person{i}@example.org"
        people[await create_subject(vault, "candidate", name=f"Person {i}", email=email)] = email
    return people


async def assert_all_readable(settings: Settings, people: dict[uuid.UUID, str]) -> None:
    """Read everything through a brand-new vault, as a restarted process would."""
    vault = await open_vault(settings)
    for sid, email in people.items():
        record = await read_subject(vault, sid)
        assert record.email == email
        assert await find_by_email(vault, email.upper()) == sid


async def kek_ids() -> set[str]:
    keys = {r["kek_id"] for r in await SubjectKey.select(SubjectKey.kek_id)}
    return keys | {r["kek_id"] for r in await VaultSecret.select(VaultSecret.kek_id)}


async def test_rotation_rewraps_everything_and_keeps_data_readable(
    database: object, settings: Settings
) -> None:
    vault = await open_vault(settings)
    people = await make_subjects(vault, 7)
    old_file = settings.effective_master_key_file.read_bytes()
    report = await rotate_master_key(vault.keyring, batch_size=3)
    assert report.old_kek_id != report.new_kek_id and not report.resumed
    assert (report.rewrapped_keys, report.rewrapped_secrets) == (7, len(SECRET_NAMES))
    assert await kek_ids() == {report.new_kek_id}
    assert settings.effective_master_key_file.read_bytes() != old_file
    assert not vault.keyring.next_path.exists()
    assert vault.keyring.current.kek_id == report.new_kek_id
    assert oct(settings.effective_master_key_file.stat().st_mode & 0o777) == "0o600"
    await assert_all_readable(settings, people)
    vault.cache.clear()  # the running vault reads through its (now rotated) keyring too
    assert (await read_subject(vault, next(iter(people)))).name.startswith("Person")


async def test_rotation_twice_is_fine(database: object, settings: Settings) -> None:
    vault = await open_vault(settings)
    people = await make_subjects(vault, 3)
    first = await rotate_master_key(vault.keyring)
    second = await rotate_master_key(load_keyring(settings))
    assert second.old_kek_id == first.new_kek_id != second.new_kek_id
    assert second.rewrapped_keys == 3
    assert await kek_ids() == {second.new_kek_id}
    await assert_all_readable(settings, people)


async def test_crash_half_way_then_rerun_finishes(database: object, settings: Settings) -> None:
    vault = await open_vault(settings)
    people = await make_subjects(vault, 6)
    old_kek = vault.keyring.current.kek_id

    # The interrupted run: next key written, secrets and one batch of two re-wrapped.
    keyring = load_keyring(settings)
    target, resumed = keyring.begin_rotation()
    assert not resumed
    await rewrap_secrets(keyring, target)
    batch = await rewrap_batch(keyring, target, after=None, batch_size=2)
    assert batch.rewrapped == 2
    del keyring  # ...and the process dies here.

    assert keyring_files(settings) == {"master.key", "master.key.next"}
    assert await kek_ids() == {old_kek, target.kek_id}
    await assert_all_readable(settings, people)  # mixed state: everything still readable

    # While interrupted, new data keys are already wrapped by the next key (the fence).
    late = await create_subject(await open_vault(settings), "coach", name="L", email="l@x.nl")
    row = (await SubjectKey.select(SubjectKey.kek_id).where(SubjectKey.subject_id == late))[0]
    assert row["kek_id"] == target.kek_id
    people[late] = "l@x.nl"

    report = await rotate_master_key(load_keyring(settings))
    assert report.resumed and report.new_kek_id == target.kek_id and report.old_kek_id == old_kek
    assert report.rewrapped_keys == 4 and report.rewrapped_secrets == 0
    assert keyring_files(settings) == {"master.key"}
    assert await kek_ids() == {target.kek_id}
    await assert_all_readable(settings, people)


async def test_crash_right_after_writing_the_next_key(database: object, settings: Settings) -> None:
    vault = await open_vault(settings)
    people = await make_subjects(vault, 2)
    target, _ = load_keyring(settings).begin_rotation()
    report = await rotate_master_key(load_keyring(settings))
    assert report.resumed and report.new_kek_id == target.kek_id
    assert report.rewrapped_keys == 2 and report.rewrapped_secrets == len(SECRET_NAMES)
    await assert_all_readable(settings, people)


async def test_subjects_created_during_a_rotation_stay_readable(
    database: object, settings: Settings
) -> None:
    people = await make_subjects(await open_vault(settings), 12)
    other_process = await open_vault(settings)  # loaded before the rotation starts

    async def create_while_rotating() -> None:
        for i in range(8):
            email = f"late{i}@example.org"
            people[await create_subject(other_process, "coach", name="L", email=email)] = email
            await asyncio.sleep(0)

    rotation = asyncio.ensure_future(rotate_master_key(load_keyring(settings), batch_size=2))
    await asyncio.gather(create_while_rotating(), rotation)
    assert await kek_ids() == {rotation.result().new_kek_id}
    await assert_all_readable(settings, people)
    other_process.cache.clear()
    for sid in people:
        await read_subject(other_process, sid)  # re-reads the key files on its own


async def test_unreadable_key_row_stops_the_rotation_before_the_old_key_goes(
    database: object, settings: Settings
) -> None:
    vault = await open_vault(settings)
    await make_subjects(vault, 2)
    stranger = KeyWrapper(generate_data_key())
    await SubjectKey.insert(
        SubjectKey(
            subject_id=uuid.uuid4(),
            kek_id=stranger.kek_id,
            wrapped=stranger.wrap(generate_data_key(), kind=b"dek", owner=b"x"),
        )
    )
    before = settings.effective_master_key_file.read_bytes()
    with pytest.raises(IntegrityFailure, match="1 wrapped keys could not be re-wrapped"):
        await rotate_master_key(load_keyring(settings))
    assert settings.effective_master_key_file.read_bytes() == before
    assert keyring_files(settings) == {"master.key", "master.key.next"}


async def test_environment_key_cannot_be_rotated(database: object, data_dir: Path) -> None:
    key = base64.b64encode(generate_data_key()).decode()
    settings = make_settings(data_dir, master_key_b64=key)
    with pytest.raises(ConfigurationError, match="COACHMATCH_MASTER_KEY_FILE"):
        await rotate_master_key(load_keyring(settings))


async def test_one_rotation_at_a_time(database: object, settings: Settings) -> None:
    vault = await open_vault(settings)
    with (
        vault.keyring.rotation_lock(),
        pytest.raises(ConfigurationError, match="another key rotation"),
    ):
        await rotate_master_key(load_keyring(settings))


async def test_fence_names_the_wrapping_key(database: object, settings: Settings) -> None:
    vault = await open_vault(settings)
    fence = (await VaultSecret.select().where(VaultSecret.name == FENCE))[0]
    assert fence["kek_id"] == vault.keyring.current.kek_id


def keyring_files(settings: Settings) -> set[str]:
    folder = settings.effective_master_key_file.parent
    return {p.name for p in folder.iterdir() if p.name.startswith("master.key")} - {
        "master.key.lock"
    }


# -- the command line ---------------------------------------------------------------


def cli(
    data_dir: Path, database_url: str, *args: str, **env: str
) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("COACHMATCH_")}
    environ |= {"COACHMATCH_DATA_DIR": str(data_dir), "COACHMATCH_DATABASE_URL": database_url}
    environ |= env
    return subprocess.run(
        [sys.executable, "-m", "web.cli", *args],
        capture_output=True,
        text=True,
        env=environ,
        cwd=ROOT,
        timeout=120,
        check=False,
    )


@pytest.mark.slow
async def test_cli_rotates_and_prints_json(
    database: object, settings: Settings, database_url: str
) -> None:
    vault = await open_vault(settings)
    people = await make_subjects(vault, 3)
    result = cli(settings.data_dir, database_url, "keys", "rotate", "--json")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1
    summary = json.loads(lines[0])
    assert summary["rewrapped_keys"] == 3 and summary["resumed"] is False
    assert summary["duration_seconds"] >= 0
    assert summary["old_kek_id"] == vault.keyring.current.kek_id != summary["new_kek_id"]
    await assert_all_readable(settings, people)
    text = cli(settings.data_dir, database_url, "keys", "rotate")
    assert text.returncode == 0 and "re-wrapped 3 data keys" in text.stdout


def test_cli_refuses_an_environment_key_in_one_line(data_dir: Path) -> None:
    key = base64.b64encode(generate_data_key()).decode()
    url = f"sqlite:///{data_dir / 'x.sqlite3'}"
    result = cli(data_dir, url, "keys", "rotate", COACHMATCH_MASTER_KEY=key)
    assert result.returncode == 1
    assert result.stderr == f"coachmatch: {ENVIRONMENT_KEY_MESSAGE}\n"
    assert key not in result.stderr


def test_cli_rejects_a_bad_batch_size(data_dir: Path) -> None:
    result = cli(
        data_dir, f"sqlite:///{data_dir / 'x.sqlite3'}", "keys", "rotate", "--batch-size", "0"
    )
    assert result.returncode == 2 and "--batch-size" in result.stderr


def test_keyring_from_environment_has_no_files() -> None:
    keyring = Keyring(KeyWrapper(generate_data_key()))
    with pytest.raises(ConfigurationError, match="COACHMATCH_MASTER_KEY"):
        _ = keyring.next_path
