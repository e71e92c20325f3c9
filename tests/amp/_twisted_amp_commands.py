"""AMP commands shared by the Twisted peers of tests/amp/interop_test.ts.

They mirror tests/amp/_interop_commands.ts; both sides must agree on every
wire name, argument type and error code.
"""
from twisted.protocols import amp


class Sum(amp.Command):
    arguments = [(b"a", amp.Integer()), (b"b", amp.Integer())]
    response = [(b"total", amp.Integer())]


class Divide(amp.Command):
    arguments = [(b"a", amp.Integer()), (b"b", amp.Integer())]
    response = [(b"q", amp.Float())]
    errors = {ZeroDivisionError: b"ZERO_DIVISION"}


EVERY = [
    (b"i", amp.Integer()),
    (b"big", amp.Integer()),
    (b"flt", amp.Float()),
    (b"nan", amp.Float()),
    (b"inf", amp.Float()),
    (b"yes", amp.Boolean()),
    (b"bytes", amp.String()),
    (b"text", amp.Unicode()),
    (b"when", amp.DateTime()),
    (b"dec", amp.Decimal()),
    (b"decinf", amp.Decimal()),
    (b"list", amp.ListOf(amp.Integer())),
    (b"texts", amp.ListOf(amp.Unicode())),
    (b"rows", amp.AmpList([(b"x", amp.Integer()), (b"y", amp.Unicode(optional=True))])),
    (b"maybe", amp.Unicode(optional=True)),
    (b"absent", amp.Unicode(optional=True)),
]


class Every(amp.Command):
    arguments = EVERY
    response = EVERY


class Echo(amp.Command):
    arguments = [(b"s", amp.String())]
    response = [(b"s", amp.String())]


class Boom(amp.Command):
    """The responder raises an error this command does not declare."""


class Nope(amp.Command):
    """Neither side has a responder for this one."""
