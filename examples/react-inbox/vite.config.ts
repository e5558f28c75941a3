// The example inbox's build: a static bundle with relative asset URLs, so it can be served from
// any path (the e2e test serves it with Vite's preview server on a loopback port).
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

export default defineConfig({
  base: './',
  plugins: [react()],
  // One 770 kB chunk (243 kB gzip, React included): @knocklabs/react brings its guide and
  // Slack/Teams modules along. An application that code-splits would lazy-load the inbox.
  build: { chunkSizeWarningLimit: 1000 },
});
