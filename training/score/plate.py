"""One scored plate → its rows of ``wells.csv`` and ``ic50.csv``: the page's trust flags, the page's report
request, and the server's report code (``app.analysis.reports``, ``app.report.tables``) for the fits.

A well's flags are the page's (``static/js/well-fields.js`` ``fieldFlags``): the trust check's, then the
pixel-size warning when the image's scale and the card's ``imaging`` differ by more than 2×
(:func:`training.tiffmeta.pixel_size_warning`, the page's words).

Each curve is sent through :func:`app.analysis.reports.analyse_report` exactly as the page's
``POST /api/report.csv`` would send it (``static/js/session.js`` ``reportCurve``: the wells with a
prediction and a concentration, their flags, the curve's notes), with the page's default analysis options,
so ``ic50.csv`` holds the report's curve columns (:data:`app.report.CURVE_COLUMNS`) for the same fits.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.analysis.reports import analyse_report
from app.config import MAX_FLAGS_PER_WELL, MAX_LABEL_LENGTH, MAX_NOTES_PER_CURVE, MAX_WELL_ID_LENGTH, Settings
from app.fitting import FittingError
from app.report import CURVE_COLUMNS
from app.report.tables import curve_rows, well_rows
from app.schemas import ModelRef, ReportCurve, ReportRequest, WellIn
from training.score.archive import ImageEntry, PlateJob, curve_members
from training.score.decode import WellImage
from training.score.judge import Judgement, curve_warning, judge_well
from training.tiffmeta import pixel_size_warning

__all__ = ["IC50_COLUMNS", "NOT_FITTED", "WELL_COLUMNS", "PlateTables", "Scored", "plate_tables"]

#: Columns of ``wells.csv``: one row per image and curve (units: µM, OD450), then what each image was scored
#: with (:class:`training.score.decode.WellImage`: plane and channel counted from 1, the window, µm/px).
WELL_COLUMNS = (
    "plate", "label", "well", "field", "read", "image", "concentration_um", "concentration_source", "control",
    "drug", "predicted_od450", "used_in_fit", "trust_flags", "notes", "problem",
    "plane", "channel", "channel_name", "window", "pixel_size_um",
)  # fmt: skip
#: Columns of ``ic50.csv``: the plate, then the page's report columns of a curve.
IC50_COLUMNS = ("plate", *(c.name for c in CURVE_COLUMNS))
#: ``status`` of a curve that could not be fitted at all (its ``status_message`` says why).
NOT_FITTED = "not_fitted"


@dataclass(frozen=True)
class Scored:
    """One image after decoding and inference.

    Attributes
    ----------
    image : str
        The image's path below the archive folder.
    od450 : float or None
        Predicted OD450; None when the file could not be read.
    features : ndarray, shape (F,), float32, or None
        Pooled backbone features (for the trust check).
    stats : dict or None
        :func:`training.trust.ood.image_stats` of the model input.
    problem : str or None
        Why the file could not be read, naming it.
    used : WellImage or None
        The plane, channel, window and pixel size it was scored with.
    """

    image: str
    od450: float | None
    features: np.ndarray | None = None
    stats: Mapping[str, float] | None = None
    problem: str | None = None
    used: WellImage | None = None


@dataclass(frozen=True)
class PlateTables:
    """A plate's rows of ``wells.csv`` and ``ic50.csv`` (dicts keyed by column) and its counts."""

    plate: str
    wells: list[dict[str, Any]]
    curves: list[dict[str, Any]]
    n_scored: int
    n_unreadable: int


def _clip(text: str, n: int = MAX_LABEL_LENGTH) -> str:
    """Text cut to ``n`` characters, the last one an ellipsis (the page's ``clip``)."""
    return text if len(text) <= n else text[: n - 1] + "…"


def _scale_warning(scored: Scored | None, card: Mapping[str, Any]) -> str | None:
    """The page's pixel-size warning for a scored image (None: its scale or the model's is unknown, or
    they agree within 2×)."""
    if scored is None or scored.used is None:
        return None
    used = scored.used
    name = str(card.get("name") or card.get("id") or "")
    return pixel_size_warning(used.pixel_size_um, used.width_px, card.get("imaging"), name)


def _image_flags(judgement: Judgement, scored: Scored | None, card: Mapping[str, Any]) -> tuple[str, ...]:
    """An image's own flags, as the page's ``fieldFlags`` lists them: the trust check's, then its scale's."""
    scale = _scale_warning(scored, card)
    return (*judgement.flags, scale) if scale else judgement.flags


def _well_flags(entry: ImageEntry, own: Sequence[str]) -> list[str]:
    """The flags the page's ``wellFlags`` gives a well in the report (``own``: :func:`_image_flags`)."""
    flags = [*own]
    if entry.source:
        flags.append(f"concentration from {entry.source}")
    if entry.note:
        flags.append(entry.note)
    return [_clip(f) for f in flags[:MAX_FLAGS_PER_WELL]]


def _why_left_out(entry: ImageEntry, scored: Scored | None) -> str:
    if entry.problem:
        return entry.problem
    if scored is not None and scored.problem:
        return scored.problem
    return entry.note or "no concentration"


def _used_columns(used: WellImage | None) -> dict[str, Any]:
    """The columns of ``wells.csv`` saying what an image was scored with (empty when it was not)."""
    if used is None:
        return {}
    return {"plane": used.plane, "channel": used.channel, "channel_name": used.channel_name or "",
            "window": used.window, "pixel_size_um": used.pixel_size_um}  # fmt: skip


def _model_ref(card: Mapping[str, Any]) -> ModelRef:
    return ModelRef(id=card.get("id"), name=card.get("name"), version=card.get("version"),
                    synthetic=card.get("synthetic"))  # fmt: skip


def _report_curve(
    plate: PlateJob,
    label: str,
    members: Sequence[int],
    scored: Mapping[str, Scored],
    judged: Mapping[str, Judgement],
    flags: Mapping[str, Sequence[str]],
    card: Mapping[str, Any],
    rivals: Sequence[Mapping[str, Any]],
) -> tuple[ReportCurve | None, list[int], str]:
    """The page's report curve for these images, the positions of its wells, and its notes joined."""
    fitted = [
        i for i in members
        if (s := scored.get(plate.images[i].image)) is not None and s.od450 is not None
        and plate.images[i].concentration_um is not None
    ]  # fmt: skip
    notes: list[str] = []
    done = [scored[e.image] for i in members if (e := plate.images[i]).image in scored]
    warning = curve_warning(
        [(s.features, s.stats, judged[s.image]) for s in done if s.od450 is not None], card, rivals
    )
    if warning is not None:
        notes.append(warning.note)
    notes += list(plate.notes)
    left = [plate.images[i] for i in members if i not in fitted]
    if left:
        reasons = "; ".join(f"{e.image} ({_why_left_out(e, scored.get(e.image))})" for e in left)
        notes.append(f"{len(left)} image(s) not in the fit: {reasons}")
    notes = [_clip(n) for n in notes[:MAX_NOTES_PER_CURVE]]
    if not fitted:
        return None, [], " | ".join(notes)
    drug = next((plate.images[i].drug for i in fitted if plate.images[i].drug), None)
    wells = [
        WellIn(
            image=_clip(e.image), well=e.well[:MAX_WELL_ID_LENGTH], concentration_um=e.concentration_um,
            od450=scored[e.image].od450, flags=_well_flags(e, flags[e.image]), plate=_clip(plate.label),
            control=e.control,
        )
        for e in (plate.images[i] for i in fitted)
    ]  # fmt: skip
    curve = ReportCurve(
        label=_clip(label), cell_line=_clip(str(card.get("cell_line") or "")),
        drug=_clip(drug or str(card.get("drug") or "")), model=_model_ref(card), wells=wells, notes=notes,
    )  # fmt: skip
    return curve, fitted, " | ".join(notes)


def _not_fitted(plate: PlateJob, label: str, card: Mapping[str, Any], why: str, notes: str) -> dict[str, Any]:
    return {
        "plate": plate.label, "label": label, "cell_line": card.get("cell_line") or "",
        "model": card.get("name") or card.get("id") or "", "model_version": card.get("version") or "",
        "status": NOT_FITTED, "status_message": why, "notes": notes,
    }  # fmt: skip


def plate_tables(
    plate: PlateJob,
    scored: Sequence[Scored],
    card: Mapping[str, Any],
    rivals: Sequence[Mapping[str, Any]] = (),
    settings: Settings | None = None,
) -> PlateTables:
    """Judge, fit and tabulate one plate whose images are all scored.

    Parameters
    ----------
    plate : PlateJob
    scored : sequence of Scored
        One per image of ``plate.to_score()``.
    card : mapping
        The model's card (``ood`` block included).
    rivals : sequence of cards
        Other models on the same backbone (:func:`training.score.served.rival_cards`).
    settings : Settings, optional
        The server's limits (default: ``Settings()`` from the environment, as the server reads them).
    """
    settings = settings or Settings()
    by_image = {s.image: s for s in scored}
    judged = {
        s.image: judge_well(card.get("ood"), s.features, s.stats, rivals)
        if s.od450 is not None
        else Judgement()
        for s in scored
    }
    flags = {s.image: _image_flags(judged[s.image], s, card) for s in scored}
    well_rows_out: list[dict[str, Any]] = []
    curve_rows_out: list[dict[str, Any]] = []
    for label, members in curve_members(plate).items():
        curve, fitted, notes = _report_curve(plate, label, members, by_image, judged, flags, card, rivals)
        used: dict[int, bool] = {}
        if curve is None:
            why = f"{label}: no scored image with a concentration"
            curve_rows_out.append(_not_fitted(plate, label, card, why, notes))
        else:
            request = ReportRequest(curves=[curve])
            try:
                reported = analyse_report(request, settings)
            except FittingError as exc:
                curve_rows_out.append(_not_fitted(plate, label, card, str(exc), notes))
            else:
                curve_rows_out += [{"plate": plate.label, **row} for row in curve_rows(reported, request)]
                used = {
                    i: bool(row.get("used_in_fit"))
                    for i, row in zip(fitted, well_rows(reported), strict=True)
                }
        for i in members:
            entry = plate.images[i]
            result = by_image.get(entry.image)
            well_rows_out.append({
                "plate": plate.label, "label": label, "well": entry.well, "field": entry.field,
                "read": entry.read, "image": entry.image, "concentration_um": entry.concentration_um,
                "concentration_source": entry.source, "control": entry.control, "drug": entry.drug,
                "predicted_od450": result.od450 if result else None, "used_in_fit": used.get(i, False),
                "trust_flags": " | ".join(flags[entry.image]) if result else "",
                "notes": entry.note or "", "problem": _why_left_out(entry, result) if i not in used else "",
                **_used_columns(result.used if result else None),
            })  # fmt: skip
    n_unreadable = sum(s.od450 is None for s in scored)
    return PlateTables(plate.label, well_rows_out, curve_rows_out, len(scored) - n_unreadable, n_unreadable)
