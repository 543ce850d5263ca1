/// <reference types="vitest/config" />
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The bundle is written into the gateway's console package, which embeds
// it; `make web` rebuilds it and `make generate-check` compares it with
// what is committed, so the build must be byte-reproducible.
export default defineConfig({
  base: "/console/",
  plugins: [react()],
  build: {
    outDir: "../services/gateway/internal/console/dist",
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 1200,
  },
  server: {
    // `npm run dev` against a gateway started by `make run`.
    proxy: {
      "/v1": "http://127.0.0.1:8080",
      "/console/config.json": "http://127.0.0.1:8080",
      "/console/devSignIn": "http://127.0.0.1:8080",
    },
  },
  test: {
    environment: "node",
    include: ["src/**/*.test.ts", "src/**/*.test.tsx"],
  },
});
