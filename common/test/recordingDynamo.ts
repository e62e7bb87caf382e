import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** The IAM action of a DynamoDB command, from the document client's (`PutCommand`) or the low-level one's (`PutItemCommand`) name. */
export function actionOf(commandName: string): string {
  const name = commandName.replace(/Command$/, '');
  return `dynamodb:${/^(Batch)?(Get|Put|Update|Delete|Write)$/.test(name) ? `${name}Item` : name}`;
}

/**
 * A client passing every command through to `inner` and recording `{table}:{action}` of each, so a test can check
 * what the code calls against what a role grants (dynalite checks no IAM).
 */
export function recordingDynamo(inner: DynamoDBDocumentClient): { client: DynamoDBDocumentClient; used: Set<string> } {
  const used = new Set<string>();
  const client = {
    send: (command: { constructor: { name: string }; input: { TableName?: string; RequestItems?: object } }) => {
      const tables = command.input.TableName ? [command.input.TableName] : Object.keys(command.input.RequestItems ?? {});
      for (const t of tables) used.add(`${t}:${actionOf(command.constructor.name)}`);
      return inner.send(command as never);
    },
  } as unknown as DynamoDBDocumentClient;
  return { client, used };
}
