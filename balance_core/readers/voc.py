"""Pascal VOC annotation files (``Annotations/*.xml``) -> boxes.

Each file is parsed with defusedxml, with document type declarations refused: an
entity expansion ("billion laughs") or an external entity never runs. Splits come
from ``ImageSets/Main/{train,val,trainval,test}.txt`` when present, else from
split folders (Roboflow puts the XML beside the images in ``train/``, ``valid/``).

References
----------
Everingham, M. et al. (2010). The Pascal Visual Object Classes (VOC) Challenge.
IJCV 88(2), 303-338; the development kit documents the annotation format.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import defusedxml
import defusedxml.ElementTree as SafeET

from ..dataset import Finding, FindingKind, Severity
from ..errors import DatasetError

__all__ = ["SPLIT_LISTS", "VocFile", "looks_like_voc", "parse_voc", "split_lists"]

SPLIT_LISTS = ("train", "val", "trainval", "test")
MAX_XML_BYTES = 16 << 20


def looks_like_voc(head: bytes) -> bool:
    return b"<annotation" in head[:4096]


@dataclass
class VocFile:
    filename: str | None
    width: float
    height: float
    names: list[str] = field(default_factory=list)
    boxes: list[tuple[float, float, float, float]] = field(default_factory=list)
    difficult: list[bool] = field(default_factory=list)


def parse_voc(data: bytes, file: str, archive: str, findings: list[Finding]) -> VocFile | None:
    """One annotation file; None (with a finding) when it is not VOC XML.

    Raises :class:`DatasetError` for XML that declares a document type or
    entities: that is how XML bombs and external-entity reads work."""
    if len(data) > MAX_XML_BYTES:
        findings.append(_bad_file(file, f"is {len(data):,} bytes, too large for one annotation"))
        return None
    try:
        root = SafeET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (defusedxml.DTDForbidden, defusedxml.EntitiesForbidden) as error:
        raise DatasetError(
            f"{file!r} in {archive!r} declares a document type or entities "
            f"({type(error).__name__}), the way XML bombs and external-entity attacks "
            "start; VOC annotations need neither, so it was not read.",
            kind="unsafe_xml",
        ) from None
    except defusedxml.ExternalReferenceForbidden:
        raise DatasetError(
            f"{file!r} in {archive!r} refers to an external file or URL, which Seesaw never "
            "follows; remove the reference.",
            kind="unsafe_xml",
        ) from None
    except SafeET.ParseError as error:
        findings.append(_bad_file(file, f"is not well-formed XML ({error})"))
        return None
    if root.tag != "annotation":
        findings.append(_bad_file(file, f"has root <{root.tag[:40]}>, not <annotation>"))
        return None
    size = root.find("size")
    width = _number(size.findtext("width") if size is not None else None)
    height = _number(size.findtext("height") if size is not None else None)
    result = VocFile(
        filename=(root.findtext("filename") or "").strip() or None, width=width, height=height
    )
    for position, obj in enumerate(root.iter("object"), start=1):
        name = (obj.findtext("name") or "").strip()
        box = obj.find("bndbox")
        corners = [
            _number(box.findtext(tag) if box is not None else None)
            for tag in ("xmin", "ymin", "xmax", "ymax")
        ]
        if not name or any(math.isnan(c) for c in corners):
            what = "no <name>" if not name else "a <bndbox> without four numbers"
            findings.append(_bad_file(file, f"has an object (number {position}) with {what}"))
            continue
        xmin, ymin, xmax, ymax = corners
        result.names.append(name)
        result.boxes.append((xmin, ymin, xmax - xmin, ymax - ymin))
        result.difficult.append((obj.findtext("difficult") or "0").strip() == "1")
    return result


def _number(text: str | None) -> float:
    if text is None:
        return math.nan
    try:
        value = float(text.strip())
    except ValueError:
        return math.nan
    return value if math.isfinite(value) else math.nan


def _bad_file(file: str, why: str) -> Finding:
    return Finding(
        kind=FindingKind.BAD_ANNOTATION,
        severity=Severity.ERROR,
        count=1,
        message=f"{file!r} {why}; it is left out of the counts.",
        entries=(file,),
    )


def split_lists(texts: dict[str, bytes]) -> dict[str, str]:
    """Image id -> split from ``ImageSets/Main`` lists (``train``, ``val``, ``test``;
    ``trainval`` only for ids in neither train nor val)."""
    split: dict[str, str] = {}
    for name in ("train", "val", "test", "trainval"):
        data = texts.get(name)
        if data is None:
            continue
        for line in data.decode("utf-8", errors="replace").splitlines():
            image = line.strip().split()[0] if line.strip() else ""
            if image and image not in split:
                split[image] = name
    return split
