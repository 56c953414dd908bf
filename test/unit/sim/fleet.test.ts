import { describe, expect, it } from 'vitest';
import { parseNodeReport } from '#audit/node-report.js';
import {
  agentOutput,
  Fleet,
  INSIGHTS_CONCURRENT_QUERIES,
  LISTED_OUTPUT_MAX,
  listedPluginOutput,
  SNS_MESSAGE_MAX_BYTES,
} from '#sim/fleet.js';
import { ApiError } from '#sim/protocols/wire.js';
import { MALFORMED_OUTPUT_FAULTS, parseScenario, type ScenarioInput } from '#sim/scenario.js';

const ACCOUNT = '111111111111';
const REGION = 'eu-west-1';

/** A fleet on a clock the test moves by hand (timeScale 1: simulated ms = real ms). */
function fleetOf(
  nodes: NonNullable<ScenarioInput['accounts'][number]['regions'][number]['clusters']>[number]['nodes'],
  timing: { deliveryMs?: number } = {},
) {
  let now = Date.parse('2026-06-10T08:00:00Z');
  const scenario = parseScenario(
    {
      timing: { commandMs: { min: 1000, max: 1000 }, deliveryMs: timing.deliveryMs ?? 200, queryMs: 500 },
      accounts: [
        {
          id: ACCOUNT,
          regions: [
            {
              name: REGION,
              topics: ['alerts'],
              clusters: [
                { name: 'a', version: '1.31', nodegroups: [{ name: 'ng', amiType: 'AL2023_x86_64_STANDARD' }], nodes },
              ],
            },
          ],
        },
      ],
    },
    'inline',
  );
  const fleet = new Fleet(scenario, { now: () => now, timeScale: 1, seed: scenario.seed });
  return {
    region: fleet.region(ACCOUNT, REGION),
    advance: (ms: number) => {
      now += ms;
    },
  };
}

const send = (instanceIds: string[], maxErrors = '100%') => ({
  documentName: 'FleetAudit-Collector',
  instanceIds,
  deliveryTimeoutSeconds: 60,
  maxConcurrency: '50',
  maxErrors,
  comment: null,
});

describe('agentOutput (the SSM agent shaping plugin output)', () => {
  it('passes short stdout through unchanged', () => {
    expect(agentOutput('{"a":1}\n', '')).toBe('{"a":1}\n');
  });

  it('puts stderr after the agent title', () => {
    expect(agentOutput('out\n', 'warning\n')).toBe('out\n\n----------ERROR-------\nwarning\n');
  });

  it('cuts stdout that does not fit to 2,400 bytes with the truncation marker', () => {
    // Act
    const output = agentOutput('x'.repeat(3000), '');

    // Assert
    expect(Buffer.byteLength(output)).toBe(2400);
    expect(output.endsWith('x\n---Output truncated---')).toBe(true);
  });

  it('also truncates stdout of exactly 2,400 bytes, as the agent compares with less-than', () => {
    expect(agentOutput('x'.repeat(2400), '').endsWith('\n---Output truncated---')).toBe(true);
  });
});

describe('a simulated Run Command', () => {
  it('goes from Pending through InProgress to Success as simulated time passes', () => {
    // Arrange
    const { region, advance } = fleetOf([{ nodegroup: 'ng', count: 2 }]);
    const command = region.sendCommand(send(region.instances.map((n) => n.instanceId)));

    // Act
    const atStart = region.commandView(command);
    advance(400);
    const delivered = region.commandView(command);
    advance(1000);
    const done = region.commandView(command);

    // Assert
    expect([atStart.status, atStart.completedCount]).toEqual(['Pending', 0]);
    expect([delivered.status, delivered.completedCount]).toEqual(['InProgress', 0]);
    expect([done.status, done.completedCount, done.errorCount]).toEqual(['Success', 2, 0]);
    expect(done.invocations.map((i) => JSON.parse(i.output).node.instanceId)).toEqual(
      region.instances.map((n) => n.instanceId),
    );
  });

  it('plays out the same way in two fleets from the same scenario', () => {
    // Arrange
    const first = fleetOf([{ nodegroup: 'ng', count: 5 }]);
    const second = fleetOf([{ nodegroup: 'ng', count: 5 }]);
    const run = ({ region, advance }: ReturnType<typeof fleetOf>) => {
      const command = region.sendCommand(send(region.instances.map((n) => n.instanceId)));
      advance(1100);
      return [command.commandId, region.commandView(command).invocations.map((i) => i.status)];
    };

    // Act / Assert
    expect(run(first)).toEqual(run(second));
  });

  it('times out delivery to an offline node when the command expires: delivery plus the document time-out', () => {
    // Arrange
    const { region, advance } = fleetOf([{ nodegroup: 'ng', count: 1, ssm: 'offline' }]);
    const command = region.sendCommand(send(region.instances.map((n) => n.instanceId)));

    // Act: 60 s delivery + the collector document's 60 s
    advance(119_999);
    const before = region.commandView(command);
    advance(1);
    const after = region.commandView(command);

    // Assert
    expect(before.invocations.map((i) => i.status)).toEqual(['Pending']);
    expect(after.invocations.map((i) => [i.status, i.statusDetails])).toEqual([['TimedOut', 'DeliveryTimedOut']]);
    expect([after.status, after.deliveryTimedOutCount]).toEqual(['Success', 1]);
  });

  it("stops a collector at the document's 60 s however long SendCommand's TimeoutSeconds is", () => {
    // Arrange: the collector would need 90 s; TimeoutSeconds is 600 (delivery only)
    const { region, advance } = fleetOf([{ nodegroup: 'ng', count: 1, commandMs: 90_000 }]);
    const command = region.sendCommand({
      ...send(region.instances.map((n) => n.instanceId)),
      deliveryTimeoutSeconds: 600,
    });
    const deliveredAt = Math.ceil(command.invocations[0]?.deliverMs ?? 0);

    // Act
    advance(deliveredAt + 59_999);
    const running = region.commandView(command);
    advance(1);
    const stopped = region.commandView(command);

    // Assert
    expect(running.invocations.map((i) => i.status)).toEqual(['InProgress']);
    expect(stopped.invocations.map((i) => [i.status, i.statusDetails])).toEqual([['TimedOut', 'ExecutionTimedOut']]);
    expect(stopped.errorCount).toBe(1);
  });

  it('never runs the collector on a node that picks the command up after the delivery time-out', () => {
    // Arrange: the node picks commands up 50 to 150 s after SendCommand; the delivery time-out is 30 s
    const { region, advance } = fleetOf([{ nodegroup: 'ng', count: 1 }], { deliveryMs: 100_000 });
    const command = region.sendCommand({
      ...send(region.instances.map((n) => n.instanceId)),
      deliveryTimeoutSeconds: 30,
    });
    const late = (command.invocations[0]?.deliverMs ?? 0) > 30_000;

    // Act: past delivery and the collector's own run time, before the command expires (30 + 60 s)
    advance(89_999);
    const waiting = region.commandView(command);
    advance(1);
    const expired = region.commandView(command);

    // Assert
    expect(late).toBe(true);
    expect(waiting.invocations.map((i) => [i.status, i.startedAt])).toEqual([['Pending', null]]);
    expect(expired.invocations.map((i) => [i.status, i.statusDetails])).toEqual([['TimedOut', 'DeliveryTimedOut']]);
  });

  it('fails a command when more invocations fail than MaxErrors allows', () => {
    // Arrange
    const { region, advance } = fleetOf([
      { nodegroup: 'ng', count: 1 },
      { nodegroup: 'ng', count: 1, fault: 'failed' },
    ]);
    const command = region.sendCommand(
      send(
        region.instances.map((n) => n.instanceId),
        '0',
      ),
    );

    // Act
    advance(5000);
    const view = region.commandView(command);

    // Assert
    expect([view.status, view.errorCount, view.completedCount]).toEqual(['Failed', 1, 2]);
    expect(view.invocations[1]?.output).toBe(
      '\n----------ERROR-------\ncollect.sh: line 57: awk: command not found\nfailed to run commands: exit status 127',
    );
  });

  it('refuses instances without an SSM agent and Windows instances, as SSM does', () => {
    // Arrange
    const { region } = fleetOf([
      { nodegroup: 'ng', count: 1, ssm: 'none' },
      { nodegroup: 'ng', count: 1, platform: 'windows' },
    ]);
    const [unmanaged, windows] = region.instances.map((n) => n.instanceId);

    // Act / Assert
    expect(() => region.sendCommand(send([unmanaged ?? '']))).toThrow(
      new ApiError(400, 'InvalidInstanceId', `Instances [[${unmanaged}]] not in a valid state for account ${ACCOUNT}`),
    );
    expect(() => region.sendCommand(send([windows ?? '']))).toThrowError(/does not support the platform/);
  });
});

describe('a simulated SNS topic', () => {
  it('rejects a json-structured message without a default entry', () => {
    // Arrange
    const { region } = fleetOf([]);

    // Act / Assert
    expect(() =>
      region.publish({
        topicArn: `arn:aws:sns:${REGION}:${ACCOUNT}:alerts`,
        message: JSON.stringify({ email: 'text' }),
        subject: 'x',
        messageStructure: 'json',
        attributes: {},
      }),
    ).toThrow('Invalid parameter: Message Structure - No default entry in JSON message body');
  });
});

describe('the quotas the simulator enforces', () => {
  const query = { queryString: 'fields @message', startTime: 0, endTime: 1, limit: undefined };

  function quotaRegion() {
    let now = Date.parse('2026-06-10T08:00:00Z');
    const scenario = parseScenario(
      {
        timing: { queryMs: 60_000 },
        accounts: [
          {
            id: ACCOUNT,
            regions: [
              {
                name: REGION,
                topics: ['alerts'],
                clusters: [{ name: 'a', version: '1.31', logGroup: { name: '/g', events: [] } }],
              },
            ],
          },
        ],
      },
      'inline',
    );
    const fleet = new Fleet(scenario, { now: () => now, timeScale: 1, seed: 1 });
    return {
      region: fleet.region(ACCOUNT, REGION),
      advance: (ms: number) => {
        now += ms;
      },
    };
  }

  it('runs 100 Logs Insights queries at once and refuses the 101st with LimitExceededException', () => {
    // Arrange
    const { region } = quotaRegion();
    const ids = Array.from({ length: INSIGHTS_CONCURRENT_QUERIES }, () =>
      region.startQuery({ ...query, logGroups: ['/g'] }),
    );

    // Act
    const error = (() => {
      try {
        region.startQuery({ ...query, logGroups: ['/g'] });
      } catch (e) {
        return e;
      }
    })();

    // Assert
    expect(ids).toHaveLength(100);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({
      code: 'LimitExceededException',
      message: 'Account maximum query concurrency limit of [100] reached.',
    });
  });

  it('answers GetQueryResults by the query’s time: Running before its queryMs, Complete on the first call after', () => {
    // Arrange
    const { region, advance } = quotaRegion();
    const early = region.startQuery({ ...query, logGroups: ['/g'] });
    const late = region.startQuery({ ...query, logGroups: ['/g'] });

    // Act
    const before = region.queryResults(early).status;
    advance(60_000);
    const firstAskedAfter = region.queryResults(late).status;

    // Assert
    expect([before, firstAskedAfter]).toEqual(['Running', 'Complete']);
  });

  it('frees a slot when StopQuery cancels a running query or a query ends, and refuses to stop an ended one', () => {
    // Arrange
    const { region, advance } = quotaRegion();
    const ids = Array.from({ length: 100 }, () => region.startQuery({ ...query, logGroups: ['/g'] }));

    // Act
    region.stopQuery(ids[0] ?? '');
    const afterStop = region.runningQueries();
    const cancelled = region.queryResults(ids[0] ?? '').status;
    advance(60_000);
    const afterEnd = region.runningQueries();

    // Assert
    expect([afterStop, cancelled, afterEnd]).toEqual([99, 'Cancelled', 0]);
    expect(() => region.stopQuery(ids[1] ?? '')).toThrow('is not running');
  });

  it('lists a log group’s field indexes with the events each holds since its policy, for any size of group', () => {
    // Arrange: 200,000 events (more than a spread argument list takes), the kube-proxy ones every hour for 3 days
    const start = Date.parse('2026-06-10T08:00:00Z');
    const kubeProxy = JSON.stringify({ log: 'x', kubernetes: { container_name: 'kube-proxy' } });
    const scenario = parseScenario(
      {
        accounts: [
          {
            id: ACCOUNT,
            regions: [
              {
                name: REGION,
                clusters: [
                  {
                    name: 'a',
                    version: '1.31',
                    logGroup: {
                      name: '/g',
                      events: [
                        {
                          ageMinutes: 0,
                          message: 'kubelet line',
                          stream: 'h-dataplane.systemd.kubelet.service',
                          repeat: 100_000,
                        },
                        {
                          ageMinutes: 0,
                          message: 'kubelet line',
                          stream: 'i-dataplane.systemd.kubelet.service',
                          repeat: 100_000,
                        },
                        { ageMinutes: 0, message: kubeProxy, stream: 'h-kp', repeat: 72, everyMinutes: 60 },
                      ],
                      fieldIndexes: [{ field: 'kubernetes.container_name', createdMinutesAgo: 24 * 60 }],
                    },
                  },
                  {
                    name: 'b',
                    version: '1.31',
                    logGroup: { name: '/denied', fieldIndexAccess: 'denied' },
                  },
                ],
              },
            ],
          },
        ],
      },
      'inline',
    );
    const region = new Fleet(scenario, { now: () => start, timeScale: 1, seed: 1 }).region(ACCOUNT, REGION);

    // Act
    const indexes = region.fieldIndexes(['/g']);

    // Assert: the custom index holds only what came after its policy was created, a day ago
    expect(indexes).toEqual([
      {
        fieldIndexName: '@logStream',
        indexCategory: 'DEFAULT',
        type: 'FIELD_INDEX',
        // the oldest kubelet line: 100,000 a minute apart
        firstEventTime: start - 99_999 * 60_000,
        lastEventTime: start,
      },
      {
        fieldIndexName: 'kubernetes.container_name',
        indexCategory: 'CUSTOM',
        type: 'FIELD_INDEX',
        firstEventTime: start - 24 * 3_600_000,
        lastEventTime: start,
      },
    ]);
    expect(() => region.fieldIndexes(['/denied'])).toThrow(expect.objectContaining({ code: 'AccessDeniedException' }));
    expect(() => region.fieldIndexes(['/none'])).toThrow(
      expect.objectContaining({ code: 'ResourceNotFoundException' }),
    );
  });

  it('returns at most 2,500 characters of a plugin output from ListCommandInvocations', () => {
    // Act
    const listed = listedPluginOutput('é'.repeat(LISTED_OUTPUT_MAX + 500));

    // Assert
    expect([...listed]).toHaveLength(2500);
    expect(listedPluginOutput('{"schema":1}')).toBe('{"schema":1}');
  });

  it('refuses an SNS message over 256 KB and a subject of 100 characters', () => {
    // Arrange
    const { region } = quotaRegion();
    const topicArn = `arn:aws:sns:${REGION}:${ACCOUNT}:alerts`;
    const base = { topicArn, messageStructure: null, attributes: {} };

    // Act / Assert
    expect(region.publish({ ...base, message: 'x'.repeat(SNS_MESSAGE_MAX_BYTES), subject: 's'.repeat(99) })).toMatch(
      /^[0-9a-f-]{36}$/,
    );
    expect(() => region.publish({ ...base, message: 'x'.repeat(SNS_MESSAGE_MAX_BYTES + 1), subject: null })).toThrow(
      'Message too long',
    );
    expect(() => region.publish({ ...base, message: 'x', subject: 's'.repeat(100) })).toThrow(
      'Invalid parameter: Subject',
    );
  });

  it('counts message attributes (name, type and value) toward the 256 KB, as SNS does', () => {
    // Arrange: a body that fits alone, and an attribute of 18 bytes (8 + 6 + 4)
    const { region } = quotaRegion();
    const topicArn = `arn:aws:sns:${REGION}:${ACCOUNT}:alerts`;
    const attributes = { severity: { dataType: 'String', value: 'HIGH' } };
    const base = { topicArn, messageStructure: null, subject: null, attributes };

    // Act / Assert
    expect(region.publish({ ...base, message: 'x'.repeat(SNS_MESSAGE_MAX_BYTES - 18) })).toMatch(/^[0-9a-f-]{36}$/);
    expect(() => region.publish({ ...base, message: 'x'.repeat(SNS_MESSAGE_MAX_BYTES - 17) })).toThrow(
      'Message too long',
    );
  });

  it.each(MALFORMED_OUTPUT_FAULTS)(
    "delivers %s output as a Success that is not the node's report, even from a report without iptables or lock",
    (fault) => {
      // Arrange
      const { region, advance } = fleetOf([
        { nodegroup: 'ng', count: 2, fault, report: { iptables: null, lock: null } },
      ]);
      const ids = region.instances.map((n) => n.instanceId);
      const command = region.sendCommand(send(ids));

      // Act
      advance(5000);
      const done = region.commandView(command).invocations;
      const [first, second] = done.map((i) => parseNodeReport(listedPluginOutput(i.output)));

      // Assert
      expect(done.map((i) => i.status)).toEqual(['Success', 'Success']);
      if (fault === 'duplicateId') {
        // a valid report, of the other node: the first answers as itself, the second as the first
        expect([first, second].map((r) => (r?.ok ? r.report.node?.instanceId : null))).toEqual([ids[0], ids[0]]);
      } else {
        expect([first?.ok, second?.ok]).toEqual([false, false]);
      }
    },
  );
});
