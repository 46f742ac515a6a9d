/**
 * @donjon/attest — parse, validate and verify TEE evidence. Public surface.
 * Pure: no `node:*` imports; crypto (WebCrypto), time and fetch are injected.
 */
export {};
