"""Built-in example datasets, generated deterministically in code (no download).

Each one mirrors a story from the field (see DESIGN.md): lung CT slices at about
1 cancer slice per 6 normal ones, face anti-spoofing at about 1 real face per 6.3
attacks, and a small zip of generated defect photos for the image-folder path.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

__all__ = ["EXAMPLES", "Example", "defect_photos_zip", "face_antispoofing_csv", "lung_ct_csv"]

_FIXED_ZIP_TIME = (2024, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class Example:
    """A built-in dataset: its file name, what it shows, and how to make its bytes."""

    key: str
    title: str
    filename: str
    description: str
    build: Callable[[], bytes]

    def data(self) -> bytes:
        return self.build()


def _csv_bytes(columns: dict[str, list]) -> bytes:
    sink = io.BytesIO()
    pacsv.write_csv(
        pa.table(columns), sink, write_options=pacsv.WriteOptions(quoting_style="needed")
    )
    return sink.getvalue()


@cache
def lung_ct_csv(*, seed: int = 7) -> bytes:
    """A LIDC-IDRI-like manifest of CT slices: about 1 cancer slice per 6 normal ones.

    120 patients with 40-80 slices each; a third of them carry a nodule spanning a
    run of consecutive slices labelled ``cancer``. Columns: ``path``,
    ``patient_id``, ``slice_index``, ``diagnosis``, ``scanner``.
    """
    rng = np.random.default_rng(seed)
    scanners = np.array(["GE LightSpeed", "Siemens Sensation", "Philips Brilliance"])
    columns: dict[str, list] = {
        "path": [], "patient_id": [], "slice_index": [], "diagnosis": [], "scanner": []
    }  # fmt: skip
    for patient in range(120):
        pid = f"LIDC-{patient + 1:04d}"
        n_slices = int(rng.integers(40, 81))
        nodule = np.zeros(n_slices, dtype=bool)
        if patient % 3 == 0:
            length = int(rng.integers(18, 36))
            start = int(rng.integers(0, n_slices - length))
            nodule[start : start + length] = True
        scanner = str(scanners[rng.integers(0, len(scanners))])
        for index in range(n_slices):
            columns["path"].append(f"{pid}/slice_{index:03d}.png")
            columns["patient_id"].append(pid)
            columns["slice_index"].append(str(index))
            columns["diagnosis"].append("cancer" if nodule[index] else "normal")
            columns["scanner"].append(scanner)
    return _csv_bytes(columns)


@cache
def face_antispoofing_csv(*, seed: int = 11) -> bytes:
    """An LCC-FASD-like manifest: about 1 real face per 6.3 attacks, with
    train/dev/test splits by subject and an attack type per spoof.

    Columns: ``path``, ``label`` (``real``/``spoof``), ``attack_type``
    (``none``, ``print``, ``replay``, ``mask``), ``subject_id``, ``split``.
    """
    rng = np.random.default_rng(seed)
    attacks = np.array(["print", "replay", "mask"])
    columns: dict[str, list] = {
        "path": [], "label": [], "attack_type": [], "subject_id": [], "split": []
    }  # fmt: skip
    for subject in range(160):
        sid = f"subject_{subject:03d}"
        split = "train" if subject < 112 else "dev" if subject < 136 else "test"
        n_real = int(rng.integers(6, 15))
        n_spoof = round(n_real * rng.uniform(5.3, 7.3))
        for index in range(n_real):
            columns["path"].append(f"{split}/real/{sid}_{index:02d}.jpg")
            columns["label"].append("real")
            columns["attack_type"].append("none")
            columns["subject_id"].append(sid)
            columns["split"].append(split)
        kinds = attacks[rng.choice(3, size=n_spoof, p=[0.4, 0.45, 0.15])]
        for index, kind in enumerate(kinds):
            columns["path"].append(f"{split}/spoof/{sid}_{kind}_{index:02d}.jpg")
            columns["label"].append("spoof")
            columns["attack_type"].append(str(kind))
            columns["subject_id"].append(sid)
            columns["split"].append(split)
    return _csv_bytes(columns)


def _defect_image(kind: str, rng: np.random.Generator, size: int = 48) -> bytes:
    from PIL import Image, ImageDraw

    base = rng.normal(150, 12, size=(size, size)).clip(0, 255).astype(np.uint8)
    image = Image.fromarray(base, mode="L").convert("RGB")
    draw = ImageDraw.Draw(image)
    if kind == "scratch":
        x0, y0 = (int(v) for v in rng.integers(0, size // 3, 2))
        x1, y1 = (int(v) for v in rng.integers(2 * size // 3, size, 2))
        draw.line((x0, y0, x1, y1), fill=(40, 40, 40), width=2)
    elif kind == "dent":
        cx, cy = (int(v) for v in rng.integers(12, size - 12, 2))
        r = int(rng.integers(5, 10))
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(90, 80, 70))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()


@cache
def defect_photos_zip(*, seed: int = 3) -> bytes:
    """A zip of generated 48x48 PNG "photos" of a surface: ``ok``, ``scratch`` and
    ``dent`` in ``train``/``test`` folders under one wrapper folder (about 1 : 8),
    plus the macOS junk a real zip often carries."""
    rng = np.random.default_rng(seed)
    plan = {
        "train": {"ok": 48, "scratch": 12, "dent": 6},
        "test": {"ok": 12, "scratch": 3, "dent": 2},
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for split, classes in plan.items():
            for kind, count in classes.items():
                for index in range(count):
                    info = zipfile.ZipInfo(
                        f"surface_defects/{split}/{kind}/{kind}_{index:03d}.png", _FIXED_ZIP_TIME
                    )
                    info.compress_type = zipfile.ZIP_DEFLATED
                    archive.writestr(info, _defect_image(kind, rng))
        junk = zipfile.ZipInfo("__MACOSX/surface_defects/._README", _FIXED_ZIP_TIME)
        archive.writestr(junk, b"\x00\x05\x16\x07")
        archive.writestr(zipfile.ZipInfo("surface_defects/.DS_Store", _FIXED_ZIP_TIME), b"\x00")
    return buffer.getvalue()


@cache
def _road_objects_zip() -> bytes:
    from .detection_examples import road_objects

    return road_objects(format="yolo")


@cache
def _chest_xray_csv() -> bytes:
    from .detection_examples import chest_xray_table

    return chest_xray_table(style="chexpert")


EXAMPLES: dict[str, Example] = {
    example.key: example
    for example in (
        Example(
            key="lung_ct",
            title="Lung CT slices (1 : 6, patients)",
            filename="lung_ct_slices.csv",
            description=(
                "CT slices of 120 patients, about 1 cancer slice per 6 normal ones. "
                "Slices of one patient are near-duplicates: undersample across patients."
            ),
            build=lung_ct_csv,
        ),
        Example(
            key="face_antispoofing",
            title="Face anti-spoofing (1 : 6.3, splits)",
            filename="face_antispoofing.csv",
            description=(
                "Real faces vs print, replay and mask attacks with train/dev/test splits. "
                "Every attack is worth learning: use class weights instead of dropping."
            ),
            build=face_antispoofing_csv,
        ),
        Example(
            key="defect_photos",
            title="Defect photos (zip of image folders)",
            filename="surface_defects.zip",
            description="Generated PNG photos in train/test class folders, zipped.",
            build=defect_photos_zip,
        ),
        Example(
            key="road_objects",
            title="Street objects (YOLO boxes)",
            filename="road_objects_yolo.zip",
            description=(
                "A small YOLO detection set: cars everywhere, rare and mostly small "
                "bicycles, some background images. Balance it by repeating images."
            ),
            build=_road_objects_zip,
        ),
        Example(
            key="chest_xray",
            title="Chest X-ray findings (multi-label)",
            filename="chest_xray_findings.csv",
            description=(
                "CheXpert-style: one column per finding (1, 0, -1 uncertain, blank); "
                "Infiltration common, Hernia rare, many images with no finding."
            ),
            build=_chest_xray_csv,
        ),
    )
}
