#!/usr/bin/env node
// Runs the TypeScript CLI through tsx, so `npx fleet-audit` and `npm start` work without a build step.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const { register } = await import('tsx/esm/api');
register();
await import('./fleet-audit.ts');
