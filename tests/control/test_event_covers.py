"""Cover images (issue 16, point 11): an upload must be a JPEG, PNG or WebP image of at most
ANTENNE_COVER_MAX_MB; what is stored and served publicly is re-encoded from its pixels, no
larger than 2400 pixels a side, without metadata (a photo's GPS position) or anything a
polyglot file carried besides the image; the file is its owner's alone (point 13)."""

from __future__ import annotations

import io
import os
import stat

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import ExifTags, Image

from antenne.core.exceptions import Invalid
from antenne.events import services
from antenne.events.models import Event
from tests.conftest import client_for
from tests.factories import EventFactory, TeamFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def image_bytes(fmt: str, size=(64, 48), color=(200, 30, 30), **save) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format=fmt, **save)
    return out.getvalue()


def photo_with_gps() -> bytes:
    """A camera's photo: 3000×2000 pixels stored on its side (EXIF orientation 6), with the
    place it was taken, a description and a comment."""
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.Base.ImageDescription] = "SECRET-DESCRIPTION"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps.update({1: "N", 2: (48.0, 51.0, 24.0), 3: "E", 4: (2.0, 21.0, 7.0)})
    return image_bytes("JPEG", (3000, 2000), exif=exif, comment=b"SECRET-COMMENT")


def stored_bytes(event: Event) -> bytes:
    with event.cover_image.open("rb") as stored:
        return stored.read()


def english_client(user):
    client = client_for(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def create(client, upload: SimpleUploadedFile):
    return client.post(
        "/app/events/new/",
        {
            "title": "Ouvrir ses données",
            "language": "fr",
            "team": TeamFactory().pk,
            "cover_image": upload,
        },
    )


def test_a_photo_is_stored_upright_bounded_and_without_its_metadata(animator):
    raw = photo_with_gps()
    assert b"SECRET-COMMENT" in raw
    response = create(client_for(animator), SimpleUploadedFile("IMG_0042.jpg", raw))
    assert response.status_code == 302
    event = Event.objects.get()
    stored = stored_bytes(event)
    assert b"SECRET" not in stored
    image = Image.open(io.BytesIO(stored))
    assert image.format == "JPEG"
    assert image.size == (1600, 2400)  # turned as the camera meant, then at most 2400 a side
    assert not image.getexif()
    assert not {"exif", "comment", "icc_profile", "xmp"} & set(image.info)
    assert "IMG_0042" not in event.cover_image.name

    event.published = True
    event.save()
    served = client_for(None).get(f"/e/{event.pk}/cover")
    assert served.status_code == 200
    assert served["Content-Type"] == "image/jpeg"
    assert b"".join(served.streaming_content) == stored


def test_a_polyglot_keeps_only_its_image(animator):
    payload = b"<html><script>alert(document.cookie)</script></html>PK\x03\x04"
    raw = image_bytes("PNG") + payload
    response = create(client_for(animator), SimpleUploadedFile("cover.png", raw))
    assert response.status_code == 302
    stored = stored_bytes(Event.objects.get())
    assert b"<script>" not in stored
    assert b"PK\x03\x04" not in stored
    assert Image.open(io.BytesIO(stored)).format == "PNG"


@pytest.mark.parametrize(
    ("name", "raw", "message"),
    [
        (
            "huge.png",
            image_bytes("PNG") + b"\0" * (8 * 1024 * 1024),  # the audit's 40 MB, smaller
            "The cover image is too large: at most 5 MB.",
        ),
        ("anim.gif", image_bytes("GIF"), "must be a JPEG, PNG or WebP image"),
        ("photo.bmp", image_bytes("BMP"), "must be a JPEG, PNG or WebP image"),
        (
            "logo.svg",
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            "must be a JPEG, PNG or WebP image",
        ),
        ("truncated.jpg", image_bytes("JPEG", (400, 300))[:600], "must be a JPEG, PNG or WebP"),
    ],
)
def test_what_is_not_an_accepted_image_is_refused_beside_its_field(animator, name, raw, message):
    response = create(english_client(animator), SimpleUploadedFile(name, raw))
    assert response.status_code == 422
    page = response.content.decode()
    assert message in page
    assert 'href="#id_cover_image"' in page  # the error summary points at the field
    assert not Event.objects.exists()


def test_the_size_limit_is_a_setting_and_webp_is_accepted(animator, settings):
    settings.COVER_MAX_BYTES = 1024 * 1024
    raw = image_bytes("WEBP", (800, 600))
    response = create(client_for(animator), SimpleUploadedFile("c.webp", raw))
    assert response.status_code == 302
    assert Image.open(io.BytesIO(stored_bytes(Event.objects.get()))).format == "WEBP"
    big = image_bytes("PNG") + b"\0" * (1024 * 1024)
    response = create(english_client(animator), SimpleUploadedFile("big.png", big))
    assert response.status_code == 422
    assert "at most 1 MB" in response.content.decode()


def test_editing_a_webinar_replaces_its_cover_with_a_clean_one(animator):
    event = EventFactory(owner=animator)
    response = client_for(animator).post(
        f"/app/events/{event.pk}/edit/",
        {
            "title": event.title,
            "language": "fr",
            "team": event.team.pk,
            "cover_image": SimpleUploadedFile("IMG.jpg", photo_with_gps()),
        },
    )
    assert response.status_code == 302
    event.refresh_from_db()
    assert b"SECRET" not in stored_bytes(event)


def test_the_service_refuses_an_unchecked_upload_from_any_interface(animator):
    event = EventFactory(owner=animator)
    with pytest.raises(Invalid) as refused:
        services.update_event(
            actor=animator,
            event=event,
            cover_image=SimpleUploadedFile("x.gif", image_bytes("GIF")),
        )
    assert refused.value.code == "event.cover_invalid"
    services.update_event(
        actor=animator, event=event, cover_image=SimpleUploadedFile("p.jpg", photo_with_gps())
    )
    event.refresh_from_db()
    assert b"SECRET" not in stored_bytes(event)


def test_a_stored_cover_is_readable_by_its_owner_only(animator):
    create(client_for(animator), SimpleUploadedFile("c.png", image_bytes("PNG")))
    path = Event.objects.get().cover_image.path
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700
