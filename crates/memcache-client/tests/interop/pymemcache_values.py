"""pymemcache's side of tests/pymemcache_interop.rs.

Uses pymemcache's default serde (pickle_serde: bytes flags 0, int 2, str 16).

  pymemcache_values.py version
  pymemcache_values.py read HOST:PORT KEY...   one line per key: key, type, payload
  pymemcache_values.py write HOST:PORT PREFIX  stores VALUES under PREFIX + name

Payloads: bytes and str as hex (str UTF-8 encoded), int in decimal.
"""

import sys

import pymemcache
from pymemcache import serde
from pymemcache.client.base import Client

VALUES = {
    "str": "h\u00e9llo w\u00f6rld \u2713",
    "empty_str": "",
    "bytes": b"\x00\xff\r\n",
    "empty_bytes": b"",
    "int": 42,
    "negative": -7,
    "big": 2**100,
    "float": 1.5,
    "list": [1, "two"],
}


def client(addr):
    host, port = addr.rsplit(":", 1)
    return Client((host, int(port)), serde=serde.pickle_serde, connect_timeout=5, timeout=5)


def describe(value):
    if value is None:
        return "miss", ""
    if type(value) is bytes:
        return "bytes", value.hex()
    if type(value) is str:
        return "str", value.encode("utf-8").hex()
    if type(value) is int:
        return "int", str(value)
    return type(value).__name__, ""


def main(argv):
    if argv[1] == "version":
        print(pymemcache.__version__)
    elif argv[1] == "read":
        c = client(argv[2])
        for key in argv[3:]:
            print(key, *describe(c.get(key)), sep="\t")
    elif argv[1] == "write":
        c = client(argv[2])
        for name, value in VALUES.items():
            if not c.set(argv[3] + name, value, noreply=False):
                sys.exit("not stored: " + name)
    else:
        sys.exit("unknown command " + argv[1])


if __name__ == "__main__":
    main(sys.argv)
