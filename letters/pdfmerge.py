"""Concatenating letter PDFs into one print file while streaming: memory stays flat however many letters a batch has.

pypdf's PdfWriter keeps every page of the result in memory until it writes. Here each letter is read, its pages and
the objects they use are written out at once under new numbers, and only their byte offsets are kept; the page
tree, catalogue and cross-reference table follow at the end. An object written once is not written again
(compared by its bytes with references renumbered): letters that share their static page and fonts (campaign
letters, letters.composition) carry them once per file. What is kept per object is its hash and number.
"""

import hashlib
from typing import IO

from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject, PdfObject, StreamObject

HEADER = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
CATALOG_ID, PAGES_ID = 1, 2


class PdfConcatenator:
    """Append the pages of PDFs in order to `out`; call close() to finish the file."""

    def __init__(self, out: IO[bytes], *, share: bool = True) -> None:
        """share=False writes every letter's objects again (the concatenation as it was; for comparison)."""
        self.share = share
        self.out = out
        self.position = 0
        self.offsets: dict[int, int] = {}
        self.kids: list[int] = []
        self.next_id = PAGES_ID + 1
        # SHA-256 of each object written (with its references renumbered) -> its number: written once.
        self.written: dict[bytes, int] = {}
        self._write(HEADER)

    def _write(self, data: bytes) -> None:
        self.out.write(data)
        self.position += len(data)

    def _write_body(self, number: int, body: bytes) -> None:
        self.offsets[number] = self.position
        self._write(f"{number} 0 obj\n".encode())
        self._write(body)
        self._write(b"\nendobj\n")

    def append(self, pdf: IO[bytes]) -> int:
        """Append every page of one PDF; returns its page count.

        An object (with what it refers to) that an earlier letter already wrote byte for byte is not written again:
        the earlier one is referred to (a campaign's static page, fonts, colour profile appear once per file).
        Pages are never shared; an object that refers back to one on its way (an annotation's /P) is written as is.
        """
        reader = PdfReader(pdf)
        numbers: dict[tuple[int, int], int] = {}
        active: set[tuple[int, int]] = set()

        def emit(ref: IndirectObject) -> int:
            key = (ref.idnum, ref.generation)
            if key in numbers:
                return numbers[key]
            if key in active:  # a cycle: number it now, write it when it is done, unshared
                numbers[key] = self._next()
                return numbers[key]
            active.add(key)
            body = _serialized(renumber(ref.get_object()))
            active.discard(key)
            if key in numbers:
                self._write_body(numbers[key], body)
                return numbers[key]
            digest = hashlib.sha256(body).digest()
            number = self.written.get(digest) if self.share else None
            if number is None:
                number = self.written[digest] = self._next()
                self._write_body(number, body)
            numbers[key] = number
            return number

        def renumber(value: PdfObject) -> PdfObject:
            if isinstance(value, IndirectObject):
                return IndirectObject(emit(value), 0, None)
            if isinstance(value, DictionaryObject):
                for name in list(value):
                    # A stream writes its /Length itself; the page's /Parent is set to the new page tree.
                    if name == "/Parent" or (name == "/Length" and isinstance(value, StreamObject)):
                        continue
                    value[name] = renumber(value.raw_get(name))
                return value
            if isinstance(value, ArrayObject):
                for index, item in enumerate(value):
                    value[index] = renumber(item)
                return value
            return value

        count = 0
        for page in reader.pages:
            page_id = self._next()
            if page.indirect_reference is not None:
                numbers[(page.indirect_reference.idnum, page.indirect_reference.generation)] = page_id
            page[NameObject("/Parent")] = IndirectObject(PAGES_ID, 0, None)
            self._write_body(page_id, _serialized(renumber(page)))
            self.kids.append(page_id)
            count += 1
        return count

    def _next(self) -> int:
        self.next_id += 1
        return self.next_id - 1

    def close(self) -> None:
        kids = " ".join(f"{kid} 0 R" for kid in self.kids)
        self.offsets[PAGES_ID] = self.position
        self._write(f"{PAGES_ID} 0 obj\n<< /Type /Pages /Kids [{kids}] /Count {len(self.kids)} >>\nendobj\n".encode())
        self.offsets[CATALOG_ID] = self.position
        self._write(f"{CATALOG_ID} 0 obj\n<< /Type /Catalog /Pages {PAGES_ID} 0 R >>\nendobj\n".encode())
        xref = self.position
        size = self.next_id
        lines = [f"xref\n0 {size}\n", "0000000000 65535 f \n"]
        lines += [f"{self.offsets[number]:010d} 00000 n \n" for number in range(1, size)]
        lines.append(f"trailer\n<< /Size {size} /Root {CATALOG_ID} 0 R >>\nstartxref\n{xref}\n%%EOF\n")
        self._write("".join(lines).encode())


def _serialized(obj: PdfObject) -> bytes:
    body = _Buffer()
    obj.write_to_stream(body)
    return body.data()


class _Buffer:
    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.parts.append(data)
        return len(data)

    def data(self) -> bytes:
        return b"".join(self.parts)
