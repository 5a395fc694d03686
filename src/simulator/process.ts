// What both simulators' entries share as processes: close on SIGTERM/SIGINT, and a start failure in one line.

/** Closes the simulator once on SIGTERM or SIGINT; the exit code says whether it closed cleanly. */
export function closeOnSignals(close: () => Promise<void>): void {
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    close().then(
      () => {
        process.exitCode = 0;
      },
      () => {
        process.exitCode = 1;
      },
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

/** Runs an entry's main; a failure to start is one line on stderr and exit code 1. */
export function runEntry(main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    console.error(`simulator failed to start: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
