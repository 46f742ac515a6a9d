/**
 * The one place @donjon/client imports `@peculiar/x509`. Its dependency
 * injection (tsyringe) needs the Reflect metadata API, which neither Node nor
 * browsers ship, so the polyfill is loaded first: ES module imports evaluate
 * in order (as packages/attest/src/_x509.ts).
 */
import "reflect-metadata";

export * from "@peculiar/x509";
