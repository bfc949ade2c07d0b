"""Production mode: refuses to start without secrets, and passes `check --deploy`."""

from __future__ import annotations

import secrets
import subprocess
from pathlib import Path

from cryptography.fernet import Fernet
from django.conf import settings

from tests.commands import manage

BASE_DIR = Path(settings.BASE_DIR)


def run_manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return manage(
        *args,
        env={"DJANGO_SETTINGS_MODULE": "selfcare.settings", **env},
        unset={"SECRET_KEY", "FIELD_ENCRYPTION_KEYS", "DJANGO_ALLOW_ASYNC_UNSAFE"},
    )


def production_env() -> dict[str, str]:
    return {
        "PRODUCTION": "true",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "ALLOWED_HOSTS": "business.example.it",
    }


def test_production_mode_passes_check_deploy_without_any_warning() -> None:
    result = run_manage("check", "--deploy", "--fail-level", "DEBUG", env=production_env())

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_production_mode_refuses_to_start_without_a_secret_key() -> None:
    env = production_env()
    del env["SECRET_KEY"]

    result = run_manage("check", env=env)

    assert result.returncode != 0
    assert "needs a real SECRET_KEY" in result.stderr


def test_production_mode_refuses_the_development_secret_key() -> None:
    env = production_env()
    env["SECRET_KEY"] = "development-only-insecure-key-do-not-use-in-production"

    result = run_manage("check", env=env)

    assert result.returncode != 0
    assert "needs a real SECRET_KEY" in result.stderr


def test_production_mode_refuses_to_start_without_the_encryption_keys() -> None:
    env = production_env()
    del env["FIELD_ENCRYPTION_KEYS"]

    result = run_manage("check", env=env)

    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEYS" in result.stderr
