"""Staff's admin for procedures: the requests' work queue and the activation orders (one module each)."""

from procedures import admin_activation, admin_requests  # noqa: F401
