"""Built-in examples with several labels or boxes per sample, generated in code.

- :func:`road_objects` : a small street-scene detection set (cars everywhere,
  a rare ``bicycle`` mostly small, some background images), as a YOLO zip in
  Roboflow's layout (``train/images``, ``train/labels``, ``valid/...``,
  ``data.yaml``), a COCO zip (one ``_annotations.coco.json`` per split) or a
  Pascal VOC zip (``Annotations/``, ``JPEGImages/``, ``ImageSets/Main``): the
  same scenes in every format, images drawn with Pillow.
- :func:`chest_xray_table` : a multi-label chest X-ray table, CheXpert-style
  (one column per finding, 1 / 0 / -1 / blank) or NIH ChestX-ray14-style
  (``Finding Labels`` joined by ``|``, ``No Finding`` for an empty set).

Deterministic: the same call gives the same bytes (seeded numpy generator,
fixed zip timestamps).
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

__all__ = ["CHEST_FINDINGS", "ROAD_CLASSES", "chest_xray_table", "road_objects", "road_scenes"]

ROAD_CLASSES = ("bicycle", "bus", "car", "person", "traffic light")
# Images per scene type, objects per image and their sizes: cars are common and
# large-ish, bicycles rare and mostly small (COCO's "small" is below 32 x 32).
_SIZE = (160, 120)
_DATE = (2024, 1, 1, 0, 0, 0)
CHEST_FINDINGS = (
    "Atelectasis", "Cardiomegaly", "Consolidation", "Edema", "Effusion", "Emphysema",
    "Fibrosis", "Hernia", "Infiltration", "Mass", "Nodule", "Pleural_Thickening",
    "Pneumonia", "Pneumothorax",
)  # fmt: skip
# Prevalences shaped like ChestX-ray14's (Infiltration common, Hernia rare).
_PREVALENCE = (
    0.10, 0.025, 0.04, 0.02, 0.12, 0.022, 0.015, 0.002, 0.18, 0.05, 0.056, 0.03, 0.013, 0.047,
)  # fmt: skip


@dataclass(frozen=True)
class Scene:
    """One image: file stem, split and boxes ``(class index, x, y, w, h)`` in pixels."""

    stem: str
    split: str
    boxes: tuple[tuple[int, float, float, float, float], ...]


def road_scenes(*, n_images: int = 60, seed: int = 12) -> list[Scene]:
    """The scenes of :func:`road_objects`."""
    rng = np.random.default_rng(seed)
    scenes = []
    width, height = _SIZE
    for k in range(n_images):
        split = "valid" if k % 5 == 4 else "train"
        boxes = []
        if k % 10 != 9:  # every tenth image is background
            n_cars = int(rng.integers(1, 5))
            kinds = [2] * n_cars
            kinds += [3] * int(rng.integers(0, 3))
            if rng.random() < 0.25:
                kinds.append(4)
            if rng.random() < 0.12:
                kinds.append(1)
            if rng.random() < 0.1:
                kinds.append(0)
            for kind in kinds:
                if kind == 0:  # bicycles: mostly small
                    size = (rng.uniform(8, 28), rng.uniform(8, 24))
                    if rng.random() < 0.2:
                        size = (rng.uniform(40, 60), rng.uniform(35, 50))
                elif kind in (1, 2):
                    size = (rng.uniform(30, 70), rng.uniform(20, 50))
                else:
                    size = (rng.uniform(8, 30), rng.uniform(15, 45))
                x = float(rng.uniform(0, width - size[0]))
                y = float(rng.uniform(0, height - size[1]))
                boxes.append((kind, round(x, 1), round(y, 1), round(size[0], 1), round(size[1], 1)))
        scenes.append(Scene(stem=f"frame_{k:04d}", split=split, boxes=tuple(boxes)))
    return scenes


_COLOURS = ((230, 60, 60), (60, 90, 230), (240, 200, 40), (60, 180, 90), (200, 90, 200))


def _image(scene: Scene) -> bytes:
    picture = Image.new("RGB", _SIZE, (110, 110, 115))
    draw = ImageDraw.Draw(picture)
    for kind, x, y, w, h in scene.boxes:
        draw.rectangle((x, y, x + w, y + h), fill=_COLOURS[kind])
    out = io.BytesIO()
    picture.save(out, format="PNG", optimize=False)
    return out.getvalue()


def _zip(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, files[name])
    return out.getvalue()


def road_objects(*, format: str = "yolo", n_images: int = 60, seed: int = 12) -> bytes:
    """A small detection set as zip bytes: ``format`` is ``"yolo"``, ``"coco"`` or ``"voc"``."""
    scenes = road_scenes(n_images=n_images, seed=seed)
    width, height = _SIZE
    files: dict[str, bytes] = {}
    if format == "yolo":
        names = "\n".join(f"  - {name}" for name in ROAD_CLASSES)
        files["data.yaml"] = (
            "train: ../train/images\nval: ../valid/images\n\n"
            f"nc: {len(ROAD_CLASSES)}\nnames:\n{names}\n"
        ).encode()
        for scene in scenes:
            files[f"{scene.split}/images/{scene.stem}.png"] = _image(scene)
            lines = [
                f"{kind} {(x + w / 2) / width:.6f} {(y + h / 2) / height:.6f} "
                f"{w / width:.6f} {h / height:.6f}"
                for kind, x, y, w, h in scene.boxes
            ]
            files[f"{scene.split}/labels/{scene.stem}.txt"] = "\n".join(lines).encode()
    elif format == "coco":
        for split in ("train", "valid"):
            chosen = [s for s in scenes if s.split == split]
            images, annotations = [], []
            for image_id, scene in enumerate(chosen, start=1):
                files[f"{split}/{scene.stem}.png"] = _image(scene)
                images.append(
                    {"id": image_id, "file_name": f"{scene.stem}.png", "width": width,
                     "height": height}
                )  # fmt: skip
                for kind, x, y, w, h in scene.boxes:
                    annotations.append(
                        {"id": len(annotations) + 1, "image_id": image_id,
                         "category_id": kind + 1, "bbox": [x, y, w, h],
                         "area": round(w * h, 2), "iscrowd": 0, "segmentation": []}
                    )  # fmt: skip
            document = {
                "info": {"description": "Seesaw road objects example"},
                "images": images,
                "annotations": annotations,
                "categories": [
                    {"id": k + 1, "name": name, "supercategory": "road"}
                    for k, name in enumerate(ROAD_CLASSES)
                ],
            }
            files[f"{split}/_annotations.coco.json"] = json.dumps(document, indent=1).encode()
    elif format == "voc":
        lists: dict[str, list[str]] = {"train": [], "val": []}
        for scene in scenes:
            files[f"VOC/JPEGImages/{scene.stem}.png"] = _image(scene)
            objects = "".join(
                f"<object><name>{ROAD_CLASSES[kind]}</name><difficult>0</difficult>"
                f"<bndbox><xmin>{x:g}</xmin><ymin>{y:g}</ymin><xmax>{x + w:g}</xmax>"
                f"<ymax>{y + h:g}</ymax></bndbox></object>"
                for kind, x, y, w, h in scene.boxes
            )
            files[f"VOC/Annotations/{scene.stem}.xml"] = (
                f"<annotation><folder>VOC</folder><filename>{scene.stem}.png</filename>"
                f"<size><width>{width}</width><height>{height}</height><depth>3</depth></size>"
                f"{objects}</annotation>"
            ).encode()
            lists["val" if scene.split == "valid" else "train"].append(scene.stem)
        for name, stems in lists.items():
            files[f"VOC/ImageSets/Main/{name}.txt"] = ("\n".join(stems) + "\n").encode()
    else:
        raise ValueError(f"format must be 'yolo', 'coco' or 'voc', not {format!r}")
    return _zip(files)


def chest_xray_table(*, style: str = "chexpert", n_rows: int = 600, seed: int = 14) -> bytes:
    """A multi-label chest X-ray table as CSV bytes.

    ``style="chexpert"``: ``Path``, ``Patient``, ``Sex``, ``Age`` and one column per
    finding holding ``1.0`` (positive), ``0.0`` (negative), ``-1.0`` (uncertain) or
    nothing (not mentioned). ``style="nih"``: ``Image Index``, ``Patient ID`` and
    ``Finding Labels`` (``Effusion|Infiltration``, or ``No Finding``).
    """
    rng = np.random.default_rng(seed)
    prevalence = np.array(_PREVALENCE) * 1.6
    positive = rng.random((n_rows, len(CHEST_FINDINGS))) < prevalence
    # Effusion and Infiltration go together more often than chance (as in the data).
    both = rng.random(n_rows) < 0.06
    positive[both, CHEST_FINDINGS.index("Effusion")] = True
    positive[both, CHEST_FINDINGS.index("Infiltration")] = True
    # Hernia never on its own: it comes with Effusion here.
    positive[positive[:, CHEST_FINDINGS.index("Hernia")], CHEST_FINDINGS.index("Effusion")] = True
    patients = rng.integers(1, n_rows // 3 + 2, n_rows)
    lines = []
    if style == "nih":
        lines.append("Image Index,Finding Labels,Patient ID")
        for row in range(n_rows):
            found = [CHEST_FINDINGS[k] for k in np.flatnonzero(positive[row])]
            labels = "|".join(found) if found else "No Finding"
            lines.append(f"{row:08d}_000.png,{labels},{int(patients[row])}")
    elif style == "chexpert":
        lines.append("Path,Patient,Sex,Age," + ",".join(CHEST_FINDINGS))
        uncertain = rng.random((n_rows, len(CHEST_FINDINGS))) < prevalence * 0.4
        mentioned = rng.random((n_rows, len(CHEST_FINDINGS))) < 0.5
        for row in range(n_rows):
            cells = []
            for k in range(len(CHEST_FINDINGS)):
                if positive[row, k]:
                    cells.append("1.0")
                elif uncertain[row, k]:
                    cells.append("-1.0")
                elif mentioned[row, k]:
                    cells.append("0.0")
                else:
                    cells.append("")
            sex = "Female" if rng.random() < 0.45 else "Male"
            path = f"train/patient{int(patients[row]):05d}/study1/view{row}_frontal.jpg"
            lines.append(
                f"{path},patient{int(patients[row]):05d},{sex},{int(rng.integers(18, 90))},"
                + ",".join(cells)
            )
    else:
        raise ValueError(f"style must be 'chexpert' or 'nih', not {style!r}")
    return ("\n".join(lines) + "\n").encode()
