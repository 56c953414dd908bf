import {
  type Command,
  type CommandInvocation,
  type InstanceInformation,
  ListCommandsCommand,
  paginateDescribeInstanceInformation,
  paginateListCommandInvocations,
  SendCommandCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { mapWithConcurrency } from './concurrency.js';
import { AwsCallError, awsCall } from './errors.js';
import type {
  CollectorDispatch,
  CommandProgress,
  CommandRunner,
  InvocationResult,
  ManagedInstance,
  SendCollectorOptions,
} from './ports.js';
import { sdkClientConfig } from './sdk-config.js';

/** SendCommand takes at most 50 InstanceIds; DescribeInstanceInformation filters are batched the same way. */
export const SSM_BATCH_SIZE = 50;

/**
 * Batches of one cluster in flight at once (DescribeInstanceInformation, SendCommand): a cluster's discovery takes
 * the time of a quarter of its batches instead of all of them, and a 5,000-node cluster's 100 batches do not reach SSM
 * in one burst. SSM's request rates are per account and region, shared with every other cluster in flight and
 * every other caller; a throttled batch is retried by the SDK's adaptive retry (sdk-config.ts), which also slows
 * the client's later calls.
 */
export const SSM_BATCHES_IN_FLIGHT = 4;

/** ListCommandInvocations and DescribeInstanceInformation return at most 50 items a page. */
const PAGE_SIZE = 50;

/** SendCommand's Comment is at most 100 characters. */
const COMMENT_MAX = 100;

/**
 * What the SSM agent puts between a plugin's stdout and stderr in `Output`
 * (amazon-ssm-agent `contracts.TruncateOutput`).
 */
export const STDERR_SEPARATOR = '\n----------ERROR-------\n';

export interface SsmCommandRunnerClients {
  ssm?: SSMClient;
}

/**
 * {@link CommandRunner} over SSM Run Command. Pass the client in (tests, the target factory), or it builds a default
 * one with the project's retry policy.
 */
export class SsmCommandRunner implements CommandRunner {
  readonly #ssm: SSMClient;

  constructor(clients: SsmCommandRunnerClients = {}) {
    this.#ssm = clients.ssm ?? new SSMClient(sdkClientConfig());
  }

  async describeManagedInstances(instanceIds: ReadonlyArray<string>): Promise<ManagedInstance[]> {
    const batches = await mapWithConcurrency(chunk(instanceIds, SSM_BATCH_SIZE), SSM_BATCHES_IN_FLIGHT, (batch) =>
      awsCall('ssm:DescribeInstanceInformation', `${batch.length} instances`, async () => {
        const found: ManagedInstance[] = [];
        const pages = paginateDescribeInstanceInformation(
          { client: this.#ssm, pageSize: PAGE_SIZE },
          { Filters: [{ Key: 'InstanceIds', Values: batch }] },
        );
        for await (const page of pages) {
          for (const info of page.InstanceInformationList ?? []) {
            const instance = toManagedInstance(info);
            if (instance) found.push(instance);
          }
        }
        return found;
      }),
    );
    return batches.flat();
  }

  /**
   * SendCommand in batches of 50. SendCommand is all or nothing: one instance id it does not accept (terminated,
   * shutting down, agent deregistered) fails the whole call with InvalidInstanceId, and nothing runs on the others
   * (SendCommand API reference, errors: "InvalidInstanceId … The managed node isn't in a valid state. Valid states
   * are: Running, Pending, Stopped, and Stopping. Invalid states are: Shutting-down and Terminated"; the response
   * carries one Command, no per-instance result). Karpenter terminates nodes at any time, so a batch that gets
   * InvalidInstanceId is split in halves and each half sent again, down to the single ids SSM refuses: those
   * vanished since discovery, and the rest of the batch still gets the collector.
   */
  async sendCollector(instanceIds: ReadonlyArray<string>, options: SendCollectorOptions): Promise<CollectorDispatch> {
    // each batch fills its own dispatch, joined in batch order: the command ids' order does not depend on timing
    const dispatches = await mapWithConcurrency(
      chunk(instanceIds, SSM_BATCH_SIZE),
      SSM_BATCHES_IN_FLIGHT,
      async (batch) => {
        const dispatch: CollectorDispatch = { commandIds: [], vanished: [] };
        await this.#sendBatch(batch, options, dispatch);
        return dispatch;
      },
    );
    return {
      commandIds: dispatches.flatMap((d) => d.commandIds),
      vanished: dispatches.flatMap((d) => d.vanished),
    };
  }

  async #sendBatch(batch: string[], options: SendCollectorOptions, dispatch: CollectorDispatch): Promise<void> {
    try {
      dispatch.commandIds.push(await this.#send(batch, options));
    } catch (error) {
      if (!(error instanceof AwsCallError) || error.code !== 'InvalidInstanceId') throw error;
      if (batch.length === 1) {
        dispatch.vanished.push(...batch);
        return;
      }
      const half = Math.ceil(batch.length / 2);
      await this.#sendBatch(batch.slice(0, half), options, dispatch);
      await this.#sendBatch(batch.slice(half), options, dispatch);
    }
  }

  #send(batch: string[], options: SendCollectorOptions): Promise<string> {
    return awsCall('ssm:SendCommand', `${options.documentName} to ${batch.length} instances`, async () => {
      const { Command: command } = await this.#ssm.send(
        new SendCommandCommand({
          DocumentName: options.documentName,
          InstanceIds: batch,
          // the delivery time-out, not the execution limit (the document's timeoutSeconds is that)
          TimeoutSeconds: options.deliveryTimeoutSeconds,
          MaxConcurrency: options.maxConcurrency,
          MaxErrors: options.maxErrors,
          Comment: options.comment.slice(0, COMMENT_MAX),
        }),
      );
      if (!command?.CommandId) throw new Error('SendCommand returned no CommandId');
      return command.CommandId;
    });
  }

  getProgress(commandIds: ReadonlyArray<string>): Promise<CommandProgress[]> {
    return Promise.all(
      commandIds.map((commandId) =>
        awsCall('ssm:ListCommands', `command ${commandId}`, async () => {
          const { Commands: commands } = await this.#ssm.send(new ListCommandsCommand({ CommandId: commandId }));
          const command = commands?.[0];
          if (!command) throw new NoSuchCommandError(commandId);
          return toProgress(commandId, command);
        }),
      ),
    );
  }

  readInvocations(commandId: string): Promise<InvocationResult[]> {
    return awsCall('ssm:ListCommandInvocations', `command ${commandId}`, async () => {
      const results: InvocationResult[] = [];
      const pages = paginateListCommandInvocations(
        { client: this.#ssm, pageSize: PAGE_SIZE },
        { CommandId: commandId, Details: true },
      );
      for await (const page of pages) {
        for (const invocation of page.CommandInvocations ?? []) {
          const result = toInvocationResult(invocation);
          if (result) results.push(result);
        }
      }
      return results;
    });
  }
}

/** ListCommands answered without the command (SSM normally says InvalidCommandId instead). */
class NoSuchCommandError extends Error {
  override readonly name = 'InvalidCommandId';
  constructor(commandId: string) {
    super(`no command ${commandId}`);
  }
}

function toManagedInstance(info: InstanceInformation): ManagedInstance | null {
  if (!info.InstanceId) return null;
  return {
    instanceId: info.InstanceId,
    pingStatus: info.PingStatus ?? 'Unknown',
    platformType: info.PlatformType ?? null,
    platformName: info.PlatformName ?? null,
  };
}

function toProgress(commandId: string, command: Command): CommandProgress {
  return {
    commandId,
    status: command.Status ?? 'Unknown',
    targetCount: command.TargetCount ?? 0,
    completedCount: command.CompletedCount ?? 0,
    errorCount: command.ErrorCount ?? 0,
    deliveryTimedOutCount: command.DeliveryTimedOutCount ?? 0,
  };
}

/**
 * One node's result. The plugin's `Output` holds stdout, then (when the script wrote to stderr) the agent's
 * separator and stderr; `output` keeps stdout only, so a warning on stderr cannot spoil the report's JSON, and the
 * first stderr line joins `statusDetails`, where a reader looks for why a node failed.
 */
function toInvocationResult(invocation: CommandInvocation): InvocationResult | null {
  if (!invocation.InstanceId) return null;
  const { stdout, stderr } = splitPluginOutput(invocation.CommandPlugins?.[0]?.Output);
  const details = invocation.StatusDetails ?? null;
  const firstErrorLine = stderr?.split('\n').find((line) => line.trim() !== '');
  return {
    instanceId: invocation.InstanceId,
    status: invocation.Status ?? 'Unknown',
    output: stdout,
    statusDetails: firstErrorLine ? `${details ?? 'stderr'}: ${firstErrorLine.trim()}` : details,
  };
}

/** Splits a plugin's `Output` into stdout and stderr; an empty part is null. */
export function splitPluginOutput(output: string | undefined): { stdout: string | null; stderr: string | null } {
  if (output === undefined) return { stdout: null, stderr: null };
  let stdout = output;
  let stderr = '';
  const at = output.indexOf(STDERR_SEPARATOR);
  const bareSeparator = STDERR_SEPARATOR.slice(1);
  if (at !== -1) {
    stdout = output.slice(0, at);
    stderr = output.slice(at + STDERR_SEPARATOR.length);
  } else if (output.startsWith(bareSeparator)) {
    // an empty stdout: the separator's leading newline may have been trimmed away
    stdout = '';
    stderr = output.slice(bareSeparator.length);
  }
  return { stdout: stdout.trim() === '' ? null : stdout, stderr: stderr.trim() === '' ? null : stderr };
}

/** Splits a list into chunks of at most `size`, in order. */
export function chunk<T>(items: ReadonlyArray<T>, size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}
