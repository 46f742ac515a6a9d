/**
 * The one place @donjon/keep imports `@peculiar/x509`. Its dependency
 * injection needs the Reflect metadata polyfill, loaded first (ES module
 * imports evaluate in order). Only Keeps that attest to a Steward load this
 * file (dynamically, from the agent), so the others do not pay for it.
 */
import "reflect-metadata";

export * from "@peculiar/x509";
