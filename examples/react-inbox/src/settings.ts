/**
 * Where the inbox finds Herald and who is signed in. A real application gets the user id and a
 * user token from its own backend (signed there with `@knocklabs/node`'s `signUserToken`); this
 * example reads them from the page's query string (`?host=&key=&user=&token=&channel=`), falling
 * back to `VITE_HERALD_*` variables at build time, so one bundle serves every test run.
 */
export interface InboxSettings {
  /** Herald's base URL, e.g. http://127.0.0.1:3000 (Knock's would be https://api.knock.app). */
  host: string;
  /** The environment's PUBLIC key (pk_…): never the secret key in a browser. */
  apiKey: string;
  userId: string;
  /** Required when Herald has a signing key configured (enhanced security). */
  userToken: string | undefined;
  /** The in-app feed channel's id (a UUID) or key. */
  feedId: string;
}

export function readSettings(search: string = location.search): InboxSettings | { missing: string[] } {
  const params = new URLSearchParams(search);
  const env = import.meta.env;
  const pick = (name: string, fallback: string | undefined) => params.get(name) || fallback || undefined;
  const values = {
    host: pick('host', env.VITE_HERALD_HOST),
    apiKey: pick('key', env.VITE_HERALD_PUBLIC_KEY),
    userId: pick('user', env.VITE_HERALD_USER_ID),
    userToken: pick('token', env.VITE_HERALD_USER_TOKEN),
    feedId: pick('channel', env.VITE_HERALD_FEED_CHANNEL_ID),
  };
  const missing = (['host', 'apiKey', 'userId', 'feedId'] as const).filter((k) => !values[k]);
  if (missing.length > 0) return { missing };
  return values as InboxSettings;
}
