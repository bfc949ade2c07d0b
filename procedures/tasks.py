"""Background work of the procedures, each in its own module; imported here so that Celery registers them.

Celery's autodiscovery reads `procedures.tasks` only.
"""

from procedures.tasks_activation import credit_activation_compensation
from procedures.tasks_theft import theft_complaints_remind
from procedures.tasks_withdrawal import withdrawals_cease_lines

__all__ = ["credit_activation_compensation", "theft_complaints_remind", "withdrawals_cease_lines"]
