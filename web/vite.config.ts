import vue from '@vitejs/plugin-vue';
import { defineConfig } from 'vite';

// `npm run dev` proxies the API and the live channel to a server started with `npm start`.
const server = process.env.LILAC_URL ?? 'http://127.0.0.1:8000';

export default defineConfig({
  plugins: [vue()],
  build: { outDir: 'dist', emptyOutDir: true },
  server: {
    proxy: {
      '/api': server,
      '/socket.io': { target: server, ws: true },
    },
  },
});
