// Endpoint description strings: cases from Twisted's test_endpoints
// ParserTests, ServerStringTests and ClientStringTests.

import assert from "node:assert/strict";
import {
  clientFromString,
  type EndpointReactor,
  parseEndpointDescription,
  quoteStringArgument,
  registerClientEndpointParser,
  registerServerEndpointParser,
  serverFromString,
} from "../../../reactor/endpoints/endpoint_descriptions.ts";
import {
  TCP4ClientEndpoint,
  TCP4ServerEndpoint,
  UNIXClientEndpoint,
  UNIXServerEndpoint,
} from "../../../reactor/endpoints/endpoints.ts";
import type {
  IStreamClientEndpoint,
  IStreamServerEndpoint,
} from "../../../reactor/interfaces.ts";
import { reactor } from "../../../reactor/reactor.ts";

Deno.test("parseEndpointDescription splits positional and keyword arguments", () => {
  assert.deepEqual(parseEndpointDescription("a:b:d=1:c"), {
    args: ["a", "b", "c"],
    kwargs: { d: "1" },
  });
  assert.deepEqual(parseEndpointDescription("tcp"), {
    args: ["tcp"],
    kwargs: {},
  });
  assert.deepEqual(parseEndpointDescription("tcp::x="), {
    args: ["tcp", ""],
    kwargs: { x: "" },
  });
});

Deno.test("a backslash escapes colons, equals signs and backslashes", () => {
  const endpoint = serverFromString(
    reactor,
    "unix:foo\\:bar\\=baz\\:qux\\\\",
  ) as UNIXServerEndpoint;
  assert.ok(endpoint instanceof UNIXServerEndpoint);
  assert.equal(endpoint.address, "foo:bar=baz:qux\\");
  assert.equal(endpoint.backlog, 50);
  assert.equal(endpoint.mode, undefined);
  assert.throws(
    () => parseEndpointDescription("tcp:80\\"),
    /ends in a lone backslash/,
  );
});

Deno.test("an equals sign in a value needs no escape", () => {
  const endpoint = serverFromString(
    reactor,
    "unix:address=foo=bar",
  ) as UNIXServerEndpoint;
  assert.equal(endpoint.address, "foo=bar");
});

Deno.test("quoteStringArgument escapes backslashes and colons so they round-trip", () => {
  assert.equal(
    quoteStringArgument("some : stuff \\"),
    "some \\: stuff \\\\",
  );
  const path = "C:\\weird:dir\\sock";
  const endpoint = serverFromString(
    reactor,
    `unix:${quoteStringArgument(path)}`,
  ) as UNIXServerEndpoint;
  assert.equal(endpoint.address, path);
});

Deno.test("serverFromString makes TCP endpoints with Twisted's defaults", () => {
  const simple = serverFromString(reactor, "tcp:80") as TCP4ServerEndpoint;
  assert.ok(simple instanceof TCP4ServerEndpoint);
  assert.equal(simple.reactor, reactor);
  assert.deepEqual(
    [simple.port, simple.interface, simple.backlog],
    [80, "", 50],
  );
  const full = serverFromString(
    reactor,
    "tcp:1234:backlog=12:interface=10.0.0.1",
  ) as TCP4ServerEndpoint;
  assert.deepEqual(
    [full.port, full.interface, full.backlog],
    [1234, "10.0.0.1", 12],
  );
  const keywords = serverFromString(
    reactor,
    "tcp:port=80:interface=127.0.0.1",
  ) as TCP4ServerEndpoint;
  assert.deepEqual([keywords.port, keywords.interface], [80, "127.0.0.1"]);
});

Deno.test("serverFromString makes UNIX endpoints, with an octal mode", () => {
  const endpoint = serverFromString(
    reactor,
    "unix:/var/foo/bar:backlog=7:mode=0123:lockfile=0",
  ) as UNIXServerEndpoint;
  assert.ok(endpoint instanceof UNIXServerEndpoint);
  assert.equal(endpoint.address, "/var/foo/bar");
  assert.equal(endpoint.backlog, 7);
  assert.equal(endpoint.mode, 0o123);
  assert.throws(
    () => serverFromString(reactor, "unix:/var/run/finger:lockfile=1"),
    /lockfile=1 is not supported/,
  );
  assert.throws(
    () => serverFromString(reactor, "unix:/x:mode=9"),
    /not an octal number/,
  );
});

Deno.test("serverFromString refuses unknown types, uppercase built-in prefixes and bad arguments", () => {
  assert.throws(
    () => serverFromString(reactor, "ftl:andromeda/carcosa/hali/2387"),
    (e: unknown) =>
      e instanceof TypeError &&
      e.message === "Unknown endpoint type: 'ftl'",
  );
  // Built-in server prefixes are lowercase, as in Twisted.
  assert.throws(
    () => serverFromString(reactor, "TCP:80"),
    /Unknown endpoint type: 'tcp'/,
  );
  assert.throws(() => serverFromString(reactor, "tcp:http"), /not an integer/);
  assert.throws(() => serverFromString(reactor, "tcp"), /port is required/);
  assert.throws(
    () => serverFromString(reactor, "tcp:80:bogus=1"),
    /unknown argument "bogus"/,
  );
  assert.throws(
    () => serverFromString(reactor, "tcp:80:port=81"),
    /"port" is given twice/,
  );
  assert.throws(
    () => serverFromString(reactor, "tcp:80:127.0.0.1:5:extra"),
    /4 positional arguments, at most 3/,
  );
});

Deno.test("clientFromString makes TCP endpoints from keywords or positions, in any case", () => {
  const kw = clientFromString(
    reactor,
    "tcp:host=example.com:port=1234:timeout=7:bindAddress=10.0.0.2",
  ) as TCP4ClientEndpoint;
  assert.ok(kw instanceof TCP4ClientEndpoint);
  assert.equal(kw.reactor, reactor);
  assert.deepEqual(
    [kw.host, kw.port, kw.timeout, kw.bindAddress],
    ["example.com", 1234, 7, ["10.0.0.2", 0]],
  );
  const positional = clientFromString(
    reactor,
    "TCP:example.com:1234:timeout=7",
  ) as TCP4ClientEndpoint;
  assert.deepEqual(
    [positional.host, positional.port, positional.timeout],
    ["example.com", 1234, 7],
  );
  const hostFirst = clientFromString(
    reactor,
    "tcp:example.com:port=1234",
  ) as TCP4ClientEndpoint;
  assert.deepEqual([hostFirst.host, hostFirst.port], ["example.com", 1234]);
  const portFirst = clientFromString(
    reactor,
    "tcp:host=example.com:1234",
  ) as TCP4ClientEndpoint;
  assert.deepEqual([portFirst.host, portFirst.port], ["example.com", 1234]);
  const defaults = clientFromString(
    reactor,
    "tcp:host=example.com:port=1234",
  ) as TCP4ClientEndpoint;
  assert.equal(defaults.timeout, 30);
  assert.equal(defaults.bindAddress, undefined);
  assert.throws(
    () => clientFromString(reactor, "tcp:example.com"),
    /port is required/,
  );
  assert.throws(
    () => clientFromString(reactor, "tcp:a:1:host=b"),
    /"host" is given twice/,
  );
  assert.throws(
    () => clientFromString(reactor, "tcp:a:1:timeout=soon"),
    /not a number of seconds/,
  );
});

Deno.test("clientFromString makes UNIX endpoints and refuses lock files", () => {
  const kw = clientFromString(
    reactor,
    "unix:path=/var/foo/bar:timeout=9",
  ) as UNIXClientEndpoint;
  assert.ok(kw instanceof UNIXClientEndpoint);
  assert.deepEqual([kw.path, kw.timeout], ["/var/foo/bar", 9]);
  const positional = clientFromString(
    reactor,
    "UNIX:/var/foo/bar:lockfile=0",
  ) as UNIXClientEndpoint;
  assert.deepEqual([positional.path, positional.timeout], ["/var/foo/bar", 30]);
  assert.throws(
    () => clientFromString(reactor, "unix:/var/foo/bar:lockfile=1"),
    /lock files are not supported/,
  );
  assert.throws(
    () => clientFromString(reactor, "ftl:andromeda/carcosa/hali/2387"),
    /Unknown endpoint type: 'ftl'/,
  );
});

Deno.test("registered parsers get the reactor, positional and keyword arguments, in any case", () => {
  const seen: unknown[] = [];
  const serverEndpoint: IStreamServerEndpoint = {
    listen: () => {
      throw new Error("not used");
    },
  };
  const clientEndpoint: IStreamClientEndpoint = {
    connect: () => {
      throw new Error("not used");
    },
  };
  registerServerEndpointParser({
    prefix: "Fake",
    parseStreamServer(r: EndpointReactor, args, kwargs) {
      seen.push(r, args, kwargs);
      return serverEndpoint;
    },
  });
  registerClientEndpointParser({
    prefix: "crfake",
    parseStreamClient(r: EndpointReactor, args, kwargs) {
      seen.push(r, args, kwargs);
      return clientEndpoint;
    },
  });
  assert.equal(
    serverFromString(reactor, "FAKE:alpha:beta:cee=dee:num=1"),
    serverEndpoint,
  );
  assert.equal(
    clientFromString(reactor, "crfake:alpha:beta:cee=dee:num=1"),
    clientEndpoint,
  );
  assert.deepEqual(seen, [
    reactor,
    ["alpha", "beta"],
    { cee: "dee", num: "1" },
    reactor,
    ["alpha", "beta"],
    { cee: "dee", num: "1" },
  ]);
  assert.throws(
    () =>
      registerServerEndpointParser({
        prefix: "tcp",
        parseStreamServer: () => serverEndpoint,
      }),
    /built in/,
  );
  assert.throws(
    () =>
      registerClientEndpointParser({
        prefix: "UNIX",
        parseStreamClient: () => clientEndpoint,
      }),
    /built in/,
  );
  assert.throws(
    () =>
      registerClientEndpointParser({
        prefix: "no spaces",
        parseStreamClient: () => clientEndpoint,
      }),
    TypeError,
  );
});
