"""The settings of the portal under test in tests/security: `selfcare.settings` as deployed.

Everything comes from selfcare.settings with PRODUCTION=true, except the static
files' storage: production serves the compressed manifest that `collectstatic`
builds at deploy time (minutes of work on every test run), and the headers
under test do not depend on it. Pages name their static files through the
plain storage instead.
"""

from selfcare.settings import *  # noqa: F403

STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
