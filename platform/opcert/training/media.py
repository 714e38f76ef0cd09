"""Lesson files: PDFs checked by their header and cross-reference table, videos by their container and a decode
that measures their length (the server's own measure, never the browser's)."""

from __future__ import annotations

import os
import re
import tempfile

import cv2
from flask_babel import gettext as _

from opcert.errors import DomainError
from opcert.files import FileStore

STORE = FileStore("TRAINING_FILE_DIR", ".bin")
VIDEO_TYPES = {"webm": "video/webm", "mp4": "video/mp4"}
_STARTXREF = re.compile(rb"startxref\s+(\d+)\s+%%EOF\s*$")
_OBJECT = re.compile(rb"\d+\s+\d+\s+obj\b")


class LessonFileError(DomainError):
    """An uploaded lesson file is not what it claims to be."""


def check_pdf(data: bytes) -> None:
    """A PDF: the %PDF- header, a trailer whose startxref points at a cross-reference table or stream, a page."""
    problem = LessonFileError.on_field(_("上传的文件不是有效的 PDF 文件。"), "upload")
    if not re.match(rb"%PDF-[12]\.\d", data[:8]):
        raise problem
    found = _STARTXREF.search(data[-2048:])
    if found is None:
        raise problem
    offset = int(found.group(1))
    if not 0 < offset < len(data):
        raise problem
    at = data[offset : offset + 40].lstrip()
    if not (at.startswith(b"xref") or _OBJECT.match(at)):
        raise problem
    if re.search(rb"/Type\s*/Page\b", data) is None:
        raise problem


def video_type(data: bytes) -> str:
    """The container of a video upload by its first bytes (WebM/Matroska or MP4), else refused."""
    if data[:4] == b"\x1a\x45\xdf\xa3":
        return "webm"
    if data[4:8] == b"ftyp":
        return "mp4"
    raise LessonFileError.on_field(_("上传的文件不是可播放的视频（支持 WebM、MP4）。"), "upload")


def video_seconds(data: bytes, kind: str) -> int:
    """The video's length in whole seconds, by decoding it; refused when it cannot be read."""
    handle, path = tempfile.mkstemp(suffix=f".{kind}")
    try:
        with os.fdopen(handle, "wb") as fh:
            fh.write(data)
        capture = cv2.VideoCapture(path)
        try:
            frames = capture.get(cv2.CAP_PROP_FRAME_COUNT)
            fps = capture.get(cv2.CAP_PROP_FPS)
            readable, _frame = capture.read()
        finally:
            capture.release()
    finally:
        os.unlink(path)
    if not readable or fps <= 0 or frames <= 0:
        raise LessonFileError.on_field(_("视频无法解码，请检查文件是否完整。"), "upload")
    return int(frames / fps)
