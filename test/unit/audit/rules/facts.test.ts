import { describe, expect, it } from 'vitest';
import { parseGoDuration, sentence } from '#audit/rules/facts.js';

describe('parseGoDuration', () => {
  it.each([
    ['30s', 30],
    ['1m0s', 60],
    ['1h0m0s', 3600],
    ['500ms', 0.5],
    ['1.5s', 1.5],
    ['0s', 0],
  ])('reads %s as %f s', (text, seconds) => {
    expect(parseGoDuration(text)).toBeCloseTo(seconds, 9);
  });

  it.each([['30'], ['thirty'], ['30s '], [''], [null], ['1x']])('reads %j as unknown', (text) => {
    expect(parseGoDuration(text)).toBeNull();
  });
});

describe('sentence', () => {
  it('joins parts, capitalises, but keeps lower-case names', () => {
    expect(sentence(['the lock was busy', null, 'more'])).toBe('The lock was busy; more.');
    expect(sentence(['kube-proxy logged 3 errors'])).toBe('kube-proxy logged 3 errors.');
  });
});
