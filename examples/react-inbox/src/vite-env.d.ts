/// <reference types="vite/client" />

interface ImportMetaEnv {
  readonly VITE_HERALD_HOST?: string;
  readonly VITE_HERALD_PUBLIC_KEY?: string;
  readonly VITE_HERALD_USER_ID?: string;
  readonly VITE_HERALD_USER_TOKEN?: string;
  readonly VITE_HERALD_FEED_CHANNEL_ID?: string;
}
