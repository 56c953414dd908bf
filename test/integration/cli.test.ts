import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { plainText } from '#audit/render/style.js';
import { lockStateDir } from '#sim/state-lock.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const CLI = join(ROOT, 'bin/fleet-audit.js');

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
  /** killed by the time limit: the command hung */
  killed: boolean;
}

/**
 * A clean environment: no AWS settings of this machine, a private HOME (no ~/.aws), no instance metadata lookups,
 * not a terminal. Each test adds what it is about.
 */
function cleanEnv(home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^(AWS_|COLUMNS$|NO_COLOR$|FORCE_COLOR$|TERM$)/.test(key)) env[key] = value;
  }
  return {
    ...env,
    HOME: home,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    ...extra,
  };
}

function run(file: string, args: string[], env: NodeJS.ProcessEnv, timeout = 60_000): Promise<Outcome> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      { cwd: ROOT, env, encoding: 'utf8', timeout, maxBuffer: 32 << 20 },
      (error, stdout, stderr) => {
        const e = error as (Error & { code?: unknown; killed?: boolean }) | null;
        resolve({
          code: e ? (typeof e.code === 'number' ? e.code : null) : 0,
          stdout,
          stderr,
          killed: Boolean(e?.killed),
        });
      },
    );
  });
}

let home: string;
let work: string;
const fleetAudit = (args: string[], extra: Record<string, string> = {}, timeout?: number) =>
  run(process.execPath, [CLI, ...args], cleanEnv(home, extra), timeout);

/** Runs the CLI on a pseudo-terminal of 80 columns (util-linux `script`): stdout and stderr both reach it. */
const onTerminal = (args: string[], extra: Record<string, string> = {}) => {
  const quoted = [process.execPath, CLI, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  return run(
    'script',
    ['-qec', `stty cols 80 rows 40; ${quoted}`, '/dev/null'],
    cleanEnv(home, { TERM: 'xterm', ...extra }),
  );
};

/** What a terminal shows of output with carriage-return redraws: the text after the last \r of each line. */
const ESC = '\u001b';
const shownLines = (text: string) =>
  plainText(text.replaceAll(`${ESC}[2K`, ''))
    .split('\n')
    .map((line) => line.replace(/\r$/, '').split('\r').at(-1) ?? '');

/** The one line a failed command prints. */
function oneLine(outcome: Outcome): string {
  expect(outcome.killed).toBe(false);
  expect(outcome.code).toBe(2);
  expect(outcome.stdout).toBe('');
  const lines = outcome.stderr.split('\n').filter(Boolean);
  expect(lines).toHaveLength(1);
  return lines[0] ?? '';
}

beforeAll(() => {
  home = mkdtempSync(join(tmpdir(), 'fleet-audit-home-'));
  work = mkdtempSync(join(tmpdir(), 'fleet-audit-cli-'));
});
afterAll(() => {
  rmSync(home, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

const stateDir = (name: string) => join(work, name);

describe('fleet-audit paths', () => {
  it('refuses --out /proc/nope in one line, exit 2, instead of looping forever after printing', async () => {
    const outcome = await fleetAudit(
      ['run', '--local', '--json', '--out', '/proc/nope', '--state-dir', stateDir('proc')],
      {},
      30_000,
    );
    expect(oneLine(outcome)).toBe(
      'fleet-audit: --out /proc/nope: /proc does not accept new folders (cannot create /proc/nope)',
    );
    // refused before anything ran: not even the state folder was made
    expect(existsSync(stateDir('proc'))).toBe(false);
  });

  it('names a --state-dir under a file and an --out that is a file, each in one line', async () => {
    const file = join(work, 'a-file');
    writeFileSync(file, 'x');
    expect(oneLine(await fleetAudit(['run', '--local', '--state-dir', join(file, 'state')]))).toBe(
      `fleet-audit: --state-dir ${join(file, 'state')}: ${file} exists and is not a folder`,
    );
    expect(oneLine(await fleetAudit(['run', '--local', '--out', file, '--state-dir', stateDir('out-file')]))).toBe(
      `fleet-audit: --out ${file}: ${file} exists and is not a folder`,
    );
  });
});

describe('fleet-audit state-folder lock', () => {
  it('refuses a second process on a locked state folder in one line naming the holder', async () => {
    // Arrange: this test process holds the lock, as a first `run --local` would
    const dir = stateDir('locked');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir);
    const held = await lockStateDir(dir, 'run --local');
    try {
      // Act
      const outcome = await fleetAudit(['run', '--local', '--state-dir', dir]);

      // Assert
      expect(oneLine(outcome)).toMatch(
        new RegExp(
          `^fleet-audit: state folder ${dir} is in use by fleet-audit pid ${process.pid} \\(run --local, since \\S+\\); ` +
            'wait for it to finish or pass another --state-dir$',
        ),
      );
    } finally {
      await held.release();
    }
  });
});

describe('fleet-audit AWS failures, each its own line before anything is stored', () => {
  it('says no credentials were found when a region was given, not that the region is missing', async () => {
    const dir = stateDir('no-creds');
    const outcome = await fleetAudit(['run', '--regions', 'eu-west-1', '--dry-run', '--state-dir', dir]);
    expect(oneLine(outcome)).toBe(
      'fleet-audit: no AWS credentials found for the default credentials: run `aws configure` or `aws sso login`, ' +
        'set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or use --local for the simulated fleet',
    );
    expect(readdirSync(dir)).toEqual([]);
  });

  it('says profile nosuch not found, naming the files it looked in', async () => {
    expect(oneLine(await fleetAudit(['run', '--profile', 'nosuch', '--state-dir', stateDir('profile')]))).toBe(
      `fleet-audit: profile nosuch not found in ${home}/.aws/config or ${home}/.aws/credentials; ` +
        '`aws configure list-profiles` lists the profiles there',
    );
  });

  it('says the region is missing, or malformed, when it is', async () => {
    const keys = { AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret' };
    expect(oneLine(await fleetAudit(['run', '--state-dir', stateDir('region')], keys))).toBe(
      'fleet-audit: no AWS region: pass --regions, set AWS_REGION, or set region in the default profile',
    );
    expect(oneLine(await fleetAudit(['run', '--regions', 'eu-west1', '--state-dir', stateDir('region')], keys))).toBe(
      'fleet-audit: --regions "eu-west1" is not an AWS region name (like eu-west-1)',
    );
  });

  it('reports an unreachable endpoint as the network, not as bad credentials, for run and for report --table', async () => {
    // Arrange: a loopback port nothing listens on
    const env = {
      AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'secret',
      AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
    };
    const dir = stateDir('network');

    // Act
    const runOutcome = await fleetAudit(['run', '--regions', 'eu-west-1', '--state-dir', dir], env);
    const reportOutcome = await fleetAudit(['report', '--table', 'T', '--region', 'eu-west-1'], env);

    // Assert
    const network = (service: string) =>
      `fleet-audit: cannot reach AWS ${service} in eu-west-1 (connect ECONNREFUSED 127.0.0.1:9): check the network ` +
      'connection (and AWS_ENDPOINT_URL if you set one); the credentials were not checked';
    expect(oneLine(runOutcome)).toBe(network('STS'));
    expect(oneLine(reportOutcome)).toBe(network('DynamoDB'));
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('fleet-audit mistakes that used to pass with exit 0', () => {
  it('refuses --clusters naming no cluster with exit 2, naming it, and stores no run', async () => {
    // Act
    const dir = stateDir('clusters');
    const outcome = await fleetAudit(['run', '--local', '--clusters', 'nosuch,catalog-prod', '--state-dir', dir]);
    const runs = await fleetAudit(['runs', '--local', '--state-dir', dir]);

    // Assert
    expect(oneLine(outcome)).toBe(
      'fleet-audit: --clusters: no cluster named nosuch in 111111111111/eu-west-1, 111111111111/us-east-1, ' +
        '222222222222/eu-west-1 (there: catalog-prod, checkout-prod, edge-gateway, ledger-prod, ml-platform, ' +
        'search-staging)',
    );
    expect(runs).toMatchObject({ code: 0, stdout: `No run stored in ${dir}.\n` });
  });

  it('scores a collector report with nothing measured as null, not 100', async () => {
    const file = join(work, 'empty.json');
    writeFileSync(file, JSON.stringify({ schema: 'fleet-audit.collector/v1' }));
    const json = await fleetAudit(['score', file, '--json']);
    const text = await fleetAudit(['score', file]);
    expect(JSON.parse(json.stdout).clusters[0].score).toBeNull();
    expect(text.stdout.split('\n').slice(0, 2)).toEqual([
      'adhoc: score none, COMPLETE, 1 of 1 nodes read',
      'No rule found any of its evidence in these reports: nothing was measured.',
    ]);
  });

  it('refuses an 11 MB collector report with its size and the limit', async () => {
    const file = join(work, 'huge.json');
    writeFileSync(file, JSON.stringify({ schema: 'fleet-audit.collector/v1', pad: 'x'.repeat(11_000_000) }));
    expect(oneLine(await fleetAudit(['score', file]))).toBe(
      `fleet-audit: ${file}: 11,000,046 bytes, over the collector's limit of 2,400 bytes (not the collector's output, or a damaged one)`,
    );
  });
});

describe('fleet-audit usage', () => {
  it('prints a usage error as one line that points at the command help', async () => {
    expect(oneLine(await fleetAudit(['run', '--bogus']))).toBe(
      "fleet-audit: unknown option '--bogus' (see fleet-audit run --help)",
    );
    expect(oneLine(await fleetAudit(['report']))).toBe(
      'fleet-audit: pass --local for the local state folder or --table NAME for the deployed findings table ' +
        '(see fleet-audit report --help)',
    );
    expect(oneLine(await fleetAudit(['nosuch']))).toBe(
      "fleet-audit: unknown command 'nosuch' (see fleet-audit --help)",
    );
  });

  it('prints the package version with --version', async () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(await fleetAudit(['--version'])).toMatchObject({ code: 0, stdout: `${version}\n`, stderr: '' });
  });

  it('says which table is missing for report --table, in one line', async () => {
    // dynalite stands in for DynamoDB: a real endpoint that answers ResourceNotFoundException
    const { startDynalite } = await import('#sim/dynalite.js');
    const dynamo = await startDynalite({});
    try {
      const env = {
        AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE',
        AWS_SECRET_ACCESS_KEY: 'secret',
        AWS_ENDPOINT_URL: dynamo.endpoint,
      };
      expect(oneLine(await fleetAudit(['report', '--table', 'findings', '--region', 'eu-west-1'], env))).toBe(
        "fleet-audit: no table findings in eu-west-1 for the default credentials: pass the hub stack's TableName output, " +
          'and --region for the hub region',
      );
    } finally {
      await dynamo.close();
    }
  });
});

describe('fleet-audit text output on a terminal and off it', () => {
  let piped: Outcome;
  beforeAll(async () => {
    piped = await fleetAudit(['run', '--local', '--fresh', '--state-dir', stateDir('piped')], { COLUMNS: '80' });
  });

  it('fits 80 columns with COLUMNS=80, without colour or progress when not a terminal, and lists the run', async () => {
    expect(piped.code).toBe(0);
    expect(piped.stderr).toBe('');
    expect(piped.stdout).not.toContain('\u001b[');
    expect(piped.stdout.split('\n').filter((l) => l.length > 80)).toEqual([]);
    const runs = await fleetAudit(['runs', '--local', '--state-dir', stateDir('piped')]);
    expect(runs.stdout.split('\n')[0]).toBe('RUN                       STARTED              STATUS   CLUSTERS');
    expect(runs.stdout.split('\n')[1]).toMatch(
      /^\d{8}T\d{6}-[0-9a-f]{8} {2}\d{4}-\d\d-\d\d \d\d:\d\d:\d\d {2}PARTIAL {3,}6$/,
    );
  });

  it('names affected instance ids, prints each remediation once per cluster and the update-addon command', () => {
    const checkout = piped.stdout.slice(piped.stdout.indexOf('\n111111111111/eu-west-1/checkout-prod — score'));
    const section = checkout.slice(0, checkout.indexOf('\n\n', 2));
    expect(section).toMatch(/\n {4}Nodes: i-[0-9a-f]{17}, i-[0-9a-f]{17}, i-[0-9a-f]{17} and 14\n {11}more\n/);
    expect(section.replace(/\s+/g, ' ')).toContain(' The rest as for KP-IPTABLES-SCALE above.');
    expect(section).toContain('    Run:\n      aws eks update-addon --cluster-name checkout-prod \\\n');
    const fixes = section.split('\n').filter((l) => l.startsWith('    Fix: '));
    expect(new Set(fixes).size).toBe(fixes.length);
  });

  it('fits 80 columns on a pseudo-terminal, in colour, with a progress line on stderr', async () => {
    const outcome = await onTerminal(['run', '--local', '--fresh', '--state-dir', stateDir('tty')]);
    expect(outcome.code).toBe(0);
    expect(outcome.stdout).toContain('\u001b[1m');
    expect(outcome.stdout).toMatch(
      new RegExp(`\r\\${ESC}\\[2Kfleet-audit: \\d/6 clusters done · \\d+/\\d+ nodes read · 0:\\d\\d`),
    );
    expect(shownLines(outcome.stdout).filter((l) => l.length > 80)).toEqual([]);
  });

  it('prints no colour on a pseudo-terminal with NO_COLOR, and no progress with --json', async () => {
    const plain = await onTerminal(['run', '--local', '--state-dir', stateDir('no-color')], { NO_COLOR: '1' });
    const json = await onTerminal(['run', '--local', '--json', '--state-dir', stateDir('json')]);
    expect(plain.code).toBe(0);
    expect(plain.stdout).not.toMatch(new RegExp(`\\${ESC}\\[\\d+m`));
    expect(shownLines(plain.stdout).filter((l) => l.length > 80)).toEqual([]);
    expect(json.stdout).not.toContain('clusters done');
    expect(JSON.parse(json.stdout.trim()).clusters).toHaveLength(6);
  });
});
