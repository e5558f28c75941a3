// The dashboard's build: served by Herald itself at /dashboard/ (src/api/dashboard), so every
// asset URL is rooted there. Built by scripts/build-dashboard.mjs (npm run build / npm start).
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

export default defineConfig({
  base: '/dashboard/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // Charts (recharts) are the bulk of the bundle; they load with the overview page only.
    chunkSizeWarningLimit: 700,
  },
});
