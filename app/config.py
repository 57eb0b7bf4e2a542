"""All server configuration in one place, read from ``NOSTAIN_*`` environment variables."""

from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent


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
    #: Points of the fitted curve returned for plotting (log-spaced across the tested range).
    curve_points: int = 100
    #: Cache lifetime of model files (s); the model card carries a version, so a day is safe.
    model_cache_seconds: int = 86_400


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (cached: read once from the environment)."""
    return Settings()
