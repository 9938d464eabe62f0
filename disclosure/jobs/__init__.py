"""Background jobs run by Celery workers (ADR 0009).

Every job has a ``Job`` row, written in the transaction that asks for the job
and sent to the queue only when that transaction commits. The worker runs the
job through ``core.run``: its state, retries with back-off and final failure
(with a Chinese message and an audit event) are handled there once for all
kinds. Job bodies live next to what they do: ``publishing``, ``mail``,
``exports``; reading an upload is ``services.uploads.read_upload``.
"""

from .core import JobFailed, latest_job, payload, submit

__all__ = ["JobFailed", "latest_job", "payload", "submit"]
