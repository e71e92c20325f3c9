// Fixture for reactor_test.ts: runs the global reactor, prints "ready" once
// it is running, and prints each shutdown phase as it runs. The test sends it
// SIGINT or SIGTERM; it must then shut down and exit by itself (no
// Deno.exit): the signal listeners are gone and the pending delayed calls
// no longer keep the process alive.
import { Deferred } from "../../deferred/deferred.ts";
import { reactor } from "../../reactor/reactor.ts";

const say = (line: string) => console.log(line);

// A call far in the future: it must not keep the process alive after shutdown.
reactor.callLater(3600, () => say("the hour-long call ran"));

reactor.addSystemEventTrigger("before", "shutdown", () => {
  say("before shutdown");
  // A 'before' trigger's Deferred delays the rest of shutdown.
  const d = new Deferred<void>();
  reactor.callLater(0.05, () => {
    say("before shutdown finished");
    d.callback();
  });
  return d;
});
reactor.addSystemEventTrigger(
  "during",
  "shutdown",
  () => say("during shutdown"),
);
reactor.addSystemEventTrigger("after", "shutdown", () => say("after shutdown"));
reactor.callWhenRunning(() => say("ready"));

await reactor.run();
say("run resolved");
reactor.callLater(3600, () => say("a call after shutdown ran"));
