import {
  DescribeInstanceInformationCommand,
  InvalidCommandId,
  ListCommandInvocationsCommand,
  ListCommandsCommand,
  SendCommandCommand,
  SSMClient,
  SSMServiceException,
} from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { SsmCommandRunner, splitPluginOutput } from '#aws/commands.js';

const ssm = mockClient(SSMClient);
const runner = () => new SsmCommandRunner({ ssm: new SSMClient({ region: 'eu-west-1' }) });
const ids = (n: number) => Array.from({ length: n }, (_, i) => `i-${String(i).padStart(17, '0')}`);

const OPTIONS = {
  documentName: 'FleetAudit-Collector',
  deliveryTimeoutSeconds: 60,
  maxConcurrency: '50',
  maxErrors: '100%',
  comment: 'fleet-audit run 2026-06-10',
};

describe('SsmCommandRunner', () => {
  beforeEach(() => {
    ssm.reset();
  });

  it('asks SSM about 120 instances in three calls of at most 50 ids, reading every page', async () => {
    // Arrange
    const all = ids(120);
    ssm
      .on(DescribeInstanceInformationCommand)
      .callsFake((input: { Filters: Array<{ Values: string[] }>; NextToken?: string }) => {
        const values = input.Filters[0]?.Values ?? [];
        // the first batch answers in two pages
        if (values[0] === all[0] && input.NextToken === undefined) {
          return {
            InstanceInformationList: values.slice(0, 25).map((id) => ({ InstanceId: id, PingStatus: 'Online' })),
            NextToken: 'rest',
          };
        }
        const rest = values[0] === all[0] ? values.slice(25) : values;
        return {
          InstanceInformationList: rest.map((id) => ({
            InstanceId: id,
            PingStatus: 'ConnectionLost',
            PlatformType: 'Linux',
            PlatformName: 'Amazon Linux',
          })),
        };
      });

    // Act
    const managed = await runner().describeManagedInstances(all);

    // Assert
    expect(managed).toHaveLength(120);
    expect(managed[0]).toEqual({ instanceId: all[0], pingStatus: 'Online', platformType: null, platformName: null });
    expect(managed[119]).toEqual({
      instanceId: all[119],
      pingStatus: 'ConnectionLost',
      platformType: 'Linux',
      platformName: 'Amazon Linux',
    });
    // the batches are asked at once (at most four in flight), so the calls' order is not fixed; what each asked is
    const asked = ssm.commandCalls(DescribeInstanceInformationCommand).map((call) => {
      const input = call.args[0].input;
      return { first: input.Filters?.[0]?.Values?.[0], size: input.Filters?.[0]?.Values?.length, ...input };
    });
    expect(asked).toHaveLength(4);
    expect(asked.every((a) => a.MaxResults === 50 && a.Filters?.[0]?.Key === 'InstanceIds')).toBe(true);
    // (the paginator sets NextToken on the input it passed before, so a recorded input is not told apart by it)
    expect(asked.map((a) => `${a.first}/${a.size}`).sort()).toEqual(
      [`${all[0]}/50`, `${all[0]}/50`, `${all[50]}/50`, `${all[100]}/20`].sort(),
    );
    expect(asked.filter((a) => a.NextToken === 'rest')).not.toHaveLength(0);
  });

  it('asks about a large cluster’s batches at most four at a time, and keeps the answers in batch order', async () => {
    // Arrange: each batch answers after a delay that makes later batches finish first
    const all = ids(500);
    let inFlight = 0;
    let most = 0;
    ssm.on(DescribeInstanceInformationCommand).callsFake(async (input: { Filters: Array<{ Values: string[] }> }) => {
      inFlight += 1;
      most = Math.max(most, inFlight);
      const values = input.Filters[0]?.Values ?? [];
      await new Promise((resolve) => setTimeout(resolve, 20 - all.indexOf(values[0] ?? '') / 50));
      inFlight -= 1;
      return { InstanceInformationList: values.map((id) => ({ InstanceId: id, PingStatus: 'Online' })) };
    });

    // Act
    const managed = await runner().describeManagedInstances(all);

    // Assert
    expect(most).toBe(4);
    expect(managed.map((m) => m.instanceId)).toEqual(all);
  });

  it('makes no call for no instances', async () => {
    // Act
    const managed = await runner().describeManagedInstances([]);

    // Assert
    expect(managed).toEqual([]);
    expect(ssm).not.toHaveReceivedAnyCommand();
  });

  it('sends the collector to 120 instances as three commands of at most 50 ids, in order', async () => {
    // Arrange
    const all = ids(120);
    ssm
      .on(SendCommandCommand)
      .resolvesOnce({ Command: { CommandId: 'c-1' } })
      .resolvesOnce({ Command: { CommandId: 'c-2' } })
      .resolvesOnce({ Command: { CommandId: 'c-3' } });

    // Act
    const dispatch = await runner().sendCollector(all, OPTIONS);

    // Assert
    expect(dispatch).toEqual({ commandIds: ['c-1', 'c-2', 'c-3'], vanished: [] });
    expect(ssm).toHaveReceivedCommandTimes(SendCommandCommand, 3);
    expect(ssm).toHaveReceivedNthCommandWith(SendCommandCommand, 1, {
      DocumentName: 'FleetAudit-Collector',
      InstanceIds: all.slice(0, 50),
      TimeoutSeconds: 60,
      MaxConcurrency: '50',
      MaxErrors: '100%',
      Comment: 'fleet-audit run 2026-06-10',
    });
    expect(ssm).toHaveReceivedNthCommandWith(SendCommandCommand, 3, { InstanceIds: all.slice(100) });
    expect(ssm.commandCalls(SendCommandCommand).every((call) => !('Parameters' in call.args[0].input))).toBe(true);
  });

  it('leaves out a node SendCommand refuses as invalid and still sends the collector to the rest of its batch', async () => {
    // Arrange: SendCommand fails as a whole while the terminated instance is in the call, as SSM does
    const all = ids(8);
    const terminated = all[5] ?? '';
    let sent = 0;
    ssm.on(SendCommandCommand).callsFake((input: { InstanceIds: string[] }) => {
      if (input.InstanceIds.includes(terminated)) {
        throw new SSMServiceException({
          name: 'InvalidInstanceId',
          $fault: 'client',
          message: 'Instances not in a valid state for account',
          $metadata: {},
        });
      }
      sent++;
      return { Command: { CommandId: `c-${sent}` } };
    });

    // Act
    const dispatch = await runner().sendCollector(all, OPTIONS);

    // Assert
    expect(dispatch.vanished).toEqual([terminated]);
    const accepted = ssm
      .commandCalls(SendCommandCommand)
      .map((call) => call.args[0].input.InstanceIds ?? [])
      .filter((batch) => !batch.includes(terminated));
    expect(accepted.flat().sort()).toEqual(all.filter((id) => id !== terminated));
    expect(dispatch.commandIds).toHaveLength(accepted.length);
  });

  it('reports a throttled SendCommand with its error code and the batch it was for', async () => {
    // Arrange
    ssm.on(SendCommandCommand).rejects(
      new SSMServiceException({
        name: 'ThrottlingException',
        $fault: 'client',
        message: 'Rate exceeded',
        $metadata: {},
      }),
    );

    // Act
    const error = await runner()
      .sendCollector(ids(3), OPTIONS)
      .catch((e: unknown) => e);

    // Assert
    expect(error).toMatchObject({
      name: 'AwsCallError',
      code: 'ThrottlingException',
      message: 'ssm:SendCommand FleetAudit-Collector to 3 instances failed: ThrottlingException: Rate exceeded',
    });
  });

  it('reads the progress of each command from ListCommands', async () => {
    // Arrange
    ssm.on(ListCommandsCommand, { CommandId: 'c-1' }).resolves({
      Commands: [
        {
          CommandId: 'c-1',
          Status: 'InProgress',
          TargetCount: 50,
          CompletedCount: 48,
          ErrorCount: 1,
          DeliveryTimedOutCount: 1,
        },
      ],
    });

    // Act
    const progress = await runner().getProgress(['c-1']);

    // Assert
    expect(progress).toEqual([
      {
        commandId: 'c-1',
        status: 'InProgress',
        targetCount: 50,
        completedCount: 48,
        errorCount: 1,
        deliveryTimedOutCount: 1,
      },
    ]);
  });

  it('says a command SSM does not know is not found', async () => {
    // Arrange
    ssm.on(ListCommandsCommand).rejects(new InvalidCommandId({ message: 'no such command', $metadata: {} }));

    // Act
    const error = await runner()
      .getProgress(['c-9'])
      .catch((e: unknown) => e);

    // Assert
    expect(error).toMatchObject({ code: 'InvalidCommandId', notFound: true });
  });

  it('reads every page of invocations with details, keeping stdout as the output and stderr as a reason', async () => {
    // Arrange
    ssm
      .on(ListCommandInvocationsCommand)
      .resolvesOnce({
        CommandInvocations: [
          {
            InstanceId: 'i-1',
            Status: 'Success',
            StatusDetails: 'Success',
            CommandPlugins: [{ Output: '{"schema":"fleet-audit.collector/v1"}\n' }],
          },
        ],
        NextToken: 'page-2',
      })
      .resolvesOnce({
        CommandInvocations: [
          {
            InstanceId: 'i-2',
            Status: 'Failed',
            StatusDetails: 'Failed',
            CommandPlugins: [{ Output: '\n----------ERROR-------\nawk: command not found\nexit status 127' }],
          },
          {
            InstanceId: 'i-3',
            Status: 'TimedOut',
            StatusDetails: 'ExecutionTimedOut',
            CommandPlugins: [{ Output: '' }],
          },
          { InstanceId: 'i-4', Status: 'Pending', StatusDetails: 'Pending', CommandPlugins: [] },
        ],
      });

    // Act
    const invocations = await runner().readInvocations('c-1');

    // Assert
    expect(invocations).toEqual([
      {
        instanceId: 'i-1',
        status: 'Success',
        output: '{"schema":"fleet-audit.collector/v1"}\n',
        statusDetails: 'Success',
      },
      { instanceId: 'i-2', status: 'Failed', output: null, statusDetails: 'Failed: awk: command not found' },
      { instanceId: 'i-3', status: 'TimedOut', output: null, statusDetails: 'ExecutionTimedOut' },
      { instanceId: 'i-4', status: 'Pending', output: null, statusDetails: 'Pending' },
    ]);
    expect(ssm).toHaveReceivedNthCommandWith(ListCommandInvocationsCommand, 1, {
      CommandId: 'c-1',
      Details: true,
      MaxResults: 50,
    });
    expect(ssm).toHaveReceivedNthCommandWith(ListCommandInvocationsCommand, 2, { NextToken: 'page-2' });
  });
});

describe('splitPluginOutput', () => {
  it.each([
    ['{"a":1}\n', { stdout: '{"a":1}\n', stderr: null }],
    ['{"a":1}\n\n----------ERROR-------\nwarn', { stdout: '{"a":1}\n', stderr: 'warn' }],
    ['----------ERROR-------\nonly stderr', { stdout: null, stderr: 'only stderr' }],
    ['', { stdout: null, stderr: null }],
    [undefined, { stdout: null, stderr: null }],
  ])('splits %j', (output, expected) => {
    expect(splitPluginOutput(output)).toEqual(expected);
  });
});
