"""The master key: generated once with mode 0600, loaded from file or environment, checked."""

from __future__ import annotations

import base64
import os
import stat
import threading
from pathlib import Path

import pytest

from anonymiser.crypto import kek_id
from matching.config import Settings
from matching.errors import ConfigurationError
from matching.keyring import load_keyring, publish_key_file, read_key_file
from tests.conftest import make_settings


def key_b64(byte: int = 7) -> str:
    return base64.b64encode(bytes([byte]) * 32).decode()


def write(path: Path, content: bytes, mode: int = 0o600) -> None:
    path.write_bytes(content)
    path.chmod(mode)


def test_fresh_install_generates_a_private_key_file(data_dir: Path) -> None:
    settings = make_settings(data_dir)
    keyring = load_keyring(settings)
    path = data_dir / "master.key"
    assert keyring.path == path and keyring.source == "file"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    key = base64.b64decode(path.read_text().strip(), validate=True)
    assert len(key) == 32 and keyring.current.kek_id == kek_id(key)
    assert load_keyring(settings).current.kek_id == keyring.current.kek_id  # not regenerated
    assert [p.name for p in data_dir.iterdir()] == ["master.key"]  # no temporary left


def test_key_file_in_a_missing_folder_is_created(tmp_path: Path) -> None:
    path = tmp_path / "secrets" / "deep" / "master.key"
    keyring = load_keyring(make_settings(tmp_path / "data", master_key_file=path))
    assert path.exists() and keyring.path == path
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_concurrent_first_starts_agree_on_one_key(data_dir: Path) -> None:
    path = data_dir / "master.key"
    barrier = threading.Barrier(8)

    def publish(i: int) -> None:
        barrier.wait()
        publish_key_file(path, bytes([i]) * 32)

    threads = [threading.Thread(target=publish, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(read_key_file(path)) == 32
    assert [p.name for p in data_dir.iterdir()] == ["master.key"]


def test_environment_key_wins_and_writes_no_file(data_dir: Path) -> None:
    keyring = load_keyring(make_settings(data_dir, master_key_b64=key_b64()))
    assert keyring.source == "environment" and keyring.path is None
    assert keyring.current.kek_id == kek_id(bytes([7]) * 32)
    assert not (data_dir / "master.key").exists()


def test_environment_key_is_validated_by_settings(data_dir: Path) -> None:
    with pytest.raises(ConfigurationError, match="COACHMATCH_MASTER_KEY must hold 32 bytes"):
        Settings.from_environ(
            {
                "COACHMATCH_DATA_DIR": str(data_dir),
                "COACHMATCH_MASTER_KEY": base64.b64encode(b"x" * 16).decode(),
            }
        )


@pytest.mark.parametrize(
    ("content", "mode", "message"),
    [
        (b"not base64 at all!!\n", 0o600, "is not valid base64"),
        (base64.b64encode(b"k" * 16) + b"\n", 0o600, "must hold 32 bytes, not 16"),
        (b"\xff\xfe\x00garbage", 0o600, "is not valid base64"),
        (b"", 0o600, "must hold 32 bytes, not 0"),
        (b"A" * 5000, 0o600, "too long"),
        (key_b64().encode(), 0o644, r"accessible to group or others \(mode 0644\)"),
        (key_b64().encode(), 0o640, r"mode 0640\); run: chmod 600"),
        (key_b64().encode(), 0o602, "accessible to group or others"),
    ],
)
def test_bad_key_file_is_a_one_line_error_without_key_material(
    data_dir: Path, content: bytes, mode: int, message: str
) -> None:
    path = data_dir / "master.key"
    write(path, content, mode)
    with pytest.raises(ConfigurationError, match=message) as caught:
        load_keyring(make_settings(data_dir))
    text = str(caught.value)
    assert "\n" not in text and str(path) in text
    assert key_b64() not in text
    if content.strip():
        assert content.decode("latin-1").strip()[:12] not in text


def test_key_file_that_is_a_folder(data_dir: Path) -> None:
    (data_dir / "master.key").mkdir()
    with pytest.raises(ConfigurationError, match="not a regular file"):
        load_keyring(make_settings(data_dir))


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file")
def test_unreadable_key_file(data_dir: Path) -> None:
    write(data_dir / "master.key", key_b64().encode(), 0o000)
    with pytest.raises(ConfigurationError, match="cannot read the master key file"):
        load_keyring(make_settings(data_dir))


def test_next_key_is_loaded_and_noticed_later(data_dir: Path) -> None:
    settings = make_settings(data_dir)
    keyring = load_keyring(settings)
    assert keyring.next is None
    write(data_dir / "master.key.next", key_b64(9).encode())
    next_id = kek_id(bytes([9]) * 32)
    assert keyring.get(next_id) is not None  # re-read on a miss
    assert keyring.next is not None and keyring.next.kek_id == next_id
    assert load_keyring(settings).next is not None
    assert keyring.get("0" * 16) is None


def test_bad_next_file_is_reported(data_dir: Path) -> None:
    load_keyring(make_settings(data_dir))
    write(data_dir / "master.key.next", b"zzz", 0o600)
    with pytest.raises(ConfigurationError, match=r"master.key.next is not valid base64"):
        load_keyring(make_settings(data_dir))


def test_key_file_that_cannot_be_created(data_dir: Path) -> None:
    (data_dir / "plain-file").write_text("x")
    path = data_dir / "plain-file" / "master.key"
    with pytest.raises(ConfigurationError, match="cannot create the master key file"):
        load_keyring(make_settings(data_dir, master_key_file=path))
