/**
 * Regenerates the permissions section of docs/operations.md from the synthesized stacks and the recorded
 * end-to-end run (`npm run docs:permissions`); test/iam/iam-proof.test.ts fails while the file is stale.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { renderPermissions, withPermissionsSection } from './permissions-doc.js';
import { prove, requestsOfCalls, requestsOfServices } from './proof.js';
import { documentationNames, proofInputs } from './proof-inputs.js';
import { modelStacks } from './stack-policies.js';

const DOC = new URL('../../docs/operations.md', import.meta.url);
const inputs = await proofInputs();
const model = modelStacks(inputs.templates, {
  tableName: inputs.run.tableName,
  topicArn: inputs.run.topicArn,
  bucketName: inputs.run.bucketName,
});
const requests = [...requestsOfCalls(inputs.calls, model), ...requestsOfServices(model)];
const { denied } = await prove(requests);
if (denied.length > 0) {
  console.error(`the IAM proof fails, fix it first:\n${denied.join('\n')}`);
  process.exit(1);
}
const section = renderPermissions(model, requests, documentationNames(inputs));
await writeFile(DOC, withPermissionsSection(await readFile(DOC, 'utf8'), section));
console.log('docs/operations.md: permissions section regenerated');
