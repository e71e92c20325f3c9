// The reactor's timer heap against Deno's own timers.
//
//   deno bench bench/timers_bench.ts
//
// "schedule and cancel": 100 000 calls at distinct delays, then every one
// cancelled (in scheduling order, and in reverse order, which cancels the
// earliest call last). The reactor keeps one host timer for the heap; the
// baseline makes and clears one host timer per call.
// "fire due calls": 10 000 calls due now, awaited until the last has run.

import { DenoReactor } from "../reactor/reactor.ts";
import type { IDelayedCall } from "../reactor/interfaces.ts";

const N = 100_000;
const FIRE = 10_000;
const noop = () => {};
const reactor = new DenoReactor();

{
  const group = "schedule and cancel 100 000 calls, in order";
  Deno.bench("setTimeout + clearTimeout", { group, baseline: true }, () => {
    const timers: ReturnType<typeof setTimeout>[] = new Array(N);
    for (let i = 0; i < N; i++) timers[i] = setTimeout(noop, 60_000 + i);
    for (let i = 0; i < N; i++) clearTimeout(timers[i]);
    if (timers.length !== N) throw new Error(`Made ${timers.length} timers`);
  });
  Deno.bench("reactor.callLater + cancel", { group }, () => {
    const calls: IDelayedCall[] = new Array(N);
    for (let i = 0; i < N; i++) calls[i] = reactor.callLater(60 + i, noop);
    for (let i = 0; i < N; i++) calls[i].cancel();
    const left = reactor.getDelayedCalls().length;
    if (left !== 0) throw new Error(`${left} calls left`);
  });
}

{
  const group = "schedule and cancel 100 000 calls, in reverse";
  Deno.bench("setTimeout + clearTimeout", { group, baseline: true }, () => {
    const timers: ReturnType<typeof setTimeout>[] = new Array(N);
    for (let i = 0; i < N; i++) timers[i] = setTimeout(noop, 60_000 + i);
    for (let i = N - 1; i >= 0; i--) clearTimeout(timers[i]);
    if (timers.length !== N) throw new Error(`Made ${timers.length} timers`);
  });
  Deno.bench("reactor.callLater + cancel", { group }, () => {
    const calls: IDelayedCall[] = new Array(N);
    for (let i = 0; i < N; i++) calls[i] = reactor.callLater(60 + i, noop);
    for (let i = N - 1; i >= 0; i--) calls[i].cancel();
    const left = reactor.getDelayedCalls().length;
    if (left !== 0) throw new Error(`${left} calls left`);
  });
}

{
  const group = "fire 10 000 due calls";
  Deno.bench("setTimeout(0)", { group, baseline: true }, async () => {
    let fired = 0;
    const { promise, resolve } = Promise.withResolvers<void>();
    const tick = () => {
      if (++fired === FIRE) resolve();
    };
    for (let i = 0; i < FIRE; i++) setTimeout(tick, 0);
    await promise;
    if (fired !== FIRE) throw new Error(`Fired ${fired}`);
  });
  Deno.bench("reactor.callLater(0)", { group }, async () => {
    let fired = 0;
    const { promise, resolve } = Promise.withResolvers<void>();
    const tick = () => {
      if (++fired === FIRE) resolve();
    };
    for (let i = 0; i < FIRE; i++) reactor.callLater(0, tick);
    await promise;
    if (fired !== FIRE) throw new Error(`Fired ${fired}`);
  });
}
