/** Codes of the testkit's one error class. */
export type TestkitCode = "testkit.options";

/** Raised when a fake is asked for something it cannot build (bad option values). */
export class TestkitError extends Error {
  override readonly name = "TestkitError";
  readonly code: TestkitCode;
  constructor(code: TestkitCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
