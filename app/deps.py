"""Shared FastAPI dependencies as ``Annotated`` aliases."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated

from fastapi import Depends
from fastapi.templating import Jinja2Templates

from app.config import Settings, get_settings
from app.registry import Registry, load_registry

__all__ = ["RegistryDep", "SettingsDep", "TemplatesDep", "get_registry", "get_templates", "reload_registry"]

SettingsDep = Annotated[Settings, Depends(get_settings)]


@lru_cache
def _registry_for(models_dir: Path) -> Registry:
    return load_registry(models_dir)


def get_registry(settings: SettingsDep) -> Registry:
    """The model registry of ``settings.models_dir`` (scanned once per process)."""
    return _registry_for(settings.models_dir)


def reload_registry(settings: Settings) -> Registry:
    """Scan ``settings.models_dir`` again (after a model was added to it) and serve what it holds now.

    The scan is cached per process: with several server processes (uvicorn ``--workers``) the others keep
    their registry until they restart.
    """
    _registry_for.cache_clear()
    return get_registry(settings)


@lru_cache
def _templates_for(templates_dir: Path) -> Jinja2Templates:
    return Jinja2Templates(directory=str(templates_dir))


def get_templates(settings: SettingsDep) -> Jinja2Templates:
    """The Jinja2 environment of ``settings.templates_dir``."""
    return _templates_for(settings.templates_dir)


RegistryDep = Annotated[Registry, Depends(get_registry)]
TemplatesDep = Annotated[Jinja2Templates, Depends(get_templates)]
