"""The batch command and the page give the same OD450 on the same files (issue 17: within 1e-3).

The page scores a few files in Chromium (TF.js); the batch command's path runs the same served model folder
in TensorFlow (:class:`training.score.served.ServedModel` on :func:`training.preprocess.preprocess`, what its
Dask workers run in :func:`training.score.tasks.score_batch`). JPEG, PNG and a 16-bit LZW TIFF are scored,
so the page's and the batch command's decoders are both exercised. The batch command's trust flags and curve
warnings (:mod:`training.score.judge`) are the page's (``static/js/ood.js``), word for word.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from tests.e2e.conftest import MODEL_A, Fixture, Server, open_app, rows, wait_scored
from tests.training.score.test_judge import judge_cases
from training.preprocess import preprocess
from training.score.judge import curve_warning, judge_well
from training.score.served import ServedModel, find_model

pytestmark = pytest.mark.e2e

PAGE_TOLERANCE_OD450 = 1e-3  # the page's promise (docs/model-card.md)


def _files(fixture: Fixture, folder: Path) -> list[Path]:
    """Six fixture JPEGs, one of them again as PNG and one as a 16-bit LZW TIFF (renamed to other wells)."""
    jpegs = fixture.files[::4]
    png = folder / f"{jpegs[1].name.rsplit('_', 1)[0]}_D01.png"
    Image.open(jpegs[1]).save(png)
    grey = np.asarray(Image.open(jpegs[2]).convert("L"), dtype=np.uint16) * 257
    tiff = folder / f"{jpegs[2].name.rsplit('_', 1)[0]}_E01.tif"
    Image.fromarray(grey).save(tiff, compression="tiff_lzw")
    return [*jpegs, png, tiff]


def test_the_batch_commands_od450_equals_the_pages(page, server: Server, fixture: Fixture, tmp_path: Path):
    files = _files(fixture, tmp_path)
    open_app(page, server, model=MODEL_A)
    page.set_input_files("#file-input", [str(p) for p in files])
    wait_scored(page)
    in_page = {r["name"]: r["od450"] for r in rows(page)}
    assert set(in_page) == {p.name for p in files} and None not in in_page.values(), in_page

    served = ServedModel(find_model(fixture.models_dir / MODEL_A))
    batch, _ = served.predict(np.stack([preprocess(p, served.size) for p in files]))
    differences = [abs(float(od) - in_page[p.name]) for p, od in zip(files, batch, strict=True)]
    print(f"max |batch − page| OD450 = {max(differences):.2e} over {len(files)} files (JPEG, PNG, TIFF)")
    assert max(differences) < PAGE_TOLERANCE_OD450


def test_flags_and_warnings_are_the_pages_word_for_word(origin_page: Any):
    own, rival, wells, stats = judge_cases()
    cases = [
        (f, stats[k % len(stats)])
        for k, f in enumerate(np.concatenate([wells["A549"], wells["HEK293"], wells["far"]]))
    ]
    curves = {
        "mixed": cases,
        "hek293": [(f, stats[0]) for f in wells["HEK293"]],
        "dark": [(f, stats[-1]) for f, _ in cases],
    }
    for name, curve in curves.items():
        judged = [(f, s, judge_well(own["ood"], f, s, [rival])) for f, s in curve]
        warning = curve_warning(judged, own, [rival])
        page = origin_page.evaluate(
            """async ([own, rival, wells]) => {
                const m = await import('/static/js/ood.js');
                const judged = wells.map(([features, stats]) => ({
                    features, stats, judgement: m.judgeWell(own.ood, features, stats, [rival]) }));
                const warning = m.curveWarning(judged, own, [rival]);
                return { flags: judged.map((w) => w.judgement.flags), warning };
            }""",
            [_json(own), _json(rival), [[f.tolist(), s] for f, s in curve]],
        )
        assert [list(j.flags) for _, _, j in judged] == page["flags"], name
        if warning is None:
            assert page["warning"] is None, name
        else:
            assert (warning.text, warning.note, warning.flagged) == (
                page["warning"]["text"], page["warning"]["note"], page["warning"]["flagged"],
            ), name  # fmt: skip


def _json(card: dict[str, Any]) -> dict[str, Any]:
    return {**card, "ood": {**card["ood"], "features": dict(card["ood"]["features"])}}
