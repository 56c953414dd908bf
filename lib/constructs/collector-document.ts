import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';

export interface CollectorDocumentProps {
  /** The document name the audit's SendCommand uses (the same in every account and region). */
  readonly documentName: string;
  /** The SSM Command document content (schemaVersion 2.2, one aws:runShellScript step running collect.sh). */
  readonly content: Record<string, unknown>;
}

/**
 * The project's own SSM Command document that runs collector/collect.sh on a node (see collector/collect.sh): never
 * `AWS-RunShellScript` with a script built from strings. Its content changes ship as a new default version
 * (`UpdateMethod: NewVersion`), so the fixed name survives updates instead of failing on replacement.
 */
export class CollectorDocument extends Construct {
  readonly document: ssm.CfnDocument;
  readonly documentName: string;

  constructor(scope: Construct, id: string, props: CollectorDocumentProps) {
    super(scope, id);
    this.documentName = props.documentName;
    this.document = new ssm.CfnDocument(this, 'Document', {
      name: props.documentName,
      documentType: 'Command',
      documentFormat: 'JSON',
      targetType: '/AWS::EC2::Instance',
      updateMethod: 'NewVersion',
      content: props.content,
    });
  }
}
