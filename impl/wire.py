"""Total, canonical binary encoding of message bodies (Decision D-14).

A body is a sequence of typed fields written by :class:`Writer` and read back
in the same order by :class:`Reader`. The reader is *total*: any byte string
either decodes or raises :class:`WireError`, which a node turns into a ``drop``
(Rule R-3). Nothing here knows about the protocol's message kinds.
"""

from __future__ import annotations

import numpy as np

from asfl.impl import crypto, field

# Upper bounds that keep a hostile length prefix from allocating gigabytes.
MAX_BYTES = 1 << 30
MAX_ITEMS = 1 << 24


class WireError(ValueError):
    """The bytes do not decode as the expected body."""


class Writer:
    """Appends typed fields to a growing buffer. Small fields are copied into one pending
    buffer; large byte strings are kept by reference (a body can be megabytes), so the
    encoding is a short list of buffers whatever the number of fields."""

    SMALL = 512  # blobs up to this many bytes are copied, longer ones referenced

    def __init__(self) -> None:
        self._parts: list[bytes | memoryview] = []
        self._buf = bytearray()

    def uint(self, value: int) -> Writer:
        """Unsigned LEB128 integer."""
        if value < 0:
            raise ValueError("uint must be non-negative")
        buf = self._buf
        while value >= 0x80:
            buf.append(value & 0x7F | 0x80)
            value >>= 7
        buf.append(value)
        return self

    def blob(self, data: bytes | memoryview) -> Writer:
        """Length-prefixed byte string. ``bytes`` and read-only byte views longer than
        :attr:`SMALL` are kept by reference until :meth:`getvalue` joins them (one copy);
        anything else is copied."""
        part = data if isinstance(data, bytes) or _readonly_bytes(data) else bytes(data)
        size = crypto.nbytes(part)
        self.uint(size)
        if size <= self.SMALL:
            self._buf += part
        else:
            if self._buf:
                self._parts.append(bytes(self._buf))
                self._buf = bytearray()
            self._parts.append(part)
        return self

    def raw(self, encoded: bytes) -> Writer:
        """Bytes that already are a sequence of fields (an encoding cached by its owner)."""
        self._buf += encoded
        return self

    def text(self, value: str) -> Writer:
        return self.blob(value.encode("utf-8"))

    def field_vector(self, vector: np.ndarray) -> Writer:
        """Length-prefixed vector of GF(P) elements (uint32 little endian)."""
        return self.blob(field.words_view(vector))

    def float_vector(self, vector: np.ndarray) -> Writer:
        """Length-prefixed float64 little-endian vector (a long one referenced, not copied,
        until :meth:`getvalue`)."""
        return self.blob(byte_view(np.ascontiguousarray(vector, dtype="<f8")))

    def parts(self) -> list[bytes | memoryview]:
        """The encoding so far as a list of buffers (their concatenation is :meth:`getvalue`)."""
        return [*self._parts, bytes(self._buf)] if self._buf else list(self._parts)

    def getvalue(self) -> bytes:
        if not self._parts:
            return bytes(self._buf)
        return b"".join(self.parts())


def byte_view(array: np.ndarray) -> memoryview:
    """The bytes of a C-contiguous array as a read-only one-dimensional view (no copy)."""
    return np.ascontiguousarray(array).data.cast("B").toreadonly()


def _readonly_bytes(data: object) -> bool:
    return isinstance(data, memoryview) and data.readonly and data.format == "B" and data.ndim == 1


class Reader:
    """Reads typed fields in order; raises :class:`WireError` on any mismatch."""

    def __init__(self, data: bytes | memoryview) -> None:
        if not isinstance(data, bytes | bytearray | memoryview):
            raise WireError("expected bytes")
        # bytes and read-only byte views cannot change under the reader: no copy
        fixed = isinstance(data, bytes) or _readonly_bytes(data)
        self._data = memoryview(data) if fixed else memoryview(bytes(data))
        self._pos = 0

    def uint(self, limit: int = 1 << 64) -> int:
        data, pos = self._data, self._pos
        if pos < len(data) and data[pos] < 0x80:  # one byte (most lengths and indices)
            value = data[pos]
            self._pos = pos + 1
            if value >= limit:
                raise WireError(f"integer {value} out of range (limit {limit})")
            return value
        value = 0
        shift = 0
        while True:
            if self._pos >= len(self._data):
                raise WireError("truncated integer")
            byte = self._data[self._pos]
            self._pos += 1
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                if byte == 0 and shift:
                    # a redundant zero group: the encoding must be canonical (D-14), or a
                    # signature over these bytes would not verify on the re-encoded body
                    raise WireError("non-canonical integer")
                break
            shift += 7
            if shift > 70:
                raise WireError("integer too long")
        if value >= limit:
            raise WireError(f"integer {value} out of range (limit {limit})")
        return value

    def count(self) -> int:
        """A list length, bounded by :data:`MAX_ITEMS`."""
        return self.uint(MAX_ITEMS + 1)

    def view(self, expected_len: int | None = None) -> memoryview:
        """A length-prefixed byte string as a read-only view into the input (no copy)."""
        data, pos = self._data, self._pos
        if pos < len(data) and data[pos] < 0x80:  # a one-byte length (:meth:`uint`'s fast path)
            n, pos = data[pos], pos + 1
        else:
            n = self.uint(MAX_BYTES + 1)
            pos = self._pos
        if pos + n > len(data):
            raise WireError("truncated byte string")
        out = data[pos : pos + n]
        self._pos = pos + n
        if expected_len is not None and n != expected_len:
            raise WireError(f"byte string of length {n}, expected {expected_len}")
        return out

    def blob(self, expected_len: int | None = None) -> bytes:
        """A length-prefixed byte string, copied out."""
        return self.view(expected_len).tobytes()

    def text(self, max_len: int = 64) -> str:
        raw = self.blob()
        if len(raw) > max_len:
            raise WireError("text too long")
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise WireError("text is not UTF-8") from exc

    def field_vector(self, dim: int) -> np.ndarray:
        raw = self.view(expected_len=4 * dim)
        try:
            return field.from_bytes(raw, dim)
        except field.FieldError as exc:
            raise WireError(str(exc)) from exc

    def float_vector(self, dim: int) -> np.ndarray:
        raw = self.view(expected_len=8 * dim)
        vector = np.frombuffer(raw, dtype="<f8").astype(np.float64)  # an owned, writable copy
        if not np.all(np.isfinite(vector)):
            raise WireError("non-finite float in vector")
        return vector

    def done(self) -> None:
        if self._pos != len(self._data):
            raise WireError(f"{len(self._data) - self._pos} trailing bytes")
