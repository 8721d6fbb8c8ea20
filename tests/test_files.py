"""The station's small files are written whole or not at all, owner-only, also with two writers at once."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from kiosk.files import write_atomically


def test_two_writers_at_once_neither_fails_and_the_file_is_one_of_theirs(tmp_path: Path) -> None:
    path = tmp_path / "hour-counts.json"
    errors: list[BaseException] = []

    def writer(text: str) -> None:
        try:
            for _ in range(200):
                write_atomically(path, text)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(text,)) for text in ("a" * 5000, "b" * 5000)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert path.read_text() in ("a" * 5000, "b" * 5000)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left behind


def test_the_file_is_owner_only_from_the_start_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        write_atomically(tmp_path / "offline-data.json", b"{}")
        write_atomically(tmp_path / "state.json", "{}", mode=0o644)
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "offline-data.json").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "state.json").stat().st_mode) == 0o644


def test_a_write_that_fails_keeps_the_old_file_and_leaves_no_part(tmp_path: Path) -> None:
    path = tmp_path / "central-config.json"
    write_atomically(path, "old")
    with pytest.raises(TypeError):
        write_atomically(path, 42)  # type: ignore[arg-type]
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == [path.name]
