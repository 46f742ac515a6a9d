/**
 * The one place the testkit imports `@peculiar/x509`. Its dependency injection
 * (tsyringe) needs the Reflect metadata API, so the polyfill is loaded first:
 * ES module imports evaluate in order. Same pattern as `@donjon/attest`'s `_x509.ts`.
 */
import "reflect-metadata";

export * from "@peculiar/x509";
