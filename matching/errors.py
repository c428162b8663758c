"""Domain errors. ``web`` maps them to HTTP in one place; the CLI to one-line messages.

Messages never contain personal data.
"""

from __future__ import annotations


class DomainError(Exception):
    """Base class for every error the domain raises on purpose."""

    code = "domain_error"


class ConfigurationError(DomainError):
    code = "configuration"


class RotationRunning(ConfigurationError):
    """Another process holds the master key's rotation lock."""


class NotFound(DomainError):
    code = "not_found"


class PermissionDenied(DomainError):
    code = "permission_denied"


class InvalidInput(DomainError):
    code = "invalid_input"


class Conflict(DomainError):
    code = "conflict"


class AuthenticationFailed(DomainError):
    """Generic on purpose: never says whether the account, password or code was wrong."""

    code = "authentication_failed"

    def __init__(self, message: str = "E-mail address, password or code is incorrect.") -> None:
        super().__init__(message)


class TooManyAttempts(DomainError):
    code = "too_many_attempts"


class SubjectErased(NotFound):
    """The subject's data key is gone: its data can never be read again."""

    code = "subject_erased"


class IntegrityFailure(DomainError):
    """A hash chain (audit log, erasure journal) does not verify."""

    code = "integrity_failure"


class RequestAlreadyMatched(Conflict):
    code = "already_matched"


class ConsentMissing(InvalidInput):
    code = "consent_missing"


class DecryptionFailed(DomainError):
    """A stored value or wrapped key did not authenticate (tampered, moved, wrong key).

    Generic on purpose: the message never says which check failed.
    """

    code = "decryption_failed"

    def __init__(self, message: str = "A stored value could not be decrypted.") -> None:
        super().__init__(message)


class JournalMissing(IntegrityFailure):
    """The erasure journal file is absent although erasures have been recorded."""

    code = "journal_missing"


class InvalidFields(InvalidInput):
    """Several fields of a form are wrong: field name -> message (English msgid).

    ``str()`` is the first message, so a caller that shows one message still can.
    """

    code = "invalid_fields"

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = dict(errors)
        super().__init__(next(iter(self.errors.values()), "invalid input"))


class AgreementMissing(PermissionDenied):
    """A coach must accept the current data-processing agreement before accepting requests."""

    code = "agreement_missing"


class NotOpen(Conflict):
    """The request is no longer open (expired, withdrawn or closed)."""

    code = "not_open"


class AtCapacity(Conflict):
    """The coach has as many active matches as their capacity allows."""

    code = "at_capacity"


class AnonymisationFailed(DomainError):
    """The anonymiser could not process a text; the request is held back, not broadcast."""

    code = "anonymisation_failed"


class UnknownLink(NotFound):
    """A candidate's private-link token is not (or no longer) valid."""

    code = "unknown_link"

    def __init__(self, message: str = "this private link is not valid (any more)") -> None:
        super().__init__(message)


class BackupFailed(DomainError):
    """A backup could not be made, read or removed; the message names the step, never data."""

    code = "backup_failed"
