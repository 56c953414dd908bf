/**
 * The hub stack as `cdk deploy` would synthesize it (bundling skipped), and its state machine's definition read as
 * JSON: what the template tests, the executed-ASL tests and the fleet benchmark run. Kept out of test/ so that
 * bench/ can use it too.
 */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { addFleetAuditor, type FleetAuditorStacks } from '#lib/fleet-auditor-app.js';
import { NAG_ACKNOWLEDGEMENTS_CONTEXT } from '#lib/nag.js';
import { buildCollectorDocument } from '../../collector/ssm-document.js';

/** The real collector document (collector/ssm-document.ts), as bin/app.ts passes it. */
export const COLLECTOR_CONTENT = buildCollectorDocument();

export interface SynthOptions {
  /** the `fleetAudit` context value */
  fleetAudit?: unknown;
  /** CDK_DEFAULT_ACCOUNT / CDK_DEFAULT_REGION; default: none (environment-agnostic hub) */
  defaults?: { account?: string; region?: string };
  /** false: build without any cdk-nag acknowledgement */
  acknowledgements?: boolean;
}

/** The whole app as bin/app.ts builds it, with bundling skipped (template tests never run esbuild). */
export function buildFleet(options: SynthOptions = {}): FleetAuditorStacks & { app: App } {
  const app = new App({
    context: {
      'aws:cdk:bundling-stacks': [],
      ...(options.fleetAudit !== undefined && { fleetAudit: options.fleetAudit }),
      ...(options.acknowledgements === false && { [NAG_ACKNOWLEDGEMENTS_CONTEXT]: false }),
    },
  });
  const stacks = addFleetAuditor(app, {
    collectorDocumentContent: COLLECTOR_CONTENT,
    defaultAccount: options.defaults?.account,
    defaultRegion: options.defaults?.region,
  });
  return { app, ...stacks };
}

/**
 * Synthesizes the app once (cdk-nag runs as part of it: a finding throws) and returns each stack's template by
 * stack name. Template.fromStack would synthesize the whole app again for every stack.
 */
export function synthTemplates(app: App): Map<string, Template> {
  const assembly = app.synth();
  return new Map(assembly.stacks.map((stack) => [stack.stackName, Template.fromJSON(stack.template)]));
}

/**
 * The state machine's definition with every CloudFormation token replaced by a plausible value, so that it can
 * be read as JSON and validated as ASL.
 */
export function renderDefinition(template: Template): Record<string, unknown> {
  const machines = template.findResources('AWS::StepFunctions::StateMachine');
  const machine = Object.values(machines)[0] as { Properties: { DefinitionString: unknown } } | undefined;
  if (!machine) throw new Error('no state machine in the template');
  return JSON.parse(renderString(machine.Properties.DefinitionString));
}

function renderString(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') {
    const [fn, args] = Object.entries(value)[0] ?? [];
    if (fn === 'Fn::Join' && Array.isArray(args)) {
      const [separator, parts] = args as [string, unknown[]];
      return parts.map(renderString).join(separator);
    }
    if (fn === 'Fn::GetAtt' && Array.isArray(args)) {
      return `arn:aws:lambda:eu-west-1:111111111111:function:${String(args[0])}`;
    }
    if (fn === 'Ref') return PSEUDO[String(args)] ?? `ref-${String(args)}`;
  }
  throw new Error(`cannot render ${JSON.stringify(value)}`);
}

const PSEUDO: Record<string, string> = {
  'AWS::Partition': 'aws',
  'AWS::Region': 'eu-west-1',
  'AWS::AccountId': '111111111111',
};
