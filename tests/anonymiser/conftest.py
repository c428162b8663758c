"""Fixtures of the text-anonymiser tests: deduce's lookup cache is built once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from anonymiser.text import Anonymiser


@pytest.fixture(scope="session")
def text_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("anonymiser-cache")


@pytest.fixture(scope="session")
def anonymiser(text_cache_dir: Path) -> Anonymiser:
    return Anonymiser.load(text_cache_dir)
