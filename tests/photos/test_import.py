"""`opcert photos import`: bulk loading real photos from a CSV or a folder, refusals with reasons, re-runs."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from PIL import Image

from opcert.audit.models import AuditEvent
from photos import engine, importer, storage
from photos.models import Photo, PhotoSource
from photos.services import ReferenceCase, reference_status, subject_ref
from tests.factories import id_number

# Portraits of five people that pass every reference-photo check.
GOOD = (
    "identities/ageitgey__alex_lacamoire/1.jpg",
    "identities/ageitgey__rose_leslie/1.jpg",
    "identities/azure__f2_lady/1.jpg",
    "identities/openface__carell/1.jpg",
    "identities/facenet_pytorch__paul_rudd/1.jpg",
)
MULTI = "multi/ageitgey__kit_with_rose.jpg"
NOFACE = "noface/noface__coffee.jpg"


def person(n: int) -> str:
    """A valid ID number of its own for each n."""
    return id_number(dt.date(1985, 1, 1) + dt.timedelta(days=n))


def bad_check_digit(number: str) -> str:
    """The number with a wrong last character."""
    return number[:-1] + ("1" if number[-1] != "1" else "2")


def write_csv(path: Path, rows: list[tuple[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id_number", "path"])
        writer.writerows(rows)
    return path


@pytest.fixture
def source(tmp_path: Path, faces_dir: Path) -> dict[str, Any]:
    """A CSV of five good photos (one by a path relative to the CSV) and five that must be refused."""
    (tmp_path / "sub").mkdir()
    shutil.copy(faces_dir / GOOD[4], tmp_path / "sub" / "rudd.jpg")
    (tmp_path / "notes.jpg").write_text("这不是照片 / not a photo", encoding="utf-8")
    good = [(person(i), str(faces_dir / rel)) for i, rel in enumerate(GOOD[:4])]
    good.append((person(4), "sub/rudd.jpg"))
    refused = [
        (person(10), str(faces_dir / MULTI), "多张人脸"),
        (person(11), str(faces_dir / NOFACE), "未检测到人脸"),
        (person(12), "notes.jpg", "不是JPEG或PNG"),
        (bad_check_digit(person(13)), str(faces_dir / GOOD[0]), "校验位"),
        (person(14), str(tmp_path / "gone.jpg"), "文件不存在"),
    ]
    rows = good[:2] + [r[:2] for r in refused] + good[2:]
    return {"csv": write_csv(tmp_path / "photos.csv", rows), "good": good, "refused": refused, "rows": rows}


def run_import(runner: Any, source: Path, *extra: str) -> Any:
    return runner.invoke(args=["photos", "import", str(source), "--processes", "2", "--no-progress", *extra])


def label(csv_path: Path, rows: list[tuple[str, str]], row: tuple[str, str]) -> str:
    """How the summary names a CSV row: `file.csv:line path`."""
    return f"{csv_path.name}:{rows.index(row) + 2} {row[1]}"


def import_events(db: Any) -> list[dict[str, Any]]:
    query = sa.select(AuditEvent.details).where(AuditEvent.action == "photo.imported").order_by(AuditEvent.seq)
    return [json.loads(details) for details in db.session.execute(query).scalars()]


def test_csv_import_stores_the_good_photos_and_lists_every_refusal(runner, db, app, source) -> None:
    result = run_import(runner, source["csv"])

    assert result.exit_code == 0, result.output
    assert "imported: 5" in result.output
    assert "skipped (already imported): 0" in result.output
    assert "refused: 5" in result.output
    lines = result.output.splitlines()
    for number, path, reason in source["refused"]:
        name = label(source["csv"], source["rows"], (number, path))
        [line] = [line for line in lines if line.strip().startswith(name + ":")]
        assert reason in line

    photos = list(db.session.execute(sa.select(Photo)).scalars())
    assert len(photos) == 5
    storage_dir = Path(app.config["PHOTO_STORAGE_DIR"])
    for number, path in source["good"]:
        file = Path(path) if Path(path).is_absolute() else source["csv"].parent / path
        status = reference_status(number)
        assert status.case is ReferenceCase.LIBRARY
        photo = status.photo
        assert photo is not None
        assert photo.subject_ref == subject_ref(number)
        assert photo.source is PhotoSource.UNIFIED_LIBRARY
        assert photo.is_current
        assert photo.source_sha256 == hashlib.sha256(file.read_bytes()).hexdigest()
        assert photo.template is not None
        assert photo.template.model_name == engine.MODEL_NAME
        assert engine.from_bytes(photo.template.vector).shape == (128,)
        stored = storage.path_for(photo.storage_key)
        assert stored.is_relative_to(storage_dir)
        assert stored.read_bytes().startswith(b"\xff\xd8\xff")
        assert number not in str(stored)
        assert stored.name == f"{photo.storage_key}.jpg"
        assert len(photo.storage_key) == 32
    [event] = import_events(db)
    assert event == {"imported": 5, "skipped": 0, "refused": 5, "processes": 2, "outcome": "completed"}


def test_a_rerun_skips_what_is_done_and_reports_the_refusals_again(runner, db, source) -> None:
    assert run_import(runner, source["csv"]).exit_code == 0
    keys = set(db.session.execute(sa.select(Photo.storage_key)).scalars())

    again = run_import(runner, source["csv"])

    assert again.exit_code == 0, again.output
    assert "imported: 0" in again.output
    assert "skipped (already imported): 5" in again.output
    assert "refused: 5" in again.output
    assert set(db.session.execute(sa.select(Photo.storage_key)).scalars()) == keys
    assert [e["imported"] for e in import_events(db)] == [5, 0]


def test_a_run_cut_short_is_resumed(runner, db, source, tmp_path) -> None:
    first_part = write_csv(tmp_path / "first.csv", source["good"][:2])  # absolute paths, as in the full CSV
    assert "imported: 2" in run_import(runner, first_part).output

    rest = run_import(runner, source["csv"])

    assert "imported: 3" in rest.output
    assert "skipped (already imported): 2" in rest.output
    assert db.session.execute(sa.select(sa.func.count()).select_from(Photo)).scalar() == 5


def test_an_interrupted_run_keeps_its_committed_batches_and_no_stray_files(runner, db, source, monkeypatch) -> None:
    monkeypatch.setattr(importer, "BATCH_SIZE", 2)
    calls = 0
    real_add_photo = importer.add_photo

    def add_photo_then_ctrl_c(**kwargs: Any) -> Photo:
        nonlocal calls
        calls += 1
        if calls == 4:
            raise KeyboardInterrupt
        return real_add_photo(**kwargs)

    monkeypatch.setattr(importer, "add_photo", add_photo_then_ctrl_c)
    keys_before = storage.all_keys()

    result = run_import(runner, source["csv"])

    assert result.exit_code == 130
    assert "imported: 2" in result.output
    rows = set(db.session.execute(sa.select(Photo.storage_key)).scalars())
    assert len(rows) == 2
    assert storage.all_keys() - keys_before == rows
    assert import_events(db)[-1]["outcome"] == "interrupted"

    monkeypatch.setattr(importer, "add_photo", real_add_photo)
    rest = run_import(runner, source["csv"])
    assert "imported: 3" in rest.output
    assert "skipped (already imported): 2" in rest.output


def test_a_folder_of_id_named_files_is_imported(runner, db, faces_dir, tmp_path) -> None:
    folder = tmp_path / "library"
    folder.mkdir()
    numbers = [person(20), person(21), person(22)]
    shutil.copy(faces_dir / GOOD[0], folder / f"{numbers[0]}.jpg")
    shutil.copy(faces_dir / GOOD[1], folder / f"{numbers[1]}.JPEG")
    Image.open(faces_dir / GOOD[2]).save(folder / f"{numbers[2]}.png")
    wrong = bad_check_digit(person(23))
    shutil.copy(faces_dir / GOOD[3], folder / f"{wrong}.jpg")
    (folder / "readme.txt").write_text("not an image name", encoding="utf-8")

    result = run_import(runner, folder, "--captured-on", "2025-06-30")

    assert result.exit_code == 0, result.output
    assert "imported: 3" in result.output
    assert "refused: 1" in result.output
    [line] = [line for line in result.output.splitlines() if f"{wrong}.jpg:" in line]
    assert "校验位" in line
    for number in numbers:
        status = reference_status(number)
        assert status.case is ReferenceCase.LIBRARY
        assert status.photo is not None
        assert status.photo.captured_on == dt.date(2025, 6, 30)


def test_an_unusable_source_fails_and_imports_nothing(runner, db, tmp_path) -> None:
    missing = run_import(runner, tmp_path / "nowhere")
    assert missing.exit_code != 0
    assert "找不到导入来源" in missing.output

    headless = tmp_path / "headless.csv"
    headless.write_text(f"{person(30)},a.jpg\n", encoding="utf-8")
    no_header = run_import(runner, headless)
    assert no_header.exit_code != 0
    assert "id_number,path" in no_header.output

    assert db.session.execute(sa.select(sa.func.count()).select_from(Photo)).scalar() == 0
    assert import_events(db) == []
