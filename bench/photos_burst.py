"""A burst verification against bare face_recognition, in the same run. Prints medians, the ratio and PASS/FAIL;
the last line is one JSON object.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python bench/photos_burst.py [--runs 9]

The burst: 5 frames from one person's photo set (../shared/faces/identities/deepface__dp01/2–6.jpg, each
letterboxed into a 640×480 JPEG), verified by services.verify_face against a reference set of 3 templates (the
library photo dp01/1 and two earlier captures, dp01/7 and dp01/8, that joined the set through
verify_and_add_to_set) on an in-memory SQLite app, with its commit: safe decoding of 5 frames, cheap checks on each
(detection on a copy shrunk to FACE_BURST_DETECT_SIDE, face size, centring, exposure, sharpness), replay
fingerprints and look-ups, FACE_BURST_ENCODE_FRAMES of them detected again and encoded, fusion, the probe photo, the
decision with its evidence, 5 fingerprints, the audit row. Between runs the fingerprints are deleted (not timed),
or the next run of the same frames would rightly be refused as a replay.

The baseline: bare face_recognition on one of those 640×480 JPEGs — load_image_file (decode), face_locations
(HOG, upsample 0) and face_encodings. Target: the burst costs at most 4× the baseline.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageOps

IDENTITIES = Path(__file__).resolve().parents[2] / "shared" / "faces" / "identities"
PERSON = "deepface__dp01"
REFERENCE = "1.jpg"
EARLIER_CAPTURES = ("7.jpg", "8.jpg")
BURST = ("2.jpg", "3.jpg", "4.jpg", "5.jpg", "6.jpg")
RATIO_TARGET = 4.0


def letterboxed_jpeg(path: Path, size: tuple[int, int] = (640, 480)) -> bytes:
    """The photo scaled to fit `size` and padded with grey to exactly that size, as JPEG."""
    with Image.open(path) as image:
        upright = ImageOps.exif_transpose(image).convert("RGB")
        framed = ImageOps.pad(upright, size, method=Image.Resampling.LANCZOS, color=(128, 128, 128))
    out = io.BytesIO()
    framed.save(out, format="JPEG", quality=90)
    return out.getvalue()


def interleaved(functions: dict[str, Callable[[], object]], runs: int, after: Callable[[], None]) -> dict[str, list]:
    """Seconds per call of each function, taking turns run by run; `after` runs untimed after each round."""
    times: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(runs + 1):
        for name, function in functions.items():
            start = time.perf_counter()
            function()
            times[name].append(time.perf_counter() - start)
        after()
    return {name: values[1:] for name, values in times.items()}  # the first round warms up


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()

    import face_recognition
    import sqlalchemy as sa

    from opcert import create_app
    from opcert.extensions import db
    from photos import services
    from photos.models import CaptureFrame, Outcome, PhotoSource

    storage = tempfile.TemporaryDirectory(prefix="opcert-bench-")
    app = create_app(
        {
            "SECRET_KEY": "bench",
            "PHOTO_SUBJECT_KEY": "bench",
            "SQLALCHEMY_DATABASE_URI": "sqlite://",
            "PHOTO_STORAGE_DIR": storage.name,
            "REDIS_URL": None,
        }
    )
    number = "310101199003070011"
    folder = IDENTITIES / PERSON
    frames = [letterboxed_jpeg(folder / name) for name in BURST]
    with app.app_context():
        db.create_all()
        services.store_photo(
            id_number=number, data=(folder / REFERENCE).read_bytes(), source=PhotoSource.UNIFIED_LIBRARY
        )
        services.record_consent(id_number=number, recorded_by_id=None)
        for name in EARLIER_CAPTURES:
            earlier = services.verify_and_add_to_set(
                id_number=number, images=[letterboxed_jpeg(folder / name)], requested_by_id=None, purpose="bench"
            )
            if not earlier.evidence or not earlier.evidence["added_to_set"]:
                raise SystemExit(f"{name} did not join the reference set ({earlier.outcome.value})")
        db.session.commit()
        decisions = []

        def baseline() -> object:
            image = face_recognition.load_image_file(io.BytesIO(frames[0]))
            locations = face_recognition.face_locations(image, number_of_times_to_upsample=0)
            return face_recognition.face_encodings(image, locations)

        def burst() -> object:
            decision = services.verify_face(id_number=number, images=frames, requested_by_id=None, purpose="bench")
            db.session.commit()
            decisions.append(decision)
            return decision

        def forget_fingerprints() -> None:
            db.session.execute(sa.delete(CaptureFrame))
            db.session.commit()

        times = interleaved({"baseline": baseline, "burst": burst}, args.runs, forget_fingerprints)
        last = decisions[-1]
        outcome, distance, used = last.outcome, last.distance, last.frames_used
        templates = len(last.evidence["templates"]) if last.evidence else 0
    storage.cleanup()

    base = statistics.median(times["baseline"]) * 1000
    cost = statistics.median(times["burst"]) * 1000
    ratio = cost / base
    ok = ratio <= RATIO_TARGET and outcome is Outcome.MATCH and templates == 3
    print(
        f"== burst verification: {len(frames)} frames of {PERSON} (640×480 JPEGs) against {templates} templates; "
        f"median of {args.runs} =="
    )
    print(f"  decision: {outcome.value} at fused distance {distance:.3f}; frames encoded: {used} of {len(frames)}")
    print(f"  bare face_recognition: decode + detect (upsample 0) + encode, one frame  {base:7.1f} ms   baseline")
    print(
        f"  services.verify_face, 5-frame burst, in-memory SQLite, with commit      {cost:7.1f} ms   {ratio:.2f}×"
        f"  target ≤ {RATIO_TARGET}×  {'PASS' if ok else 'FAIL'}"
    )
    print(
        json.dumps(
            {
                "frames": len(frames),
                "templates": templates,
                "frames_encoded": used,
                "outcome": outcome.value,
                "baseline_ms": round(base, 1),
                "burst_ms": round(cost, 1),
                "burst_ratio": round(ratio, 3),
                "target_ratio": RATIO_TARGET,
                "pass": ok,
            }
        )
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
