/** Polls `check` every `intervalMs` until it holds or `ms` have passed; says whether it held. */
export async function until(check: () => boolean | Promise<boolean>, ms = 5_000, intervalMs = 10): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  return check();
}
