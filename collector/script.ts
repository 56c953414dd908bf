import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Absolute path of the node-side collector (collect.sh), for the CLI and the CDK collector document. */
export const collectorScriptPath: string = fileURLToPath(new URL('./collect.sh', import.meta.url));

/** The collector script's exact text. */
export function readCollectorScript(): string {
  return readFileSync(collectorScriptPath, 'utf8');
}
