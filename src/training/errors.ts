// Errors of a fine-tuning run that callers handle by type (the CLI prints them; the service records them).

/** The run cannot start or continue as asked (existing output, nothing to resume, changed inputs). */
export class FineTuneError extends Error {
  override name = "FineTuneError";
}

/** The run was stopped through the AbortSignal after `step` steps; its checkpoint is in `runDir`. */
export class FineTuneAbortedError extends Error {
  override name = "FineTuneAbortedError";
  constructor(
    readonly step: number,
    readonly runDir: string,
  ) {
    super(`fine-tuning stopped after step ${step}; resume continues from the checkpoint in ${runDir}`);
  }
}
