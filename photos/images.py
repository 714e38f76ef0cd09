"""Reading uploaded images safely: sniff the content, bound the pixel count before decoding, apply EXIF
orientation, decode fully, and re-encode as a clean JPEG."""

from __future__ import annotations

import dataclasses
import io
import warnings

import numpy as np
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from PIL import Image, ImageOps, UnidentifiedImageError

from photos.engine import RGBImage

JPEG_MAGIC = b"\xff\xd8\xff"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

MESSAGES: dict[str, LazyString] = {
    "empty": _l("上传的文件是空的，请重新选择照片。"),
    "too_large": _l("文件过大，请上传不超过%(mb)d MB的照片。"),
    "gif": _l("不支持GIF格式，请上传JPEG或PNG格式的照片。"),
    "svg": _l("不支持SVG等矢量图，请上传JPEG或PNG格式的照片。"),
    "not_image": _l("文件不是JPEG或PNG图片（请勿只修改文件扩展名），请上传照片原图。"),
    "too_many_pixels": _l("图片像素过大（超过%(mp)d百万像素），请缩小后再上传。"),
    "corrupt": _l("图片文件不完整或已损坏，无法读取，请重新拍摄或导出后上传。"),
}


class ImageRejectedError(ValueError):
    """An image refused before any face analysis; `code` names the reason, `message` says it in Chinese."""

    def __init__(self, code: str, **params: int) -> None:
        super().__init__(code)
        self.code = code
        self.params = params

    @property
    def message(self) -> str:
        """The Chinese (or current-language) message."""
        return str(MESSAGES[self.code]) % self.params if self.params else str(MESSAGES[self.code])


@dataclasses.dataclass(frozen=True)
class DecodedImage:
    """A decoded, upright RGB image and what it was."""

    rgb: RGBImage
    format: str  # "JPEG" or "PNG"

    @property
    def width(self) -> int:
        """Width in pixels."""
        return int(self.rgb.shape[1])

    @property
    def height(self) -> int:
        """Height in pixels."""
        return int(self.rgb.shape[0])


def sniff(data: bytes) -> str:
    """JPEG or PNG by magic bytes; anything else raises ImageRejectedError with the fitting reason."""
    if not data:
        raise ImageRejectedError("empty")
    if data.startswith(JPEG_MAGIC):
        return "JPEG"
    if data.startswith(PNG_MAGIC):
        return "PNG"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        raise ImageRejectedError("gif")
    head = data[:512].lstrip().lower()
    if head.startswith(b"<?xml") or b"<svg" in head:
        raise ImageRejectedError("svg")
    raise ImageRejectedError("not_image")


def _complete(data: bytes, kind: str) -> bool:
    """Whether the file has its end marker (JPEG EOI near the end, PNG IEND chunk): catches truncation."""
    if kind == "JPEG":
        return b"\xff\xd9" in data[-4096:]
    return b"IEND" in data[-64:]


def decode_image(data: bytes, *, max_bytes: int, max_pixels: int) -> DecodedImage:
    """Decode an uploaded JPEG/PNG under size and pixel limits, upright per its EXIF orientation."""
    if len(data) > max_bytes:
        raise ImageRejectedError("too_large", mb=max_bytes // (1024 * 1024))
    kind = sniff(data)
    if not _complete(data, kind):
        raise ImageRejectedError("corrupt")
    with warnings.catch_warnings():
        # The pixel limit is ours (checked below, before decoding); silence Pillow's own bomb warning.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=[kind])
        except Image.DecompressionBombError:
            raise ImageRejectedError("too_many_pixels", mp=max_pixels // 1_000_000) from None
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
            raise ImageRejectedError("corrupt") from None
        with image:
            width, height = image.size
            if width <= 0 or height <= 0:
                raise ImageRejectedError("corrupt")
            if width * height > max_pixels:
                raise ImageRejectedError("too_many_pixels", mp=max_pixels // 1_000_000)
            try:
                image.load()
                upright = ImageOps.exif_transpose(image)
                rgb = np.asarray(upright.convert("RGB"), dtype=np.uint8)
            except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
                raise ImageRejectedError("corrupt") from None
    return DecodedImage(rgb=np.ascontiguousarray(rgb), format=kind)


def encode_jpeg(rgb: RGBImage, *, quality: int = 90) -> bytes:
    """A fresh baseline JPEG without any metadata from the upload."""
    out = io.BytesIO()
    Image.fromarray(rgb, mode="RGB").save(out, format="JPEG", quality=quality, optimize=True)
    return out.getvalue()


def crop_to_ratio(rgb: RGBImage, box: tuple[int, int, int, int], *, width: int, height: int) -> RGBImage:
    """Crop around a face box (top, right, bottom, left) to a document photo's aspect and size."""
    top, right, bottom, left = box
    face_h = bottom - top
    # Document photos: the head takes about 2/3 of the height; eyes in the upper half.
    crop_h = int(face_h / 0.55)
    crop_w = int(crop_h * width / height)
    cx = (left + right) // 2
    cy = top + face_h // 2 - int(crop_h * 0.05)
    img_h, img_w = rgb.shape[:2]
    crop_w, crop_h = min(crop_w, img_w), min(crop_h, img_h)
    x0 = min(max(0, cx - crop_w // 2), img_w - crop_w)
    y0 = min(max(0, cy - crop_h // 2), img_h - crop_h)
    crop = rgb[y0 : y0 + crop_h, x0 : x0 + crop_w]
    resized = Image.fromarray(np.ascontiguousarray(crop), mode="RGB").resize((width, height), Image.Resampling.LANCZOS)
    return np.asarray(resized, dtype=np.uint8)
