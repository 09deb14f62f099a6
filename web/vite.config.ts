import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The build goes where the Go package internal/web embeds it from.
export default defineConfig({
  plugins: [react()],
  build: {
    outDir: "../internal/web/dist",
    emptyOutDir: true,
    target: "es2022",
    chunkSizeWarningLimit: 700,
  },
  server: {
    proxy: { "/ui-api": process.env.TRACECOMB_UI ?? "http://127.0.0.1:8080" },
  },
});
