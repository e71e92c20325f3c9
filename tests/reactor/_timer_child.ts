// Fixture for reactor_test.ts: a delayed call made without ever running the
// reactor behaves like a plain timer: it keeps the process alive and runs.
import { reactor } from "../../reactor/reactor.ts";

reactor.callLater(0.05, () => console.log("fired without run()"));
