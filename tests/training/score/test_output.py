"""training.score.output: a plate is skipped only when its results rest on the same image options, and the
combined tables take plates written before the audit columns existed."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from training.score.archive import ImageEntry, PlateJob
from training.score.decode import ImageOptions
from training.score.output import PLATES_FOLDER, combine_tables, is_done, write_plate
from training.score.plate import WELL_COLUMNS, PlateTables

MODEL = {"id": "fixture-a", "version": "0.0.1"}
PLATE = PlateJob("plate1", (ImageEntry("plate1/B02.tif", 10, "B02"),))
ROW = {"plate": "plate1", "image": "plate1/B02.tif", "predicted_od450": 0.5, "plane": 3, "window": "w"}


def _write(out: Path, options: ImageOptions) -> None:
    tables = PlateTables("plate1", [ROW], [], 1, 0)
    write_plate(out, PLATE, tables, {"model": MODEL, "image_options": options.to_dict()})


def test_a_plate_is_done_only_for_the_same_image_options(tmp_path: Path):
    chosen = ImageOptions(plane=3, bright_field=2, window="plate")
    _write(tmp_path, chosen)
    assert is_done(tmp_path, PLATE, MODEL, chosen.to_dict())
    for other in (ImageOptions(), ImageOptions(plane=2, bright_field=2, window="plate"),
                  ImageOptions(plane=3, bright_field=2, window="percentile")):  # fmt: skip
        assert not is_done(tmp_path, PLATE, MODEL, other.to_dict()), other


def test_a_plate_written_before_the_options_were_recorded_counts_as_the_defaults(tmp_path: Path):
    _write(tmp_path, ImageOptions())
    (record_path,) = (tmp_path / PLATES_FOLDER).glob("*/plate.json")
    record = json.loads(record_path.read_text(encoding="utf-8"))
    del record["image_options"]
    record_path.write_text(json.dumps(record), encoding="utf-8")
    assert is_done(tmp_path, PLATE, MODEL, ImageOptions().to_dict())
    assert is_done(tmp_path, PLATE, MODEL)
    assert not is_done(tmp_path, PLATE, MODEL, ImageOptions(window="plate").to_dict())


def test_combined_wells_are_written_by_column_name_whatever_the_plates_columns(tmp_path: Path):
    _write(tmp_path, ImageOptions())
    (wells_path,) = (tmp_path / PLATES_FOLDER).glob("*/wells.csv")
    wells_path.write_text("plate,image,predicted_od450\nplate1,plate1/B02.tif,0.5\n", encoding="utf-8")
    assert combine_tables(tmp_path, [PLATE])["wells.csv"] == 1
    with (tmp_path / "wells.csv").open(encoding="utf-8", newline="") as f:
        (row,) = list(csv.DictReader(f))
    assert list(row) == list(WELL_COLUMNS)
    assert (row["image"], row["predicted_od450"], row["plane"], row["window"]) == (
        "plate1/B02.tif",
        "0.5",
        "",
        "",
    )
