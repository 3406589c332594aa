"""Factories and sample files for the uploads app's tests."""

import datetime
import io
import uuid
from pathlib import Path

import factory
from django.utils import timezone
from PIL import Image

from tests.factories import MemberFactory
from uploads import services
from uploads.constants import UploadStatus
from uploads.models import Draft, Submission, SubmissionDocument, SubmissionReason, Upload


class SubmissionReasonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SubmissionReason
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"reason-{n}")
    label_de = factory.Sequence(lambda n: f"Anlass {n}")
    label_en = factory.Sequence(lambda n: f"Reason {n}")


class DraftFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Draft

    member = factory.SubFactory(MemberFactory)


class UploadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Upload

    draft = factory.SubFactory(DraftFactory)
    name = "Bescheinigung.pdf"
    length = 1000
    status = UploadStatus.IN_PROGRESS
    expires_at = factory.LazyFunction(lambda: timezone.now() + datetime.timedelta(hours=48))


class SubmissionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Submission

    member = factory.SubFactory(MemberFactory)
    reference = factory.Sequence(lambda n: f"EP-TEST-{n:04d}")
    draft_public_id = factory.LazyFunction(uuid.uuid4)
    reason = factory.LazyFunction(lambda: SubmissionReason.objects.get(code="certificate"))
    transmitted_at = factory.LazyFunction(timezone.now)
    receipt_available_until = factory.LazyFunction(lambda: timezone.now() + datetime.timedelta(minutes=30))


class SubmissionDocumentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SubmissionDocument

    public_id = factory.LazyFunction(uuid.uuid4)
    submission = factory.SubFactory(SubmissionFactory)
    name = "Bescheinigung.pdf"
    mime_type = "application/pdf"
    size = 1000
    sha256 = "0" * 64
    storage_name = factory.LazyAttribute(lambda o: f"documents/{o.public_id}")


def pdf_bytes(*, pages: int = 1, padding: int = 0, encrypt: bool = False) -> bytes:
    """A valid PDF made with pypdf; `padding` adds that many bytes of incompressible data as a stream."""
    import os

    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, NameObject

    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    if padding:
        stream = DecodedStreamObject()
        stream.set_data(os.urandom(padding))
        writer._add_object(stream)
        writer._root_object[NameObject("/Padding")] = stream.indirect_reference
    if encrypt:
        writer.encrypt(user_password="geheim", owner_password="geheim")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def image_bytes(*, fmt: str = "PNG", size: tuple[int, int] = (40, 30), exif: bytes | None = None) -> bytes:
    out = io.BytesIO()
    kwargs = {"exif": exif} if exif else {}
    Image.new("RGB", size, (200, 100, 50)).save(out, format=fmt, **kwargs)
    return out.getvalue()


def heic_bytes() -> bytes:
    """A 40x30 HEIC photo as a phone sends it. The portal only decodes HEIC (pi-heif has no encoder), so the file
    was written once with an encoder and is kept with the tests."""
    return (Path(__file__).with_name("data") / "photo.heic").read_bytes()


def upload_whole(draft, actor, data: bytes, name: str = "Bescheinigung.pdf") -> Upload:
    """A file uploaded in one request through the services, as the plain form or a one-part tus upload does."""
    upload = services.upload_create(draft=draft, name=name, length=len(data), actor=actor)
    return services.upload_append(
        upload=upload, offset=0, stream=io.BytesIO(data), content_length=len(data), actor=actor
    )
