import { execFile } from 'node:child_process';
import { join } from 'node:path';

const CLI = join(import.meta.dirname, '../../bin/fleet-audit.js');

export interface CliOutcome {
  code: number;
  stdout: string;
  stderr: string;
}

/** The real CLI as a child process, without this machine's AWS settings; `env` adds what a test is about. */
export function runCli(args: string[], env: Record<string, string> = {}): Promise<CliOutcome> {
  const clean: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('AWS_')) clean[key] = value;
  return new Promise((resolvePromise) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      {
        env: {
          ...clean,
          AWS_EC2_METADATA_DISABLED: 'true',
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
          ...env,
        },
        timeout: 120_000,
        maxBuffer: 32 << 20,
      },
      (error, stdout, stderr) => {
        resolvePromise({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
      },
    );
  });
}
