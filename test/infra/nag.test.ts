import { App, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { acknowledgeNag } from '#lib/nag.js';
import { buildFleet, HUB, MULTI_ACCOUNT, ORGANIZATION, type SynthOptions } from './support.js';

interface Acknowledgement {
  path: string;
  id: string;
  reason: string;
}

/** Every acknowledgement recorded in the construct tree, with the path of the construct that carries it. */
function acknowledgementsIn(root: IConstruct): Acknowledgement[] {
  return root.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) =>
        Object.entries(entry.data as Record<string, string>).map(([id, reason]) => ({
          path: construct.node.path,
          id: id.replace(/^annotation::/i, ''),
          reason,
        })),
      ),
  );
}

/** The AwsSolutions findings of an app, as `ruleName @ constructPath`. */
function findingsOf(app: App): Array<{ ruleName: string; path: string }> {
  return new AwsSolutionsChecks()
    .validateScope(app)
    .violations.flatMap((v) =>
      v.violatingResources.map((r) => ({ ruleName: v.ruleName, path: r.constructPath ?? '(unknown)' })),
    );
}

const CONFIGURATIONS: Array<[string, SynthOptions]> = [
  ['the default app (no context, no environment)', {}],
  ['a hub in a fixed environment', { defaults: HUB }],
  ['two accounts in four account/regions', { fleetAudit: MULTI_ACCOUNT, defaults: HUB }],
  [
    'an organization’s OUs, the reader role in the management account',
    { fleetAudit: { hub: HUB, targets: { organization: ORGANIZATION } } },
  ],
  [
    'a whole organization whose management account is the hub',
    {
      fleetAudit: {
        hub: HUB,
        targets: { organization: { ...ORGANIZATION, managementAccount: HUB.account, organizationalUnits: [] } },
      },
    },
  ],
];

describe.each(CONFIGURATIONS)('cdk-nag AwsSolutions on %s', (_name, options) => {
  it('leaves no finding unacknowledged', () => {
    expect(findingsOf(buildFleet(options).app)).toEqual([]);
  });

  it('acknowledges only findings that exist, each by its exact id, with a reason, on the construct that has it', () => {
    // Arrange
    const acknowledged = acknowledgementsIn(buildFleet(options).app);
    const findings = findingsOf(buildFleet({ ...options, acknowledgements: false }).app);

    // Assert
    expect(acknowledged.length).toBeGreaterThan(0);
    for (const ack of acknowledged) {
      expect(ack.id).toMatch(/^AwsSolutions-(SF2|S1|IAM5\[(Resource|Action)::.+\])$/);
      expect(ack.reason.length).toBeGreaterThanOrEqual(20);
      const matched = findings.filter((f) => f.ruleName === ack.id && f.path.startsWith(`${ack.path}/`));
      expect(matched, `${ack.id} on ${ack.path} matches no finding`).not.toEqual([]);
    }
    // …and every finding is covered by exactly those acknowledgements.
    const covered = (f: { ruleName: string; path: string }) =>
      acknowledged.some((a) => a.id === f.ruleName && f.path.startsWith(`${a.path}/`));
    expect(findings.filter((f) => !covered(f))).toEqual([]);
  });
});

describe('the acknowledgement helper', () => {
  const scope = () => new iam.Role(new Stack(new App(), 'S'), 'R', { assumedBy: new iam.AccountRootPrincipal() });

  it('refuses a bare IAM5, which would hide every wildcard of the construct', () => {
    expect(() =>
      acknowledgeNag(scope(), { id: 'AwsSolutions-IAM5', reason: 'wildcards are fine here, trust me' }),
    ).toThrow(/must name one exact finding/);
  });

  it('refuses an acknowledgement without a real reason', () => {
    expect(() => acknowledgeNag(scope(), { id: 'AwsSolutions-SF2', reason: 'ok' })).toThrow(/needs a reason/);
  });

  it('refuses an id that is not a cdk-nag AwsSolutions finding', () => {
    expect(() => acknowledgeNag(scope(), { id: 'IAM5', reason: 'a reason that is long enough' })).toThrow(
      /must name one exact finding/,
    );
  });
});

describe('synthesis', () => {
  it('fails when cdk-nag finds something unacknowledged', () => {
    // Arrange: the fleet without acknowledgements has findings, and synth must refuse it.
    const { app } = buildFleet({ acknowledgements: false });

    // Act + Assert
    expect(() => app.synth()).toThrow(/Acknowledge with 'AwsSolutions::AwsSolutions-SF2'/);
  });
});
