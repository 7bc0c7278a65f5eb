"""The exception hierarchy of :mod:`ipvs`.

Every error raised by the library is an :class:`IpvsError`. Errors the kernel
answered with an errno are also :class:`OSError` (``.errno`` set), and the
common ones also the matching built-in: ``ExistsError`` is a
``FileExistsError``, ``PermissionDeniedError`` a ``PermissionError``,
``NotFoundError`` a ``LookupError``, ``InvalidArgumentError`` and
``InvalidInputError`` a ``ValueError``, ``IpvsTimeoutError`` a
``TimeoutError``.
"""

from __future__ import annotations

from typing import Optional

__all__ = [
    "IpvsError",
    "KernelError",
    "ExistsError",
    "NotFoundError",
    "InvalidArgumentError",
    "PermissionDeniedError",
    "ModuleMissingError",
    "SystemCallError",
    "NamespaceNotFoundError",
    "InvalidInputError",
    "ProtocolError",
    "IpvsTimeoutError",
    "NotAttemptedError",
    "RulesParseError",
    "ConnectionParseError",
]


class IpvsError(Exception):
    """Base class of every error of this library.

    ``str(e)`` is the core's full message; ``context`` says what was being
    done (e.g. ``adding service TCP 10.0.0.1:80``); ``errno`` is the kernel's
    or the system call's errno, or ``None``.
    """

    message: str
    context: str
    errno: Optional[int]

    def __init__(self, message: str, context: str = "", errno: Optional[int] = None) -> None:
        if isinstance(self, OSError):
            OSError.__init__(self, errno, message)
        else:
            Exception.__init__(self, message)
            self.errno = errno
        self.message = message
        self.context = context

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class KernelError(IpvsError, OSError):
    """The kernel refused a request with an errno (``.errno``)."""


class ExistsError(KernelError, FileExistsError):
    """The object already exists (``EEXIST``)."""


class NotFoundError(KernelError, LookupError):
    """The service, destination, daemon or interface does not exist (``ESRCH``, ``ENOENT``, ``ENODEV``)."""


class InvalidArgumentError(KernelError, ValueError):
    """The kernel refused the values (``EINVAL``, ``ERANGE``, ...); ``hint`` lists likely causes."""

    hint: Optional[str] = None


class PermissionDeniedError(KernelError, PermissionError):
    """The caller lacks ``CAP_NET_ADMIN`` in the namespace (``EPERM``)."""


class ModuleMissingError(KernelError):
    """A kernel module (``ip_vs``, a scheduler, a persistence engine) is missing; ``module`` names it."""

    module: str = ""


class SystemCallError(IpvsError, OSError):
    """A system call failed (opening the namespace or the socket, sending, receiving)."""


class NamespaceNotFoundError(NotFoundError, SystemCallError):
    """The network namespace does not exist (``ENOENT`` opening its file).

    A :class:`NotFoundError`, and still the :class:`SystemCallError` it was
    before (the system call that failed is the opening of the namespace file).
    """


class InvalidInputError(IpvsError, ValueError):
    """The request was refused before anything was sent (the core's validation)."""


class ProtocolError(IpvsError):
    """The kernel's reply could not be understood."""


class IpvsTimeoutError(IpvsError, TimeoutError):
    """No reply arrived in time (see ``Ipvs(timeout=...)``)."""


class NotAttemptedError(IpvsError):
    """A batched operation was not sent because an earlier one failed."""


class RulesParseError(IpvsError, ValueError):
    """Rules text (``ipvsadm -S`` / ``-R``) that does not parse or apply.

    ``line`` is 1-based (for a rule that parses but does not apply, the rule's
    index); ``column`` is the 1-based column, in characters, of the offending
    word; ``reason`` is what is wrong, without the position.
    """

    line: int
    column: int
    reason: str

    def __init__(self, message: str, line: int, column: int, reason: str) -> None:
        super().__init__(message, "parsing rules text")
        self.line = line
        self.column = column
        self.reason = reason


class ConnectionParseError(IpvsError, ValueError):
    """A line of the connection table that could not be understood: ``line`` (1-based, the header is line 1) and ``reason``."""

    line: int
    reason: str

    def __init__(self, message: str, line: int, reason: str) -> None:
        super().__init__(message, "parsing the connection table")
        self.line = line
        self.reason = reason
