"""The kinds of request (DOMAIN.md, "Forms and procedures"), one module each; see `base`.

Importing this package registers every kind: the app's ready() does it.
"""

from procedures.kinds.base import (
    DocumentRequirement,
    RequestKindHandler,
    handler_for,
    register,
    registered_handlers,
)

__all__ = ["DocumentRequirement", "RequestKindHandler", "handler_for", "register", "registered_handlers"]

# Each kind's module registers it:
# - simple: the kinds whose approval is one change of data (issue 9): directory listing, dispute,
#   company data, the three tax exemptions, a higher roaming cap;
# - takeover, withdrawal, theft or loss, traffic details in clear (issue 9, part 2).
from procedures.kinds import (  # noqa: F401
    clear_numbers,
    simple,
    takeover,
    theft_loss,
    withdrawal,
)
