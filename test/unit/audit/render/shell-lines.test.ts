import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { shellLines } from '#audit/render/shell-lines.js';

/** Commands of the shapes the rules build (update-addon with JSON, a looked-up endpoint, a variable, a query). */
const COMMANDS = [
  'kubectl -n kube-system rollout restart daemonset/kube-proxy',
  `aws eks update-addon --cluster-name checkout-prod --addon-name kube-proxy --configuration-values '{"mode":"ipvs","ipvs":{"scheduler":"rr"}}' --resolve-conflicts PRESERVE --region eu-west-1`,
  `aws eks update-addon --cluster-name checkout-prod --addon-name vpc-cni --configuration-values '{"env":{"CLUSTER_ENDPOINT":"https://752E0097752E0097752E0097752E0097.gr7.eu-west-1.eks.amazonaws.com"},"livenessProbeTimeoutSeconds":30,"readinessProbeTimeoutSeconds":30}' --resolve-conflicts PRESERVE --region eu-west-1`,
  `aws eks update-addon --cluster-name 'team a' --addon-name vpc-cni --configuration-values "$(printf '{"env":{"CLUSTER_ENDPOINT":"%s"},"note":"100%% it'\\''s"}' "$(aws eks describe-cluster --name 'team a' --region eu-west-1 --query cluster.endpoint --output text)")" --resolve-conflicts PRESERVE --region eu-west-1`,
  `aws eks update-addon --cluster-name checkout-prod --addon-name vpc-cni --addon-version "\${VPC_CNI_VERSION:?set VPC_CNI_VERSION to v1.19.4 or later}" --resolve-conflicts PRESERVE --region eu-west-1`,
  `aws ssm describe-instance-information --filters Key=InstanceIds,Values=i-04e663317def4cf08,i-0d3e83bcb749485bd,i-0aaaaaaaaaaaaaaaa,i-0bbbbbbbbbbbbbbbb --region us-east-1 --query 'InstanceInformationList[].[InstanceId,PingStatus,PlatformName,AgentVersion]' --output table`,
];
const WIDTHS = [80, 60, 40];

/** What bash runs for each script: the argv of every command, with `aws` and `kubectl` as functions that print it. */
function argvOf(scripts: ReadonlyArray<string>): string[] {
  const prelude = [
    `aws() { printf '<%s>' aws "$@"; }`,
    `kubectl() { printf '<%s>' kubectl "$@"; }`,
    'VPC_CNI_VERSION=v1.19.4',
  ].join('\n');
  const body = scripts.map((s) => `${s}\necho`).join('\n');
  return execFileSync('bash', ['--norc', '--noprofile', '-c', `${prelude}\n${body}`], { encoding: 'utf8' })
    .trimEnd()
    .split('\n');
}

describe('shellLines', () => {
  it('keeps every command the same command for bash at every width, however it breaks it', () => {
    // Arrange
    const wrapped = COMMANDS.flatMap((c) => WIDTHS.map((w) => shellLines(c, w, '      ', '        ').join('\n')));

    // Act
    const original = argvOf(COMMANDS);
    const reread = argvOf(wrapped);

    // Assert
    expect(reread).toEqual(COMMANDS.flatMap((_, i) => WIDTHS.map(() => original[i])));
  });

  it('fits every line in the width when the words allow it', () => {
    for (const command of COMMANDS) {
      for (const width of WIDTHS) {
        const lines = shellLines(command, width, '      ', '        ');
        expect(lines.filter((l) => l.length > width)).toEqual([]);
      }
    }
  });

  it('keeps an option with its value and leaves a short command on one line', () => {
    expect(shellLines(COMMANDS[1] ?? '', 80, '    ', '      ')).toEqual([
      '    aws eks update-addon --cluster-name checkout-prod --addon-name kube-proxy \\',
      `      --configuration-values '{"mode":"ipvs","ipvs":{"scheduler":"rr"}}' \\`,
      '      --resolve-conflicts PRESERVE --region eu-west-1',
    ]);
    expect(shellLines(COMMANDS[0] ?? '', 80, '    ', '      ')).toEqual([
      '    kubectl -n kube-system rollout restart daemonset/kube-proxy',
    ]);
  });

  it('splits a word too long for any line inside its single quotes, continuing in column 0', () => {
    expect(shellLines(COMMANDS[2] ?? '', 80, '    ', '      ')).toEqual([
      '    aws eks update-addon --cluster-name checkout-prod --addon-name vpc-cni \\',
      '      --configuration-values \\',
      `      '{"env":{"CLUSTER_ENDPOINT":"https://752E0097752E0097752E0097752E0097.'\\`,
      `'gr7.eu-west-1.eks.amazonaws.com"},"livenessProbeTimeoutSeconds":30,'\\`,
      `'"readinessProbeTimeoutSeconds":30}' --resolve-conflicts PRESERVE \\`,
      '      --region eu-west-1',
    ]);
  });
});
