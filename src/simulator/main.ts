// `npm run simulator`: runs one Vonage Verify simulator alone, v1 by default. `npm run simulator -- v2`
// (or SIMULATOR_API=v2) runs the Verify v2 one. Each version's own entry (v1/main.ts, v2/main.ts) reads
// its SIMULATOR_* variables and prints how to point the SDK at it.

const api = process.argv[2] ?? process.env.SIMULATOR_API ?? 'v1';

if (api === 'v1') {
  void import('./v1/main');
} else if (api === 'v2') {
  void import('./v2/main');
} else {
  console.error(
    `simulator: unknown API "${api}"; use v1 or v2 (npm run simulator -- v2, or SIMULATOR_API=v2)`,
  );
  process.exit(1);
}
