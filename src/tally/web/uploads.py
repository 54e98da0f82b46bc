"""Bills uploaded through the back office: each file at most TALLY_UPLOAD_MAX_BYTES.

``PerFileLimit`` goes first among the request's upload handlers. Once a file passes the limit,
the rest of it is dropped as it streams in (nothing of it is kept, in memory or on disk), and the
file arrives in ``request.FILES`` as a ``TooLarge`` placeholder carrying its name and size, so
the page can say which file was refused while the others are imported.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler


class TooLarge(UploadedFile):
    def __init__(self, name: str, size: int) -> None:
        super().__init__(file=None, name=name, size=size)


class PerFileLimit(FileUploadHandler):
    def __init__(self, request: Any = None) -> None:
        super().__init__(request)
        self.limit = int(settings.TALLY_UPLOAD_MAX_BYTES)
        self.seen = 0

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self.seen = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        self.seen += len(raw_data)
        return None if self.seen > self.limit else raw_data

    def file_complete(self, file_size: int) -> UploadedFile | None:
        if self.seen > self.limit:
            return TooLarge(self.file_name or "", self.seen)
        return None  # within the limit: the next handler (memory or temporary file) keeps it
