"""Bulk loading of the embedded photo library: `opcert photos import SOURCE`.

SOURCE is a folder of `<ID_NUMBER>.jpg|.jpeg|.png` files, or a CSV with the header `id_number,path[,captured_on]`
(paths relative to the CSV's folder, or absolute). The parent process validates each entry, reads and hashes the
file, and skips what an earlier run stored (same subject, same source-file SHA-256); worker processes decode, check
and re-encode the rest; the parent writes files and rows in input order and commits every BATCH_SIZE photos, so an
interrupted run keeps what it finished and a re-run carries on. This module is a job: it commits, services do not.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import hashlib
import multiprocessing
import os
import signal
import sys
from collections import deque
from collections.abc import Generator, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import closing
from pathlib import Path

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import with_appcontext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from tqdm import tqdm

from opcert.accounts.idnumber import IdNumberError, parse_id_number
from opcert.audit.services import record_event
from opcert.errors import DomainError
from opcert.extensions import db
from opcert.timeutil import local_today
from photos import storage
from photos.images import ImageRejectedError, decode_image, encode_jpeg
from photos.models import Photo, PhotoSource
from photos.quality import CheckedFace, Purpose, QualityError, QualitySettings, check_image
from photos.services import add_photo, enrol_jitters, quality_settings, subject_ref

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png"})
BATCH_SIZE = 50  # photos per commit: at most this much work is redone after an interruption
READ_AHEAD = 100  # entries read and looked up in the database at a time
CHUNK_SIZE = 2  # photos per task sent to a worker (small: the last tasks finish together)
# Tasks queued ahead of the one the parent waits for: enough that the workers keep going while the parent stores a
# whole batch, and few enough to bound the bytes held in memory.
QUEUED_TASKS = BATCH_SIZE // CHUNK_SIZE

MESSAGES: dict[str, LazyString] = {
    "missing": _l("文件不存在。"),
    "unreadable": _l("文件无法读取。"),
    "captured_on": _l("拍摄日期无效：应为YYYY-MM-DD格式，且不晚于今天。"),
    "failed": _l("处理照片时出错（%(error)s）。"),
}


class ImportSourceError(DomainError):
    """SOURCE cannot be used at all (nothing is imported)."""


@dataclasses.dataclass(frozen=True)
class Entry:
    """One photo to import, as SOURCE gives it."""

    label: str  # how the summary names it: the file name, or `file.csv:line path`
    id_number: str
    path: Path | None
    captured_on: str = ""


@dataclasses.dataclass(frozen=True)
class Refusal:
    """An entry that was not imported, and why (in the current language)."""

    label: str
    reason: str


@dataclasses.dataclass
class ImportReport:
    """What a run did."""

    imported: int = 0
    skipped: int = 0
    refused: list[Refusal] = dataclasses.field(default_factory=list)
    interrupted: bool = False


@dataclasses.dataclass(frozen=True)
class Limits:
    """What a worker needs to check a photo, as plain values: workers have no app context."""

    max_bytes: int
    max_pixels: int
    quality: QualitySettings
    jitters: int = 1  # FACE_ENROL_JITTERS


@dataclasses.dataclass(frozen=True)
class Accepted:
    """A worker's answer for a usable photo: the clean JPEG, its face and encoding, (width, height)."""

    jpeg: bytes
    checked: CheckedFace
    size: tuple[int, int]


@dataclasses.dataclass(frozen=True)
class Rejected:
    """A worker's answer for a refused photo. `kind` is "image", "quality" or "import" (this module's MESSAGES).

    The parent turns it into a message: messages need the app's locale, and exceptions lose their keyword
    parameters when pickled.
    """

    kind: str
    code: str
    params: dict[str, int | str] = dataclasses.field(default_factory=dict)

    @property
    def message(self) -> str:
        """The reason in the current language (call it in the parent, with the app)."""
        if self.kind == "image":
            return ImageRejectedError(self.code, **{k: int(v) for k, v in self.params.items()}).message
        if self.kind == "quality":
            return QualityError(self.code).message
        text = str(MESSAGES[self.code])
        return text % self.params if self.params else text


Examined = Accepted | Rejected


@dataclasses.dataclass(frozen=True)
class _Work:
    position: int
    label: str
    ref: str
    sha256: str
    captured_on: dt.date
    data: bytes


# --- reading SOURCE -------------------------------------------------------------------------------


def read_source(source: Path) -> list[Entry]:
    """The entries of a folder or CSV SOURCE; ImportSourceError when it cannot be read at all."""
    if source.is_dir():
        return _folder_entries(source)
    if source.is_file():
        return _csv_entries(source)
    raise ImportSourceError(_("找不到导入来源：%(path)s", path=str(source)))


def _folder_entries(folder: Path) -> list[Entry]:
    files = sorted(
        p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".") and p.is_file()
    )
    return [Entry(label=p.name, id_number=p.stem, path=p) for p in files]


def _csv_entries(path: Path) -> list[Entry]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.reader(fh))
    except UnicodeDecodeError:
        raise ImportSourceError(_("CSV文件应为UTF-8编码：%(path)s", path=str(path))) from None
    except (OSError, csv.Error) as exc:
        raise ImportSourceError(_("CSV文件无法读取：%(error)s", error=str(exc))) from None
    header = [name.strip().lower() for name in rows[0]] if rows else []
    if "id_number" not in header or "path" not in header:
        raise ImportSourceError(_("CSV文件的第一行应为表头 id_number,path（可加 captured_on）。"))
    columns = {name: header.index(name) for name in ("id_number", "path", "captured_on") if name in header}
    entries = []
    for line, row in enumerate(rows[1:], start=2):
        values = {name: row[i].strip() if i < len(row) else "" for name, i in columns.items()}
        if not any(values.values()):
            continue
        raw_path = values["path"]
        file = Path(raw_path) if raw_path else None
        if file is not None and not file.is_absolute():
            file = path.parent / file
        entries.append(
            Entry(
                label=f"{path.name}:{line} {raw_path}",
                id_number=values["id_number"],
                path=file,
                captured_on=values.get("captured_on", ""),
            )
        )
    return entries


# --- the work done in worker processes -----------------------------------------------------------


def examine_photo(data: bytes, limits: Limits) -> Examined:
    """Decode, check and re-encode one reference photo (services.examine's steps, without the app)."""
    try:
        decoded = decode_image(data, max_bytes=limits.max_bytes, max_pixels=limits.max_pixels)
        checked = check_image(decoded, Purpose.REFERENCE, limits.quality, jitters=limits.jitters)
        jpeg = encode_jpeg(decoded.rgb)
    except ImageRejectedError as exc:
        return Rejected("image", exc.code, dict(exc.params))
    except QualityError as exc:
        return Rejected("quality", exc.code)
    except Exception as exc:  # one odd file must not stop a bulk run (nor every re-run): report it with the rest
        return Rejected("import", "failed", {"error": type(exc).__name__})
    return Accepted(jpeg=jpeg, checked=checked, size=(decoded.width, decoded.height))


def _examine_chunk(chunk: list[bytes], limits: Limits) -> list[Examined]:
    return [examine_photo(data, limits) for data in chunk]


def _ignore_interrupts() -> None:
    # Ctrl-C reaches the whole process group; the parent alone decides what to keep.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _chunks(works: Iterable[_Work], size: int) -> Iterator[list[_Work]]:
    chunk: list[_Work] = []
    for work in works:
        chunk.append(work)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _examine_all(
    works: Iterable[_Work], limits: Limits, processes: int
) -> Generator[tuple[_Work, Examined], None, None]:
    """Each work item with its examination, in input order, computed by `processes` workers (1: here)."""
    if processes <= 1:
        for chunk in _chunks(works, CHUNK_SIZE):
            yield from zip(chunk, _examine_chunk([w.data for w in chunk], limits), strict=True)
        return
    # fork: the workers start at once with the face models the parent already loaded (a fresh interpreter
    # spends seconds importing dlib), and need nothing else of the parent's state.
    pool = ProcessPoolExecutor(
        max_workers=processes, mp_context=multiprocessing.get_context("fork"), initializer=_ignore_interrupts
    )
    window: deque[tuple[list[_Work], Future[list[Examined]]]] = deque()
    try:
        for chunk in _chunks(works, CHUNK_SIZE):
            window.append((chunk, pool.submit(_examine_chunk, [w.data for w in chunk], limits)))
            if len(window) > processes + QUEUED_TASKS:
                done, future = window.popleft()
                yield from zip(done, future.result(), strict=True)
        while window:
            done, future = window.popleft()
            yield from zip(done, future.result(), strict=True)
    finally:
        pool.shutdown(cancel_futures=True)


# --- the parent: checks, skips, writes ------------------------------------------------------------


def _parse_date(raw: str) -> dt.date | None:
    try:
        day = dt.date.fromisoformat(raw)
    except ValueError:
        return None
    return day if day <= local_today() else None


class _Importer:
    def __init__(self, *, limits: Limits, captured_on: dt.date, bar: tqdm) -> None:
        self.limits = limits
        self.captured_on = captured_on
        self.bar = bar
        self.imported = 0
        self.skipped = 0
        self.refusals: list[tuple[int, Refusal]] = []
        self.seen: set[tuple[str, str]] = set()

    def report(self, *, interrupted: bool = False) -> ImportReport:
        """The counts so far, refusals in SOURCE order."""
        refused = [refusal for _, refusal in sorted(self.refusals, key=lambda item: item[0])]
        return ImportReport(imported=self.imported, skipped=self.skipped, refused=refused, interrupted=interrupted)

    def refuse(self, position: int, label: str, reason: str) -> None:
        self.refusals.append((position, Refusal(label, reason)))
        self.bar.update()

    def pending(self, entries: list[Entry]) -> Iterator[_Work]:
        """The entries still to examine: invalid ones refused, those stored before (or earlier in SOURCE) skipped."""
        for start in range(0, len(entries), READ_AHEAD):
            chunk = entries[start : start + READ_AHEAD]
            ready = [w for w in (self.read(start + i, e) for i, e in enumerate(chunk)) if w is not None]
            if not ready:
                continue
            stored = set(
                db.session.execute(
                    sa.select(Photo.subject_ref, Photo.source_sha256).where(
                        Photo.source == PhotoSource.UNIFIED_LIBRARY,
                        Photo.source_sha256.in_({w.sha256 for w in ready}),
                    )
                ).tuples()
            )
            # End the read: on SQLite a transaction that read first may be refused the write lock later.
            db.session.rollback()
            for work in ready:
                key = (work.ref, work.sha256)
                if key in stored or key in self.seen:
                    self.skipped += 1
                    self.bar.update()
                    continue
                self.seen.add(key)
                yield work

    def read(self, position: int, entry: Entry) -> _Work | None:
        """The entry's checked values and file bytes, or None after refusing it."""
        try:
            number = parse_id_number(entry.id_number, today=local_today()).number
        except IdNumberError as exc:
            self.refuse(position, entry.label, str(exc.message))
            return None
        captured_on = _parse_date(entry.captured_on) if entry.captured_on else self.captured_on
        if captured_on is None:
            self.refuse(position, entry.label, str(MESSAGES["captured_on"]))
            return None
        if entry.path is None:
            self.refuse(position, entry.label, str(MESSAGES["missing"]))
            return None
        try:
            if entry.path.stat().st_size > self.limits.max_bytes:
                raise ImageRejectedError("too_large", mb=self.limits.max_bytes // (1024 * 1024))
            data = entry.path.read_bytes()
        except FileNotFoundError:
            self.refuse(position, entry.label, str(MESSAGES["missing"]))
            return None
        except OSError:
            self.refuse(position, entry.label, str(MESSAGES["unreadable"]))
            return None
        except ImageRejectedError as exc:
            self.refuse(position, entry.label, exc.message)
            return None
        return _Work(
            position=position,
            label=entry.label,
            ref=subject_ref(number),
            sha256=hashlib.sha256(data).hexdigest(),
            captured_on=captured_on,
            data=data,
        )

    def store(self, batch: list[tuple[_Work, Accepted]]) -> None:
        """Write a batch of files and rows and commit; on any failure remove the batch's files again."""
        keys: list[str] = []
        try:
            for work, accepted in batch:
                photo = add_photo(
                    ref=work.ref,
                    source=PhotoSource.UNIFIED_LIBRARY,
                    jpeg=accepted.jpeg,
                    checked=accepted.checked,
                    size=accepted.size,
                    captured_on=work.captured_on,
                    source_sha256=work.sha256,
                    jitters=self.limits.jitters,
                )
                keys.append(photo.storage_key)
            db.session.commit()
        except BaseException:
            db.session.rollback()
            for key in keys:
                storage.delete(key)
            raise
        self.imported += len(batch)

    def run(self, entries: list[Entry], processes: int) -> None:
        """Examine and store every entry; after a KeyboardInterrupt, store what was examined, then re-raise."""
        batch: list[tuple[_Work, Accepted]] = []
        try:
            with closing(_examine_all(self.pending(entries), self.limits, processes)) as results:
                for work, examined in results:
                    if isinstance(examined, Rejected):
                        self.refuse(work.position, work.label, examined.message)
                        continue
                    batch.append((work, examined))
                    self.bar.update()
                    if len(batch) >= BATCH_SIZE:
                        full, batch = batch, []
                        self.store(full)
        except KeyboardInterrupt:
            db.session.rollback()  # only a read can be open here: store() ends its own transaction
            self.store(batch)
            raise
        self.store(batch)


def import_photos(
    *, source: Path, processes: int, captured_on: dt.date | None = None, progress: bool = False
) -> ImportReport:
    """Import SOURCE into the embedded library as unified-library photos; one audit event per run."""
    if current_app.config["PHOTO_LIBRARY"] == "remote":
        raise DomainError(_("照片库配置为远程统一照片库（PHOTO_LIBRARY=remote），批量导入只用于内嵌照片库。"))
    if captured_on is not None and captured_on > local_today():
        raise DomainError(str(MESSAGES["captured_on"]))
    entries = read_source(source)
    cfg = current_app.config
    limits = Limits(
        max_bytes=int(cfg["PHOTO_MAX_BYTES"]),
        max_pixels=int(cfg["PHOTO_MAX_PIXELS"]),
        quality=quality_settings(),
        jitters=enrol_jitters(),
    )
    with tqdm(total=len(entries), unit="photo", file=sys.stderr, disable=None if progress else True) as bar:
        importer = _Importer(limits=limits, captured_on=captured_on or local_today(), bar=bar)
        try:
            importer.run(entries, processes)
        except KeyboardInterrupt:
            db.session.rollback()
            report = importer.report(interrupted=True)
        except Exception:
            db.session.rollback()
            _record(importer.report(), processes, outcome="failed")
            db.session.commit()
            raise
        else:
            report = importer.report()
    _record(report, processes, outcome="interrupted" if report.interrupted else "completed")
    db.session.commit()
    return report


def _record(report: ImportReport, processes: int, *, outcome: str) -> None:
    details = {
        "imported": report.imported,
        "skipped": report.skipped,
        "refused": len(report.refused),
        "processes": processes,
        "outcome": outcome,
    }
    record_event("photo.imported", object_type="photos", details=details)


# --- the command (registered on photos_cli in photos/cli.py) ---------------------------------------


@click.command("import")
@click.argument("source", type=click.Path(path_type=Path))
@click.option(
    "--processes",
    type=click.IntRange(min=1),
    default=lambda: os.cpu_count() or 1,
    show_default="number of CPUs",
    help="Worker processes for decoding and face encoding.",
)
@click.option("--no-progress", is_flag=True, help="No progress bar (there is none anyway when stderr is no TTY).")
@click.option(
    "--captured-on",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Capture date for photos without one in the CSV (default: today).",
)
@with_appcontext
def import_command(source: Path, processes: int, no_progress: bool, captured_on: dt.datetime | None) -> None:
    """Bulk-load library photos from a folder of <ID_NUMBER>.jpg files or a CSV of id_number,path[,captured_on]."""
    try:
        report = import_photos(
            source=source,
            processes=processes,
            captured_on=captured_on.date() if captured_on else None,
            progress=not no_progress,
        )
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from None
    click.echo(f"导入 / imported: {report.imported}")
    click.echo(f"跳过（已导入）/ skipped (already imported): {report.skipped}")
    click.echo(f"拒绝 / refused: {len(report.refused)}")
    for refusal in report.refused:
        click.echo(f"  {refusal.label}: {refusal.reason}")
    if report.interrupted:
        click.echo("已中断，重新运行同一命令即可继续 / interrupted: run the same command again to continue", err=True)
        click.get_current_context().exit(130)
