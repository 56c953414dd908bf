/**
 * What the collector benches share: CPU of a command and everything it starts (a cgroup made for the bench, or
 * bash's `times`), its wall time, and quantiles. Needs root, util-linux (nsenter) and bash 5 ($EPOCHREALTIME).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** How CPU is counted: a cgroup's usage file (v1 cpuacct.usage in ns, v2 cpu.stat usage_usec) or `times`. */
export type Accounting = { kind: 'cgroup-v1' | 'cgroup-v2'; dir: string } | { kind: 'times' };

/** Makes a cgroup for the bench where one can be made (remove it with {@link removeAccounting}), else `times`. */
export function makeAccounting(): Accounting {
  const name = `fa-bench-${Math.random().toString(16).slice(2, 10)}`;
  const candidates: Array<{ kind: 'cgroup-v1' | 'cgroup-v2'; root: string; probe: string }> = [
    { kind: 'cgroup-v1', root: '/sys/fs/cgroup/cpuacct', probe: 'cpuacct.usage' },
    { kind: 'cgroup-v2', root: '/sys/fs/cgroup', probe: 'cgroup.controllers' },
    { kind: 'cgroup-v2', root: '/sys/fs/cgroup/unified', probe: 'cgroup.controllers' },
  ];
  for (const { kind, root, probe } of candidates) {
    if (!existsSync(join(root, probe))) continue;
    const dir = join(root, name);
    try {
      mkdirSync(dir);
    } catch {
      continue;
    }
    const usage = join(dir, kind === 'cgroup-v1' ? 'cpuacct.usage' : 'cpu.stat');
    if (existsSync(usage)) return { kind, dir };
    rmdirSync(dir);
  }
  return { kind: 'times' };
}

/** Removes the bench's cgroup; one a process is still in stays, for the kernel to report. */
export function removeAccounting(accounting: Accounting): void {
  if (accounting.kind === 'times') return;
  try {
    rmdirSync(accounting.dir);
  } catch {
    // a process the bench started is still in it: leave it
  }
}

/** How the CPU figures were counted, for the bench's header line. */
export function accountingLabel(accounting: Accounting): string {
  return accounting.kind === 'times' ? "bash's times" : `${accounting.kind} accounting`;
}

/**
 * The bash text that runs `command` (output to `stdout`, default discarded) and prints its wall time from
 * $EPOCHREALTIME around the command alone (no nsenter or bash start-up in it) and the CPU it used in
 * microseconds. In a cgroup: joins it, reads its usage before and after, and waits (at most 5 s) for anything
 * the command left running to end first, so that is counted too.
 */
export function measuringScript(accounting: Accounting, command: string, stdout = '/dev/null'): string {
  const timed = [`t0=$EPOCHREALTIME`, `${command} >${stdout} 2>/dev/null`, `t1=$EPOCHREALTIME`];
  if (accounting.kind === 'times') {
    return [...timed, 'echo "wall $t0 $t1"', 'times'].join('\n');
  }
  const { dir } = accounting;
  const usage =
    accounting.kind === 'cgroup-v1'
      ? `read -r u < ${dir}/cpuacct.usage; u=$((u / 1000))`
      : `while read -r k v; do [ "$k" = usage_usec ] && u=$v; done < ${dir}/cpu.stat`;
  return [
    `echo $$ > ${dir}/cgroup.procs`,
    `${usage}; before=$u`,
    ...timed,
    `for ((i = 0; i < 500; i++)); do mapfile -t p < ${dir}/cgroup.procs; [ "\${#p[@]}" -le 1 ] && break; sleep 0.01; done`,
    `${usage}; echo "wall $t0 $t1"; echo "cpu_us $((u - before)) left \${#p[@]}"`,
  ].join('\n');
}

/** One measured run of a command. */
export interface Sample {
  /** user+sys of the command and its descendants. */
  readonly cpuMs: number;
  /** From just before the command to just after it. */
  readonly wallMs: number;
}

/** Reads what {@link measuringScript} printed. */
export function parseMeasurement(accounting: Accounting, printed: string): Sample & { left: number } {
  const wall = /^wall (\d+)[.,](\d{6}) (\d+)[.,](\d{6})$/m.exec(printed);
  if (!wall) throw new Error(`unexpected measurement output (no wall time): ${printed}`);
  const micros = (seconds = '0', fraction = '0') => Number(seconds) * 1e6 + Number(fraction);
  const wallMs = (micros(wall[3], wall[4]) - micros(wall[1], wall[2])) / 1000;
  if (accounting.kind !== 'times') {
    const cpu = /^cpu_us (\d+) left (\d+)$/m.exec(printed);
    if (!cpu) throw new Error(`unexpected measurement output (no cgroup usage): ${printed}`);
    return { cpuMs: Number(cpu[1]) / 1000, wallMs, left: Number(cpu[2]) };
  }
  const children = printed.trim().split('\n').at(-1) ?? '';
  const seconds = [...children.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
  if (seconds.length !== 2) throw new Error(`unexpected times output: ${printed}`);
  return { cpuMs: ((seconds[0] ?? 0) + (seconds[1] ?? 0)) * 1000, wallMs, left: 0 };
}

/**
 * Runs `command` under bash in the namespace (nsenter: the network namespace only, so /sys stays the host's),
 * with only the given environment: the collector then starts as SSM starts it, without an `env -i` process.
 * With `stdout`, the command's output goes to that file instead of /dev/null.
 */
export async function measure(
  netns: string,
  accounting: Accounting,
  command: string,
  env: Readonly<Record<string, string>>,
  stdout?: string,
): Promise<Sample> {
  const { stdout: printed } = await run(
    'nsenter',
    [`--net=/run/netns/${netns}`, 'bash', '-c', measuringScript(accounting, command, stdout)],
    { env: { ...env } },
  );
  const { cpuMs, wallMs, left } = parseMeasurement(accounting, printed);
  if (left > 1) console.warn(`warning: processes still running 5 s after: ${command}`);
  return { cpuMs, wallMs };
}

/** The q-quantile (0..1) of `values`, interpolated between the two nearest ranks. */
export function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const position = (sorted.length - 1) * q;
  const low = Math.floor(position);
  const high = Math.ceil(position);
  return (sorted[low] ?? 0) + ((sorted[high] ?? 0) - (sorted[low] ?? 0)) * (position - low);
}

/** `median [q1-q3] ms`. */
export function medianWithQuartiles(values: readonly number[], digits = 1): string {
  return `${quantile(values, 0.5).toFixed(digits)} [${quantile(values, 0.25).toFixed(0)}-${quantile(values, 0.75).toFixed(0)}] ms`;
}

/** The first line a command prints (stdout and stderr), or `?`. */
export async function firstLine(command: string): Promise<string> {
  const { stdout } = await run('bash', ['-c', `${command} 2>&1 | head -1`]).catch(() => ({ stdout: '?' }));
  return stdout.trim();
}

/** The load average as `uptime` prints it (1, 5, 15 minutes). */
export function formatLoad(load: readonly number[]): string {
  return load.map((x) => x.toFixed(2)).join(' ');
}
