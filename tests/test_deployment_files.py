"""The deployment files are accepted by the tools that read them."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings

BASE_DIR = Path(settings.BASE_DIR)


def compose_command() -> list[str]:
    docker = shutil.which("docker")
    if (
        docker
        and subprocess.run([docker, "compose", "version"], capture_output=True, check=False).returncode == 0
    ):
        return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    if legacy:
        return [legacy]
    pytest.fail("neither `docker compose` nor `docker-compose` is installed (.ci/run installs it)")


def test_docker_compose_accepts_the_compose_file() -> None:
    result = subprocess.run(
        [*compose_command(), "--file", str(BASE_DIR / "docker-compose.yml"), "config", "--quiet"],
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stderr


def test_the_compose_stack_has_every_service_of_the_contract() -> None:
    result = subprocess.run(
        [*compose_command(), "--file", str(BASE_DIR / "docker-compose.yml"), "config", "--services"],
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
    )

    assert set(result.stdout.split()) >= {"web", "worker", "beat", "postgres", "redis"}
