"""1:N search: the identities in the library whose faces are closest to a given face.

Finds a candidate registered under two ID numbers, or a stand-in who sat exams for others. A search over a large
gallery is bound by memory bandwidth (a million float32 templates are 512 MB to read per query), so both backends
scan a compact copy held in memory and re-rank the nearest candidates on the exact float32 encodings, which are
kept in an unnamed temporary file (in TMPDIR, freed with the index) and read back a few rows per search:

- `FaceIndex` (numpy): int8 codes with one scale per template (x ≈ scale · code), each row scored as
  ½‖x‖² − scale · (code · q) ≈ (‖x − q‖² − ‖q‖²) / 2 in one pass over 1 byte a dimension. The score's error is
  bounded (‖x − scale · code‖ · ‖q‖, plus float32 rounding), so the candidates re-ranked are every row that could
  beat the k-th result: the results, distances included, are those of an exact search.
- `FaissIndex` (optional, `faiss-cpu`): by default ("SQ8") the same kind of int8 codes, on one scale for the
  gallery, scanned in FAISS's SIMD kernels and bounded the same way (exact results, the fastest scan); "Flat" keeps
  float32 in memory; a factory such as `IVF4096,PQ16` compresses each vector to 16 bytes and searches only part of
  the gallery (approximate candidates; their distances are still exact).

`FACE_INDEX_BACKEND = "auto"` (the default) takes FAISS SQ8 when faiss-cpu imports (about 5× faster per query
than the numpy scan on a quiet machine, docs/face-calibration.md) and numpy otherwise, and logs its choice once a
process; both return the same, exact, results. "numpy" and "faiss" choose one outright.

Results are grouped per identity (`subject_ref`): the best distance of each, the nearest k identities. The
dimension of the encodings comes from the first ones added. The per-application gallery is loaded from
`face_templates` at first use and brought up to date before every search.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
import math
import os
import re
import tempfile
import threading
import weakref
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import sqlalchemy as sa
from flask import Flask, current_app

from opcert.audit.services import record_event
from opcert.extensions import db
from photos import engine
from photos.models import FaceTemplate
from photos.quality import Purpose
from photos.services import examine

# Rows are stored in fixed-size chunks: growing never copies what is stored, so memory stays at the data's size
# (a doubling array would need old + new copies at once).
CHUNK_ROWS = 16_384
# The int8 scan widens this many codes at a time to float32: a block (512 KB) stays in the processor's cache between
# the conversion and its matrix-vector product, and is large enough that Python's loop costs little. Not larger:
# OpenBLAS hands bigger products to a second thread, and on a busy server each hand-over can stall for a scheduler
# tick (measured with numpy 2.4's OpenBLAS: 2048 × 128 values stay on one thread, 4096 × 128 take two).
BLOCK_VALUES = 131_072
BACKENDS = ("auto", "numpy", "faiss")

_log = logging.getLogger(__name__)
_HEX_REF = re.compile(r"[0-9a-f]{64}")
_FLOAT32_EPSILON = 2.0**-24

Columns = dict[str, tuple[npt.DTypeLike, tuple[int, ...]]]
# (offsets of the candidates' rows, their exact distances) nearest first, and a floor: every row not returned is at
# least that far from the query; for a number of candidates asked for.
Ranker = Callable[[int], tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], float]]


@dataclasses.dataclass(frozen=True)
class Match:
    """One identity found by a search: its best template and that template's distance to the query."""

    subject_ref: str
    distance: float
    template_id: int


class _Subjects:
    """Subject references as 32-byte keys stored per row (4 × uint64), and back.

    The platform's references are HMAC-SHA256 hex digests: their 32 bytes are the key itself. Any other string
    (tests, foreign data) is keyed by its SHA-256 and remembered, so it can be given back.
    """

    def __init__(self) -> None:
        self._named: dict[bytes, str] = {}

    def key(self, ref: str, *, remember: bool = False) -> bytes:
        """The 32-byte key of a reference (remembered for `ref()` when it is stored, not just looked up)."""
        if _HEX_REF.fullmatch(ref):
            return bytes.fromhex(ref)
        raw = hashlib.sha256(b"subject:" + ref.encode()).digest()
        if remember:
            self._named[raw] = str(ref)
        return raw

    def ref(self, raw: bytes) -> str:
        """The reference a key was made from."""
        return self._named.get(raw) or raw.hex()

    def keys(self, refs: Sequence[str]) -> npt.NDArray[np.uint64]:
        """Keys of many references as an (n, 4) uint64 array."""
        raw = b"".join(self.key(ref, remember=True) for ref in refs)
        return np.frombuffer(raw, dtype="<u8").reshape(len(refs), 4)

    def clear(self) -> None:
        """Forget the remembered references."""
        self._named.clear()


class _Rows:
    """Named columns of a growing table, stored in chunks of `chunk_rows` rows."""

    def __init__(self, columns: Columns, chunk_rows: int = CHUNK_ROWS) -> None:
        self._columns = columns
        self._chunk_rows = chunk_rows
        self._chunks: list[dict[str, np.ndarray]] = []
        self._size = 0

    def __len__(self) -> int:
        return self._size

    @property
    def nbytes(self) -> int:
        """Bytes of memory the chunks hold (allocated in whole chunks)."""
        return sum(column.nbytes for chunk in self._chunks for column in chunk.values())

    def append(self, **values: np.ndarray) -> None:
        """Append rows; every column must be given with the same number of rows."""
        count = len(values["ids"])
        done = 0
        while done < count:
            chunk_no, row = divmod(self._size, self._chunk_rows)
            if chunk_no == len(self._chunks):
                self._chunks.append(
                    {
                        name: np.empty((self._chunk_rows, *shape), dtype)
                        for name, (dtype, shape) in self._columns.items()
                    }
                )
            take = min(count - done, self._chunk_rows - row)
            for name, column in values.items():
                self._chunks[chunk_no][name][row : row + take] = column[done : done + take]
            done += take
            self._size += take

    def chunks(self) -> Iterator[tuple[int, dict[str, np.ndarray]]]:
        """(offset of the first row, {column: the chunk's filled rows}) for every chunk in order."""
        for number, chunk in enumerate(self._chunks):
            start = number * self._chunk_rows
            filled = min(self._chunk_rows, self._size - start)
            if filled <= 0:
                break
            yield start, {name: column[:filled] for name, column in chunk.items()}

    def take(self, name: str, positions: npt.NDArray[np.int64]) -> np.ndarray:
        """One column's values at the given row offsets."""
        dtype, shape = self._columns[name]
        out = np.empty((len(positions), *shape), dtype)
        chunk_nos, rows = np.divmod(positions, self._chunk_rows)
        for chunk_no in np.unique(chunk_nos):
            selected = chunk_nos == chunk_no
            out[selected] = self._chunks[int(chunk_no)][name][rows[selected]]
        return out


class _VectorFile:
    """The exact float32 encodings, row after row, in an unnamed temporary file; read back by row offset.

    They are read only to re-rank a search's few candidates, so they need not take the index's memory: the
    operating system keeps the file in its page cache while memory is free and reads it from disk otherwise.
    """

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self._row_bytes = 4 * dim
        self._rows = 0
        descriptor, path = tempfile.mkstemp(prefix="opcert-face-index-")
        os.unlink(path)  # the file lives as long as its descriptor: nothing is left behind, even after a crash
        self._descriptor = descriptor
        self.close = weakref.finalize(self, os.close, descriptor)

    def __len__(self) -> int:
        return self._rows

    def append(self, matrix: npt.NDArray[np.float32]) -> None:
        """Write rows after the last one."""
        data = np.ascontiguousarray(matrix, dtype="<f4").data.cast("B")
        offset = self._rows * self._row_bytes
        while data:
            written = os.pwrite(self._descriptor, data, offset)
            data, offset = data[written:], offset + written
        self._rows += len(matrix)

    def batches(self, rows: int) -> Iterator[npt.NDArray[np.float32]]:
        """Every row in order, `rows` at a time."""
        for start in range(0, self._rows, rows):
            out = np.empty((min(rows, self._rows - start), self.dim), dtype="<f4")
            if os.preadv(self._descriptor, [out.data], start * self._row_bytes) != out.nbytes:
                raise RuntimeError("the face index's vector file is shorter than its rows")
            yield out

    def take(self, positions: npt.NDArray[np.int64]) -> npt.NDArray[np.float32]:
        """The rows at the given offsets, as an (n, dim) array."""
        out = np.empty((len(positions), self.dim), dtype="<f4")
        for row, position in zip(out, positions.tolist(), strict=True):
            if os.preadv(self._descriptor, [row.data], position * self._row_bytes) != self._row_bytes:
                raise RuntimeError("the face index's vector file is shorter than its rows")
        return out


@dataclasses.dataclass(frozen=True)
class _Stored:
    """A gallery's rows and their exact vectors, made by the first templates added (which set the dimension)."""

    rows: _Rows
    vectors: _VectorFile


class _Gallery:
    """What both backends share: rows of (template id, subject key), the exact vectors, adding, re-ranking and
    grouping results per identity."""

    def __init__(self, *, chunk_rows: int = CHUNK_ROWS) -> None:
        self._chunk_rows = chunk_rows
        self._subjects = _Subjects()
        self._stored: _Stored | None = None
        self._clear_vectors()

    def __len__(self) -> int:
        return len(self._stored.rows) if self._stored is not None else 0

    @property
    def dim(self) -> int | None:
        """The encodings' dimension (None until the first are added)."""
        return self._stored.vectors.dim if self._stored is not None else None

    @property
    def nbytes(self) -> int:
        """Bytes of memory the index's own arrays hold (the exact vectors are in their file, not counted)."""
        return self._stored.rows.nbytes if self._stored is not None else 0

    def add(self, template_ids: Sequence[int], subject_refs: Sequence[str], vectors: npt.ArrayLike) -> None:
        """Add templates: their ids, whose they are, and their encodings (n × d, the same d as those before)."""
        matrix = np.asarray(vectors, dtype=np.float32)
        if not len(template_ids) == len(subject_refs) == len(matrix):
            raise ValueError("template_ids, subject_refs and vectors differ in length")
        if not len(matrix):
            return
        dim = matrix.shape[1] if matrix.ndim == 2 else 0
        if dim == 0 or dim != (self.dim or dim):
            raise ValueError(f"encodings are rows of {self.dim or 'd'} numbers, one per template")
        if not np.isfinite(matrix).all():
            raise ValueError("encodings must be finite")
        matrix = np.ascontiguousarray(matrix)
        if self._stored is None:
            columns: Columns = {"ids": (np.int64, ()), "keys": (np.uint64, (4,)), **self._columns(dim)}
            self._stored = _Stored(_Rows(columns, self._chunk_rows), _VectorFile(dim))
        ids = np.asarray(template_ids, dtype=np.int64)
        keys = self._subjects.keys(subject_refs)
        self._stored.vectors.append(matrix)
        self._add_vectors(self._stored, matrix)
        self._stored.rows.append(ids=ids, keys=keys, **self._row_values(matrix))

    def clear(self) -> None:
        """Remove every template (the next ones added may have another dimension)."""
        if self._stored is not None:
            self._stored.vectors.close()
        self._stored = None
        self._subjects.clear()
        self._clear_vectors()

    def search(self, query: npt.ArrayLike, *, k: int = 5, exclude_subject_ref: str | None = None) -> list[Match]:
        """The k identities nearest to `query` (each by its best template), nearest first."""
        if k < 1:
            raise ValueError("k must be at least 1")
        vector = np.asarray(query, dtype=np.float32).reshape(-1)
        if (self.dim is not None and vector.shape != (self.dim,)) or not np.isfinite(vector).all():
            raise ValueError(f"a query is one finite {self.dim}-d encoding")
        stored = self._stored
        if stored is None or not len(stored.rows):
            return []
        total = len(stored.rows)
        excluded = self._subjects.key(exclude_subject_ref) if exclude_subject_ref is not None else None
        rank = self._ranker(stored, vector, excluded)
        # Usually the nearest few templates already hold k identities, and no row left out could come nearer than
        # the k-th; ask for more only when one identity has many templates near the query (or was excluded), or
        # when a row left out might still beat the k-th.
        wanted = min(total, max(4 * k, 32))
        while True:
            positions, distances, floor = rank(wanted)
            matches = self._group(stored.rows, positions, distances, excluded, k)
            if wanted == total or (len(matches) == k and matches[-1].distance <= floor):
                return matches
            wanted = min(total, wanted * 4)

    @staticmethod
    def _exact(
        stored: _Stored, positions: npt.NDArray[np.int64], query: npt.NDArray[np.float32]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        """The candidates' distances on their float32 vectors (computed in float64), nearest first."""
        diff = stored.vectors.take(positions).astype(np.float64) - query.astype(np.float64)
        distances = np.sqrt(np.einsum("ij,ij->i", diff, diff))
        order = np.argsort(distances, kind="stable")
        return positions[order], distances[order]

    def _group(
        self,
        rows: _Rows,
        positions: npt.NDArray[np.int64],
        distances: npt.NDArray[np.float64],
        excluded: bytes | None,
        k: int,
    ) -> list[Match]:
        keys = rows.take("keys", positions)
        ids = rows.take("ids", positions)
        seen: set[bytes] = set()
        matches: list[Match] = []
        for key, template_id, distance in zip(keys, ids, distances, strict=True):
            raw = key.astype("<u8").tobytes()
            if raw == excluded or raw in seen:
                continue
            seen.add(raw)
            matches.append(Match(self._subjects.ref(raw), float(distance), int(template_id)))
            if len(matches) == k:
                break
        return matches

    def _excluded_rows(self, keys: np.ndarray, excluded: bytes) -> npt.NDArray[np.intp]:
        """Offsets (within `keys`) of the rows of the excluded subject."""
        wanted = np.frombuffer(excluded, dtype="<u8")
        # The first 8 bytes almost always decide; comparing all 32 of every row costs 15× more.
        first = np.flatnonzero(keys[:, 0] == wanted[0])
        return first[(keys[first] == wanted).all(axis=1)]

    # Backend hooks.
    def _columns(self, dim: int) -> Columns:
        raise NotImplementedError

    def _add_vectors(self, stored: _Stored, matrix: npt.NDArray[np.float32]) -> None:
        raise NotImplementedError

    def _row_values(self, matrix: npt.NDArray[np.float32]) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def _clear_vectors(self) -> None:
        raise NotImplementedError

    def _ranker(self, stored: _Stored, query: npt.NDArray[np.float32], excluded: bytes | None) -> Ranker:
        raise NotImplementedError


class FaceIndex(_Gallery):
    """Exact 1:N search in numpy: a scan of int8 codes with one scale per template, then the candidates re-ranked
    on their float32 vectors. Memory: d + 48 bytes a template (codes, scale, half squared norm, id, subject key)."""

    def _columns(self, dim: int) -> Columns:
        return {"codes": (np.int8, (dim,)), "scales": (np.float32, ()), "half_norms": (np.float32, ())}

    def _add_vectors(self, stored: _Stored, matrix: npt.NDArray[np.float32]) -> None:
        pass  # the codes are columns of the rows

    def _clear_vectors(self) -> None:
        # The largest ‖x‖ and ‖x − scale · code‖ of any template: they bound the scan's error for every row.
        self._max_norm = 0.0
        self._max_residual = 0.0

    def _row_values(self, matrix: npt.NDArray[np.float32]) -> dict[str, np.ndarray]:
        scales = np.abs(matrix).max(axis=1) / np.float32(127)
        scales[~(scales > 0)] = 1  # an all-zero (or vanishingly small) encoding: its codes are 0
        codes = np.clip(np.rint(matrix / scales[:, None]), -127, 127).astype(np.int8)
        exact = matrix.astype(np.float64)
        residuals = exact - scales[:, None].astype(np.float64) * codes
        squared = np.einsum("ij,ij->i", exact, exact)
        residual = math.sqrt(float(np.einsum("ij,ij->i", residuals, residuals).max()))
        self._max_norm = max(self._max_norm, math.sqrt(float(squared.max())))
        self._max_residual = max(self._max_residual, residual)
        return {"codes": codes, "scales": scales, "half_norms": (0.5 * squared).astype(np.float32)}

    def _ranker(self, stored: _Stored, query: npt.NDArray[np.float32], excluded: bytes | None) -> Ranker:
        dim, total = stored.vectors.dim, len(stored.rows)
        # ‖x − q‖² = ‖x‖² − 2x·q + ‖q‖² ranks rows as ½‖x‖² − x·q does (‖q‖² is the same for every row).
        scores = np.empty(total, dtype=np.float32)
        block_rows = max(1, BLOCK_VALUES // dim)
        block = np.empty((block_rows, dim), dtype=np.float32)
        for start, chunk in stored.rows.chunks():
            part = scores[start : start + len(chunk["ids"])]
            codes = chunk["codes"]
            for first in range(0, len(part), block_rows):
                some = codes[first : first + block_rows]
                widened = block[: len(some)]
                np.copyto(widened, some, casting="unsafe")
                np.matmul(widened, query, out=part[first : first + len(some)])
            np.multiply(part, chunk["scales"], out=part)
            np.subtract(chunk["half_norms"], part, out=part)
            if excluded is not None:
                part[self._excluded_rows(chunk["keys"], excluded)] = np.inf
        query_norm = float(np.linalg.norm(query.astype(np.float64)))
        # A row's score is off from ½‖x‖² − x·q by at most ‖x − scale · code‖ · ‖q‖ (Cauchy–Schwarz), plus float32
        # rounding: at most (d + 4) · 2⁻²⁴ of the magnitudes summed (½‖x‖², ‖scale · code‖ · ‖q‖).
        rounding = (dim + 4) * _FLOAT32_EPSILON
        slack = self._max_residual * query_norm + rounding * (
            0.5 * self._max_norm**2 + (self._max_norm + self._max_residual) * query_norm
        )

        def rank(wanted: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], float]:
            positions = _smallest(scores, wanted)
            positions = positions[np.isfinite(scores[positions])]
            floor = math.inf
            if len(positions) == wanted < total:
                # Every row left out scores at least the highest candidate's score, so its exact half squared
                # distance less ½‖q‖² is at least that score less the slack.
                lowest = 2 * (float(scores[positions].max()) - slack) + query_norm**2
                floor = math.sqrt(max(lowest, 0.0))
            return (*self._exact(stored, positions, query), floor)

        return rank


def _smallest(scores: npt.NDArray[np.float32], wanted: int) -> npt.NDArray[np.int64]:
    """Offsets of the `wanted` smallest scores, in no particular order."""
    total = len(scores)
    if wanted >= total:
        return np.arange(total, dtype=np.int64)
    step = 64
    if total >= 16 * step * wanted:
        # A full partition costs ~9 ns a row; a bound from every 64th score, then one comparison pass, ~1 ns.
        # The bound is only a guess: when fewer than `wanted` scores fall under it, partition everything.
        sample = scores[::step]
        kth = min(len(sample) - 1, 2 * (wanted // step) + 8)
        bound = np.partition(sample, kth)[kth]
        below = np.flatnonzero(scores <= bound)
        if len(below) >= wanted:
            return below[np.argpartition(scores[below], wanted - 1)[:wanted]].astype(np.int64)
    return np.argpartition(scores, wanted - 1)[:wanted].astype(np.int64)


def _faiss() -> Any:
    """The faiss module, imported only when the FAISS backend is used (the app runs without it)."""
    try:
        import faiss
    except ImportError as exc:
        raise RuntimeError("FACE_INDEX_BACKEND = 'faiss' needs the faiss-cpu package") from exc
    return faiss


class FaissIndex(_Gallery):
    """1:N search in FAISS, the candidates re-ranked on their float32 vectors. `factory` is "SQ8" (the default) or
    a FAISS index factory string.

    - "SQ8": int8 codes of the templates on one scale for the whole gallery (FAISS's QT_8bit_direct_signed, scanned
      in its SIMD kernels; d bytes a template). As in FaceIndex the codes' error is known, so every row that could
      beat the k-th is re-ranked: exact results. When a template falls outside the codes' range, a wider scale is
      chosen and every template encoded again from the vector file.
    - "Flat": float32 in FAISS's memory (4d bytes a template), exact.
    - Others, e.g. "IVF4096,PQ16" (16 bytes a template, only some lists searched): trained on the first templates
      (until enough exist, an exact Flat is used); they choose their candidates approximately, the distances
      returned are still exact.
    """

    # Headroom over the largest value seen when choosing the int8 codes' scale, so that encodings a little
    # larger than the first ones do not force encoding everything again.
    SCALE_HEADROOM = 1.25

    def __init__(self, factory: str = "SQ8", *, nprobe: int = 16, threads: int | None = 1) -> None:
        super().__init__()
        self._faiss = _faiss()
        if threads is not None:
            # FAISS's OpenMP setting is process-wide. One query at a time gains nothing from a thread team, and
            # waking one on a busy server costs more than it saves (measured: 1M templates, 72 ms → 25 ms).
            self._faiss.omp_set_num_threads(threads)
        self.factory = factory
        self.nprobe = nprobe

    def _columns(self, dim: int) -> Columns:
        return {}

    def _clear_vectors(self) -> None:
        self._index: Any = None
        self._pending = False  # searching a Flat while collecting the vectors to train `factory` on
        self.min_train = 0
        self._scale = 0.0  # "SQ8": FAISS holds the codes of x / scale
        # The largest ‖x − x̂‖ of any template, x̂ being what FAISS compares with the query; None when unknown
        # (trained codecs: their candidates are approximate).
        self._max_residual: float | None = 0.0

    def _start(self, dim: int) -> None:
        if self.factory == "SQ8":
            self._index = self._faiss.IndexScalarQuantizer(dim, self._faiss.ScalarQuantizer.QT_8bit_direct_signed)
            return
        target = self._faiss.index_factory(dim, self.factory)
        if target.is_trained:
            self._use(target)
            return
        self._index, self._pending = self._faiss.IndexFlatL2(dim), True
        ivf = self._faiss.try_extract_index_ivf(target)
        quantizer = getattr(self._faiss.downcast_index(ivf if ivf is not None else target), "pq", None)
        centroids = max(ivf.nlist if ivf is not None else 1, quantizer.ksub if quantizer is not None else 1)
        # FAISS's rule of thumb: at least 39 training points per centroid (IVF lists, PQ codes), else it warns.
        self.min_train = 39 * centroids

    def _use(self, index: Any) -> None:
        ivf = self._faiss.try_extract_index_ivf(index)
        if ivf is not None:
            ivf.nprobe = self.nprobe
        exact = isinstance(self._faiss.downcast_index(index), self._faiss.IndexFlat)
        self._index, self._pending, self._max_residual = index, False, 0.0 if exact else None

    def _add_vectors(self, stored: _Stored, matrix: npt.NDArray[np.float32]) -> None:
        if self._index is None:
            self._start(matrix.shape[1])
        if self.factory == "SQ8":
            self._add_codes(stored, matrix)
            return
        self._index.add(matrix)
        if self._pending and self._index.ntotal >= self.min_train:
            collected = self._index.reconstruct_n(0, self._index.ntotal)
            trained = self._faiss.index_factory(matrix.shape[1], self.factory)
            trained.train(collected)
            trained.add(collected)  # same order, so FAISS's row numbers still match ours
            self._use(trained)

    def _add_codes(self, stored: _Stored, matrix: npt.NDArray[np.float32]) -> None:
        peak = float(np.abs(matrix).max())
        if self._scale and peak <= 127 * self._scale:
            self._encode(matrix)
            return
        # The first templates, or one beyond the codes' range: a scale for the new range, then everything (the
        # new rows included, already in the file) encoded again.
        self._scale = (max(peak, 127 * self._scale) or 1.0) * self.SCALE_HEADROOM / 127
        self._index.reset()
        self._max_residual = 0.0
        for batch in stored.vectors.batches(CHUNK_ROWS):
            self._encode(batch)

    def _encode(self, matrix: npt.NDArray[np.float32]) -> None:
        codes = np.clip(np.rint(matrix / np.float32(self._scale)), -127, 127).astype(np.float32)
        residuals = matrix.astype(np.float64) - self._scale * codes.astype(np.float64)
        residual = math.sqrt(float(np.einsum("ij,ij->i", residuals, residuals).max()))
        self._max_residual = max(self._max_residual or 0.0, residual)
        self._index.add(codes)  # whole numbers in [-127, 127]: stored exactly

    def _row_values(self, matrix: npt.NDArray[np.float32]) -> dict[str, np.ndarray]:
        return {}

    def _ranker(self, stored: _Stored, query: npt.NDArray[np.float32], excluded: bytes | None) -> Ranker:
        scale = self._scale if self.factory == "SQ8" else 1.0
        # FAISS's float32 sums of d squares are off by at most (d + 2) · 2⁻²⁴ of their value.
        shrink = 1 - (stored.vectors.dim + 2) * _FLOAT32_EPSILON
        residual = self._max_residual

        def rank(wanted: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], float]:
            squared, labels = self._index.search((query / np.float32(scale)).reshape(1, -1), wanted)
            found = labels[0] >= 0
            positions = labels[0][found].astype(np.int64)
            floor = math.inf  # an IVF index that found fewer rows than asked has none to offer
            if found.all():
                last = scale * math.sqrt(max(float(squared[0][-1]), 0.0))
                # A row FAISS did not return has its x̂ at least as far as the last one it did, and
                # ‖x − q‖ ≥ ‖x̂ − q‖ − ‖x − x̂‖. Trained codecs: about as far, no bound.
                floor = last * math.sqrt(shrink) - residual if residual is not None else last
            if excluded is not None:
                kept = np.ones(len(positions), dtype=bool)
                kept[self._excluded_rows(stored.rows.take("keys", positions), excluded)] = False
                positions = positions[kept]
            return (*self._exact(stored, positions, query), floor)

        return rank


def make_index(backend: str = "auto", *, faiss_factory: str = "SQ8", nprobe: int = 16) -> FaceIndex | FaissIndex:
    """An empty index of the named backend: "auto" is FAISS when faiss-cpu imports, numpy otherwise."""
    if backend == "auto":
        backend = resolve_auto()
    if backend == "numpy":
        return FaceIndex()
    if backend == "faiss":
        return FaissIndex(faiss_factory, nprobe=nprobe)
    raise ValueError(f"unknown face index backend {backend!r}; choose one of {', '.join(BACKENDS)}")


_AUTO_LOCK = threading.Lock()
_auto_choice: str | None = None


def resolve_auto() -> str:
    """The backend "auto" stands for in this process: "faiss" when faiss-cpu imports, else "numpy".

    Decided at first use and logged once; both give exact results (FAISS's SQ8 scan is the faster one).
    """
    global _auto_choice
    with _AUTO_LOCK:
        if _auto_choice is None:
            try:
                _faiss()
            except RuntimeError as exc:
                _auto_choice = "numpy"
                _log.info("face index: FACE_INDEX_BACKEND=auto uses numpy (%s)", exc.__cause__ or exc)
            else:
                _auto_choice = "faiss"
                _log.info("face index: FACE_INDEX_BACKEND=auto uses FAISS (faiss-cpu found)")
        return _auto_choice


# --- the application's gallery, kept in step with face_templates ----------------------------------------------


@dataclasses.dataclass(frozen=True)
class _TableState:
    """What the loaded rows were: compared with the table before each search to see whether it changed."""

    count: int = 0
    id_sum: int = 0
    max_id: int = 0
    # SQLite reuses the highest id after a delete: the newest row's timestamp tells a reused id from the old row.
    newest_created: dt.datetime | None = None


class _AppGallery:
    """One application's index and the state of the table it was loaded from."""

    LOAD_BATCH = 20_000

    def __init__(self, settings: tuple[str, str, int]) -> None:
        self.settings = settings
        backend, factory, nprobe = settings
        self.index = make_index(backend, faiss_factory=factory, nprobe=nprobe)
        self.state = _TableState()
        self.reloads = 0
        self.lock = threading.Lock()

    def search(self, encoding: engine.Encoding, *, k: int, exclude_subject_ref: str | None) -> list[Match]:
        """Bring the index up to date, then search it."""
        with self.lock:
            self.sync()
            return self.index.search(encoding, k=k, exclude_subject_ref=exclude_subject_ref)

    def sync(self) -> None:
        """Load rows added since the last search; reload everything when rows were deleted or replaced."""
        table = _table_state()
        if table == self.state:
            return
        # Only new rows when the rows the index holds are still there unchanged (same count, ids and newest row):
        # a table emptied and refilled past the old highest id must not keep the old rows' templates.
        if table.max_id > self.state.max_id and _table_state(upto=self.state.max_id) == self.state:
            self._load(after=self.state)
            if self.state == table:
                return
        self.index.clear()
        self.reloads += 1
        self._load(after=_TableState())

    def _load(self, *, after: _TableState) -> None:
        count, id_sum, max_id, newest = after.count, after.id_sum, after.max_id, after.newest_created
        query = (
            sa.select(
                FaceTemplate.id,
                FaceTemplate.subject_ref,
                FaceTemplate.model_name,
                FaceTemplate.vector,
                FaceTemplate.created_at,
            )
            .where(FaceTemplate.id > after.max_id)
            .order_by(FaceTemplate.id)
            .execution_options(yield_per=self.LOAD_BATCH)
        )
        for batch in db.session.execute(query).partitions():
            # Another model's encodings are not comparable with this engine's: counted as seen, not searched.
            usable = [row for row in batch if row.model_name == engine.MODEL_NAME and len(row.vector) % 4 == 0]
            # The dimension is the data's: that of the index so far, else of the first usable row.
            dim = self.index.dim or (len(usable[0].vector) // 4 if usable else 0)
            usable = [row for row in usable if len(row.vector) == 4 * dim > 0]
            if usable:
                vectors = np.frombuffer(b"".join(row.vector for row in usable), dtype="<f4").reshape(-1, dim)
                self.index.add([row.id for row in usable], [row.subject_ref for row in usable], vectors)
            count += len(batch)
            id_sum += sum(row.id for row in batch)
            max_id, newest = batch[-1].id, batch[-1].created_at
        self.state = _TableState(count, id_sum, max_id, newest)


def _table_state(upto: int | None = None) -> _TableState:
    """Count, id sum and highest id of face_templates (all from the primary key), and the newest row's time; of the
    rows with ids up to `upto` when given."""
    rows = sa.true() if upto is None else FaceTemplate.id <= upto
    newest = sa.select(FaceTemplate.created_at).where(rows).order_by(FaceTemplate.id.desc()).limit(1).scalar_subquery()
    count, id_sum, max_id, created = db.session.execute(
        sa.select(
            sa.func.count(FaceTemplate.id),
            sa.func.coalesce(sa.func.sum(FaceTemplate.id), 0),
            sa.func.coalesce(sa.func.max(FaceTemplate.id), 0),
            newest,
        ).where(rows)
    ).one()
    return _TableState(int(count), int(id_sum), int(max_id), created)


_CREATE_LOCK = threading.Lock()


def app_gallery(app: Flask | None = None) -> _AppGallery:
    """The application's gallery (created at first use; recreated when the FACE_INDEX_* settings change)."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    cfg = app.config
    settings = (
        str(cfg["FACE_INDEX_BACKEND"]),
        str(cfg["FACE_INDEX_FAISS_FACTORY"]),
        int(cfg["FACE_INDEX_FAISS_NPROBE"]),
    )
    with _CREATE_LOCK:
        gallery: _AppGallery | None = app.extensions.get("photos_face_index")
        if gallery is None or gallery.settings != settings:
            gallery = _AppGallery(settings)
            app.extensions["photos_face_index"] = gallery
        return gallery


# --- services ----------------------------------------------------------------------------------------------------


def search_similar(
    *, encoding: engine.Encoding, exclude_subject_ref: str | None = None, k: int = 5, purpose: str = "search"
) -> list[Match]:
    """The k identities in the library nearest to an encoding (each by its best template), nearest first.

    A search over everyone's biometric templates is written to the audit log (who, why, how many results).
    """
    matches = app_gallery().search(encoding, k=k, exclude_subject_ref=exclude_subject_ref)
    record_event(
        "face.searched", object_type="face_index", details={"purpose": purpose[:40], "k": k, "found": len(matches)}
    )
    return matches


def search_by_photo(*, data: bytes, exclude_subject_ref: str | None = None, k: int = 5) -> list[Match]:
    """Decode a photo, encode its (clearly largest) face and search; PhotoRejectedError when it is unusable."""
    _jpeg, checked, _size = examine(data, Purpose.CAPTURE)
    return search_similar(encoding=checked.encoding, exclude_subject_ref=exclude_subject_ref, k=k)
