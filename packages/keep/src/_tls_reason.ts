/**
 * A TLS failure in words a user can act on: OpenSSL's reason, without its
 * error-queue framing, with Node's code when the reason does not already
 * name it. Shared by the Keep's Steward client and its workload sockets.
 */
export function opensslReason(e: Error): string {
  const code = (e as { code?: string }).code;
  // OpenSSL's "…:error:0A000119:SSL routines:FUNC:REASON:file:line:" → REASON.
  const reason = /:SSL routines:[^:]*:([^:]+):/.exec(e.message)?.[1] ?? e.message.trim();
  return code && !reason.includes(code) ? `${reason} (${code})` : reason;
}
