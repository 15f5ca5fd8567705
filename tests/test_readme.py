"""The README stays true to the service: its settings table names every setting, and only
settings that exist."""

from __future__ import annotations

import re
from pathlib import Path

from backend.settings import ENV_PREFIX, variable_names

ROOT = Path(__file__).parents[1]


def _documented_settings() -> set[str]:
    text = (ROOT / "README.md").read_text()
    table = text[text.index("## Settings") :]
    table = table[: table.index("\n## ", 1)]
    names: set[str] = set()
    for row in table.splitlines():
        if not row.startswith("| `"):
            continue
        first_cell = row.split("|")[1]
        # A row may group several: `STORYSTREAM_SCRIPTED_TEXT`, `_SCRIPTED_RETRY_TEXT`, ...
        for name in re.findall(r"`(STORYSTREAM_[A-Z_]+|_[A-Z_]+)`", first_cell):
            names.add(name if name.startswith(ENV_PREFIX) else ENV_PREFIX + name[1:])
    return names


def test_the_settings_table_names_every_setting_and_only_those() -> None:
    known = variable_names()
    documented = _documented_settings()
    assert known - documented == set(), "settings missing from the README"
    assert documented - known == set(), "the README names settings that do not exist"
