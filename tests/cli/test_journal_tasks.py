"""`kiosk journal tasks`: staff see what they must do at the station, and mark it done with a note."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from kiosk.cli import main
from kiosk.core import TaskKind
from kiosk.journal import Journal

AT = datetime(2026, 12, 1, 9, 30)


def test_staff_tasks_are_listed_and_marked_done_with_a_note(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "journal.sqlite3"
    journal = Journal(path)
    journal.add_task(TaskKind.SECURITY_UNFINISHED, "03011000000123", "wanted 0xC2 (on loan)", AT)
    journal.add_task(TaskKind.READER_DEAD, "", "the RFID reader does not answer: unplugged", AT)
    journal.close()
    assert main(["journal", "tasks", "--journal", str(path)]) == 0
    out = capsys.readouterr().out
    assert "security_unfinished" in out and "03011000000123" in out and "wanted 0xC2" in out
    assert "reader_dead" in out and "2 task(s)" in out
    assert main(["journal", "tasks", "--journal", str(path), "done", "1", "--note", "tag rewritten"]) == 0
    assert "task 1 done (tag rewritten)" in capsys.readouterr().out
    assert main(["journal", "tasks", "--journal", str(path), "done", "1", "--note", "again"]) == 1
    assert "no open staff task 1" in capsys.readouterr().err
    main(["journal", "tasks", "--journal", str(path)])
    assert "03011000000123" not in capsys.readouterr().out
    main(["journal", "tasks", "--journal", str(path), "--all", "--json"])
    assert capsys.readouterr().out.count('"kind"') == 2
