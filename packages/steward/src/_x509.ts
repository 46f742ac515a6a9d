/**
 * The one place `@peculiar/x509` is imported. Its dependency injection
 * (tsyringe) needs the Reflect metadata API, which neither Node nor browsers
 * ship, so the polyfill is loaded first: ES module imports evaluate in order.
 */
import "reflect-metadata";

export * from "@peculiar/x509";
