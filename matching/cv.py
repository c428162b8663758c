"""CV files: PDF or DOCX, recognised by their content, never by their name.

A PDF starts with ``%PDF-`` and has an ``%%EOF`` marker near its end. A DOCX is a
ZIP archive with ``[Content_Types].xml`` and ``word/document.xml``; it is opened
without extracting anything, and refused when encrypted or when it would unpack to
far more than its size (a ZIP bomb).
"""

from __future__ import annotations

import dataclasses
import io
import zipfile

from matching.errors import InvalidInput

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
MAX_FILENAME_CHARS = 200
_MAX_UNPACKED_RATIO = 100
_MAX_MEMBERS = 2000


class CvRejected(InvalidInput):
    """The upload is not a CV we accept (type or size)."""


@dataclasses.dataclass(frozen=True)
class CvFile:
    filename: str = dataclasses.field(repr=False)
    media_type: str
    content: bytes = dataclasses.field(repr=False)

    @property
    def size(self) -> int:
        return len(self.content)


def check(filename: str, content: bytes, *, max_bytes: int) -> CvFile:
    """The upload as a :class:`CvFile`, or :class:`CvRejected` with a reason to show."""
    if not content:
        raise CvRejected("the CV file is empty")
    if len(content) > max_bytes:
        raise CvRejected(f"the CV is larger than {max_bytes // (1024 * 1024)} MB")
    media_type = sniff(content)
    if media_type is None:
        raise CvRejected("the CV must be a PDF or Word (.docx) file")
    return CvFile(
        filename=_clean_name(filename, media_type), media_type=media_type, content=content
    )


def sniff(content: bytes) -> str | None:
    if content.startswith(b"%PDF-") and b"%%EOF" in content[-2048:]:
        return PDF
    if content.startswith(b"PK\x03\x04") and _is_docx(content):
        return DOCX
    return None


def _is_docx(content: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            members = archive.infolist()
            if len(members) > _MAX_MEMBERS:
                return False
            names = {m.filename for m in members}
            if "[Content_Types].xml" not in names or "word/document.xml" not in names:
                return False
            if any(m.flag_bits & 0x1 for m in members):  # encrypted
                return False
            unpacked = sum(m.file_size for m in members)
            return unpacked <= max(len(content), 1) * _MAX_UNPACKED_RATIO
    except (zipfile.BadZipFile, ValueError, OSError):
        return False


def _clean_name(filename: str, media_type: str) -> str:
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if ch.isprintable()).strip()[:MAX_FILENAME_CHARS]
    extension = ".pdf" if media_type == PDF else ".docx"
    if not base.lower().endswith(extension):
        base = (base or "cv") + extension
    return base
