import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openLocalFleet } from '#sim/local-fleet.js';
import type { ExecutionResult } from '#sim/states/execution.js';
import { type DeployedWorkflow, deployedWorkflow, executeAuditRun } from '../integration/asl-support.js';
import { prove, requestsOfCalls, requestsOfChildExecutions, STATE_MACHINE_CALLER } from './proof.js';
import { modelStacks, type StackTemplate, synthesizeFor } from './stack-policies.js';

/**
 * The state machine's own requests, as the executed definition makes them (the interpreter against the simulator):
 * the Distributed Map's ItemReader reads the run's list from S3 with the state machine's role (recorded by the
 * simulator with the caller `stateMachine`), and the Map starts one child execution per cluster. Each is evaluated
 * against the synthesized state machine role, its DistributedMapPolicy and the bucket policy.
 */

let deployed: DeployedWorkflow;
let fleet: Awaited<ReturnType<typeof openLocalFleet>>;
let stateDir: string;
let result: ExecutionResult;
let templates: StackTemplate[];

beforeAll(async () => {
  deployed = deployedWorkflow();
  stateDir = await mkdtemp(join(tmpdir(), 'fleet-audit-asl-proof-'));
  fleet = await openLocalFleet({ stateDir, fresh: true, clusters: [], scenario: 'default' });
  result = await executeAuditRun(deployed, { deps: fleet.deps, simulator: fleet.simulator, name: 'asl-proof' });
  const [, , , region = '', account = ''] = (fleet.simulator.topicArns[0] ?? '').split(':');
  templates = synthesizeFor(fleet.simulator.targets, { account, region });
}, 180_000);
afterAll(async () => {
  await fleet.close();
  await rm(stateDir, { recursive: true, force: true });
});

const modelOf = (t: StackTemplate[]) =>
  modelStacks(t, {
    tableName: 'fleet-audit',
    topicArn: fleet.simulator.topicArns[0] ?? '',
    // the bucket the executed definition names (its ItemReader's Bucket)
    bucketName: deployed.bucket,
  });
const requestsOf = (t: StackTemplate[]) => {
  const model = modelOf(t);
  const calls = fleet.simulator.calls.filter((c) => c.caller === STATE_MACHINE_CALLER);
  return [...requestsOfCalls(calls, model), ...requestsOfChildExecutions(result.children, model)];
};

/** The templates with `action` taken out of the policy whose logical id starts with `policyPrefix`. */
function without(policyPrefix: string, action: string): StackTemplate[] {
  const copy = structuredClone(templates);
  let removed = 0;
  for (const template of copy) {
    for (const [id, resource] of Object.entries(template.resources)) {
      if (resource.Type !== 'AWS::IAM::Policy' || !id.startsWith(policyPrefix)) continue;
      const document = resource.Properties?.PolicyDocument as { Statement: Array<{ Action?: string | string[] }> };
      document.Statement = document.Statement.filter((st) => {
        const drop = [st.Action ?? []].flat().includes(action);
        if (drop) removed += 1;
        return !drop;
      });
    }
  }
  if (removed === 0) throw new Error(`no statement of ${policyPrefix} grants ${action}`);
  return copy;
}

describe('the state machine’s own requests in an executed run', () => {
  it('are the ItemReader’s one GetObject of the run list and one StartExecution per cluster, all allowed', async () => {
    const requests = requestsOf(templates);

    expect(result.status).toBe('SUCCEEDED');
    expect(requests.map((r) => `${r.action} ${r.resource}`)).toEqual([
      `s3:GetObject arn:aws:s3:::${deployed.bucket}/runs/asl-proof/clusters.json`,
      ...Array(6).fill(expect.stringMatching(/^states:StartExecution arn:aws:states:[\w-]+:\d{12}:stateMachine:\w+$/)),
    ]);
    expect((await prove(requests)).denied).toEqual([]);
  });

  it('are denied without the state machine role’s s3:GetObject or the DistributedMapPolicy’s StartExecution', async () => {
    const noRead = await prove(requestsOf(without('WorkflowStateMachineRoleDefaultPolicy', 's3:GetObject')));
    const noStart = await prove(
      requestsOf(without('WorkflowStateMachineDistributedMapPolicy', 'states:StartExecution')),
    );

    expect(noRead.denied).toEqual([
      `stateMachine: s3:GetObject on arn:aws:s3:::${deployed.bucket}/runs/asl-proof/clusters.json denied (ImplicitlyDenied)`,
    ]);
    expect(noStart.denied).toEqual([
      expect.stringMatching(/^state machine: states:StartExecution on arn:aws:states:.* denied \(ImplicitlyDenied\)$/),
    ]);
  });
});
