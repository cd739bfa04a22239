"""The exceptions of hw/sip, one tree (the package docstring draws it)."""


class SipError(Exception):
    """Anything hw/sip raises on purpose."""


class PeerError(SipError):
    """The other side did it wrong: what it sent cannot be used as it stands.

    ``status`` is the response a server sends back for a bad request (400 unless said
    otherwise); a bad response is dropped, since nobody answers a response.
    """

    status = 400

    def __init__(self, message, status=None):
        super().__init__(message)
        if status is not None:
            self.status = status


class ParseError(PeerError):
    """A SIP message, or one of its header fields, is malformed."""


class SdpError(PeerError):
    """A session description is malformed (400) or offers nothing we accept (488)."""


class AuthError(PeerError):
    """A digest challenge or credentials header is malformed or names what we do not do."""


class UsageError(SipError):
    """We did it wrong: a call into hw/sip that its state or its arguments do not allow.

    An engine raising it has changed nothing.
    """
