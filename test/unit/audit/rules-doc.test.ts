import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { RULE_IDS } from '#audit/model.js';
import { renderRulesMarkdown, renderRuleText } from '#audit/render/rules-doc.js';
import { CATALOGUE, findRule } from '#audit/rules/catalogue.js';
import { DEFAULT_THRESHOLDS } from '#audit/thresholds.js';

describe('the rule catalogue', () => {
  it('has every fixed rule id once, in catalogue order', () => {
    expect(CATALOGUE.map((r) => r.id)).toEqual([...RULE_IDS]);
  });

  it.each(CATALOGUE.map((r) => [r.id, r] as const))('documents %s fully', (_id, rule) => {
    expect(rule.why.length).toBeGreaterThan(100);
    expect(rule.judges.length).toBeGreaterThan(20);
    expect(rule.remediation.length).toBeGreaterThan(20);
    expect(rule.severities.length).toBeGreaterThan(0);
    expect(rule.links.length).toBeGreaterThan(0);
    for (const link of rule.links) expect(link).toMatch(/^https:\/\//);
    for (const name of rule.thresholds) expect(DEFAULT_THRESHOLDS).toHaveProperty(name);
  });

  it('finds rules by id regardless of case', () => {
    expect(findRule(' kp-iptables-scale ')?.id).toBe('KP-IPTABLES-SCALE');
    expect(findRule('NOPE')).toBeUndefined();
  });

  it('explains a rule with its thresholds', () => {
    const text = renderRuleText(CATALOGUE[0] ?? CATALOGUE[1] ?? (undefined as never));
    expect(text).toContain('KP-IPTABLES-SCALE — kube-proxy runs in iptables mode with many Services');
    expect(text).toContain('Thresholds: `servicesMedium` = 500, `servicesHigh` = 1000');
  });
});

describe('docs/rules.md', () => {
  it('is what `npm run docs:rules` generates from the catalogue (run it when this fails)', () => {
    const onDisk = readFileSync(new URL('../../../docs/rules.md', import.meta.url), 'utf8');
    expect(onDisk).toBe(renderRulesMarkdown());
  });

  it('documents every rule, threshold and the scoring', () => {
    const markdown = renderRulesMarkdown();
    for (const id of RULE_IDS) expect(markdown).toContain(`### ${id}`);
    for (const name of Object.keys(DEFAULT_THRESHOLDS)) expect(markdown).toMatch(new RegExp(`\\| \`${name}\` +\\|`));
    expect(markdown).toMatch(/\| HIGH +\| 20 +\| 70 +\|/);
  });
});
