import * as v from 'valibot';
import { ResourceOperationSchema } from '../../contract/operation';

/**
 * Why a record is not a valid operation, naming paths and expectations but none of its values. valibot's
 * default messages quote the value received (`Invalid type: Expected string but received "John Doe"`), and
 * the poison log line and the failed status must not carry what may be a sensitive value.
 */
export function describeInvalidRecord(bytes: Uint8Array): string {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    return 'record is not JSON';
  }
  const result = v.safeParse(ResourceOperationSchema, json);
  if (result.success) return 'record is a valid operation';
  const issues = result.issues.map((i) => `${v.getDotPath(i) ?? '(root)'}: ${withoutReceived(i)}`);
  return `record is not a valid operation: ${issues.join('; ')}`;
}

function withoutReceived(issue: v.BaseIssue<unknown>): string {
  // Default messages end with `Received ${received}` / `but received ${received}`; contract/'s own messages name no value.
  if (!issue.message.endsWith(`eceived ${issue.received}`)) return issue.message;
  return `invalid ${issue.kind === 'schema' ? 'type' : issue.type}${issue.expected ? `, expected ${issue.expected}` : ''}`;
}
