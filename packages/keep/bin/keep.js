// The Keep runtime's process entry (see src/keep_main.ts). Plain JavaScript
// so that Node's compile cache is on before any TypeScript loads, as in the
// donjon launcher.
import { enableCompileCache } from "node:module";

try {
  enableCompileCache?.();
} catch {
  // Under the permission model the cache directory may not be writable: run uncached.
}
await import("../src/keep_main.ts");
