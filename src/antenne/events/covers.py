"""Webinar cover images: what an upload must be, and what is kept of it.

A cover is shown to anyone on the public registration page, so an upload is accepted only
when it is a JPEG, PNG or WebP image of at most `ANTENNE_COVER_MAX_MB` and `MAX_PIXELS`
pixels, and is then never stored as sent: it is decoded and written again from its pixels
alone, at most `MAX_SIDE` pixels on its longer side. What is stored and served carries no
metadata (EXIF and its GPS position, XMP, comments, colour profiles) and nothing but the
image (a file that is also a script, a page or an archive loses the rest)."""

from __future__ import annotations

import io
import warnings
from typing import IO, Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.utils.translation import gettext as _
from PIL import Image, ImageOps

from antenne.core.exceptions import Invalid

# Pillow's name of each accepted format → the stored file's extension and content type.
FORMATS = {
    "JPEG": ("jpg", "image/jpeg"),
    "PNG": ("png", "image/png"),
    "WEBP": ("webp", "image/webp"),
}
CONTENT_TYPES = dict(FORMATS.values())  # extension → content type
MAX_PIXELS = 40_000_000  # refused above this, before the pixels are decoded
MAX_SIDE = 2400  # stored at most this wide and this high (the page shows it at ~1200)
JPEG_QUALITY = 85


class PreparedCover(ContentFile):
    """A cover that `prepare_cover` has checked and re-encoded: storing it needs nothing more."""


def max_megabytes() -> int:
    return int(settings.COVER_MAX_BYTES // (1024 * 1024))


def _invalid() -> Invalid:
    return Invalid(
        _("The cover image must be a JPEG, PNG or WebP image."), code="event.cover_invalid"
    )


def _too_many_pixels() -> Invalid:
    return Invalid(
        _("The cover image has too many pixels: at most %(megapixels)s million.")
        % {"megapixels": MAX_PIXELS // 1_000_000},
        code="event.cover_too_many_pixels",
    )


def _decode(upload: IO[bytes]) -> tuple[Image.Image, str]:
    """The upload's pixels, upright, and its format; or Invalid. The format and the size are
    read from the header before any pixel is decoded."""
    upload.seek(0)
    try:
        with warnings.catch_warnings():
            # Pillow warns (then refuses) on huge images; MAX_PIXELS below is stricter.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(upload, formats=tuple(FORMATS))
    except Image.DecompressionBombError:
        raise _too_many_pixels() from None
    except Exception:  # any parse error of an untrusted file (Pillow raises many kinds)
        raise _invalid() from None
    source_format = "JPEG" if image.format == "MPO" else str(image.format)  # MPO: phones' JPEG
    if source_format not in FORMATS:
        raise _invalid()
    if image.width * image.height > MAX_PIXELS:
        raise _too_many_pixels()
    try:
        if source_format == "JPEG":
            image.draft("RGB", (MAX_SIDE, MAX_SIDE))  # decode a large photo at a smaller scale
        image.load()
        # Upright as the camera meant, before its EXIF goes.
        upright = ImageOps.exif_transpose(image)
    except Exception:  # truncated or corrupt pixel data
        raise _invalid() from None
    return upright, source_format


def _pixels_only(image: Image.Image) -> Image.Image:
    """A new image holding only `image`'s pixels: no `info` (EXIF, XMP, comments, ICC
    profile, text chunks) travels to the file written from it."""
    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    mode = "RGBA" if has_alpha else ("L" if image.mode in ("1", "L") else "RGB")
    converted = image if image.mode == mode else image.convert(mode)
    converted.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    return Image.frombytes(mode, converted.size, converted.tobytes())


def prepare_cover(upload: Any) -> PreparedCover:
    """The cover to store for `upload` (an uploaded file), or Invalid with a code among
    `event.cover_too_large`, `event.cover_too_many_pixels` and `event.cover_invalid`."""
    if isinstance(upload, PreparedCover):
        return upload
    size = getattr(upload, "size", None)
    if size is None or size > settings.COVER_MAX_BYTES:
        raise Invalid(
            _("The cover image is too large: at most %(size)s MB.") % {"size": max_megabytes()},
            code="event.cover_too_large",
        )
    image, source_format = _decode(upload)
    extension, _content_type = FORMATS[source_format]
    out = io.BytesIO()
    try:
        clean = _pixels_only(image)
        if source_format == "JPEG":
            clean.convert("L" if clean.mode == "L" else "RGB").save(
                out, format="JPEG", quality=JPEG_QUALITY, optimize=True
            )
        elif source_format == "WEBP":
            clean.save(out, format="WEBP", quality=JPEG_QUALITY)
        else:
            clean.save(out, format="PNG", optimize=True)
    except Exception:  # a pixel mode Pillow cannot convert (say, 32-bit float)
        raise _invalid() from None
    return PreparedCover(out.getvalue(), name=f"cover.{extension}")
