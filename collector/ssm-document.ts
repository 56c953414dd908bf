import { readCollectorScript } from './script.js';

/** Name of the project's own SSM Command document that runs the collector (never AWS-RunShellScript). */
export const COLLECTOR_DOCUMENT_NAME = 'FleetAudit-Collector';

/**
 * The collector's execution limit: the aws:runShellScript step's `timeoutSeconds` ("When the timeout is reached,
 * Systems Manager stops the command execution", Command document plugin reference, awsdocs/
 * aws-systems-manager-user-guide doc_source/ssm-plugins.md). SendCommand's TimeoutSeconds only bounds delivery.
 * The collector finishes in under 15 s; 60 s leaves room for a loaded node.
 */
export const COLLECTOR_TIMEOUT_SECONDS = 60;

/**
 * The SSM Command document, schema 2.2: one aws:runShellScript step, no parameters. A type alias, so it can be
 * handed where CloudFormation content (`Record<string, unknown>`) is expected.
 */
export type CollectorDocument = {
  readonly schemaVersion: '2.2';
  readonly description: string;
  readonly mainSteps: readonly [
    {
      readonly action: 'aws:runShellScript';
      readonly name: string;
      readonly precondition: { readonly StringEquals: readonly ['platformType', 'Linux'] };
      readonly inputs: { readonly timeoutSeconds: number; readonly runCommand: readonly string[] };
    },
  ];
};

/**
 * Builds the collector document. The script goes in as it is, one line per `runCommand` entry: the document
 * has no parameters, so nothing is ever interpolated into the shell text.
 */
export function buildCollectorDocument(script: string = readCollectorScript()): CollectorDocument {
  if (script.includes('{{')) {
    throw new Error('the collector script contains "{{", which SSM would read as a parameter reference');
  }
  return {
    schemaVersion: '2.2',
    description:
      'fleet-audit collector: read-only iptables, xtables-lock, kube-proxy and aws-node facts as one JSON line',
    mainSteps: [
      {
        action: 'aws:runShellScript',
        name: 'collect',
        precondition: { StringEquals: ['platformType', 'Linux'] },
        inputs: { timeoutSeconds: COLLECTOR_TIMEOUT_SECONDS, runCommand: script.replace(/\n$/, '').split('\n') },
      },
    ],
  };
}
