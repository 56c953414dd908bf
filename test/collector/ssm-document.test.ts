import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { collectorScriptPath, readCollectorScript } from '../../collector/script.js';
import { buildCollectorDocument, COLLECTOR_DOCUMENT_NAME } from '../../collector/ssm-document.js';
import { collectorPath } from './harness.js';

describe('the collector SSM document', () => {
  it('runs collect.sh as it is: its runCommand lines join back into the exact script', () => {
    // Arrange
    const script = readFileSync(collectorPath, 'utf8');

    // Act
    const document = buildCollectorDocument();

    // Assert
    const [step] = document.mainSteps;
    expect(`${step.inputs.runCommand.join('\n')}\n`).toBe(script);
    expect(step.inputs.runCommand[0]).toBe('#!/usr/bin/env bash');
  });

  it('is schema 2.2 with one aws:runShellScript step, a 60 s time-out and no parameters', () => {
    // Arrange, Act
    const document = buildCollectorDocument();

    // Assert
    expect(document).toMatchObject({
      schemaVersion: '2.2',
      mainSteps: [
        {
          action: 'aws:runShellScript',
          name: 'collect',
          precondition: { StringEquals: ['platformType', 'Linux'] },
          inputs: { timeoutSeconds: 60 },
        },
      ],
    });
    expect(document.mainSteps).toHaveLength(1);
    expect(Object.keys(document)).toEqual(['schemaVersion', 'description', 'mainSteps']);
    expect(JSON.stringify(document)).not.toContain('{{');
    // SSM documents hold at most 64 KB of content
    expect(Buffer.byteLength(JSON.stringify(document))).toBeLessThan(64 * 1024);
    expect(COLLECTOR_DOCUMENT_NAME).toBe('FleetAudit-Collector');
  });

  it('refuses a script that SSM would read as holding a parameter reference', () => {
    // Arrange
    const script = 'echo {{ InstanceId }}\n';

    // Act, Assert
    expect(() => buildCollectorDocument(script)).toThrow(/"\{\{"/);
  });

  it('reads the script from collector/collect.sh', () => {
    // Arrange, Act
    const text = readCollectorScript();

    // Assert
    expect(collectorScriptPath).toBe(collectorPath);
    expect(text).toBe(readFileSync(collectorPath, 'utf8'));
  });
});
