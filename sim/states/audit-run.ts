/**
 * The deployed AuditRun executed on the simulator: the hub stack's definition and function configuration, run by the
 * interpreter with the real Lambda handlers in-process (the executed-ASL tests and the fleet benchmark).
 */
import { type CfnElement, Stack } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import { createRunLists } from '#aws/clients.js';
import type { RunListStore } from '#aws/run-lists.js';
import type { StepDeps } from '#workflow/steps.js';
import type { Simulator } from '../server.js';
import { type ExecutionClock, scaledClock } from './clock.js';
import { type ExecutionResult, runExecution } from './execution.js';
import { LAMBDA_ENV } from './lambda-env.js';
import { type LambdaHandler, LocalLambdaService } from './lambda-service.js';
import { simulatorObjectReader } from './s3.js';
import { buildFleet, renderDefinition, synthTemplates } from './synth.js';

// Each handler module builds its AWS dependencies at import (cold start) from the environment the hub stack sets;
// the factories it exports beside `handler` take the simulator's dependencies instead. Event parsing, logging and
// error naming are the handler's own (lambda/handlers/step-handler.ts).
Object.assign(process.env, LAMBDA_ENV, { POWERTOOLS_LOG_LEVEL: 'SILENT' });
const { createPlanHandler } = await import('#handlers/plan.js');
const { createReportHandler } = await import('#handlers/report.js');
const FACTORIES = {
  plan: (deps, runLists) => createPlanHandler(deps, runLists),
  discover: (await import('#handlers/discover.js')).createDiscoverHandler,
  poll: (await import('#handlers/poll.js')).createPollHandler,
  assess: (await import('#handlers/assess.js')).createAssessHandler,
  recordFailure: (await import('#handlers/record-failure.js')).createRecordFailureHandler,
  report: (deps, runLists) => createReportHandler(deps, runLists),
} satisfies Record<string, (deps: StepDeps, runLists: RunListStore) => LambdaHandler>;
export type StepName = keyof typeof FACTORIES;

/** What the hub stack deploys for the workflow: its definition and, per function ARN, the step and its timeout. */
export interface DeployedWorkflow {
  definition: Record<string, unknown>;
  functions: Array<{ step: StepName; arn: string; timeoutSeconds: number; memorySize: number }>;
  /** the run-list bucket's name as the definition renders it (its ItemReader's Bucket) */
  bucket: string;
  template: Template;
}

/**
 * Synthesizes the hub stack as `cdk deploy` would (bundling skipped) and reads the AuditRun definition and its
 * functions from the template. The function ARNs in the definition are those of the template's function logical
 * ids (synth.ts renders Fn::GetAtt that way), so each Task invokes the function the stack wired to it.
 */
export function deployedWorkflow(fleetAudit?: unknown): DeployedWorkflow {
  const { app, hub } = buildFleet(fleetAudit === undefined ? {} : { fleetAudit });
  const template = synthTemplates(app).get(hub.stackName);
  if (!template) throw new Error('no hub template');
  const resources = template.findResources('AWS::Lambda::Function');
  const functions = (Object.keys(hub.functions) as StepName[]).map((step) => {
    const fn = hub.functions[step].function;
    const logicalId = Stack.of(fn).getLogicalId(fn.node.defaultChild as CfnElement);
    const properties = (resources[logicalId] as { Properties: { Timeout: number; MemorySize: number } }).Properties;
    return {
      step,
      arn: `arn:aws:lambda:eu-west-1:111111111111:function:${logicalId}`,
      timeoutSeconds: properties.Timeout,
      memorySize: properties.MemorySize,
    };
  });
  const bucketId = Stack.of(hub).getLogicalId(hub.runLists.bucket.node.defaultChild as CfnElement);
  return { definition: renderDefinition(template), functions, bucket: `ref-${bucketId}`, template };
}

export interface AuditRunOptions {
  deps: StepDeps;
  /** the fleet's simulator: it serves the run-list bucket the Plan writes and the ItemReader reads */
  simulator: Simulator;
  name: string;
  /** real ms per state machine second for Wait and back-off (the scenario's time scale) */
  clock?: ExecutionClock;
  /**
   * The dependencies of a new Lambda execution environment (fresh SDK clients, as a cold start builds them at module
   * scope). Given, concurrent invocations of a function run in environments of their own, as deployed
   * (lambda-service.ts `environment`); unset, every invocation shares `deps`.
   */
  environmentDeps?: () => StepDeps;
  /** replaces a step's handler (fault injection) */
  override?: Partial<Record<StepName, LambdaHandler>>;
  /** real ms per Lambda second (function timeouts); default 1000 */
  lambdaMsPerSecond?: number;
  definition?: unknown;
}

/** The hub of a simulated fleet: the account and region of its alerts topic. */
function hubOf(simulator: Simulator): { account: string; region: string } {
  const [, , , region = '', account = ''] = (simulator.topicArns[0] ?? '').split(':');
  if (!account) throw new Error('the scenario has no alerts topic: it names the hub');
  return { account, region };
}

/**
 * The run-list bucket of the deployed hub, in the fleet's simulator, as the functions reach it (`caller` names the
 * function in the simulator's call log). Creates the bucket, as CloudFormation would have.
 */
export function runListsFor(deployed: DeployedWorkflow, simulator: Simulator, caller: string): RunListStore {
  const hub = hubOf(simulator);
  simulator.buckets.create(deployed.bucket, hub.account);
  return createRunLists({ ...hub, bucket: deployed.bucket, endpoint: simulator.endpoint, caller });
}

/** The real handler of a step, bound to `deps` (for an override that wraps it). */
export function realHandler(
  step: StepName,
  deps: StepDeps,
  deployed: DeployedWorkflow,
  simulator: Simulator,
): LambdaHandler {
  return FACTORIES[step](deps, runListsFor(deployed, simulator, step));
}

/** Starts one execution of the deployed definition with the real handlers on the local Lambda service. */
export async function executeAuditRun(
  deployed: DeployedWorkflow,
  options: AuditRunOptions,
): Promise<ExecutionResult & { lambda: LocalLambdaService }> {
  const lambda = new LocalLambdaService({ msPerSecond: options.lambdaMsPerSecond ?? 1000 });
  for (const fn of deployed.functions) {
    const override = options.override?.[fn.step];
    const environmentDeps = options.environmentDeps;
    lambda.deploy(fn.arn, {
      handler: override ?? realHandler(fn.step, options.deps, deployed, options.simulator),
      ...(!override &&
        environmentDeps && {
          environment: () => realHandler(fn.step, environmentDeps(), deployed, options.simulator),
        }),
      timeoutSeconds: fn.timeoutSeconds,
      memorySize: fn.memorySize,
    });
  }
  const result = await runExecution({
    definition: options.definition ?? deployed.definition,
    lambda,
    // the execution's now is the auditor's, as deps.now (a scenario clock moves both)
    clock: options.clock ?? scaledClock(0.02, options.deps.now),
    name: options.name,
    random: () => 1,
    s3: simulatorObjectReader({ ...hubOf(options.simulator), endpoint: options.simulator.endpoint }),
  });
  return { ...result, lambda };
}

/** Every state name of a definition, nested ones included (Parallel branches, Map processors). */
export function stateNames(machine: { States: Record<string, unknown> }): string[] {
  return Object.entries(machine.States).flatMap(([name, state]) => {
    const s = state as {
      Branches?: Array<{ States: Record<string, unknown> }>;
      ItemProcessor?: { States: Record<string, unknown> };
    };
    return [name, ...(s.Branches ?? []).flatMap(stateNames), ...(s.ItemProcessor ? stateNames(s.ItemProcessor) : [])];
  });
}
