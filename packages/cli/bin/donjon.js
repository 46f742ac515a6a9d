#!/usr/bin/env node
// The launcher is plain JavaScript on purpose: a .ts entry point makes Node
// load its TypeScript stripper before anything can be cached, which doubles
// a cold start (~100 ms → ~50 ms for hello.wasm). Everything it imports is
// TypeScript, served from Node's compile cache after the first run (modules
// loaded before enableCompileCache() are not cached, hence the dynamic
// import). NODE_DISABLE_COMPILE_CACHE=1 turns the cache off.
import { enableCompileCache } from "node:module";

enableCompileCache?.();
const { main } = await import("../src/main.ts");
process.exitCode = await main(process.argv.slice(2));
