"""Every string of the portal is translated into Italian."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from django.conf import settings

PO_FILE = Path(settings.BASE_DIR) / "locale" / "it" / "LC_MESSAGES" / "django.po"


def unquote(quoted: str) -> str:
    """The text of one quoted .po string, its escapes left as they are."""
    quoted = quoted.strip()
    return quoted[1:-1] if len(quoted) >= 2 and quoted[0] == quoted[-1] == '"' else quoted


def read_entries(po: Path) -> list[tuple[str, str, bool]]:
    """(msgid, msgstr, fuzzy) for each entry but the header, from a .po file."""
    entries: list[tuple[str, str, bool]] = []
    for block in po.read_text(encoding="utf-8").split("\n\n"):
        lines = [line for line in block.splitlines() if line.strip()]
        fuzzy = any(line.startswith("#,") and "fuzzy" in line for line in lines)
        msgid, msgstr, current = "", "", ""
        for line in lines:
            if line.startswith("#"):
                continue
            if line.startswith("msgid "):
                current = "id"
                msgid = unquote(line[len("msgid ") :])
            elif line.startswith(("msgstr ", "msgstr[0] ")):
                current = "str"
                msgstr = unquote(line.split(" ", 1)[1])
            elif line.startswith(("msgid_plural", "msgstr[")):
                current = ""
            elif line.startswith('"'):
                if current == "id":
                    msgid += unquote(line)
                elif current == "str":
                    msgstr += unquote(line)
        if msgid:
            entries.append((msgid, msgstr, fuzzy))
    return entries


def test_the_italian_catalogue_has_every_string_translated() -> None:
    entries = read_entries(PO_FILE)

    assert entries
    untranslated = [msgid for msgid, msgstr, fuzzy in entries if not msgstr or fuzzy]
    assert untranslated == []


def test_the_italian_catalogue_is_up_to_date_with_the_code(tmp_path: Path) -> None:
    """makemessages, run on a copy of the code, finds no string the catalogue lacks."""
    base = Path(settings.BASE_DIR)
    # The project's own apps (every folder with an apps.py), and what they render and translate.
    apps = sorted(path.name for path in base.iterdir() if (path / "apps.py").exists())
    for folder in (*apps, "templates", "locale", "static"):
        if (base / folder).exists():
            shutil.copytree(base / folder, tmp_path / folder, ignore=shutil.ignore_patterns("*.mo"))
    shutil.copy(base / "manage.py", tmp_path / "manage.py")

    result = subprocess.run(
        [sys.executable, "manage.py", "makemessages", "--locale", "it", "--no-obsolete", "--no-location"],
        cwd=tmp_path,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "selfcare.settings", "PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr

    fresh = {msgid for msgid, _msgstr, _fuzzy in read_entries(tmp_path / "locale/it/LC_MESSAGES/django.po")}
    committed = {msgid for msgid, _msgstr, _fuzzy in read_entries(PO_FILE)}
    assert fresh - committed == set(), "run `make messages` and translate the new strings"
