// moved to sim/states/audit-run.ts, where the fleet benchmark (bench/fleet.ts) reaches it too
export * from '#sim/states/audit-run.js';
