import { defineConfig } from "vite";

// The app loads the built files from ui/dist; no dev server is needed to run it.
export default defineConfig({
  clearScreen: false,
  build: { target: "safari15", outDir: "dist", emptyOutDir: true, sourcemap: false },
});
