"""Prints Twisted's wire forms for tests/amp/wire_compat_test.ts.

Reads JSON from stdin: {"floats": [hex float strings], "when": [...]}.
Prints JSON: the hex of Twisted's serialization of a Sum call box and of an
Every call box, and Twisted's Float.toString of each float.
"""
import datetime
import decimal
import json
import sys

from twisted.protocols import amp

from _twisted_amp_commands import Every, Sum

data = json.load(sys.stdin)

sum_box = Sum.makeArguments({"a": 13, "b": -81}, None)
sum_box[b"_ask"] = b"1"
sum_box[b"_command"] = b"Sum"

every = Every.makeArguments(
    dict(
        i=7,
        big=-(10**40),
        flt=0.1,
        nan=float("nan"),
        inf=float("inf"),
        yes=True,
        bytes=b"\x00\xff",
        text="\u00e9",
        when=datetime.datetime(2012, 1, 23, 12, 34, 56, 54000, tzinfo=amp.utc),
        dec=decimal.Decimal("-1.50"),
        decinf=decimal.Decimal("-Infinity"),
        list=[1, 22],
        texts=["a", ""],
        rows=[{"x": 1, "y": "a"}, {"x": 2}],
        maybe="m",
    ),
    None,
)
every[b"_ask"] = b"2"
every[b"_command"] = b"Every"

floats = [amp.Float().toString(float.fromhex(h)).decode() for h in data["floats"]]
print(json.dumps({"sum": sum_box.serialize().hex(), "every": every.serialize().hex(), "floats": floats}))
