"""Background work of activation orders: the daily crediting of compensation.

Registered with Celery by being imported from the app's task module
(procedures/tasks.py); the beat entry is "activation-compensation-daily"
in selfcare/settings.py.
"""

from __future__ import annotations

from procedures.activation import activation_compensations_credit
from selfcare.celery import resumable_task


# Idempotent: each order's credit is claimed through its link to the credit
# (procedures.activation.activation_compensation_credit), so a retried or
# redelivered run credits nobody twice.
@resumable_task()
def credit_activation_compensation() -> None:
    """Write the compensation of late orders that are over as credits for the next invoice, once each."""
    activation_compensations_credit()
