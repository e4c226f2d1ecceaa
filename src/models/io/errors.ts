// The one error type of the model I/O layer: bad or unsupported files on disk.
// It carries the offending file so callers (API, CLI) can show it without parsing the message.

export class ModelIoError extends Error {
  override readonly name = "ModelIoError";
  constructor(
    /** The file (or directory) the problem was found in. */
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
  }
}
