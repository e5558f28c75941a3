/**
 * Long-lived connections (Phoenix sockets, SSE streams) authenticated by a user token must end
 * when the token does, not on the client's next frame: otherwise pushes keep flowing to a
 * browser whose token has expired.
 *
 * The remaining lifetime is read from Herald's clock once, when the connection opens, and then
 * counted down with a real timer. (A test's ManualClock therefore decides how much lifetime is
 * left; advancing it later does not move the timer.)
 */
import type { Clock } from '../domain/clock.js';

/** setTimeout's longest delay (~24.8 days); longer waits are re-armed in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Calls `onExpired` once when `deadlineMs` (epoch ms) is reached; returns a cancel function. */
export function onDeadline(clock: Clock, deadlineMs: number | undefined, onExpired: () => void): () => void {
  if (deadlineMs === undefined) return () => {};
  const end = Date.now() + Math.max(0, deadlineMs - clock.now().getTime());
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    const left = Math.min(Math.max(end - Date.now(), 0), MAX_TIMER_MS);
    timer = setTimeout(() => (Date.now() >= end ? onExpired() : arm()), left);
    timer.unref();
  };
  arm();
  return () => { if (timer) clearTimeout(timer); };
}
