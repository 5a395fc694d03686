// The Vonage simulators: faithful HTTP fakes of Vonage's Verify APIs, a product of their own beside the
// service. The service runs one in-process in sandbox mode (see compose.ts), the tests drive the real
// Vonage SDK against them, and `npm run simulator` (main.ts: `-- v2` or SIMULATOR_API=v2 for Verify v2)
// serves one alone for other teams.
//
//   v1/  Verify v1 (`/verify/json`, `/verify/check/json`, `/verify/control/json`, `/verify/search/json`):
//        simulator.ts (the facade), engine.ts (the rules), http.ts (the HTTP face), params.ts,
//        texts.ts (Vonage's wording), queue.ts (timed deliveries), types.ts, main.ts (the entry).
//   v2/  Verify v2 (`/v2/verify`, JWT auth, signed callbacks): index.ts is its public entry, main.ts
//        its standalone entry.
//
// Nothing here imports the service (only ../clock.ts); the service only imports the facade.
export {};
