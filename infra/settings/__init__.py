"""Stack settings: one declaration per key (keys.py), loaded once into typed sections (load.py)."""
from infra.settings.load import load_settings
from infra.settings.types import ModelSettings, Settings

__all__ = ["ModelSettings", "Settings", "load_settings"]
