"""SIM secrets: showing a line's PIN and PUK (DOMAIN.md, "Lines and SIMs").

Who may is decided by the caller loading the line through `visible_to`
(anyone who sees the line); the caller also asks for the password again
(selfcare.auth.sensitive_action). Here: the secrets, and the audit record.
"""

from __future__ import annotations

from dataclasses import dataclass

from selfcare.models import Line, User
from selfcare.services.audit import audit_record


@dataclass(frozen=True)
class SimSecrets:
    pin: str
    puk: str

    @property
    def on_file(self) -> bool:
        return bool(self.pin or self.puk)


def sim_secrets_show(*, line: Line, actor: User) -> SimSecrets:
    """The line's PIN and PUK, with an audit record of who looked (even when none is on file)."""
    secrets = SimSecrets(pin=line.pin, puk=line.puk)
    # Never the secrets themselves in the record: only that they were shown.
    audit_record(actor=actor, target=line, event="sim_secrets_shown", details={"on_file": secrets.on_file})
    return secrets
