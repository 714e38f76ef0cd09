"""1:N search on the real photos and on a synthetic gallery: the right identity comes first, results are per
identity, the compact int8 scan with exact re-ranking gives exactly the exact search's results, both backends agree,
and the application's index follows the face_templates table without a restart."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator

import numpy as np
import pytest
import sqlalchemy as sa
from flask import Flask

from opcert.extensions import db
from photos import engine, index, services
from photos.dataset import Sample
from photos.index import (
    CHUNK_ROWS,
    FaceIndex,
    FaissIndex,
    Match,
    _AppGallery,
    app_gallery,
    make_index,
    search_by_photo,
    search_similar,
)
from photos.models import PhotoSource
from tests.factories import id_number
from tests.fixtures.faces import IDENTITIES

BACKENDS = ["numpy", "faiss"]
# Every index kind whose results must equal the exact search's: the numpy int8 scan, FAISS Flat, FAISS SQ8 (int8
# codes on one scale for the gallery).
KINDS = ["numpy", "faiss-Flat", "faiss-SQ8"]


def by_person(samples: list[Sample]) -> dict[str, list[Sample]]:
    grouped: dict[str, list[Sample]] = {}
    for sample in samples:
        grouped.setdefault(sample.person, []).append(sample)
    return grouped


def encoding(sample: Sample) -> engine.Encoding:
    assert sample.encoding is not None
    return sample.encoding


def whole_library(backend: str, samples: list[Sample]) -> FaceIndex | FaissIndex:
    """Every identity photo in the gallery, template id = its position, subject = the person."""
    index = make_index(backend)
    index.add(list(range(len(samples))), [s.person for s in samples], np.vstack([encoding(s) for s in samples]))
    return index


def new_index(kind: str) -> FaceIndex | FaissIndex:
    backend, _, factory = kind.partition("-")
    return make_index(backend, faiss_factory=factory or "Flat")


def exact_search(
    ids: list[int], refs: list[str], vectors: np.ndarray, query: np.ndarray, k: int, exclude: str | None = None
) -> list[tuple[str, int, float]]:
    """(identity, template id, distance) of the k nearest identities by brute force in float64: what the index
    must return."""
    diff = vectors.astype(np.float64) - query.astype(np.float64)
    distances = np.sqrt(np.einsum("ij,ij->i", diff, diff))
    found: list[tuple[str, int, float]] = []
    for row in np.argsort(distances, kind="stable"):
        if refs[row] != exclude and refs[row] not in {ref for ref, _, _ in found}:
            found.append((refs[row], ids[row], float(distances[row])))
        if len(found) == k:
            break
    return found


def assert_exact(matches: list[Match], expected: list[tuple[str, int, float]]) -> None:
    assert [(m.subject_ref, m.template_id) for m in matches] == [(ref, tid) for ref, tid, _ in expected]
    assert [m.distance for m in matches] == pytest.approx([d for _, _, d in expected], rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("folder", ["identity_samples", "east_asian_samples"])
def test_the_compact_index_returns_the_exact_searchs_results_on_the_shared_faces(request, folder, kind) -> None:
    samples: list[Sample] = [s for s in request.getfixturevalue(folder) if s.encoding is not None]
    refs, vectors = [s.person for s in samples], np.vstack([encoding(s) for s in samples])
    ids = list(range(len(samples)))
    index = new_index(kind)
    index.add(ids, refs, vectors)
    for sample in samples:
        for exclude in (None, sample.person):
            matches = index.search(encoding(sample), k=5, exclude_subject_ref=exclude)
            assert_exact(matches, exact_search(ids, refs, vectors, encoding(sample), 5, exclude))


def synthetic_gallery(rows: int, seed: int = 5) -> tuple[list[int], list[str], np.ndarray]:
    """Encodings with dlib's spread (≈ N(0, 0.09) a dimension), two templates per made-up person."""
    vectors = np.random.default_rng(seed).normal(0, 0.09, (rows, 128)).astype(np.float32)
    return list(range(1, rows + 1)), [f"person-{row // 2}" for row in range(rows)], vectors


def test_the_compact_index_finds_planted_probes_in_100k_templates_exactly() -> None:
    ids, refs, vectors = synthetic_gallery(100_000)
    index = FaceIndex()
    for start in range(0, len(ids), 20_000):
        index.add(ids[start : start + 20_000], refs[start : start + 20_000], vectors[start : start + 20_000])
    rng = np.random.default_rng(6)
    planted = rng.choice(len(ids), 15, replace=False)
    # A new photo of a person: one of their templates with a little noise; and faces of nobody in the gallery,
    # whose nearest identities lie close together.
    probes = [(refs[row], vectors[row] + rng.normal(0, 0.02, 128).astype(np.float32)) for row in planted]
    strangers = [(None, rng.normal(0, 0.09, 128).astype(np.float32)) for _ in range(15)]
    for person, query in probes + strangers:
        matches = index.search(query, k=5)
        assert_exact(matches, exact_search(ids, refs, vectors, query, 5))
        if person is not None:
            assert matches[0].subject_ref == person


@pytest.mark.parametrize("kind", KINDS)
def test_rows_nearer_together_than_the_int8_codes_can_tell_are_all_reranked_exactly(kind) -> None:
    # 3,000 people at distances 0.6, 0.6 + 1e-5, ... from the query, in random order: the int8 scores cannot
    # order them (their error is ~1e-2), so only re-ranking every row that might beat the fifth finds the five.
    rng = np.random.default_rng(8)
    query = rng.normal(0, 0.09, 128).astype(np.float32)
    directions = rng.normal(size=(3000, 128))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    radii = 0.6 + 1e-5 * rng.permutation(3000)
    vectors = (query + directions * radii[:, None]).astype(np.float32)
    ids, refs = list(range(3000)), [f"person-{row}" for row in range(3000)]
    index = new_index(kind)
    index.add(ids, refs, vectors)
    assert_exact(index.search(query, k=5), exact_search(ids, refs, vectors, query, 5))


def test_faiss_sq8_encodes_everything_again_when_templates_outgrow_its_codes() -> None:
    # The first templates are small, so the codes' scale is fine; later ones are 9× larger and do not fit it.
    rng = np.random.default_rng(10)
    small, large = rng.normal(0, 0.01, (1500, 128)), rng.normal(0, 0.09, (1500, 128))
    vectors = np.vstack([small, large]).astype(np.float32)
    ids, refs = list(range(3000)), [f"person-{row // 3}" for row in range(3000)]
    index = new_index("faiss-SQ8")
    for start in range(0, 3000, 500):
        index.add(ids[start : start + 500], refs[start : start + 500], vectors[start : start + 500])
    for row in (10, 1499, 1500, 2999):
        query = vectors[row] + rng.normal(0, vectors[row].std() / 5, 128).astype(np.float32)
        matches = index.search(query, k=4)
        assert_exact(matches, exact_search(ids, refs, vectors, query, 4))
        assert matches[0].subject_ref == refs[row]


def test_the_index_keeps_int8_codes_in_memory_not_float32_vectors() -> None:
    ids, refs, vectors = synthetic_gallery(CHUNK_ROWS)
    index = FaceIndex()
    index.add(ids, refs, vectors)
    # A template costs 128 code bytes, its scale and half squared norm (4 + 4), id (8) and subject key (32):
    # 176 bytes, where its float32 encoding alone would be 512.
    assert index.nbytes == CHUNK_ROWS * 176


@pytest.fixture
def fresh_auto(monkeypatch) -> None:
    """Forget which backend "auto" chose in this process, so the next index decides (and logs) again."""
    monkeypatch.setattr(index, "_auto_choice", None)


def test_auto_takes_faiss_sq8_when_faiss_imports_and_logs_it_once(fresh_auto, caplog, identity_samples) -> None:
    caplog.set_level(logging.INFO, logger="photos.index")
    first, second = make_index("auto"), make_index()
    assert isinstance(first, FaissIndex)
    assert first.factory == "SQ8"
    assert isinstance(second, FaissIndex)
    chosen = [r.getMessage() for r in caplog.records if "FACE_INDEX_BACKEND=auto" in r.getMessage()]
    assert chosen == ["face index: FACE_INDEX_BACKEND=auto uses FAISS (faiss-cpu found)"]
    # Its results are the exact search's, as the numpy backend's are.
    gallery = whole_library("auto", identity_samples)
    ids, refs = list(range(len(identity_samples))), [s.person for s in identity_samples]
    vectors = np.vstack([encoding(s) for s in identity_samples])
    for sample in identity_samples[::15]:
        assert_exact(gallery.search(encoding(sample), k=5), exact_search(ids, refs, vectors, encoding(sample), 5))


def test_auto_falls_back_to_numpy_without_faiss(fresh_auto, caplog, monkeypatch, identity_samples) -> None:
    # faiss-cpu not installed: `import faiss` fails as it would on a deployment without the extra.
    monkeypatch.setitem(sys.modules, "faiss", None)
    caplog.set_level(logging.INFO, logger="photos.index")
    chosen = make_index("auto")
    assert type(chosen) is FaceIndex
    assert type(make_index("auto")) is FaceIndex
    messages = [r.getMessage() for r in caplog.records if "FACE_INDEX_BACKEND=auto" in r.getMessage()]
    assert len(messages) == 1
    assert messages[0].startswith("face index: FACE_INDEX_BACKEND=auto uses numpy")
    # "faiss" asked for outright is refused with the reason, not silently replaced.
    with pytest.raises(RuntimeError, match="needs the faiss-cpu package"):
        make_index("faiss")
    people = by_person(identity_samples)
    firsts = [samples[0] for samples in people.values()]
    chosen.add(list(range(len(firsts))), [s.person for s in firsts], np.vstack([encoding(s) for s in firsts]))
    assert chosen.search(encoding(next(iter(people.values()))[1]), k=1)[0].subject_ref == firsts[0].person


def test_the_default_setting_is_auto(app: Flask, fresh_auto) -> None:
    assert app.config["FACE_INDEX_BACKEND"] == "auto"
    assert isinstance(app_gallery(app).index, FaissIndex)


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_dimension_comes_from_the_encodings(backend) -> None:
    rng = np.random.default_rng(9)
    # An ArcFace-style engine: 512 numbers of unit length.
    vectors = rng.normal(size=(2000, 512)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids, refs = list(range(2000)), [f"person-{row // 4}" for row in range(2000)]
    index = make_index(backend)
    index.add(ids, refs, vectors)
    assert index.dim == 512
    for row in (3, 777, 1999):
        query = vectors[row] + rng.normal(0, 0.01, 512).astype(np.float32)
        assert_exact(index.search(query, k=3), exact_search(ids, refs, vectors, query, 3))
    with pytest.raises(ValueError, match="512-d"):
        index.search(np.zeros(128, dtype=np.float32))
    with pytest.raises(ValueError, match="rows of 512 numbers"):
        index.add([5000], ["someone"], np.zeros((1, 128), dtype=np.float32))
    index.clear()
    index.add([1], ["someone"], np.ones((1, 128), dtype=np.float32))
    assert index.dim == 128
    assert index.search(np.ones(128, dtype=np.float32), k=1) == [Match("someone", 0.0, 1)]


@pytest.mark.parametrize("backend", BACKENDS)
def test_each_persons_other_photos_find_them_first(backend, identity_samples) -> None:
    people = by_person(identity_samples)
    index = make_index(backend)
    firsts = [samples[0] for samples in people.values()]
    index.add(list(range(len(firsts))), [s.person for s in firsts], np.vstack([encoding(s) for s in firsts]))
    assert len(index) == 37

    queries = [s for samples in people.values() for s in samples[1:]]
    right = [s for s in queries if index.search(encoding(s), k=1)[0].subject_ref == s.person]
    # Measured with face_recognition 1.3.0: all 116 other photos of the 37 people find their own person first.
    assert (len(right), len(queries)) == (116, 116)


@pytest.mark.parametrize("backend", BACKENDS)
def test_results_are_identities_with_their_best_template(backend, identity_samples) -> None:
    index = whole_library(backend, identity_samples)
    query = identity_samples[0]
    matches = index.search(encoding(query), k=5)
    assert len(matches) == 5
    assert len({m.subject_ref for m in matches}) == 5
    assert [m.distance for m in matches] == sorted(m.distance for m in matches)
    # The query photo itself is in the library: its own person first, at distance 0.
    assert matches[0] == Match(query.person, pytest.approx(0.0, abs=1e-3), 0)
    for match in matches[1:]:
        templates = [i for i, s in enumerate(identity_samples) if s.person == match.subject_ref]
        best = min(templates, key=lambda i: engine.distance(encoding(identity_samples[i]), encoding(query)))
        assert match.template_id == best
        assert match.distance == pytest.approx(engine.distance(encoding(identity_samples[best]), encoding(query)))


@pytest.mark.parametrize("backend", BACKENDS)
def test_exclude_subject_ref_leaves_that_person_out(backend, identity_samples) -> None:
    index = whole_library(backend, identity_samples)
    for samples in by_person(identity_samples).values():
        person = samples[0].person
        matches = index.search(encoding(samples[0]), k=3, exclude_subject_ref=person)
        assert len(matches) == 3
        assert person not in {m.subject_ref for m in matches}
        # The nearest other person is at least as far as the sibling pair, the closest in the set (≈0.516).
        assert matches[0].distance > 0.5


def test_numpy_and_faiss_give_the_same_results(identity_samples) -> None:
    exact, flat = whole_library("numpy", identity_samples), whole_library("faiss", identity_samples)
    for sample in identity_samples:
        for exclude in (None, sample.person):
            a = exact.search(encoding(sample), k=5, exclude_subject_ref=exclude)
            b = flat.search(encoding(sample), k=5, exclude_subject_ref=exclude)
            assert [m.subject_ref for m in a] == [m.subject_ref for m in b]
            assert [m.template_id for m in a] == [m.template_id for m in b]
            assert [m.distance for m in a] == pytest.approx([m.distance for m in b], abs=1e-5)


def test_growing_across_chunks_changes_nothing(identity_samples) -> None:
    reference = whole_library("numpy", identity_samples)
    chunked = FaceIndex(chunk_rows=7)
    for start in range(0, len(identity_samples), 10):
        batch = identity_samples[start : start + 10]
        ids = list(range(start, start + len(batch)))
        chunked.add(ids, [s.person for s in batch], np.vstack([encoding(s) for s in batch]))
    assert len(chunked) == len(identity_samples)
    for sample in identity_samples[::5]:
        assert chunked.search(encoding(sample), k=4) == reference.search(encoding(sample), k=4)


def test_ivf_pq_option_trains_once_the_gallery_is_large_enough(identity_samples) -> None:
    index = FaissIndex("IVF8,PQ16x4", nprobe=8)
    rng = np.random.default_rng(7)
    real = np.vstack([encoding(s) for s in identity_samples])
    # Made-up people around the real faces, enough to train 8 lists and 16-code quantisers (39 points each).
    others = real[rng.integers(0, len(real), 700)] + rng.normal(0, 0.08, (700, 128)).astype(np.float32)
    index.add(list(range(1000, 1700)), [f"synthetic-{i}" for i in range(700)], others)
    assert index.min_train == 624
    assert type(index._index).__name__ == "IndexIVFPQ"
    index.add(list(range(len(real))), [s.person for s in identity_samples], real)
    found = sum(index.search(encoding(s), k=1)[0].subject_ref == s.person for s in identity_samples)
    # Compressed codes are approximate; measured: every photo still finds its own person first.
    assert found == len(identity_samples)


def test_bad_queries_are_refused(identity_samples) -> None:
    index = whole_library("numpy", identity_samples)
    with pytest.raises(ValueError, match="128-d"):
        index.search(np.zeros(64, dtype=np.float32))
    with pytest.raises(ValueError, match="k must"):
        index.search(encoding(identity_samples[0]), k=0)
    assert FaceIndex().search(encoding(identity_samples[0])) == []


# --- the application's index and the face_templates table -------------------------------------------------------


def photo_bytes(rel: str) -> bytes:
    return (IDENTITIES / rel).read_bytes()


def sample(samples: list[Sample], rel: str) -> Sample:
    return next(s for s in samples if s.path == IDENTITIES / rel)


@pytest.fixture(params=BACKENDS)
def library(request, app: Flask, monkeypatch) -> Iterator[Flask]:
    """An app context on an empty library, with the index backend of the parameter."""
    monkeypatch.setitem(app.config, "FACE_INDEX_BACKEND", request.param)
    with app.app_context():
        yield app
        db.session.rollback()


def store(rel: str) -> str:
    """Store a shared photo as a person's library photo; their subject reference."""
    number = id_number()
    services.store_photo(id_number=number, data=photo_bytes(rel), source=PhotoSource.UNIFIED_LIBRARY)
    return services.subject_ref(number)


def top(query: Sample, **kwargs) -> list[str]:
    return [m.subject_ref for m in search_similar(encoding=encoding(query), **kwargs)]


def test_templates_become_searchable_and_forgotten_ones_disappear(library, identity_samples) -> None:
    first, second = store("deepface__dp01/1.jpg"), store("deepface__dp02/1.jpg")
    db.session.commit()
    assert top(sample(identity_samples, "deepface__dp01/2.jpg"), k=2) == [first, second]

    number = id_number()
    services.store_photo(id_number=number, data=photo_bytes("deepface__dp03/1.jpg"), source=PhotoSource.UNIFIED_LIBRARY)
    third = services.subject_ref(number)
    assert top(sample(identity_samples, "deepface__dp03/2.jpg"), k=1) == [third]  # flushed, not yet committed
    db.session.commit()

    services.forget_subject(number)
    assert set(top(sample(identity_samples, "deepface__dp03/2.jpg"), k=5)) == {first, second}


def test_the_table_is_read_in_batches(library, identity_samples, monkeypatch) -> None:
    monkeypatch.setattr(_AppGallery, "LOAD_BATCH", 2)
    people = [store(f"deepface__dp{n:02d}/1.jpg") for n in (1, 2, 3)]
    for n, person in zip((1, 2, 3), people, strict=True):
        assert top(sample(identity_samples, f"deepface__dp{n:02d}/2.jpg"), k=1) == [person]
    assert len(app_gallery().index) == 3


def test_an_unchanged_table_is_not_reloaded(library, identity_samples) -> None:
    person = store("deepface__dp04/1.jpg")
    query = sample(identity_samples, "deepface__dp04/2.jpg")
    assert top(query) == [person]
    gallery = app_gallery()
    reloads, state = gallery.reloads, gallery.state
    for _ in range(3):
        assert top(query) == [person]
    assert (gallery.reloads, gallery.state) == (reloads, state)
    other = store("deepface__dp05/1.jpg")  # a new row is loaded on its own, without a reload
    assert top(sample(identity_samples, "deepface__dp05/2.jpg"), k=1) == [other]
    assert gallery.reloads == reloads
    assert len(gallery.index) == 2


def test_a_deleted_and_replaced_newest_row_is_not_kept(library, identity_samples) -> None:
    # SQLite gives the next row the highest id again once that row is deleted: the index must not keep the old face.
    keep = store("deepface__dp06/1.jpg")
    number = id_number()
    services.store_photo(id_number=number, data=photo_bytes("deepface__dp07/1.jpg"), source=PhotoSource.UNIFIED_LIBRARY)
    gone = services.subject_ref(number)
    db.session.commit()
    assert top(sample(identity_samples, "deepface__dp07/2.jpg"), k=1) == [gone]
    services.forget_subject(number)
    db.session.commit()
    replacement = store("deepface__dp08/1.jpg")
    db.session.commit()
    assert set(top(sample(identity_samples, "deepface__dp07/2.jpg"), k=5)) == {keep, replacement}
    assert top(sample(identity_samples, "deepface__dp08/2.jpg"), k=1) == [replacement]


def test_a_table_emptied_and_refilled_past_the_old_highest_id_is_reloaded(library, identity_samples) -> None:
    # Two rows (ids 1, 2) searched, then deleted (as between tests, or by forget), then three new rows (1, 2, 3 on
    # SQLite): count, id sum and highest id of the new rows equal what loading only "row 3" onto the old state would
    # give, so the rows up to the old highest id must be checked too, or the deleted faces stay searchable.
    numbers = [id_number(), id_number()]
    for number, rel in zip(numbers, ("deepface__dp01/1.jpg", "deepface__dp03/1.jpg"), strict=True):
        services.store_photo(id_number=number, data=photo_bytes(rel), source=PhotoSource.UNIFIED_LIBRARY)
    db.session.commit()
    first = services.subject_ref(numbers[0])
    assert top(sample(identity_samples, "deepface__dp03/2.jpg"), k=1) == [services.subject_ref(numbers[1])]
    for number in numbers:
        services.forget_subject(number)
    db.session.commit()
    people = [store(f"deepface__dp{n:02d}/1.jpg") for n in (4, 5, 6)]
    db.session.commit()
    found = set(top(sample(identity_samples, "deepface__dp03/2.jpg"), k=5))
    assert found <= set(people)
    assert first not in found
    assert len(app_gallery().index) == 3


def test_search_by_photo_finds_the_person_and_can_leave_them_out(library) -> None:
    first, second = store("deepface__dp09/1.jpg"), store("deepface__dp10/1.jpg")
    matches = search_by_photo(data=photo_bytes("deepface__dp09/2.jpg"), k=2)
    assert [m.subject_ref for m in matches] == [first, second]
    assert matches[0].distance < 0.47 < matches[1].distance
    again = search_by_photo(data=photo_bytes("deepface__dp09/2.jpg"), exclude_subject_ref=first)
    assert [m.subject_ref for m in again] == [second]


def test_search_by_photo_without_a_face_is_refused_in_chinese(library) -> None:
    store("deepface__dp11/1.jpg")
    with pytest.raises(services.PhotoRejectedError) as refused:
        search_by_photo(data=(IDENTITIES.parent / "noface" / "noface__coffee.jpg").read_bytes())
    assert refused.value.code == "no_face"
    assert "未检测到人脸" in refused.value.message


def test_every_search_is_written_to_the_audit_log(library, identity_samples) -> None:
    from opcert.audit.models import AuditEvent

    store("deepface__dp11/1.jpg")
    top(sample(identity_samples, "deepface__dp11/2.jpg"), k=3, purpose="duplicate_check")
    rows = db.session.execute(sa.select(AuditEvent).where(AuditEvent.action == "face.searched")).scalars().all()
    assert len(rows) == 1
    assert '"purpose":"duplicate_check"' in rows[0].details
