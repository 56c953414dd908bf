// moved to sim/states/lambda-env.ts, where the executed-ASL runner (sim/states/audit-run.ts) reaches it too
export { LAMBDA_ENV } from '#sim/states/lambda-env.js';
