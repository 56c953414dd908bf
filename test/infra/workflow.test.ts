import aslValidator from 'asl-validator';
import { beforeAll, describe, expect, it } from 'vitest';
import { defaultHubTemplate, HUB, hubTemplate, MULTI_ACCOUNT, renderDefinition } from './support.js';

type State = Record<string, unknown> & { Type: string };
interface Machine {
  StartAt: string;
  TimeoutSeconds?: number;
  States: Record<string, State>;
}

let definition: Machine;

beforeAll(() => {
  definition = renderDefinition(defaultHubTemplate()) as unknown as Machine;
});

const LAMBDA_SERVICE_RETRY = {
  ErrorEquals: [
    'Lambda.ClientExecutionTimeoutException',
    'Lambda.ServiceException',
    'Lambda.AWSLambdaException',
    'Lambda.SdkClientException',
    'Lambda.TooManyRequestsException',
  ],
  IntervalSeconds: 2,
  MaxAttempts: 6,
  BackoffRate: 2,
  JitterStrategy: 'FULL',
};

/** An invocation whose Lambda process exited (Runtime.ExitError) or that Lambda gave no error type. */
const LAMBDA_EXIT_RETRY = {
  ErrorEquals: ['Runtime.ExitError', 'Lambda.Unknown'],
  IntervalSeconds: 2,
  MaxAttempts: 2,
  BackoffRate: 2,
  JitterStrategy: 'FULL',
};

const TRANSIENT_STEP_RETRY = {
  ErrorEquals: ['TransientAwsError'],
  IntervalSeconds: 5,
  MaxAttempts: 3,
  BackoffRate: 2,
  JitterStrategy: 'FULL',
};

function stateOf(machine: { States: Record<string, State> }, name: string): State {
  const state = machine.States[name];
  if (!state) throw new Error(`no state ${name}`);
  return state;
}

describe('the AuditRun definition', () => {
  it('is valid Amazon States Language', () => {
    // Act
    const result = aslValidator(definition);

    // Assert
    expect(result.errors).toEqual([]);
    expect(result.isValid).toBe(true);
  });

  it('would be rejected by the validator if a state pointed nowhere (the check has teeth)', () => {
    const broken = structuredClone(definition);
    stateOf(broken, 'Plan').Next = 'Nowhere';
    expect(aslValidator(broken).isValid).toBe(false);
  });

  it('runs Plan, then the Map over the clusters, then Report, within the run time-out', () => {
    expect(definition.StartAt).toBe('Plan');
    expect(definition.TimeoutSeconds).toBe(6 * 3600);
    expect(Object.keys(definition.States)).toEqual([
      'Plan',
      'AuditClusters',
      'Report',
      'RecordRunFailure',
      'RunFailed',
    ]);
    expect(stateOf(definition, 'Plan')).toMatchObject({
      Type: 'Task',
      Next: 'AuditClusters',
      Parameters: { 'runId.$': '$$.Execution.Name' },
    });
    expect(stateOf(definition, 'Report')).toMatchObject({
      Type: 'Task',
      End: true,
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'RecordRunFailure' }],
    });
    expect(stateOf(definition, 'RecordRunFailure')).toMatchObject({ Type: 'Task', Next: 'RunFailed' });
    expect(stateOf(definition, 'RunFailed')).toMatchObject({ Type: 'Fail', Error: 'RunFailed' });
  });

  it('is a Distributed Map reading the plan’s list from S3, one Standard child execution per cluster', () => {
    expect(stateOf(definition, 'AuditClusters')).toMatchObject({
      Type: 'Map',
      ItemReader: {
        Resource: 'arn:aws:states:::s3:getObject',
        ReaderConfig: { InputType: 'JSON' },
        Parameters: { Bucket: expect.stringMatching(/^ref-RunListsBucket[0-9A-F]{8}$/), 'Key.$': '$.runList.key' },
      },
      MaxConcurrency: 8,
      ToleratedFailurePercentage: 20,
      ItemSelector: { 'runId.$': '$.runId', 'startedAt.$': '$.startedAt', 'cluster.$': '$$.Map.Item.Value' },
      ResultPath: null,
      Next: 'Report',
      // a Map Run that fails (too many failed children) is stored as a FAILED run, like a failed report
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'RecordRunFailure' }],
    });
    expect(stateOf(definition, 'AuditClusters').ItemsPath).toBeUndefined();
    expect(
      (stateOf(definition, 'AuditClusters').ItemProcessor as { ProcessorConfig: unknown }).ProcessorConfig,
    ).toEqual({ Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' });
    expect(stateOf(definition, 'AuditClusters')).not.toHaveProperty('ResultWriter');
  });

  it('catches any failure of a cluster’s iteration and records it, so the run goes on', () => {
    const processor = stateOf(definition, 'AuditClusters').ItemProcessor as Machine;
    expect(processor.StartAt).toBe('AuditCluster');
    expect(stateOf(processor, 'AuditCluster')).toMatchObject({
      Type: 'Parallel',
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'RecordFailure' }],
    });
    expect(stateOf(processor, 'RecordFailure')).toMatchObject({ Type: 'Task', End: true });
  });

  it('discovers, then waits and polls in a loop until the cluster is done, then assesses', () => {
    const processor = stateOf(definition, 'AuditClusters').ItemProcessor as Machine;
    const [branch] = stateOf(processor, 'AuditCluster').Branches as Machine[];
    if (!branch) throw new Error('no branch');
    expect(branch.StartAt).toBe('Discover');
    expect(stateOf(branch, 'Discover')).toMatchObject({
      Type: 'Task',
      ResultPath: '$.discovery',
      Next: 'WaitForCollectors',
    });
    expect(stateOf(branch, 'WaitForCollectors')).toMatchObject({ Type: 'Wait', Seconds: 30, Next: 'Poll' });
    expect(stateOf(branch, 'Poll')).toMatchObject({
      Type: 'Task',
      InputPath: '$.discovery',
      ResultPath: '$.poll',
      Next: 'CollectorsDone?',
    });
    expect(stateOf(branch, 'CollectorsDone?')).toMatchObject({
      Type: 'Choice',
      Choices: [{ Variable: '$.poll.done', BooleanEquals: true, Next: 'Assess' }],
      Default: 'WaitForCollectors',
    });
    expect(stateOf(branch, 'Assess')).toMatchObject({ Type: 'Task', InputPath: '$.discovery', End: true });
  });

  it('retries every Lambda task on Lambda service errors and on its process exiting, a cluster’s steps on a transient AWS failure too, nothing else', () => {
    const processor = stateOf(definition, 'AuditClusters').ItemProcessor as Machine;
    const [branch] = stateOf(processor, 'AuditCluster').Branches as Machine[];
    const tasks = [
      stateOf(definition, 'Plan'),
      stateOf(definition, 'Report'),
      stateOf(definition, 'RecordRunFailure'),
      stateOf(processor, 'RecordFailure'),
    ];
    for (const task of tasks) expect(task.Retry).toEqual([LAMBDA_SERVICE_RETRY, LAMBDA_EXIT_RETRY]);
    for (const name of ['Discover', 'Poll', 'Assess']) {
      expect(stateOf(branch as Machine, name).Retry, name).toEqual([
        LAMBDA_SERVICE_RETRY,
        LAMBDA_EXIT_RETRY,
        TRANSIENT_STEP_RETRY,
      ]);
    }
  });

  it('takes concurrency, poll interval and time-out from the configuration', () => {
    // Arrange
    const t = hubTemplate({
      fleetAudit: { ...MULTI_ACCOUNT, runTimeoutMinutes: 90, toleratedClusterFailurePercent: 5 },
      defaults: HUB,
    });

    // Act
    const machine = renderDefinition(t) as unknown as Machine;

    // Assert
    const map = stateOf(machine, 'AuditClusters');
    expect(map.MaxConcurrency).toBe(12);
    expect(map.ToleratedFailurePercentage).toBe(5);
    const [branch] = stateOf(map.ItemProcessor as Machine, 'AuditCluster').Branches as Machine[];
    expect(stateOf(branch as Machine, 'WaitForCollectors').Seconds).toBe(20);
    expect(machine.TimeoutSeconds).toBe(5400);
    expect(aslValidator(machine).isValid).toBe(true);
  });
});
