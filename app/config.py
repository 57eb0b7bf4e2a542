"""All server configuration in one place, read from ``NOSTAIN_*`` environment variables.

The request limits live here too, each defined once: the sizes of one request (curves, points, wells,
body bytes) are settings; the lengths the JSON schemas enforce (labels, well IDs, flags, notes) are fixed
constants, because the schemas and the OpenAPI document are built once, at import. :meth:`Settings.limits`
gathers both for ``GET /api/limits`` and the page.
"""

from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = [
    "MAX_CURVE_POINTS",
    "MAX_FLAGS_PER_WELL",
    "MAX_LABEL_LENGTH",
    "MAX_NOTES_PER_CURVE",
    "MAX_TIME_POINTS",
    "MAX_WELL_ID_LENGTH",
    "MIN_UPLOAD_TOKEN_LENGTH",
    "ROOT",
    "Limits",
    "Settings",
    "get_settings",
]

ROOT = Path(__file__).resolve().parent.parent

#: Characters of a label, title, cell line, drug, image name, flag, note or model name.
MAX_LABEL_LENGTH = 200
#: Characters of a well ID (``B07``, ``AF48`` on a 1536-well plate).
MAX_WELL_ID_LENGTH = 12
#: Flags of one well in the report.
MAX_FLAGS_PER_WELL = 20
#: Notes of one curve in the report.
MAX_NOTES_PER_CURVE = 20
#: Points of the fitted curve a ``/api/fit`` request may ask for, per curve.
MAX_CURVE_POINTS = 1000
#: Read times of one ``/api/timecourse`` request.
MAX_TIME_POINTS = 100
#: Characters of the model-upload token at least (a short one could be guessed).
MIN_UPLOAD_TOKEN_LENGTH = 16


class Limits(BaseModel):
    """The limits of one request, as ``GET /api/limits`` and the page get them."""

    model_config = ConfigDict(frozen=True)

    max_curves: int = Field(description="Curves in one /api/fit or /api/report.csv request")
    max_points_per_curve: int = Field(description="Wells (concentration, response pairs) of one curve")
    max_wells_per_report: int = Field(description="Wells listed in one report")
    max_label_length: int = Field(description="Characters of a label, title, image name, flag or note")
    max_well_id_length: int = Field(description="Characters of a well ID")
    max_flags_per_well: int = Field(description="Flags of one well")
    max_notes_per_curve: int = Field(description="Notes of one curve")
    max_time_points: int = Field(description="Reads (time points) of one /api/timecourse request")
    max_body_bytes: int = Field(description="Bytes of one request body")


class Settings(BaseSettings):
    """Server settings; every field can be overridden by ``NOSTAIN_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="NOSTAIN_")

    models_dir: Path = ROOT / "models"
    static_dir: Path = ROOT / "static"
    templates_dir: Path = ROOT / "templates"
    #: Limits of one ``/api/fit`` or ``/api/report.csv`` request (a 384-well screen of many plates fits).
    max_curves: int = 5000
    max_points_per_curve: int = 1536
    max_wells_per_report: int = 50_000
    #: A request body larger than this (bytes) is refused with 413 before it is read to the end.
    max_body_bytes: int = 20_000_000
    #: Points of the fitted curve in each ``/api/fit`` result when the request does not say
    #: (``curve_points``); 0: none (a client draws the curve from top, bottom, hill and ic50_um).
    curve_points: int = Field(0, ge=0, le=MAX_CURVE_POINTS)

    @field_validator("curve_points")
    @classmethod
    def _a_curve_has_two_points(cls, value: int) -> int:
        if value == 1:
            raise ValueError("curve_points must be 0 (no curve) or at least 2")
        return value

    #: Cache lifetime of model files (s); the model card carries a version, so a day is safe.
    model_cache_seconds: int = 86_400
    #: Cache lifetime of shared backbone files (s): a year, for their URL names their weights' fingerprint.
    backbone_cache_seconds: int = 31_536_000
    #: The secret that ``POST /api/models`` (a model zip from the page) must carry as ``Authorization:
    #: Bearer <token>``. Unset (the default): the server accepts no model uploads.
    model_upload_token: SecretStr | None = None

    @field_validator("model_upload_token")
    @classmethod
    def _a_token_is_long(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and 0 < len(value.get_secret_value()) < MIN_UPLOAD_TOKEN_LENGTH:
            raise ValueError(
                f"NOSTAIN_MODEL_UPLOAD_TOKEN must have at least {MIN_UPLOAD_TOKEN_LENGTH} characters "
                "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(24))')"
            )
        return value if value is not None and value.get_secret_value() else None

    def limits(self) -> Limits:
        """Every request limit: the configured sizes and the schemas' fixed lengths."""
        return Limits(
            max_curves=self.max_curves,
            max_points_per_curve=self.max_points_per_curve,
            max_wells_per_report=self.max_wells_per_report,
            max_label_length=MAX_LABEL_LENGTH,
            max_well_id_length=MAX_WELL_ID_LENGTH,
            max_flags_per_well=MAX_FLAGS_PER_WELL,
            max_notes_per_curve=MAX_NOTES_PER_CURVE,
            max_time_points=MAX_TIME_POINTS,
            max_body_bytes=self.max_body_bytes,
        )


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (cached: read once from the environment)."""
    return Settings()
